package results

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at returns the moment ms milliseconds after t0.
func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// oneRun is a run of one phase "p", 10s at 10/s, attack "a".
func oneRun(kinds ...string) *Run {
	return &Run{Schema: RunSchema, Scenario: "s", Attack: "a", Started: t0, Phases: []PhasePlan{
		{Name: "p", EndS: 10, Planned: 100, Rate: 10, RampTo: 10, Faults: kinds},
	}}
}

// causeOf returns the only cause of a class in rep, and its evidence
// level.
func causeOf(t *testing.T, rep *Report, class string) (string, string) {
	t.Helper()
	cs := rep.Causes
	if class != "502" {
		cs = rep.OtherCauses[class]
	}
	if len(cs) != 1 {
		t.Fatalf("causes of %s: got %+v, want one", class, cs)
	}
	c := cs[0]
	switch {
	case c.Evidence.Exact == 1:
		return c.Cause, "exact"
	case c.Evidence.Temporal == 1:
		return c.Cause, "temporal"
	case c.Evidence.Signature == 1:
		return c.Cause, "signature"
	case c.Evidence.None == 1:
		return c.Cause, "none"
	}
	t.Fatalf("cause %+v: no evidence counted", c)
	return "", ""
}

func fault(ms int, seq *uint64, attempt int, kind, cause string, ended bool) faults.Event {
	return faults.Event{Time: at(ms), Type: faults.TypeFault, Attack: "a", Seq: seq, Attempt: attempt, Phase: "p", Kind: kind, Cause: cause, Ended: ended}
}

// status sets the HTTP status a status or overload fault answered with.
func status(e faults.Event, code int) faults.Event {
	e.Status = code
	return e
}

func seen(ranges ...[2]uint64) faults.Event {
	return faults.Event{Time: at(10000), Type: faults.TypeObservation, Attack: "a", Kind: faults.ObservedSeen, Fault: -1, Ranges: ranges}
}

