package results

import (
	"math"
	"reflect"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/scenarios"
)

// retryRun is a run of two phases, calm (0-5s) and spike (5-10s), at
// 1/s, attack "a".
func retryRun() *Run {
	return &Run{Schema: RunSchema, Scenario: "s", Attack: "a", Started: t0, Phases: []PhasePlan{
		{Name: "calm", EndS: 5, Planned: 5, Rate: 1, RampTo: 1},
		{Name: "spike", StartS: 5, EndS: 10, Planned: 5, Rate: 1, RampTo: 1, Faults: []string{"reset"}},
	}}
}

// try is one try of request seq of attack "a", sent at ms, taking lat
// milliseconds.
func try(seq uint64, n, ms, lat, backoff, code int, errMsg, stop string) attack.Try {
	return attack.Try{Time: at(ms), Attack: "a", Seq: seq, Try: n, Code: code, Error: errMsg,
		Latency: time.Duration(lat) * time.Millisecond, Backoff: time.Duration(backoff) * time.Millisecond, Stop: stop}
}

// obs is an observation of kind about try n of seq, at attempt.
func obs(ms int, seq uint64, attempt, n int, kind string) faults.Event {
	return faults.Event{Time: at(ms), Type: faults.TypeObservation, Attack: "a", Seq: u64(seq), Attempt: attempt, Try: n, Phase: "spike", Kind: kind, Fault: -1}
}

// tryFault is a reset before the headers of try n of seq, at attempt.
func tryFault(ms int, seq uint64, attempt, n int) faults.Event {
	e := fault(ms, u64(seq), attempt, "reset", "reset-before-headers", true)
	e.Try = n
	return e
}

// retryFixture is five requests under a retry policy, with known answers:
//
//	seq 0 at 1s:  200 on the first try; 1 arrival
//	seq 1 at 2s:  502 (a reset), then 200 after 50ms of backoff: hidden, 60ms added; 2 arrivals
//	seq 2 at 6s:  no answer (a reset the gateway retried, itself reset), 503
//	              after Retry-After, 502: attempts; 4 arrivals, 1 a gateway retry
//	seq 3 at 7s:  502, the budget refused the retry at 7.02s; 1 arrival
//	seq 4 at 8s:  refused before the proxy: not retryable; 0 arrivals
func retryFixture() ([]attack.Try, []faults.Event, []vegeta.Result) {
	t2b := try(2, 2, 6105, 5, 100, 503, "", "")
	t2b.RetryAfter = true
	tries := []attack.Try{
		try(0, 1, 1000, 5, 0, 200, "", attack.StopSuccess),
		try(1, 1, 2000, 10, 0, 502, "", ""),
		try(2, 1, 6000, 5, 0, 0, "EOF", ""),
		try(1, 2, 2060, 10, 50, 200, "", attack.StopSuccess),
		t2b,
		try(3, 1, 7000, 20, 0, 502, "", attack.StopBudget),
		try(2, 3, 7105, 5, 1000, 502, "", attack.StopAttempts),
		try(4, 1, 8000, 1, 0, 0, "dial tcp: connection refused", attack.StopNotRetryable),
	}
	events := []faults.Event{
		tryFault(2005, 1, 0, 1),
		obs(2061, 1, 1, 2, faults.ObservedClientRetry),
		tryFault(6001, 2, 0, 1),
		obs(6002, 2, 1, 1, faults.ObservedRetry),
		tryFault(6003, 2, 1, 1),
		obs(6106, 2, 2, 2, faults.ObservedClientRetry),
		obs(7106, 2, 3, 3, faults.ObservedClientRetry),
		tryFault(7010, 3, 0, 1),
		seen([2]uint64{0, 4}),
	}
	res := func(seq uint64, ms, lat int, code uint16, errMsg string) vegeta.Result {
		return vegeta.Result{Attack: "a", Seq: seq, Code: code, Error: errMsg, Timestamp: at(ms), Latency: time.Duration(lat) * time.Millisecond}
	}
	results := []vegeta.Result{
		res(0, 1000, 5, 200, ""), res(1, 2000, 70, 200, ""), res(2, 6000, 1110, 502, ""),
		res(3, 7000, 20, 502, ""), res(4, 8000, 1, 0, "dial tcp: connection refused"),
	}
	return tries, events, results
}

// analyzeRetries analyses the fixture as Folder.Analyze does: events,
// then tries, then results.
func analyzeRetries(tries []attack.Try, events []faults.Event, res []vegeta.Result) *Report {
	a := NewAnalyzer(retryRun(), Options{})
	for i := range events {
		a.AddEvent(&events[i])
	}
	for i := range tries {
		a.AddTry(&tries[i])
	}
	for i := range res {
		a.Add(&res[i])
	}
	return a.Report()
}

