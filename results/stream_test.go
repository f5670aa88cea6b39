package results

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// streamRun is a run of two phases, calm (0-4s) and cuts (4-8s, sse-cut
// and sse-stall), at 10/s, attack "a", through gateway.
func streamRun(gateway string) *Run {
	return &Run{Schema: RunSchema, Scenario: "s", Attack: "a", Started: t0, Gateway: gateway, Phases: []PhasePlan{
		{Name: "calm", EndS: 4, Planned: 40, Rate: 10, RampTo: 10},
		{Name: "cuts", StartS: 4, EndS: 8, Planned: 40, Rate: 10, RampTo: 10, Faults: []string{"sse-cut", "sse-stall"}},
	}}
}

// stream is a stream of seq sent at ms: ttft and itl in ms, tokens, the
// stream's end 5ms after its last token.
func stream(seq uint64, ms int, ttft, itl float64, tokens int, end string) attack.Stream {
	d := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	st := attack.Stream{Time: at(ms), Attack: "a", Seq: seq, Try: 1, Format: attack.FormatOpenAI, Code: 200,
		TTFT: d(ttft), Tokens: tokens, End: end, FinishReason: "stop"}
	if tokens >= 2 {
		st.ITL = d(itl)
	}
	st.MaxGap = max(st.TTFT, st.ITL)
	st.Duration = st.TTFT + st.ITL*time.Duration(max(tokens-1, 0)) + 5*time.Millisecond
	if end != attack.EndDone {
		st.FinishReason = ""
	}
	return st
}

// streamFixture is 80 streaming requests, one each 100ms, of 50 tokens
// (TTFT 100ms, ITL 10ms), with in phase cuts:
//
//	seq%4 == 0 (10): cut after 20 tokens by an sse-cut (closed-mid-body)
//	seq%4 == 2 (10): stalled after 12 tokens by an sse-stall
//	seq 41:          cut after 30 tokens with no fault: the upstream's own
//	seq 43:          no answer at all (a reset before the headers)
func streamFixture() ([]attack.Stream, []faults.Event, []vegeta.Result) {
	var sts []attack.Stream
	var evs []faults.Event
	var res []vegeta.Result
	for i := range 80 {
		seq, ms := uint64(i), i*100
		st := stream(seq, ms, 100, 10, 50, attack.EndDone)
		r := vegeta.Result{Attack: "a", Seq: seq, Code: 200, Timestamp: at(ms), Latency: st.Duration}
		switch {
		case i >= 40 && i%4 == 0:
			st = stream(seq, ms, 100, 10, 20, attack.EndCut)
			st.Error = "stream-cut: the stream ended after 20 tokens without its end marker"
			r.Code, r.Error, r.Latency = 0, st.Error, st.Duration
			e := fault(ms+250, u64(seq), 0, scenarios.KindSSECut, causes.ClosedMidBody, true)
			evs = append(evs, e)
		case i >= 40 && i%4 == 2:
			st = stream(seq, ms, 100, 10, 12, attack.EndStall)
			st.Error = "stream-stall: no token for 2s after 12 tokens"
			r.Code, r.Error, r.Latency = 0, st.Error, st.Duration+2*time.Second
			evs = append(evs, fault(ms+2300, u64(seq), 0, scenarios.KindSSEStall, "", false))
		case i == 41:
			st = stream(seq, ms, 100, 10, 30, attack.EndCut)
			st.Error = "stream-cut: the stream ended after 30 tokens without its end marker"
			r.Code, r.Error = 0, st.Error
		case i == 43:
			r.Code, r.Error = 0, "Get \"http://127.0.0.1/\": EOF"
			evs = append(evs, fault(ms+1, u64(seq), 0, "reset", causes.ResetBeforeHeaders, true))
			res = append(res, r)
			continue
		}
		sts = append(sts, st)
		res = append(res, r)
	}
	evs = append(evs, seen([2]uint64{0, 80}))
	return sts, evs, res
}

// streamFixtureReport analyses the stream fixture.
func streamFixtureReport(run *Run) *Report {
	sts, evs, res := streamFixture()
	return streamReport(run, sts, evs, res)
}

