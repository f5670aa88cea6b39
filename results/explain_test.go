package results

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// TestStory tells the story of a request at each evidence level, and
// checks that its cause and evidence are Explain's, and why says what it
// rests on.
func TestStory(t *testing.T) {
	closed := "upstream prematurely closed connection while reading response header from upstream"
	haproxy502 := []byte("<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n")
	events := []faults.Event{
		fault(2001, u64(2), 0, "reset", causes.ResetBeforeHeaders, true),
		{Time: at(2002), Type: faults.TypeObservation, Attack: "a", Seq: u64(2), Attempt: 1, Kind: faults.ObservedRetry, Fault: -1, Detail: "seen 1 times before"},
		fault(3001, u64(3), 0, "reset", causes.ResetBeforeHeaders, true),
		fault(5001, u64(5), 0, scenarios.KindLatency, "", false),
		{Time: at(6000), Type: faults.TypeFault, Attack: "a", Phase: "p", Kind: scenarios.KindRefuse},
		{Time: at(7000), Type: faults.TypeObservation, Attack: "a", Kind: faults.ObservedRefuseEnded, Fault: -1},
		{Time: at(8005), Type: faults.TypeFault, Attack: "a", Phase: "p", Kind: scenarios.KindKeepalive, Cause: causes.KeepaliveRace, Ended: true},
		fault(9501, u64(10), 0, scenarios.KindLatency, "", false),
	}
	told := []Testimony{
		{Gateway: "nginx", Time: at(1001), Attack: "a", Seq: u64(1), Status: 502, Upstream: []string{"502"}, Words: closed},
	}
	a := NewAnalyzer(oneRun("reset", "latency", "refuse", "keepalive"), Options{})
	for i := range events {
		a.AddEvent(&events[i])
	}
	a.AddTestimony(told)
	for _, tt := range []struct {
		name     string
		r        vegeta.Result
		cause    string
		evidence string
		why      string // a part of Why
		masked   string // a part of Masked
		attempts int
		gateway  int
	}{
		{"exact", vegeta.Result{Attack: "a", Seq: 3, Code: 502, Timestamp: at(3000), Latency: time.Millisecond},
			causes.ResetBeforeHeaders, "exact", "the proxy's event for seq 3 at +3.001s: a reset fault ended attempt 0, the last the proxy saw", "", 1, 0},
		{"exact latency", vegeta.Result{Attack: "a", Seq: 5, Code: 504, Timestamp: at(5000), Latency: time.Second},
			causes.UpstreamLatency, "exact", "a latency fault held back attempt 0", "", 1, 0},
		{"temporal refused", vegeta.Result{Attack: "a", Seq: 6, Code: 502, Timestamp: at(6500), Latency: time.Millisecond},
			causes.ConnectionRefused, "temporal", "the proxy never saw seq 6, and it refused connections (a refuse fault) while the request was in flight, +6.500s to +6.501s", "", 0, 0},
		{"temporal connection", vegeta.Result{Attack: "a", Seq: 8, Code: 502, Timestamp: at(8000), Latency: 10 * time.Millisecond},
			causes.KeepaliveRace, "temporal", "a keepalive fault that names no request ended a connection at +8.005s, within the request's time in flight (+8.000s to +8.010s)", "", 0, 0},
		{"signature words", vegeta.Result{Attack: "a", Seq: 1, Code: 502, Timestamp: at(1000), Latency: time.Millisecond},
			causes.ClosedBeforeHeaders, "signature", `the gateway's own log said "upstream prematurely closed`, "", 0, 1},
		{"signature answer", vegeta.Result{Attack: "a", Seq: 9, Code: 502, Timestamp: at(9000), Latency: time.Millisecond, Body: haproxy502},
			causes.MalformedResponse, "signature", "the gateway's own answer (", "", 0, 0},
		{"none after an event", vegeta.Result{Attack: "a", Seq: 10, Code: 502, Timestamp: at(9500), Latency: time.Millisecond},
			causes.Unattributed, "none", "no event ended attempt 0 of seq 10, the last the proxy saw", "", 1, 0},
		{"none without events", vegeta.Result{Attack: "a", Seq: 11, Code: 0, Error: "unexpected EOF", Timestamp: at(9700), Latency: time.Millisecond},
			causes.Unattributed, "none", "no event names seq 11", "", 0, 0},
		{"masked", vegeta.Result{Attack: "a", Seq: 2, Code: 200, Timestamp: at(2000), Latency: time.Millisecond},
			"", "", "", "a reset fault ended attempt 0 (reset-before-headers); attempt 1 reached the proxy and answered: a retry hid it", 2, 0},
		{"ok", vegeta.Result{Attack: "a", Seq: 12, Code: 200, Timestamp: at(9800), Latency: time.Millisecond},
			"", "", "", "", 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mine []faults.Event
			for _, e := range events {
				if e.Seq != nil && *e.Seq == tt.r.Seq {
					mine = append(mine, e)
				}
			}
			var theirs []Testimony
			for _, tm := range told {
				if tm.Seq != nil && *tm.Seq == tt.r.Seq {
					theirs = append(theirs, tm)
				}
			}
			st := a.Story(&tt.r, mine, theirs)
			if st.Cause != tt.cause || st.Evidence != tt.evidence {
				t.Errorf("got %q (%q), want %q (%q)", st.Cause, st.Evidence, tt.cause, tt.evidence)
			}
			if c, e := a.Explain(&tt.r); c != st.Cause || e != st.Evidence {
				t.Errorf("Explain says %q (%q), the story %q (%q)", c, e, st.Cause, st.Evidence)
			}
			if !strings.Contains(st.Why, tt.why) || (tt.why == "") != (st.Why == "") {
				t.Errorf("why %q, want it to hold %q", st.Why, tt.why)
			}
			if !strings.Contains(st.Masked, tt.masked) || (tt.masked == "") != (st.Masked == "") {
				t.Errorf("masked %q, want it to hold %q", st.Masked, tt.masked)
			}
			if len(st.Attempts) != tt.attempts || len(st.Gateway) != tt.gateway {
				t.Errorf("got %d attempts and %d lines of the gateway, want %d and %d", len(st.Attempts), len(st.Gateway), tt.attempts, tt.gateway)
			}
			if st.Phase != "p" || st.Seq != tt.r.Seq || st.Status != int(tt.r.Code) {
				t.Errorf("got phase %q seq %d status %d, want p, %d, %d", st.Phase, st.Seq, st.Status, tt.r.Seq, tt.r.Code)
			}
		})
	}
}

