package attack

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestStreamJSON checks that a Stream is written with its durations in
// milliseconds and read back whole.
func TestStreamJSON(t *testing.T) {
	s := Stream{Time: time.Date(2026, 12, 7, 1, 2, 3, 456789000, time.UTC), Attack: "a", Seq: 7, Try: 2, Format: FormatOpenAI, Code: 200,
		TTFT: 120500 * time.Microsecond, Tokens: 37, ITL: 10 * time.Millisecond, MaxGap: 2 * time.Second, Duration: 3 * time.Second,
		End: EndCut, Error: ErrStreamCut + "the stream ended after 37 tokens without its end marker"}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"ttft_ms":120.5`, `"itl_ms":10`, `"max_gap_ms":2000`, `"duration_ms":3000`, `"end":"cut"`, `"try":2`, `"format":"openai"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var back Stream
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("got %+v back, want %+v", back, s)
	}
}