// streamReport analyses streams, events and results.
func streamReport(run *Run, sts []attack.Stream, evs []faults.Event, res []vegeta.Result) *Report {
	a := NewAnalyzer(run, Options{})
	for i := range evs {
		a.AddEvent(&evs[i])
	}
	for i := range sts {
		a.AddStream(&sts[i])
	}
	for i := range res {
		a.Add(&res[i])
	}
	return a.Report()
}

// TestStreamReport: the figures of report.json's streams, per run, phase
// and bucket, from a fixture whose every figure is known.
func TestStreamReport(t *testing.T) {
	rep := streamFixtureReport(streamRun("builtin"))
	st := rep.Streams
	if st == nil {
		t.Fatal("got no streams, want them")
	}
	// 79 streams: 58 of 50 tokens, 10 of 20, 10 of 12, 1 of 30.
	if st.Streams != 79 || st.Tokens != 58*50+10*20+10*12+30 {
		t.Errorf("got %d streams, %d tokens; want 79, %d", st.Streams, st.Tokens, 58*50+10*20+10*12+30)
	}
	if st.Cut != 11 || st.Stalled != 10 {
		t.Errorf("got %d cut, %d stalled; want 11, 10", st.Cut, st.Stalled)
	}
	if st.TTFTMS.P50 != 100 || st.TTFTMS.P99 != 100 || st.ITLP99MS != 10 {
		t.Errorf("got TTFT %+v, ITL p99 %v; want 100, 100, 10", st.TTFTMS, st.ITLP99MS)
	}
	// Per request: tokens / (duration - ttft) = n / ((n-1)*10ms + 5ms).
	want := (58*tps(50) + 10*tps(20) + 10*tps(12) + tps(30)) / 79
	if math.Abs(st.TokensPerSPerRequest-want) > 0.001 {
		t.Errorf("got %v tokens/s per request, want %v", st.TokensPerSPerRequest, want)
	}
	if got := st.Ends; got[attack.EndDone] != 58 || got[attack.EndCut] != 11 || got[attack.EndStall] != 10 {
		t.Errorf("got ends %v, want 58 done, 11 cut, 10 stall", got)
	}
	calm, cuts := rep.Phases[0].Streams, rep.Phases[1].Streams
	if calm.Streams != 40 || calm.Tokens != 2000 || calm.TokensPerS != 500 || calm.Cut != 0 {
		t.Errorf("calm: got %+v, want 40 streams, 2000 tokens, 500 tokens/s, none cut", calm)
	}
	if cuts.Streams != 39 || cuts.Cut != 11 || cuts.Stalled != 10 {
		t.Errorf("cuts: got %+v, want 39 streams, 11 cut, 10 stalled", cuts)
	}
	if got := cuts.CutCauses; got[causes.ClosedMidBody] != 10 || got[causes.UpstreamEndedStream] != 1 || len(got) != 2 {
		t.Errorf("cuts: got cut causes %v, want 10 %s, 1 %s", got, causes.ClosedMidBody, causes.UpstreamEndedStream)
	}
	if got := cuts.StallCauses; got[causes.StalledMidStream] != 10 || len(got) != 1 {
		t.Errorf("cuts: got stall causes %v, want 10 %s", got, causes.StalledMidStream)
	}
	// Bucket 4 (4-5s): seqs 40-49, 43 without an answer.
	b := rep.Timeline[4].Streams
	if b == nil || b.Streams != 9 || b.Cut != 4 || b.Stalled != 2 || b.TokensPerS != float64(b.Tokens) {
		t.Errorf("bucket 4: got %+v, want 9 streams, 4 cut (40, 41, 44, 48), 2 stalled, tokens/s = tokens over 1s", b)
	}
	if rep.Timeline[0].Streams == nil || rep.Timeline[0].Streams.Streams != 10 {
		t.Errorf("bucket 0: got %+v, want 10 streams", rep.Timeline[0].Streams)
	}
	if st.Buffering != nil {
		t.Errorf("got buffering %+v, want none: the tokens came one by one", st.Buffering)
	}
}

// tps is a fixture stream's tokens per second per request.
func tps(n int) float64 {
	return float64(n) / (time.Duration(n-1)*10*time.Millisecond + 5*time.Millisecond).Seconds()
}