// TestStoryAttempts checks that events are grouped by attempt, each in
// time order whatever the order of the file.
func TestStoryAttempts(t *testing.T) {
	events := []faults.Event{
		{Time: at(12), Type: faults.TypeFault, Attack: "a", Seq: u64(1), Attempt: 1, Try: 2, Kind: scenarios.KindLatency},
		fault(10, u64(1), 0, "reset", causes.ResetBeforeHeaders, true),
		{Time: at(11), Type: faults.TypeObservation, Attack: "a", Seq: u64(1), Attempt: 1, Try: 2, Kind: faults.ObservedRetry, Fault: -1},
	}
	a := NewAnalyzer(oneRun(), Options{})
	r := vegeta.Result{Attack: "a", Seq: 1, Code: 200, Timestamp: at(9), Latency: 5 * time.Millisecond}
	st := a.Story(&r, events, nil)
	var got []string
	for _, at := range st.Attempts {
		for _, e := range at.Events {
			got = append(got, strings.Join([]string{string(rune('0' + at.Attempt)), string(rune('0' + at.Try)), e.Kind}, "/"))
		}
	}
	if want := "0/0/reset 1/2/retry 1/2/latency"; strings.Join(got, " ") != want {
		t.Errorf("got %s, want %s", strings.Join(got, " "), want)
	}
	if st.TimeS != 0.009 || st.LatencyMS != 5 || st.Attempts[0].Events[0].AtS != 0.01 {
		t.Errorf("got time %v, latency %v, first event at %v; want 0.009, 5, 0.01", st.TimeS, st.LatencyMS, st.Attempts[0].Events[0].AtS)
	}
}

func TestParseAnswer(t *testing.T) {
	for _, tt := range []struct {
		in    string
		ok    bool
		match []uint16 // codes it matches, among 0 (no answer), 200, 404, 502, 503
		err   string   // the error of a result without a code
	}{
		{"502", true, []uint16{502}, ""},
		{"5xx", true, []uint16{502, 503}, ""},
		{"5XX", true, []uint16{502, 503}, ""},
		{"2xx", true, []uint16{200}, ""},
		{"error", true, []uint16{0}, "unexpected EOF"},
		{"error", true, nil, "stream-cut: after 3 events"},
		{"stream-cut", true, []uint16{0}, "stream-cut: after 3 events"},
		{"stream-stall", true, nil, "stream-cut: after 3 events"},
		{"100", true, nil, ""},
		{"599", true, nil, ""},
		{"600", false, nil, ""},
		{"099", false, nil, ""},
		{"6xx", false, nil, ""},
		{"5x2", false, nil, ""},
		{"50", false, nil, ""},
		{"+502", false, nil, ""},
		{"", false, nil, ""},
	} {
		t.Run(tt.in+"/"+tt.err, func(t *testing.T) {
			f, err := ParseAnswer(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("got error %v, want ok %v", err, tt.ok)
			}
			for _, code := range []uint16{0, 200, 404, 502, 503} {
				e := ""
				if code == 0 {
					e = tt.err
				}
				want := false
				for _, m := range tt.match {
					want = want || m == code
				}
				if got := f.Match(code, e); got != want {
					t.Errorf("Match(%d, %q) = %v, want %v", code, e, got, want)
				}
			}
		})
	}
}