func TestRetries(t *testing.T) {
	tries, events, res := retryFixture()
	rep := analyzeRetries(tries, events, res)
	budget := 7.02
	for _, tt := range []struct {
		name string
		got  *Retries
		want *Retries
	}{
		{"total", rep.Retries, &Retries{Requests: 5, Tries: 8, FirstTryFailures: 4, UserFailures: 3, Hidden: 1,
			FirstTryFailureRate: 0.8, UserFailureRate: 0.6, TriesPerRequest: 1.6, UpstreamArrivals: 8, Amplification: 1.6,
			GatewayRetries: 1, AddedLatencyMS: BucketLatency{P50: 60, P99: 60}, BudgetExhausted: 1, BudgetFirstS: &budget, RetryAfter: 1,
			Stops: map[string]int{"success": 2, "attempts": 1, "budget": 1, "not-retryable": 1},
			// Buckets 2s (seq 1: 2 arrivals) and 6s (seq 2: 4) surge; the
			// first of the two, as long.
			Surge: &Surge{FromS: 2, ToS: 3, Amplification: 2, OfferedRate: 1, UpstreamRate: 2}}},
		{"phase calm", rep.Phases[0].Retries, &Retries{Requests: 2, Tries: 3, FirstTryFailures: 1, Hidden: 1,
			FirstTryFailureRate: 0.5, TriesPerRequest: 1.5, UpstreamArrivals: 3, Amplification: 1.5,
			AddedLatencyMS: BucketLatency{P50: 60, P99: 60}, Stops: map[string]int{"success": 2}}},
		{"phase spike", rep.Phases[1].Retries, &Retries{Requests: 3, Tries: 5, FirstTryFailures: 3, UserFailures: 3,
			FirstTryFailureRate: 1, UserFailureRate: 1, TriesPerRequest: 1.667, UpstreamArrivals: 5, Amplification: 1.667,
			GatewayRetries: 1, BudgetExhausted: 1, BudgetFirstS: &budget, RetryAfter: 1,
			Stops: map[string]int{"attempts": 1, "budget": 1, "not-retryable": 1}}},
		{"bucket 6s", rep.Timeline[6].Retries, &Retries{Requests: 1, Tries: 3, FirstTryFailures: 1, UserFailures: 1,
			FirstTryFailureRate: 1, UserFailureRate: 1, TriesPerRequest: 3, UpstreamArrivals: 4, Amplification: 4,
			GatewayRetries: 1, RetryAfter: 1, Stops: map[string]int{"attempts": 1}}},
		{"bucket 0s, no request", rep.Timeline[0].Retries, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", deref2(tt.got), deref2(tt.want))
			}
		})
	}
	// The fault on seq 1's first try was masked by the client's retry;
	// those on seq 2's were repeated.
	if got := rep.Masked.Reasons; !reflect.DeepEqual(got, map[string]int{scenarios.MaskedClientRetried: 1}) {
		t.Errorf("masked reasons: got %v, want client-retried: 1", got)
	}
	if rep.Masked.Repeated != 2 {
		t.Errorf("repeated: got %d, want 2", rep.Masked.Repeated)
	}

	// Without tries, no retries anywhere.
	plain := Analyze(retryRun(), res, events, Options{})
	if plain.Retries != nil || plain.Phases[0].Retries != nil || plain.Timeline[2].Retries != nil {
		t.Errorf("without tries: got %+v, want no retries", plain.Retries)
	}
}

// deref2 shows a *Retries with its budget time.
func deref2(r *Retries) any {
	if r == nil {
		return nil
	}
	return struct {
		R      Retries
		Budget any
	}{*r, deref(r.BudgetFirstS)}
}

// TestRetriesCut: tries.jsonl cut before a request's last try still counts
// the request, as far as its tries go, and any order of requests gives
// the same figures.
func TestRetriesCut(t *testing.T) {
	tries, events, res := retryFixture()
	full := analyzeRetries(tries, events, res)
	reversed := make([]attack.Try, 0, len(tries))
	// Requests in reverse order, each one's tries in order.
	for seq := 4; seq >= 0; seq-- {
		for _, tr := range tries {
			if tr.Seq == uint64(seq) {
				reversed = append(reversed, tr)
			}
		}
	}
	if got := analyzeRetries(reversed, events, res); !reflect.DeepEqual(got.Retries, full.Retries) {
		t.Errorf("requests in reverse: got %+v, want %+v", got.Retries, full.Retries)
	}
	// Cut after seq 2's second try: its third is missing.
	cut := analyzeRetries(tries[:4], events, res).Retries
	if cut.Requests != 3 || cut.Tries != 4 || cut.Stops["unknown"] != 1 || cut.UserFailures != 1 {
		t.Errorf("cut: got %+v, want 3 requests, 4 tries, 1 stop unknown, 1 user failure (seq 2)", cut)
	}
}