func TestEvidenceLevels(t *testing.T) {
	haproxy := http.Header{"Cache-Control": {"no-cache"}, "Content-Type": {"text/html"}}
	gunicorn := http.Header{"Server": {"gunicorn"}, "Content-Type": {"application/json"}}
	res := func(code uint16, errMsg string, h http.Header, body string) vegeta.Result {
		return vegeta.Result{Attack: "a", Seq: 7, Code: code, Timestamp: at(5000), Latency: 20 * time.Millisecond, Error: errMsg, Headers: h, Body: []byte(body)}
	}
	for _, tt := range []struct {
		name   string
		events []faults.Event
		res    vegeta.Result
		class  string
		cause  string
		level  string
	}{
		{"exact: the fault that ended the only attempt",
			[]faults.Event{fault(5001, u64(7), 0, "reset", "reset-before-headers", true)},
			res(502, "", gunicorn, "{}"), "502", "reset-before-headers", "exact"},
		{"exact: the last attempt's fault, not the first's",
			[]faults.Event{fault(5001, u64(7), 0, "reset", "reset-before-headers", true), fault(5002, u64(7), 1, "malformed", "malformed-status-line", true)},
			res(502, "", nil, ""), "502", "malformed-status-line", "exact"},
		{"exact: an upstream failure the proxy saw",
			[]faults.Event{{Time: at(5001), Type: faults.TypeObservation, Attack: "a", Seq: u64(7), Kind: faults.ObservedUpstreamError, Cause: "connection-refused", Ended: true}},
			res(502, "", nil, ""), "502", "connection-refused", "exact"},
		{"exact: a 504 after latency held the answer back",
			[]faults.Event{fault(5001, u64(7), 0, "latency", "", false)},
			res(504, "", gunicorn, "{}"), "504", causes.UpstreamLatency, "exact"},
		{"exact: a client timeout after latency",
			[]faults.Event{fault(5001, u64(7), 0, "latency", "", false)},
			res(0, "Get \"http://x\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)", nil, ""), scenarios.ClassError, causes.UpstreamLatency, "exact"},
		{"exact: a cut 200 reaches the client as unexpected EOF",
			[]faults.Event{fault(5001, u64(7), 0, "reset", "reset-mid-body", true)},
			res(0, "unexpected EOF", nil, ""), scenarios.ClassError, "reset-mid-body", "exact"},
		{"latency does not explain a 502",
			[]faults.Event{fault(5001, u64(7), 0, "latency", "", false)},
			res(502, "", gunicorn, "{}"), "502", causes.Unattributed, "none"},
		{"a retry that met no fault: the first reset does not explain it",
			[]faults.Event{fault(5001, u64(7), 0, "reset", "reset-before-headers", true), {Time: at(5002), Type: faults.TypeObservation, Attack: "a", Seq: u64(7), Attempt: 1, Kind: faults.ObservedRetry}},
			res(502, "", gunicorn, "{}"), "502", causes.Unattributed, "none"},
		{"another attack's event does not match",
			[]faults.Event{{Time: at(5001), Type: faults.TypeFault, Attack: "other", Seq: u64(7), Kind: "reset", Cause: "reset-before-headers", Ended: true}},
			res(502, "", gunicorn, "{}"), "502", causes.Unattributed, "none"},
		{"temporal: in flight while the listener refused",
			[]faults.Event{fault(4000, nil, 0, "refuse", "connection-refused", true), {Time: at(6000), Type: faults.TypeObservation, Kind: faults.ObservedRefuseEnded}},
			res(502, "", gunicorn, "{}"), "502", "connection-refused", "temporal"},
		{"temporal: a keep-alive close while in flight",
			[]faults.Event{fault(5005, nil, 0, "keepalive", "keepalive-race", true)},
			res(502, "", gunicorn, "{}"), "502", "keepalive-race", "temporal"},
		{"temporal: a reset at connect in the same phase, the proxy never saw it",
			[]faults.Event{fault(3000, nil, 0, "reset", "reset-before-headers", true), seen([2]uint64{0, 7}, [2]uint64{8, 100})},
			res(502, "", gunicorn, "{}"), "502", "reset-before-headers", "temporal"},
		{"no temporal match when the proxy saw the request",
			[]faults.Event{fault(5005, nil, 0, "keepalive", "keepalive-race", true), seen([2]uint64{0, 100})},
			res(502, "", gunicorn, "{}"), "502", causes.Unattributed, "none"},
		{"signature: HAProxy's 502 names an invalid or incomplete response",
			nil,
			res(502, "", haproxy, "<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n"), "502", "malformed-response", "signature"},
		{"signature: a recognised gateway's 504 is an upstream timeout",
			nil,
			res(504, "", http.Header{"Server": {"nginx"}}, "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"), "504", "upstream-timeout", "signature"},
		{"gateway-local: the proxy never saw it, an unknown gateway",
			[]faults.Event{seen([2]uint64{0, 7})},
			res(502, "", gunicorn, "{}"), "502", causes.GatewayLocal, "none"},
		{"gateway-local: the proxy never saw it, Go's empty 502",
			[]faults.Event{seen([2]uint64{0, 7})},
			res(502, "", http.Header{"Content-Length": {"0"}}, ""), "502", causes.GatewayLocal, "signature"},
		{"unattributed: nothing known",
			nil,
			res(502, "", gunicorn, "{}"), "502", causes.Unattributed, "none"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := Analyze(oneRun("reset"), []vegeta.Result{tt.res}, tt.events, Options{})
			cause, level := causeOf(t, rep, tt.class)
			if cause != tt.cause || level != tt.level {
				t.Errorf("got %s (%s), want %s (%s)", cause, level, tt.cause, tt.level)
			}
			// Explain says the same of the one result.
			a := NewAnalyzer(oneRun("reset"), Options{})
			for i := range tt.events {
				a.AddEvent(&tt.events[i])
			}
			if c, l := a.Explain(&tt.res); c != tt.cause || l != tt.level {
				t.Errorf("Explain: got %s (%s), want %s (%s)", c, l, tt.cause, tt.level)
			}
		})
	}
}