// FuzzParseAnswer checks that ParseAnswer never panics, that what it
// accepts writes back to a form it reads the same, and that a filter
// matches no code outside its own.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{"502", "5xx", "5XX", "error", "stream-cut", "stream-stall", "600", "", "5x2", "٥٠٢", "Error"} {
		f.Add(s, uint16(502))
	}
	f.Fuzz(func(t *testing.T, s string, code uint16) {
		a, err := ParseAnswer(s)
		if err != nil {
			if a != (AnswerFilter{}) || a.Match(code, "") {
				t.Fatalf("ParseAnswer(%q) failed but gave %+v", s, a)
			}
			return
		}
		b, err := ParseAnswer(a.String())
		if err != nil || a != b {
			t.Fatalf("ParseAnswer(%q) = %+v, which writes %q, read back as %+v, %v", s, a, a.String(), b, err)
		}
		if a.Match(code, "") && code != 0 && !strings.HasPrefix(a.String(), string(rune('0'+code/100))) {
			t.Fatalf("%q matches code %d", s, code)
		}
	})
}

func TestLineSeq(t *testing.T) {
	for _, tt := range []struct {
		line string
		seq  uint64
		ok   bool
	}{
		{`{"time":"x","type":"fault","attack":"a","seq":205,"attempt":0}`, 205, true},
		{`{"seq":0}`, 0, true},
		{`{"attack":"a","seq":null,"kind":"refuse"}`, 0, false},
		{`{"attack":"a","seq": 7}`, 0, false},
		{`{"attack":"a","seq":7x}`, 0, false},
		{`{"detail":"\"seq\":9","seq":3}`, 3, true},
		{`{"kind":"seen","ranges":[[0,5]]}`, 0, false},
		{`{"seq":99999999999999999999999}`, 0, false},
		{`{"seq":12`, 12, true},
	} {
		seq, ok := lineSeq([]byte(tt.line))
		if seq != tt.seq || ok != tt.ok {
			t.Errorf("lineSeq(%s) = %d, %v; want %d, %v", tt.line, seq, ok, tt.seq, tt.ok)
		}
	}
}

// FuzzLineSeq checks lineSeq on every event as the event log writes it
// (the line decoded, then encoded again): the seq it reads is the
// event's, and an event without one gives none.
func FuzzLineSeq(f *testing.F) {
	for _, s := range []string{`{"seq":205,"attempt":0}`, `{"seq":null}`, `{"detail":"\"seq\":9","seq":3}`, `{"seq":1,"seq":2}`,
		`{"detail":"seq\":4","ranges":[[1,2]]}`, `{"x":{"seq":5}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		lineSeq([]byte(line)) // never panics on anything
		var e faults.Event
		if json.Unmarshal([]byte(line), &e) != nil {
			return
		}
		b, err := json.Marshal(&e)
		if err != nil {
			return
		}
		seq, ok := lineSeq(b)
		if (e.Seq != nil) != ok || (ok && *e.Seq != seq) {
			t.Fatalf("lineSeq(%s) = %d, %v; the event's seq is %v", b, seq, ok, e.Seq)
		}
	})
}

// TestEachEventOf checks that the events of other requests are passed
// over, those of none kept, and a cut last line skipped.
func TestEachEventOf(t *testing.T) {
	file := `{"type":"fault","attack":"a","seq":1,"kind":"reset"}
{"type":"fault","attack":"a","seq":2,"kind":"latency"}

{"type":"fault","attack":"a","seq":null,"kind":"refuse"}
{"type":"observation","attack":"a","seq":2,"kind":"retry"}
{"type":"fault","attack":"a","se`
	var got []string
	err := EachEventOf(strings.NewReader(file), func(seq uint64) bool { return seq == 2 }, func(e *faults.Event) { got = append(got, e.Kind) })
	if err != nil || strings.Join(got, " ") != "latency refuse retry" {
		t.Errorf("got %v, %v; want latency refuse retry, no error", got, err)
	}
	err = EachEventOf(strings.NewReader("{\"seq\":2,\"kind\":\n{\"seq\":2}\n"), func(uint64) bool { return true }, func(*faults.Event) {})
	if err == nil || !strings.Contains(err.Error(), "line 1: ") {
		t.Errorf("got %v, want an error of line 1", err)
	}
}
