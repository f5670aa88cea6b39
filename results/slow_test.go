package results

import (
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/scenarios"
)

// slowRun is a quiet phase "quiet" (0-5s) then a phase "p" with faults
// (5-10s), attack "a".
func slowRun() *Run {
	return &Run{Schema: RunSchema, Scenario: "s", Attack: "a", Started: t0, Phases: []PhasePlan{
		{Name: "quiet", EndS: 5, Planned: 50, Rate: 10, RampTo: 10},
		{Name: "p", StartS: 5, EndS: 10, Planned: 50, Rate: 10, RampTo: 10, Faults: []string{"latency", "reset", "overload", "refuse"}},
	}}
}

// slowFixture returns results and events with one slow answer of each
// cause, and a baseline of 20 answers of 2ms (p99 2ms) in phase quiet.
func slowFixture() ([]vegeta.Result, []faults.Event, []Testimony) {
	res := func(seq uint64, ms int, code uint16, lat time.Duration) vegeta.Result {
		return vegeta.Result{Attack: "a", Seq: seq, Code: code, Timestamp: at(ms), Latency: lat}
	}
	var rs []vegeta.Result
	for i := range 20 {
		rs = append(rs, res(uint64(100+i), 100*i, 200, 2*time.Millisecond))
	}
	rs = append(rs,
		res(1, 5100, 200, 800*time.Millisecond),   // injected latency
		res(2, 5200, 200, 300*time.Millisecond),   // the gateway retried a reset
		res(3, 5300, 200, 400*time.Millisecond),   // queued by the overload cap
		res(4, 8500, 200, 1500*time.Millisecond),  // in flight while refused
		res(5, 5500, 200, 600*time.Millisecond),   // the gateway's log: retried
		res(6, 5600, 200, 1000*time.Millisecond),  // the gateway's log: waited 990ms
		res(7, 5700, 200, 2000*time.Millisecond),  // nothing
		res(8, 5800, 200, 700*time.Millisecond),   // the client's second try
		res(9, 5900, 502, 3000*time.Millisecond),  // slow, but a failure
		res(10, 5950, 200, 10*time.Millisecond),   // delayed, yet fast
		res(11, 6000, 404, 1500*time.Millisecond), // slow 404, unexplained
	)
	obs := func(ms int, seq uint64, attempt int, kind string) faults.Event {
		return faults.Event{Time: at(ms), Type: faults.TypeObservation, Attack: "a", Seq: &seq, Attempt: attempt, Phase: "p", Kind: kind, Fault: -1}
	}
	evs := []faults.Event{
		fault(5101, u64(1), 0, scenarios.KindLatency, "", false),
		fault(5201, u64(2), 0, scenarios.KindReset, "reset-before-headers", true),
		obs(5250, 2, 1, faults.ObservedRetry),
		fault(5301, u64(3), 0, scenarios.KindOverload, "", false),
		fault(8000, nil, 0, scenarios.KindRefuse, "", false),
		{Time: at(9000), Type: faults.TypeObservation, Kind: faults.ObservedRefuseEnded, Fault: -1},
		{Time: at(5801), Type: faults.TypeObservation, Attack: "a", Seq: u64(8), Attempt: 1, Try: 2, Phase: "p", Kind: faults.ObservedClientRetry, Fault: -1},
		fault(5951, u64(10), 0, scenarios.KindLatency, "", false),
	}
	evs[6].Try = 2
	wait := 990.0
	told := []Testimony{
		{Gateway: "haproxy", Attack: "a", Seq: u64(5), Status: 200, Retries: 1},
		{Gateway: "haproxy", Attack: "a", Seq: u64(6), Status: 200, WaitMS: &wait},
	}
	return rs, evs, told
}

func analyzeSlow(opt Options) (*Analyzer, *Report) {
	rs, evs, told := slowFixture()
	a := NewAnalyzer(slowRun(), opt)
	for i := range evs {
		a.AddEvent(&evs[i])
	}
	a.AddTestimony(told)
	for i := range rs {
		a.Add(&rs[i])
	}
	return a, a.Report()
}