func TestMasked(t *testing.T) {
	ok := func(seq uint64, ms int) vegeta.Result {
		return vegeta.Result{Attack: "a", Seq: seq, Code: 200, Timestamp: at(ms), Latency: time.Millisecond}
	}
	res := []vegeta.Result{
		ok(1, 1000), ok(2, 2000),
		{Attack: "a", Seq: 3, Code: 502, Timestamp: at(3000), Latency: time.Millisecond},
		{Attack: "a", Seq: 5, Code: 502, Timestamp: at(6000), Latency: 10 * time.Millisecond},
	}
	events := []faults.Event{
		// Seq 1: reset, retried, and the retry went well.
		fault(1001, u64(1), 0, "reset", "reset-before-headers", true),
		{Time: at(1002), Type: faults.TypeObservation, Attack: "a", Seq: u64(1), Attempt: 1, Kind: faults.ObservedRetry},
		// Seq 2: closed after the answer was whole: absorbed.
		fault(2001, u64(2), 0, "reset", "reset-mid-body", true),
		// Seq 3: reset twice; the second explains the 502, the first was
		// repeated.
		fault(3001, u64(3), 0, "reset", "reset-before-headers", true),
		fault(3002, u64(3), 1, "reset", "reset-before-headers", true),
		// Seq 4: a fault without a result.
		status(fault(4001, u64(4), 0, "status", "upstream-5xx-passthrough", true), 502),
		// Keep-alive closes: one while seq 5 was in flight, one unused.
		fault(6001, nil, 0, "keepalive", "keepalive-race", true),
		fault(8000, nil, 0, "keepalive", "keepalive-race", true),
		// Latency ends nothing and is not counted.
		fault(1001, u64(1), 0, "latency", "", false),
	}
	rep := Analyze(oneRun("reset", "keepalive"), res, events, Options{})
	m := rep.Masked
	want := Masked{Faults: 7, Count: 4, Repeated: 1,
		Reasons: map[string]int{scenarios.MaskedRetried: 1, scenarios.MaskedAbsorbed: 1, scenarios.MaskedNoResult: 1, scenarios.MaskedConnUnused: 1},
		ByKind:  map[string]int{"reset": 2, "status": 1, "keepalive": 1}}
	if m.Faults != want.Faults || m.Count != want.Count || m.Repeated != want.Repeated || !sameCounts(m.Reasons, want.Reasons) || !sameCounts(m.ByKind, want.ByKind) {
		t.Errorf("got %+v, want %+v", m, want)
	}
	perBucket := map[float64]int{}
	for _, b := range rep.Timeline {
		if b.Masked > 0 {
			perBucket[b.TS] = b.Masked
		}
	}
	if len(perBucket) != 4 || perBucket[1] != 1 || perBucket[2] != 1 || perBucket[4] != 1 || perBucket[8] != 1 {
		t.Errorf("masked per bucket: got %v, want one at 1s, 2s, 4s and 8s", perBucket)
	}
	if c, l := causeOf(t, &Report{Causes: []Cause{rep.Causes[1]}}, "502"); c != "reset-before-headers" || l != "exact" {
		t.Errorf("seq 3: got %s (%s), want reset-before-headers (exact)", c, l)
	}
}