// TestStreamClasses: a stream cut or stalled is its own failure class,
// with its own causes, evidence and onset; it stays in errors (vegeta
// counts it so) and error_kinds, but not in the error class.
func TestStreamClasses(t *testing.T) {
	rep := streamFixtureReport(streamRun("builtin"))
	if rep.Totals.Errors != 22 || rep.Totals.ErrorKinds[ErrorStreamCut] != 11 || rep.Totals.ErrorKinds[ErrorStreamStall] != 10 || rep.Totals.ErrorKinds[ErrorEOF] != 1 {
		t.Errorf("got %d errors, kinds %v; want 22: 11 stream-cut, 10 stream-stall, 1 eof", rep.Totals.Errors, rep.Totals.ErrorKinds)
	}
	for _, tt := range []struct {
		class string
		first float64
		want  []Cause
	}{
		{scenarios.ClassStreamCut, 4, []Cause{
			{Cause: causes.ClosedMidBody, Count: 10, Share: 0.909, Evidence: Evidence{Exact: 10}},
			{Cause: causes.UpstreamEndedStream, Count: 1, Share: 0.091, Evidence: Evidence{Temporal: 1}},
		}},
		{scenarios.ClassStreamStall, 4.2, []Cause{{Cause: causes.StalledMidStream, Count: 10, Share: 1, Evidence: Evidence{Exact: 10}}}},
		{scenarios.ClassError, 4.3, []Cause{{Cause: causes.ResetBeforeHeaders, Count: 1, Share: 1, Evidence: Evidence{Exact: 1}}}},
	} {
		t.Run(tt.class, func(t *testing.T) {
			got := rep.OtherCauses[tt.class]
			if len(got) != len(tt.want) {
				t.Fatalf("got causes %+v, want %+v", got, tt.want)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.Cause != w.Cause || g.Count != w.Count || g.Share != w.Share || g.Evidence != w.Evidence {
					t.Errorf("got %+v, want %+v", g, w)
				}
			}
			if o := rep.OtherOnsets[tt.class]; o.FirstS == nil || *o.FirstS != tt.first {
				t.Errorf("got onset %+v, want the first at %vs", o, tt.first)
			}
		})
	}
	if !strings.Contains(rep.Diagnosis, "11 streams cut, the first at 4.0s") || !strings.Contains(rep.Diagnosis, "10 streams stalled") {
		t.Errorf("got diagnosis %q, want it to say 11 streams cut and 10 stalled", rep.Diagnosis)
	}
	// Explain agrees with the report.
	a := NewAnalyzer(streamRun("builtin"), Options{})
	_, evs, res := streamFixture()
	for i := range evs {
		a.AddEvent(&evs[i])
	}
	for _, tt := range []struct {
		seq            int
		cause, evident string
	}{{40, causes.ClosedMidBody, "exact"}, {41, causes.UpstreamEndedStream, "temporal"}, {42, causes.StalledMidStream, "exact"}, {43, causes.ResetBeforeHeaders, "exact"}, {1, "", ""}} {
		if c, e := a.Explain(&res[tt.seq]); c != tt.cause || e != tt.evident {
			t.Errorf("seq %d: got %s (%s), want %s (%s)", tt.seq, c, e, tt.cause, tt.evident)
		}
	}
}

// TestStreamUnseen: a stream cut that the proxy has no record of is
// unattributed, with no evidence: the run cannot tell the upstream's doing.
func TestStreamUnseen(t *testing.T) {
	r := vegeta.Result{Attack: "a", Seq: 3, Timestamp: at(500), Latency: time.Second, Error: "stream-cut: the stream ended after 3 tokens without its end marker"}
	rep := Analyze(streamRun("builtin"), []vegeta.Result{r}, nil, Options{})
	got := rep.OtherCauses[scenarios.ClassStreamCut]
	if len(got) != 1 || got[0].Cause != causes.Unattributed || got[0].Evidence.None != 1 {
		t.Errorf("got %+v, want 1 unattributed (none)", got)
	}
	if rep.Streams == nil || rep.Streams.Streams != 0 || rep.Streams.Cut != 1 {
		t.Errorf("got streams %+v, want none recorded, 1 cut", rep.Streams)
	}
}