func TestSlowCauses(t *testing.T) {
	a, rep := analyzeSlow(Options{})
	s := rep.Slow
	if s.From != SlowFromBaseline || s.ThresholdMS != 52 || s.Baseline.Scope != "quiet-phases" || s.Baseline.Requests != 20 || s.Baseline.P99MS != 2 {
		t.Fatalf("threshold: got %v from %s, baseline %+v; want 52 (2ms p99 + 50) from baseline over 20 quiet answers", s.ThresholdMS, s.From, s.Baseline)
	}
	// 20 baseline, 9 answered in p (seq 9 failed).
	if s.Answers != 30 || s.Count != 9 {
		t.Errorf("answers %d, slow %d; want 30 and 9", s.Answers, s.Count)
	}
	want := map[string]string{ // cause -> its evidence
		SlowInjected: "exact", SlowGatewayRetried: "exact signature", SlowOverloadQueued: "exact",
		SlowConnectRetried: "temporal", SlowGatewayQueued: "signature", SlowUnexplained: "none none", SlowClientRetried: "exact",
	}
	got := map[string]string{}
	for _, c := range s.Causes {
		var ev []string
		for range c.Evidence.Exact {
			ev = append(ev, "exact")
		}
		for range c.Evidence.Temporal {
			ev = append(ev, "temporal")
		}
		for range c.Evidence.Signature {
			ev = append(ev, "signature")
		}
		for range c.Evidence.None {
			ev = append(ev, "none")
		}
		got[c.Cause] = strings.Join(ev, " ")
	}
	if !sameStrings(got, want) {
		t.Errorf("causes:\n got %v\nwant %v", got, want)
	}
	for _, c := range s.Causes {
		if c.Cause == SlowUnexplained && (c.LatencyMS != Range{1500, 1500, 2000} || c.AddedMS != Range{1498, 1498, 1998}) {
			t.Errorf("unexplained: latency %+v added %+v; want 1500..2000 and 1498..1998", c.LatencyMS, c.AddedMS)
		}
	}
	if p := rep.Phases[1].Slow; p == nil || p.Count != 9 || p.Answers != 10 {
		t.Errorf("phase p: got %+v, want 9 slow of 10 answers", p)
	}
	if p := rep.Phases[0].Slow; p == nil || p.Count != 0 || p.Answers != 20 {
		t.Errorf("phase quiet: got %+v, want 0 slow of 20", p)
	}
	// Slowness tells each request's cause as the report counts it.
	rs, _, _ := slowFixture()
	wantOf := map[uint64]string{1: SlowInjected, 2: SlowGatewayRetried, 3: SlowOverloadQueued, 4: SlowConnectRetried, 5: SlowGatewayRetried,
		6: SlowGatewayQueued, 7: SlowUnexplained, 8: SlowClientRetried, 9: "", 10: SlowInjected, 11: SlowUnexplained}
	for i := range rs {
		w, ok := wantOf[rs[i].Seq]
		if !ok {
			continue
		}
		c, ev, why := a.Slowness(&rs[i])
		if c != w || (c != "" && (ev == "" || why == "")) {
			t.Errorf("seq %d: got %q (%s: %s), want %q", rs[i].Seq, c, ev, why, w)
		}
	}
}

func sameStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestSlowThreshold(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opt   Options
		thr   float64
		from  string
		count int
	}{
		{"flag", Options{Slow: time.Second}, 1000, SlowFromFlag, 4},
		{"expectation", Options{Slow: 700 * time.Millisecond, SlowFrom: "p99(latency) < 700ms"}, 700, SlowFromExpectation, 6},
		{"baseline", Options{}, 52, SlowFromBaseline, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, rep := analyzeSlow(tc.opt)
			s := rep.Slow
			if s.ThresholdMS != tc.thr || s.From != tc.from || s.Count != tc.count {
				t.Errorf("got %v ms from %s, %d slow; want %v from %s, %d", s.ThresholdMS, s.From, s.Count, tc.thr, tc.from, tc.count)
			}
			if tc.from == SlowFromExpectation && s.Expectation != tc.opt.SlowFrom {
				t.Errorf("expectation: got %q, want %q", s.Expectation, tc.opt.SlowFrom)
			}
		})
	}
	// No baseline at all: the default.
	rep := Analyze(oneRun("latency"), []vegeta.Result{{Attack: "a", Seq: 1, Code: 200, Timestamp: at(1), Latency: 1500 * time.Millisecond}},
		[]faults.Event{fault(2, u64(1), 0, scenarios.KindLatency, "", false)}, Options{})
	if s := rep.Slow; s.From != SlowFromDefault || s.ThresholdMS != 1000 || s.Count != 1 || s.Baseline.Scope != "" {
		t.Errorf("no baseline: got %+v, want the 1s default and 1 slow", s)
	}
	if want := "1 answer took 1.5 s (slow: at least 1.0 s, no fault-free answer to measure a baseline on): the fault proxy's latency held them back; no error reached the client in that phase."; !strings.Contains(rep.Diagnosis, want) {
		t.Errorf("no baseline: the diagnosis lacks %q:\n%s", want, rep.Diagnosis)
	}
}

func TestMaskedPrice(t *testing.T) {
	_, rep := analyzeSlow(Options{})
	want := []MaskedPrice{{Kind: "reset", Phase: "p", Faults: 1, Requests: 1, AddedMS: 298, AddedMaxMS: 298, ExtraAttempts: 1}}
	if got := rep.Masked.Price; len(got) != 1 || got[0] != want[0] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestSlowDiagnosis(t *testing.T) {
	_, rep := analyzeSlow(Options{})
	for _, want := range []string{
		"2 answers in phase p took 298 ms to 598 ms longer than the fault-free p50 (slow: at least 52 ms, the baseline's p99 of 2 ms and 50 ms more): the gateway retried them at the upstream after an attempt failed.",
		"7 more answers were slow.",
	} {
		if !strings.Contains(rep.Diagnosis, want) {
			t.Errorf("diagnosis lacks %q:\n%s", want, rep.Diagnosis)
		}
	}
	_, rep = analyzeSlow(Options{Slow: 10 * time.Second})
	if strings.Contains(rep.Diagnosis, "longer than") {
		t.Errorf("no slow answer, yet: %s", rep.Diagnosis)
	}
}

// TestGatewayHeld checks when the gateway's logged wait is the cause of a
// slow answer: when, without it, the answer would have come under the
// threshold.
func TestGatewayHeld(t *testing.T) {
	for _, tc := range []struct {
		lat, wait, thr float64
		want           bool
	}{
		{1000, 990, 52, true},
		{1000, 900, 52, false}, // 100ms without the wait: slow all the same
		{500, 200, 450, true},  // 300ms upstream, held 200ms: slow because held
		{500, 10, 450, false},
		{1000, 500, 0, true}, // no threshold: half the latency
		{1000, 499, 0, false},
	} {
		if got := gatewayHeld(tc.lat, tc.wait, tc.thr); got != tc.want {
			t.Errorf("latency %v, wait %v, threshold %v: got %v, want %v", tc.lat, tc.wait, tc.thr, got, tc.want)
		}
	}
}