func sameCounts(a, b map[string]int) bool {
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

// scheduled returns one result per planned hit of run, answered by code(t)
// for the moment t it was sent, on time.
func scheduled(run *Run, code func(t time.Duration) uint16) []vegeta.Result {
	p := run.Schedule()
	var out []vegeta.Result
	for n := uint64(0); ; n++ {
		due, ok := p.Due(n)
		if !ok {
			return out
		}
		out = append(out, vegeta.Result{Attack: run.Attack, Seq: n, Code: code(due), Timestamp: run.Started.Add(due), Latency: time.Millisecond})
	}
}

func TestOnsetKneeAndRecovery(t *testing.T) {
	run := &Run{Schema: RunSchema, Scenario: "s", Attack: "a", Started: t0, Phases: []PhasePlan{
		{Name: "ramp", StartS: 0, EndS: 10, Planned: 600, Rate: 10, RampTo: 110, Faults: []string{"reset"}},
		{Name: "after", StartS: 10, EndS: 15, Planned: 250, Rate: 50, RampTo: 50},
	}}
	// A lone 502 at 2.5s; from 4s to 10.5s every fifth request; then clean.
	var res []vegeta.Result
	n := 0
	for _, r := range scheduled(run, func(time.Duration) uint16 { return 200 }) {
		s := r.Timestamp.Sub(t0).Seconds()
		if (s >= 2.5 && s < 2.54) || (s >= 4 && s < 10.5 && n%5 == 0) {
			r.Code = 502
		}
		if s >= 4 && s < 10.5 {
			n++
		}
		res = append(res, r)
	}
	rep := Analyze(run, res, nil, Options{})
	o := rep.Onset
	if o.FirstS == nil || *o.FirstS < 2.5 || *o.FirstS > 2.54 || *o.FirstPhase != "ramp" {
		t.Fatalf("first: got %v in %v, want 2.5s in ramp", deref(o.FirstS), o.FirstPhase)
	}
	if want := 10 + 100*(*o.FirstS)/10; *o.FirstRate < want-0.01 || *o.FirstRate > want+0.01 {
		t.Errorf("first rate: got %v, want %v", *o.FirstRate, want)
	}
	if o.SustainedS == nil || *o.SustainedS != 4 || *o.SustainedPhase != "ramp" {
		t.Errorf("sustained: got %v, want 4s in ramp", deref(o.SustainedS))
	}
	if o.KneeRate == nil || *o.KneeRate != 55 {
		t.Errorf("knee: got %v, want 55/s (10/s ramping to 110/s over 10s: offered from 4s to 5s)", deref(o.KneeRate))
	}
	ramp, after := rep.Phases[0], rep.Phases[1]
	if ramp.Recovery != "recovered" || ramp.RecoveryS == nil || *ramp.RecoveryS != 1 {
		t.Errorf("recovery: got %s %v, want recovered after 1s (bucket 10 still fails)", ramp.Recovery, deref(ramp.RecoveryS))
	}
	if after.Recovery != "not-measured" || after.RecoveryS != nil {
		t.Errorf("phase without faults: got %s %v, want not-measured", after.Recovery, deref(after.RecoveryS))
	}
	if tl := rep.Timeline; len(tl) != 15 || tl[4].OfferedRate != 55 || tl[12].OfferedRate != 50 || tl[4].Phase != "ramp" || tl[12].Phase != "after" {
		t.Errorf("timeline: got %d buckets, offered %v at 4s and %v at 12s, want 15, 55 and 50", len(tl), tl[4].OfferedRate, tl[12].OfferedRate)
	}

	// A stricter threshold or a longer sustain moves the sustained onset.
	if o := Analyze(run, res, nil, Options{Threshold: 0.5}).Onset; o.SustainedS != nil {
		t.Errorf("threshold 50%%: got sustained at %v, want none", *o.SustainedS)
	}
	if o := Analyze(run, res, nil, Options{Sustain: 7}).Onset; o.SustainedS == nil || *o.SustainedS != 4 {
		t.Errorf("sustain 7: got %v, want 4s (4s to 10s fail: 7 buckets)", deref(o.SustainedS))
	}
	if o := Analyze(run, res, nil, Options{Sustain: 8}).Onset; o.SustainedS != nil {
		t.Errorf("sustain 8: got %v, want none", *o.SustainedS)
	}
	// Failing to the end: not recovered.
	for i := range res {
		if s := res[i].Timestamp.Sub(t0).Seconds(); s >= 14.5 {
			res[i].Code = 502
		}
	}
	if p := Analyze(run, res, nil, Options{}).Phases[0]; p.Recovery != "not-recovered" || p.RecoveryS != nil {
		t.Errorf("502s in the last bucket: got %s %v, want not-recovered", p.Recovery, deref(p.RecoveryS))
	}
	// A constant rate has no knee.
	flat := oneRun("reset")
	res = scheduled(flat, func(d time.Duration) uint16 {
		if d >= 3*time.Second {
			return 502
		}
		return 200
	})
	if o := Analyze(flat, res, nil, Options{}).Onset; o.SustainedS == nil || *o.SustainedS != 3 || o.KneeRate != nil {
		t.Errorf("constant rate: got sustained %v knee %v, want 3s and no knee", deref(o.SustainedS), deref(o.KneeRate))
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestOtherOnsets(t *testing.T) {
	run := oneRun("hang")
	res := scheduled(run, func(d time.Duration) uint16 {
		switch {
		case d >= 6*time.Second:
			return 504
		case d >= 2*time.Second && d < 2100*time.Millisecond:
			return 0
		}
		return 200
	})
	rep := Analyze(run, res, nil, Options{})
	if o := rep.OtherOnsets["504"]; o.FirstS == nil || *o.FirstS != 6 || o.SustainedS == nil || *o.SustainedS != 6 {
		t.Errorf("504: got %+v, want first and sustained at 6s", o)
	}
	if o := rep.OtherOnsets[scenarios.ClassError]; o.FirstS == nil || *o.FirstS != 2 || o.SustainedS != nil {
		t.Errorf("errors: got %+v, want first at 2s, never sustained", o)
	}
	if o := rep.OtherOnsets["503"]; o.FirstS != nil {
		t.Errorf("503: got %+v, want none", o)
	}
	if rep.Onset.FirstS != nil || len(rep.Causes) != 0 {
		t.Errorf("502: got %+v and %v, want none", rep.Onset, rep.Causes)
	}
}

func TestCorrelations(t *testing.T) {
	run := oneRun("reset", "latency", "status")
	var res []vegeta.Result
	var events []faults.Event
	seq := uint64(0)
	for s := range 10 {
		n502 := []int{0, 0, 3, 5, 1, 0, 4, 0, 2, 0}[s]
		for i := range 10 {
			code := uint16(200)
			if i < n502 {
				code = 502
			}
			res = append(res, vegeta.Result{Attack: "a", Seq: seq, Code: code, Timestamp: at(s*1000 + i*100), Latency: time.Millisecond})
			seq++
		}
		// Resets follow the 502s; statuses run against them; latency is
		// constant.
		for range 2 * n502 {
			events = append(events, fault(s*1000+1, nil, 0, "reset", "", false))
		}
		for range 5 - n502 {
			events = append(events, status(fault(s*1000+2, nil, 0, "status", "", false), 503))
		}
		events = append(events, fault(s*1000+3, nil, 0, "latency", "", false))
	}
	rep := Analyze(run, res, events, Options{})
	got := map[string]any{}
	for _, c := range rep.Correlations {
		got[c.Kind] = deref(c.Pearson)
	}
	if len(got) != 3 || got["reset"] != 1.0 || got["status"] != -1.0 || got["latency"] != nil {
		t.Errorf("got %v, want reset 1, status -1, latency null", got)
	}
	if want := "The reset faults' timeline follows the 502 timeline closest (Pearson r 1.00)"; !strings.Contains(rep.Diagnosis, want) {
		t.Errorf("diagnosis lacks %q:\n%s", want, rep.Diagnosis)
	}
}

func TestSendLag(t *testing.T) {
	run := oneRun()
	onTime := scheduled(run, func(time.Duration) uint16 { return 200 })
	if l := Analyze(run, onTime, nil, Options{}).SendLagMS; l != (SendLag{}) {
		t.Errorf("on time: got %+v, want all zero", l)
	}
	late := append([]vegeta.Result(nil), onTime...)
	for i := range late {
		if i%2 == 0 {
			late[i].Timestamp = late[i].Timestamp.Add(20 * time.Millisecond)
		}
	}
	rep := Analyze(run, late, nil, Options{})
	if l := rep.SendLagMS; l.P50 != 0 || l.P99 != 20 || l.Max != 20 || !l.Behind {
		t.Errorf("half 20ms late: got %+v, want p50 0, p99 20, max 20, behind", l)
	}
	if c, l := rep.Phases[0].CorrectedLatencyMS, rep.Phases[0].LatencyMS; c.P99 != 21 || l.P99 != 1 || c.Mean != 11 {
		t.Errorf("corrected: got %+v (plain %+v), want p99 21, mean 11, plain p99 1", c, l)
	}
}

// TestAnalyzeAnyOrder checks that the report does not depend on the order
// results arrive in, and that a phase's histogram holds its requests.
func TestAnalyzeAnyOrder(t *testing.T) {
	run := oneRun("reset")
	res := scheduled(run, func(d time.Duration) uint16 {
		if d%(700*time.Millisecond) == 0 {
			return 502
		}
		return 200
	})
	for i := range res {
		res[i].Latency = time.Duration(i%17+1) * time.Millisecond
	}
	var events []faults.Event
	for i := range res {
		if res[i].Code == 502 {
			events = append(events, fault(int(res[i].Timestamp.Sub(t0)/time.Millisecond), u64(res[i].Seq), 0, "reset", "reset-before-headers", true))
		}
	}
	want, err := Analyze(run, res, events, Options{}).MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		rng.Shuffle(len(res), func(i, j int) { res[i], res[j] = res[j], res[i] })
		rep := Analyze(run, res, events, Options{})
		got, _ := rep.MarshalIndent()
		if !bytes.Equal(got, want) {
			t.Fatalf("shuffled results give another report:\n%s\nwant:\n%s", got, want)
		}
		if h := rep.Phases[0].Histogram; h.Count() != int64(len(res)) {
			t.Errorf("histogram: got %d values, want %d", h.Count(), len(res))
		}
	}
}

// TestGatewayFromAnswers analyses, for each captured gateway answer in
// testdata/signatures, a run whose gateway gatecrash did not start and
// whose proxy never saw the request: the report must name the gateway
// kind from the answer, and the cause the answer names (or gateway-local,
// by signature, when it names none).
func TestGatewayFromAnswers(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "signatures", "*.http"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured answers: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			code, h, body := readAnswer(t, name)
			run := oneRun()
			run.Gateway = "none"
			res := vegeta.Result{Attack: "a", Seq: 7, Code: code, Timestamp: at(5000), Latency: time.Millisecond, Headers: h, Body: body}
			rep := Analyze(run, []vegeta.Result{res}, []faults.Event{seen([2]uint64{0, 7})}, Options{})
			kind, _, _ := strings.Cut(name, "-")
			if rep.Gateway.Kind != kind || !strings.HasPrefix(rep.Gateway.Evidence, "1 of 1 error answers: ") {
				t.Errorf("gateway: got %+v, want %s from the one answer", rep.Gateway, kind)
			}
			cause, level := causeOf(t, rep, strconv.Itoa(int(code)))
			want := Sign(code, h, body).Cause
			if want == "" {
				want = causes.GatewayLocal
			}
			if cause != want || level != "signature" {
				t.Errorf("got %s (%s), want %s (signature)", cause, level, want)
			}
		})
	}
}

