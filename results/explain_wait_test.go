package results

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// TestStoryWaitMS checks that a story carries the gateway's own word on
// how long it held the request (Testimony.WaitMS) as wait_ms, and leaves
// it out where the log did not say.
func TestStoryWaitMS(t *testing.T) {
	wait := 1003.0
	for _, tt := range []struct {
		name string
		wait *float64
		json string // a part of the story's JSON; "" wants no wait_ms
	}{
		{"said", &wait, `"wait_ms":1003`},
		{"not said", nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			told := []Testimony{{Gateway: "haproxy", Time: at(1500), Attack: "a", Seq: u64(1), Status: 200, Retries: 1, WaitMS: tt.wait}}
			a := NewAnalyzer(oneRun("p"), Options{})
			a.AddTestimony(told)
			r := vegeta.Result{Attack: "a", Seq: 1, Code: 200, Timestamp: at(1000), Latency: 1500 * time.Millisecond}
			st := a.Story(&r, nil, told)
			if len(st.Gateway) != 1 {
				t.Fatalf("got %d lines of the gateway, want 1", len(st.Gateway))
			}
			got := st.Gateway[0].WaitMS
			if (got == nil) != (tt.wait == nil) || (got != nil && *got != *tt.wait) {
				t.Errorf("got wait %v, want %v", got, tt.wait)
			}
			b, err := json.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			if has := strings.Contains(string(b), `"wait_ms"`); has != (tt.json != "") || !strings.Contains(string(b), tt.json) {
				t.Errorf("got JSON %s, want it to hold %q", b, tt.json)
			}
		})
	}
}