// TestNoStreams: a run without streams has no streams key anywhere in
// report.json, so that every report of a run without them stays as it was.
func TestNoStreams(t *testing.T) {
	res := []vegeta.Result{{Attack: "a", Seq: 0, Code: 200, Timestamp: at(100), Latency: time.Millisecond},
		{Attack: "a", Seq: 1, Code: 0, Error: "EOF", Timestamp: at(200), Latency: time.Millisecond}}
	rep := Analyze(streamRun("builtin"), res, nil, Options{})
	js, err := rep.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(js, []byte(`"streams"`)) || strings.Contains(rep.Diagnosis, "stream") {
		t.Errorf("got streams in a run without: %s", js)
	}
	// And read back, a report with streams keeps them.
	full := streamFixtureReport(streamRun("nginx"))
	b, err := full.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeReport("report.json", b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Streams == nil || back.Streams.Cut != 11 || back.Phases[1].Streams == nil || back.Timeline[4].Streams == nil {
		t.Errorf("got %+v read back, want the streams kept", back.Streams)
	}
}

// TestBuffering: the buffering rule, stream by stream and over the run,
// and the setting it names for each gateway kind.
func TestBuffering(t *testing.T) {
	burst := func(seq uint64, tokens int) attack.Stream {
		// 2,100 ms to the first token, every token within 3 ms after it.
		st := stream(seq, int(seq)*100, 2100, 3.0/float64(tokens-1), tokens, attack.EndDone)
		st.Duration = 2110 * time.Millisecond
		return st
	}
	steady := func(seq uint64) attack.Stream { return stream(seq, int(seq)*100, 120, 4, 500, attack.EndDone) }
	for _, tt := range []struct {
		name    string
		gateway string
		streams []attack.Stream
		want    string // a part of the warning; "" for none
	}{
		{"nginx buffered", "nginx", []attack.Stream{burst(0, 500), burst(1, 500), burst(2, 500)},
			"nginx buffered the stream: TTFT 2,100 ms, the whole answer's 2,110 ms, 500 tokens arriving within 3 ms (3 of 3 streams of 10 tokens or more); set proxy_buffering off in the location."},
		{"caddy", "caddy", []attack.Stream{burst(0, 50), burst(1, 50), burst(2, 50), steady(3)}, "caddy buffered the stream: TTFT 2,100 ms, the whole answer's 2,110 ms, 50 tokens arriving within 3 ms (3 of 4 streams of 10 tokens or more); set flush_interval -1 in the reverse_proxy block."},
		{"haproxy", "haproxy", []attack.Stream{burst(0, 50), burst(1, 50), burst(2, 50)}, "HAProxy does not buffer answers by itself"},
		{"builtin", "builtin", []attack.Stream{burst(0, 50), burst(1, 50), burst(2, 50)}, "a proxy between the client and the upstream buffered the stream"},
		{"unknown", "none", []attack.Stream{burst(0, 50), burst(1, 50), burst(2, 50)}, "the gateway buffered the stream"},
		{"half is not most", "nginx", []attack.Stream{burst(0, 50), burst(1, 50), steady(2), steady(3)}, ""},
		{"too few streams", "nginx", []attack.Stream{burst(0, 50), burst(1, 50)}, ""},
		{"too few tokens", "nginx", []attack.Stream{burst(0, 9), burst(1, 9), burst(2, 9)}, ""},
		{"tokens one by one", "nginx", []attack.Stream{steady(0), steady(1), steady(2)}, ""},
		{"first token early", "nginx", func() []attack.Stream {
			// TTFT at 80% of the answer: not held back whole.
			var out []attack.Stream
			for i := range 3 {
				st := burst(uint64(i), 50)
				st.TTFT = st.Duration * 8 / 10
				out = append(out, st)
			}
			return out
		}(), ""},
		{"tokens spread", "nginx", func() []attack.Stream {
			// The tokens span 10% of the answer: not one burst.
			var out []attack.Stream
			for i := range 3 {
				st := burst(uint64(i), 50)
				st.ITL = st.Duration / 10 / 49
				out = append(out, st)
			}
			return out
		}(), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var res []vegeta.Result
			for _, st := range tt.streams {
				res = append(res, vegeta.Result{Attack: "a", Seq: st.Seq, Code: 200, Timestamp: st.Time, Latency: st.Duration})
			}
			rep := streamReport(streamRun(tt.gateway), tt.streams, nil, res)
			b := rep.Streams.Buffering
			if tt.want == "" {
				if b != nil {
					t.Fatalf("got %+v, want no buffering", b)
				}
				return
			}
			if b == nil || !strings.Contains(b.Warning, tt.want) {
				t.Fatalf("got %+v, want a warning with %q", b, tt.want)
			}
			if !strings.Contains(rep.Diagnosis, upperFirst(b.Warning)) {
				t.Errorf("got diagnosis %q, want the warning in it", rep.Diagnosis)
			}
		})
	}
}