// TestReviewEdges holds the analysis at the edges a review found.
func TestReviewEdges(t *testing.T) {
	haproxy := http.Header{"Cache-Control": {"no-cache"}, "Content-Type": {"text/html"}}
	t.Run("any order, signed answers and connection faults included", func(t *testing.T) {
		run := oneRun("reset", "keepalive")
		var res []vegeta.Result
		for i := range 40 {
			r := vegeta.Result{Attack: "a", Seq: uint64(i), Code: 200, Timestamp: at(i * 200), Latency: time.Millisecond}
			switch i % 4 {
			case 1:
				r.Code, r.Headers, r.Body = 502, haproxy, []byte("<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n")
			case 2:
				r.Code, r.Headers, r.Body = 504, haproxy, []byte("<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n")
			}
			res = append(res, r)
		}
		events := []faults.Event{fault(1000, nil, 0, "keepalive", "keepalive-race", true), fault(3000, nil, 0, "keepalive", "keepalive-race", true)}
		want, _ := Analyze(run, res, events, Options{}).MarshalIndent()
		rng := rand.New(rand.NewPCG(3, 4))
		for range 10 {
			rng.Shuffle(len(res), func(i, j int) { res[i], res[j] = res[j], res[i] })
			if got, _ := Analyze(run, res, events, Options{}).MarshalIndent(); !bytes.Equal(got, want) {
				t.Fatalf("shuffled results give another report:\n%s\nwant:\n%s", got, want)
			}
		}
	})
	t.Run("Report twice gives the same report", func(t *testing.T) {
		run := oneRun("reset")
		res := scheduled(run, func(time.Duration) uint16 { return 200 })
		for i := range res {
			res[i].Timestamp = res[i].Timestamp.Add(time.Duration(i%3) * 5 * time.Millisecond)
		}
		a := NewAnalyzer(run, Options{})
		e := fault(500, u64(3), 0, "reset", "reset-before-headers", true)
		a.AddEvent(&e)
		for i := range res {
			a.Add(&res[i])
		}
		first, _ := a.Report().MarshalIndent()
		second, _ := a.Report().MarshalIndent()
		if !bytes.Equal(first, second) {
			t.Errorf("a second Report differs:\n%s\nfirst:\n%s", second, first)
		}
	})
	t.Run("overlapping seen ranges", func(t *testing.T) {
		res := []vegeta.Result{{Attack: "a", Seq: 50, Code: 502, Timestamp: at(5000), Latency: time.Millisecond}}
		events := []faults.Event{seen([2]uint64{0, 100}), seen([2]uint64{5, 6})}
		if c, l := causeOf(t, Analyze(oneRun(), res, events, Options{}), "502"); c != causes.Unattributed || l != "none" {
			t.Errorf("got %s (%s), want unattributed: the proxy saw seq 50", c, l)
		}
	})
	t.Run("a failure after the plan has no offered rate", func(t *testing.T) {
		res := []vegeta.Result{{Attack: "a", Seq: 100, Code: 502, Timestamp: at(10500), Latency: time.Millisecond}}
		rep := Analyze(oneRun(), res, nil, Options{})
		if o := rep.Onset; o.FirstS == nil || o.FirstRate != nil || *o.FirstPhase != "p" {
			t.Errorf("got %+v, want a first 502 at 10.5s in p without an offered rate", o)
		}
		if tl := rep.Timeline; len(tl) != 11 || tl[10].AchievedRate != 1 || tl[10].OfferedRate != 0 {
			t.Errorf("got %d buckets, last %+v; want 11, the last after the plan with 1/s achieved", len(tl), tl[len(tl)-1])
		}
	})
	t.Run("results far away stay in the edge buckets", func(t *testing.T) {
		res := []vegeta.Result{
			{Attack: "a", Seq: 1, Code: 200, Timestamp: t0.Add(-time.Hour)},
			{Attack: "a", Seq: 2, Code: 200, Timestamp: t0.Add(24 * 365 * time.Hour)},
		}
		if tl := Analyze(oneRun(), res, nil, Options{}).Timeline; len(tl) != 11 || tl[0].Requests != 1 || tl[10].Requests != 1 {
			t.Errorf("got %d buckets, want 11 with one request in the first and the last", len(tl))
		}
	})
	t.Run("an injected 429 passed on is not masked", func(t *testing.T) {
		res := []vegeta.Result{{Attack: "a", Seq: 1, Code: 429, Timestamp: at(1000), Latency: time.Millisecond}}
		events := []faults.Event{status(fault(1001, u64(1), 0, "status", "upstream-status", true), 429)}
		if m := Analyze(oneRun("status"), res, events, Options{}).Masked; m.Count != 0 || m.PassedOn != 1 || m.Faults != 1 {
			t.Errorf("got %+v, want one fault passed on, none masked", m)
		}
	})
	t.Run("a bucket width that does not divide the plan", func(t *testing.T) {
		run := oneRun()
		run.Phases[0].EndS, run.Phases[0].Planned = 21, 210
		if n := len(Analyze(run, nil, nil, Options{Bucket: 700 * time.Millisecond}).Timeline); n != 30 {
			t.Errorf("got %d buckets of 700ms over 21s, want 30", n)
		}
	})
}

