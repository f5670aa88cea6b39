package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// eventLines returns the JSON lines EventLog writes for a variety of
// events: faults and observations, a tally, a seen observation.
func eventLines(t testing.TB) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	log := NewEventLog(&buf)
	seq := uint64(18446744073709551615)
	small := uint64(7)
	at := time.Date(2026, 1, 1, 0, 0, 0, 1_219_999, time.UTC)
	for _, e := range []Event{
		{Time: at, Type: TypeFault, Attack: "a", Seq: &small, Phase: "ramp", Kind: "latency", Detail: "waited 20ms"},
		{Time: at.Add(time.Second), Type: TypeFault, Attack: "a", Seq: &seq, Attempt: 3, Try: 2, Conn: 99, Phase: "p", Kind: "reset", Cause: "reset-before-headers", Ended: true, Status: 503, Detail: "reset before any response byte"},
		{Time: at, Type: TypeObservation, Kind: ObservedRetry, Fault: -1, Detail: "seen again: ünïcode"},
		{Time: at, Type: TypeObservation, Kind: ObservedTally, Phase: "p", FaultKind: "reset", Matched: 10, Applied: 3, P: 0.25, Conditional: true, Detail: "applied 3 of 10"},
		{Time: at, Type: TypeObservation, Attack: "a", Kind: ObservedSeen, Fault: -1, Ranges: [][2]uint64{{0, 3}, {5, 7}}},
		{Type: TypeFault, Detail: "a \"quoted\" detail\twith a tab <html>"},
		{},
	} {
		log.Record(e)
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
}

// TestEventDecode holds the fast path to encoding/json on the lines it
// takes, and checks which lines it declines.
func TestEventDecode(t *testing.T) {
	for i, line := range eventLines(t) {
		t.Run(fmt.Sprint("logged ", i), func(t *testing.T) { checkDecode(t, line) })
	}
	for _, tt := range []struct {
		line string
		fast bool
	}{
		{`{"time":"2026-01-01T00:00:00Z","type":"fault","attack":"a","seq":1,"attempt":0,"conn":0,"phase":"p","kind":"reset","fault":0,"detail":"x"}`, true},
		{`{"seq":null,"attempt":-4,"fault":-1}`, true},
		{`{}`, true},
		{`{"time":"2024-02-29T23:59:59.5Z"}`, true},
		{`{"time":"2026-01-01T00:00:00+02:00"}`, true}, // time's own parser
		{`{"ended":false,"conditional":true,"matched":3,"applied":2}`, true},
		{`{"Kind":"reset"}`, false},
		{`{"kind":"re\u0073et"}`, false},
		{`{"kind": "reset"}`, false},
		{` {"kind":"reset"}`, false},
		{`{"attempt":1.0}`, false},
		{`{"attempt":1e2}`, false},
		{`{"attempt":01}`, false},
		{`{"seq":-1}`, false},
		{`{"seq":18446744073709551616}`, false},
		{`{"p":0.5}`, false},
		{`{"ranges":[[0,1]]}`, false},
		{`{"kind":"reset",}`, false},
		{`{"kind":"reset"`, false},
		{`{"unknown":1}`, false},
		{`{"time":"2026-02-30T00:00:00Z"}`, false},
		{`{"time":"2026-01-01T24:00:00Z"}`, false},
		{`{"detail":"` + "\xff" + `"}`, false},
		{`{"detail":"` + "\x01" + `"}`, false},
		{`{"ended":truex}`, false},
		{`{"seq":nul}`, false},
	} {
		t.Run(tt.line, func(t *testing.T) {
			var d eventDecoder
			var e Event
			if got := d.decode([]byte(tt.line), &e); got != tt.fast {
				t.Errorf("fast path took it: got %v, want %v", got, tt.fast)
			}
			checkDecode(t, []byte(tt.line))
		})
	}
}

// checkDecode fails t when the fast path takes line and decodes it to
// another Event than encoding/json does, or takes a line encoding/json
// rejects.
func checkDecode(t *testing.T, line []byte) {
	t.Helper()
	var d eventDecoder
	var fast Event
	if !d.decode(line, &fast) {
		return
	}
	var want Event
	if err := json.Unmarshal(line, &want); err != nil {
		t.Fatalf("%s: fast path decoded %+v, encoding/json: %v", line, fast, err)
	}
	if !reflect.DeepEqual(fast, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", line, fast, want)
	}
}