// TestMaskedTry: a fault masked by the client's retry is client-retried,
// one masked by the gateway's is gateway-retried, and without a try
// number the gateway is credited, as before tries existed.
func TestMaskedTry(t *testing.T) {
	ok := []vegeta.Result{{Attack: "a", Seq: 1, Code: 200, Timestamp: at(1000), Latency: time.Millisecond}}
	for _, tt := range []struct {
		name   string
		events []faults.Event
		want   map[string]int
	}{
		{"client retry", []faults.Event{tryFault(1001, 1, 0, 1), obs(1002, 1, 1, 2, faults.ObservedClientRetry)},
			map[string]int{scenarios.MaskedClientRetried: 1}},
		{"gateway retry of try 1", []faults.Event{tryFault(1001, 1, 0, 1), obs(1002, 1, 1, 1, faults.ObservedRetry)},
			map[string]int{scenarios.MaskedRetried: 1}},
		{"gateway retry of try 2", []faults.Event{tryFault(1001, 1, 0, 1), obs(1002, 1, 1, 2, faults.ObservedClientRetry),
			tryFault(1003, 1, 1, 2), obs(1004, 1, 2, 2, faults.ObservedRetry)},
			map[string]int{scenarios.MaskedClientRetried: 1, scenarios.MaskedRetried: 1}},
		{"no try header", []faults.Event{tryFault(1001, 1, 0, 0), obs(1002, 1, 1, 0, faults.ObservedRetry)},
			map[string]int{scenarios.MaskedRetried: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := Analyze(oneRun("reset"), ok, tt.events, Options{})
			if !reflect.DeepEqual(rep.Masked.Reasons, tt.want) {
				t.Errorf("got %v, want %v", rep.Masked.Reasons, tt.want)
			}
		})
	}
}

func TestEvaluateRetries(t *testing.T) {
	tries, events, res := retryFixture()
	with := analyzeRetries(tries, events, res)
	without := Analyze(retryRun(), res, events, Options{})
	for _, tt := range []struct {
		rep    *Report
		expr   string
		ok     bool
		value  float64 // NaN: none
		detail string
	}{
		{with, "amplification < 1.7", true, 1.6, ""},
		{with, "amplification < 1.5 in calm", false, 1.5, ""},
		{with, "amplification <= 1.5 in calm", true, 1.5, ""},
		{with, "rate(user-failure) < 50%", false, 60, ""},
		{with, "rate(user-failure) == 0% in calm", true, 0, ""},
		{with, "count(user-failure) == 3 in spike", true, 3, ""},
		{with, "masked(reason=client-retried) == 1", true, 1, ""},
		{without, "amplification < 1.5", false, math.NaN(), "the run had no client retry policy (client.retry), so the report does not count the arrivals at the upstream per request"},
		// Without a policy, what the user saw is each request's one answer:
		// seqs 2, 3 and 4 failed.
		{without, "rate(user-failure) == 60%", true, 60, "no client retry policy: every request had one try"},
		{without, "count(user-failure) == 2 in spike", false, 3, "no client retry policy: every request had one try"},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			v := Evaluate(tt.rep, expectations(t, tt.expr))[0]
			if v.OK != tt.ok || v.Detail != tt.detail {
				t.Errorf("got ok %v detail %q, want ok %v detail %q", v.OK, v.Detail, tt.ok, tt.detail)
			}
			switch {
			case math.IsNaN(tt.value) && v.Value != nil:
				t.Errorf("got value %v, want none", *v.Value)
			case !math.IsNaN(tt.value) && (v.Value == nil || *v.Value != tt.value):
				t.Errorf("got value %v, want %v", deref(v.Value), tt.value)
			}
		})
	}
}