// TestRecoveryLimit checks after which phases recovery is measured, and
// until when: when the next phase keeps only some of a phase's faults,
// until a phase with a fault the next phase did not have.
func TestRecoveryLimit(t *testing.T) {
	spec := func(s ...string) []string { return s }
	phase := func(start float64, kinds, specs []string) PhasePlan {
		return PhasePlan{StartS: start, EndS: start + 2, Faults: kinds, FaultSpecs: specs}
	}
	overload, lat25, lat1500 := "{kind: overload, max_inflight: 5}", "{kind: latency, delay: 25ms}", "{kind: latency, delay: 1500ms}"
	for _, tt := range []struct {
		name   string
		phases []PhasePlan
		i      int
		want   float64 // seconds; -1: not measured
	}{
		{"fault then quiet to the end", []PhasePlan{phase(0, spec("reset"), nil), phase(2, nil, nil), phase(4, nil, nil)}, 0, 6},
		{"fault, quiet, the fault again", []PhasePlan{phase(0, spec("reset"), nil), phase(2, nil, nil), phase(4, spec("reset"), nil)}, 0, 4},
		{"fault then another fault", []PhasePlan{phase(0, spec("reset"), nil), phase(2, spec("latency"), nil)}, 0, -1},
		{"the last phase", []PhasePlan{phase(0, nil, nil), phase(2, spec("reset"), nil)}, 1, -1},
		{"quiet then fault", []PhasePlan{phase(0, nil, nil), phase(2, spec("reset"), nil)}, 0, -1},
		{"same faults go on", []PhasePlan{phase(0, spec("reset"), nil), phase(2, spec("reset"), nil)}, 0, -1},
		{"one of two kinds ends", []PhasePlan{phase(0, spec("reset", "latency"), nil), phase(2, spec("latency"), nil), phase(4, spec("latency"), nil)}, 0, 6},
		// retry-storm: the kinds are alike, the specs tell the spike apart.
		{"a spike ends, the cap stays", []PhasePlan{
			phase(0, spec("overload", "latency"), spec(overload, lat25)),
			phase(2, spec("latency", "overload"), spec(lat1500, overload, lat25)),
			phase(4, spec("overload", "latency"), spec(overload, lat25)),
			phase(6, spec("overload", "latency"), spec(overload, lat25)),
		}, 1, 8},
		{"before the spike", []PhasePlan{
			phase(0, spec("overload", "latency"), spec(overload, lat25)),
			phase(2, spec("latency", "overload"), spec(lat1500, overload, lat25)),
		}, 0, -1},
		{"the cap goes on, unchanged", []PhasePlan{
			phase(0, spec("overload", "latency"), spec(overload, lat25)),
			phase(2, spec("overload", "latency"), spec(overload, lat25)),
		}, 0, -1},
		{"a spike ends, until another spike", []PhasePlan{
			phase(0, spec("latency", "overload"), spec(lat1500, overload)),
			phase(2, spec("overload"), spec(overload)),
			phase(4, spec("latency", "overload"), spec(lat1500, overload)),
		}, 0, 4},
		{"old run.json: kinds alike", []PhasePlan{
			phase(0, spec("latency", "overload"), nil),
			phase(2, spec("overload", "latency"), nil),
		}, 0, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := recoveryLimit(tt.phases, tt.i)
			if tt.want < 0 {
				if ok {
					t.Fatalf("got measured until %v, want not measured", got)
				}
				return
			}
			if !ok || got != seconds(tt.want) {
				t.Fatalf("got %v (measured %t), want until %vs", got, ok, tt.want)
			}
		})
	}
}