// FuzzEventDecode differentially fuzzes the fast path against
// encoding/json: it decodes a line to the same Event, or declines it.
func FuzzEventDecode(f *testing.F) {
	for _, line := range eventLines(f) {
		f.Add(line)
	}
	if b, err := os.ReadFile(filepath.Join("..", "testdata", "runs", "upstream-resets", "events.jsonl")); err == nil {
		for i, line := range bytes.Split(b, []byte("\n")) {
			if i < 20 {
				f.Add(line)
			}
		}
	}
	f.Add([]byte(`{"time":"2026-01-01T00:00:00.123456789Z","seq":0,"attempt":-0}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		checkDecode(t, line)
	})
}

// TestEachLineBatches reads more lines than EachLineSkip's decoding
// goroutine holds at once: every event in order, a broken line in the
// middle an error after the lines before it, a cut last one skipped.
func TestEachLineBatches(t *testing.T) {
	const n = lineBatch*lineBatches*3 + 17
	var buf bytes.Buffer
	log := NewEventLog(&buf)
	for i := range n {
		seq := uint64(i)
		log.Record(Event{Time: time.Unix(int64(i), 0).UTC(), Type: TypeFault, Attack: "a", Seq: &seq, Kind: "latency", Detail: fmt.Sprintf("waited %dms", i%50)})
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	whole := buf.String()
	lines := strings.SplitAfter(whole, "\n")
	broken := strings.Join(lines[:1000], "") + `{"seq":` + "\n" + strings.Join(lines[1000:], "")
	for _, tt := range []struct {
		name    string
		in      string
		want    int
		cut     CutLine
		wantErr string
	}{
		{"whole", whole, n, CutLine{}, ""},
		{"cut last line", whole + `{"seq":5`, n, CutLine{Line: n + 1, Bytes: 8}, ""},
		{"broken line 1001", broken, 1000, CutLine{}, "line 1001"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := 0
			cut, err := EachEventCut(strings.NewReader(tt.in), func(e *Event) {
				if e.Seq == nil || *e.Seq != uint64(got) || e.Detail != fmt.Sprintf("waited %dms", got%50) {
					t.Fatalf("event %d: got %+v", got, e)
				}
				got++
			})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got error %v, want %q", err, tt.wantErr)
			}
			if got != tt.want || cut != tt.cut {
				t.Errorf("got %d events, %+v; want %d, %+v", got, cut, tt.want, tt.cut)
			}
		})
	}
}

// TestEachLinePanic: a panicking fn leaves no decoding goroutine behind
// (goleak in TestMain checks).
func TestEachLinePanic(t *testing.T) {
	var buf bytes.Buffer
	for range lineBatch * lineBatches * 4 {
		buf.WriteString(`{"kind":"latency"}` + "\n")
	}
	defer func() {
		if recover() == nil {
			t.Error("got no panic, want fn's")
		}
	}()
	_, _ = EachEventCut(&buf, func(*Event) { panic("fn") })
}

// BenchmarkEachEvent reads a log of latency and reset events, the fast
// path's own layout.
func BenchmarkEachEvent(b *testing.B) {
	var buf bytes.Buffer
	log := NewEventLog(&buf)
	for i := range 10000 {
		seq := uint64(i)
		log.Record(Event{Time: time.Unix(int64(i), 1219999).UTC(), Type: TypeFault, Attack: "bench", Seq: &seq, Phase: "ramp", Kind: "latency", Detail: "waited 20ms"})
	}
	if err := log.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if err := EachEvent(bytes.NewReader(buf.Bytes()), func(*Event) {}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDaysIn(t *testing.T) {
	for _, year := range []int{1900, 2000, 2023, 2024, 2026} {
		for m := time.January; m <= time.December; m++ {
			if got, want := daysIn(m, year), time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day(); got != want {
				t.Errorf("%s %d: got %d days, want %d", m, year, got, want)
			}
		}
	}
}