// TestStreamExpectations: the stream expectations on the fixture, in the
// whole run and in a phase, and undefined in a run without streams.
func TestStreamExpectations(t *testing.T) {
	rep := streamFixtureReport(streamRun("builtin"))
	none := Analyze(streamRun("builtin"), []vegeta.Result{{Attack: "a", Seq: 0, Code: 200, Timestamp: at(100), Latency: time.Millisecond}}, nil, Options{})
	for _, tt := range []struct {
		expr   string
		rep    *Report
		ok     bool
		value  float64 // NaN: null
		detail string
	}{
		{"p99(ttft) < 800ms in calm", rep, true, 100, ""},
		{"p50(ttft) < 0.05s", rep, false, 0.1, ""},
		{"p99(itl) <= 10ms", rep, true, 10, ""},
		{"rate(class=stream-cut) < 0.1%", rep, false, 13.75, ""},
		{"rate(class=stream-cut) == 0% in calm", rep, true, 0, ""},
		{"count(class=stream-stall) == 10 in cuts", rep, true, 10, ""},
		{"count(class=stream-cut) == 11", rep, true, 11, ""},
		{"count(error) == 1", rep, true, 1, ""},
		{"rate(error) < 2%", rep, true, 1.25, ""},
		{"count(user-failure) == 22", rep, true, 22, "no client retry policy: every request had one try"},
		{"share(cause=stalled-mid-stream, error) == 0%", rep, true, 0, ""},
		{"p99(ttft) < 800ms", none, false, math.NaN(), "the run had no streaming answer (text/event-stream), so the report has no streams"},
		{"rate(class=stream-cut) < 1%", none, false, math.NaN(), "the run had no streaming answer (text/event-stream), so the report has no streams"},
		{"count(class=stream-stall) == 0 in cuts", none, false, math.NaN(), "the run had no streaming answer"},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := scenarios.ParseExpect(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			v := Evaluate(tt.rep, []scenarios.Expectation{e})[0]
			if v.OK != tt.ok || !strings.HasPrefix(v.Detail, tt.detail) {
				t.Errorf("got ok %v, detail %q; want %v, %q", v.OK, v.Detail, tt.ok, tt.detail)
			}
			switch {
			case math.IsNaN(tt.value) && v.Value != nil:
				t.Errorf("got value %v, want null", *v.Value)
			case !math.IsNaN(tt.value) && (v.Value == nil || *v.Value != tt.value):
				t.Errorf("got value %v, want %v", v.Value, tt.value)
			}
		})
	}
}

// TestErrorKindStreams: the stream kinds come before the others, whose
// words their messages may hold.
func TestErrorKindStreams(t *testing.T) {
	for _, tt := range []struct{ msg, want string }{
		{"stream-cut: the stream ended after 37 tokens without its end marker", ErrorStreamCut},
		{"stream-stall: no token for 2s after 12 tokens", ErrorStreamStall},
		{"stream-cut: read: connection reset by peer", ErrorStreamCut},
		{"stream-stall: timeout", ErrorStreamStall},
		{"net/http: request canceled (Client.Timeout exceeded)", ErrorTimeout},
		// The attacker's own prefixes (attack/stream.go) are the ones told.
		{attack.ErrStreamCut + "x", ErrorStreamCut},
		{attack.ErrStreamStall + "x", ErrorStreamStall},
	} {
		if got := ErrorKind(tt.msg); got != tt.want {
			t.Errorf("ErrorKind(%q): got %q, want %q", tt.msg, got, tt.want)
		}
	}
}

func TestThousands(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{{0, "0"}, {3, "3"}, {2100, "2,100"}, {1234567, "1,234,567"}, {2.5, "2.5"}, {999.96, "1,000"}, {-1500, "-1,500"}, {0.04, "0"}} {
		if got := Thousands(tt.v); got != tt.want {
			t.Errorf("Thousands(%v): got %q, want %q", tt.v, got, tt.want)
		}
	}
}