// TestUserFailureRecovery checks that recovery is measured for every
// request not answered with a 2xx or 3xx together: 503s and errors that
// each stay under the threshold fail it together.
func TestUserFailureRecovery(t *testing.T) {
	run := &Run{Schema: RunSchema, Scenario: "s", Attack: "a", Started: t0, Phases: []PhasePlan{
		{Name: "spike", StartS: 0, EndS: 4, Planned: 40, Rate: 10, RampTo: 10, Faults: []string{"latency", "overload"}, FaultSpecs: []string{"a", "b"}},
		{Name: "after", StartS: 4, EndS: 10, Planned: 60, Rate: 10, RampTo: 10, Faults: []string{"overload"}, FaultSpecs: []string{"b"}},
	}}
	// Until 7s, one request in ten gets a 503 and one an error: 10% each.
	res := scheduled(run, func(d time.Duration) uint16 { return 200 })
	for i := range res {
		if d := res[i].Timestamp.Sub(t0); d < 7*time.Second {
			switch i % 10 {
			case 3:
				res[i].Code = 503
			case 7:
				res[i].Code, res[i].Error = 0, "timeout"
			}
		}
	}
	rep := Analyze(run, res, nil, Options{Threshold: 0.15})
	spike := rep.Phases[0]
	for _, class := range []string{"503", scenarios.ClassError} {
		if r := spike.OtherRecovery[class]; r.State != "recovered" || r.S == nil || *r.S != 0 {
			t.Errorf("%s: got %s %v, want recovered at once (10%% is under 15%%)", class, r.State, deref(r.S))
		}
	}
	r := spike.OtherRecovery[scenarios.ClassUserFailure]
	if r.State != "recovered" || r.S == nil || *r.S != 3 {
		t.Errorf("user-failure: got %s %v, want recovered after 3s (20%% until 7s)", r.State, deref(r.S))
	}
	if spike.RecoveryUntilS == nil || *spike.RecoveryUntilS != 10 {
		t.Errorf("recovery until: got %v, want 10s", deref(spike.RecoveryUntilS))
	}
	if after := rep.Phases[1]; after.RecoveryUntilS != nil || after.OtherRecovery[scenarios.ClassUserFailure].State != "not-measured" && after.OtherRecovery[scenarios.ClassUserFailure].State != "" {
		t.Errorf("after: got until %v, %+v, want not measured", deref(after.RecoveryUntilS), after.OtherRecovery)
	}
}