func TestSurge(t *testing.T) {
	// b is a bucket of n requests with m arrivals at the upstream; n < 0:
	// no retries figure (no request first sent in it).
	b := func(n, m int) Bucket {
		if n < 0 {
			return Bucket{}
		}
		return Bucket{Retries: &Retries{Requests: n, UpstreamArrivals: m}}
	}
	for _, tt := range []struct {
		name  string
		tl    []Bucket
		width time.Duration
		want  *Surge
	}{
		{"none", []Bucket{b(10, 10), b(10, 14), b(-1, 0)}, time.Second, nil},
		{"exactly 1.5", []Bucket{b(10, 10), b(10, 15), b(10, 10)}, time.Second, &Surge{FromS: 1, ToS: 2, Amplification: 1.5, OfferedRate: 10, UpstreamRate: 15}},
		{"the longest", []Bucket{b(10, 20), b(10, 10), b(10, 30), b(10, 20), b(10, 30), b(10, 11)}, time.Second,
			&Surge{FromS: 2, ToS: 5, Amplification: 2.667, OfferedRate: 10, UpstreamRate: 26.667}},
		{"to the end, 2s buckets", []Bucket{b(10, 10), b(20, 60), b(20, 40)}, 2 * time.Second,
			&Surge{FromS: 2, ToS: 6, Amplification: 2.5, OfferedRate: 10, UpstreamRate: 25}},
		{"a bucket without requests breaks it", []Bucket{b(10, 30), b(-1, 0), b(10, 30)}, time.Second,
			&Surge{FromS: 0, ToS: 1, Amplification: 3, OfferedRate: 10, UpstreamRate: 30}},
		{"empty", nil, time.Second, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := surgeOf(tt.tl, tt.width)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRetryRecovery(t *testing.T) {
	s := func(v float64) *float64 { return &v }
	storm := &Surge{FromS: 6, ToS: 14, Amplification: 2.9, OfferedRate: 100, UpstreamRate: 290}
	report := func(surge *Surge, rec Recovery) *Report {
		return &Report{Analysis: Options{Threshold: 0.1}, Retries: &Retries{Requests: 100, Surge: surge},
			Phases: []PhaseReport{
				{Name: "baseline", EndS: 3, OtherRecovery: map[string]Recovery{scenarios.ClassUserFailure: {State: "not-measured"}}},
				{Name: "spike", StartS: 3, EndS: 6, RecoveryUntilS: s(21), OtherRecovery: map[string]Recovery{scenarios.ClassUserFailure: rec}},
				{Name: "after", StartS: 6, EndS: 21, OtherRecovery: map[string]Recovery{}},
			}}
	}
	const why = "the retries multiplied the load reaching the upstream by 2.90 from 6.0s to 14.0s (290.0/s for 100.0/s offered)"
	for _, tt := range []struct {
		name string
		r    *Report
		want []string
	}{
		{"a storm, recovered when the load fell", report(storm, Recovery{State: "recovered", S: s(8)}),
			[]string{"After phase spike the failures users saw stayed over 10.0% for 8.0s: " + why + "."}},
		{"a storm to the end", report(storm, Recovery{State: "not-recovered"}),
			[]string{"After phase spike the failures users saw never fell under 10.0% (to 21.0s): " + why + "."}},
		{"recovered at once, a surge before", report(&Surge{FromS: 3, ToS: 5, Amplification: 1.6, OfferedRate: 100, UpstreamRate: 160}, Recovery{State: "recovered", S: s(0)}),
			[]string{"After phase spike the failures users saw fell under 10.0% at once.",
				"The retries multiplied the load reaching the upstream by 1.60 from 3.0s to 5.0s (160.0/s for 100.0/s offered)."}},
		{"a storm that began after the phase", report(&Surge{FromS: 7, ToS: 17, Amplification: 2.9, OfferedRate: 100, UpstreamRate: 290}, Recovery{State: "recovered", S: s(10)}),
			[]string{"After phase spike the failures users saw stayed over 10.0% for 10.0s: the retries multiplied the load reaching the upstream by 2.90 from 7.0s to 17.0s (290.0/s for 100.0/s offered)."}},
		{"a surge after the failures ended", report(&Surge{FromS: 9, ToS: 12, Amplification: 1.5, OfferedRate: 100, UpstreamRate: 150}, Recovery{State: "recovered", S: s(2)}),
			[]string{"After phase spike the failures users saw stayed over 10.0% for 2.0s.",
				"The retries multiplied the load reaching the upstream by 1.50 from 9.0s to 12.0s (150.0/s for 100.0/s offered)."}},
		{"recovered, no surge", report(nil, Recovery{State: "recovered", S: s(1)}),
			[]string{"After phase spike the failures users saw stayed over 10.0% for 1.0s."}},
		{"nothing measured, no surge", report(nil, Recovery{State: "not-measured"}), nil},
		{"no policy", &Report{}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.RetryRecovery(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
