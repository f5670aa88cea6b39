package run

import (
	"context"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// gathered reads every series of reg as "name{k=v,...}" -> value; a
// histogram gives its _count and _sum.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(ls)
			key := func(suffix string) string { return mf.GetName() + suffix + "{" + strings.Join(ls, ",") + "}" }
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key("")] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key("")] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key("_count")] = float64(m.GetHistogram().GetSampleCount())
				out[key("_sum")] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// sumOf adds the series of name (after the name: "{" and labels) whose
// labels hold every one of with.
func sumOf(got map[string]float64, name string, with ...string) float64 {
	var n float64
	for k, v := range got {
		if !strings.HasPrefix(k, name+"{") {
			continue
		}
		labels := strings.Split(strings.TrimSuffix(strings.TrimPrefix(k, name+"{"), "}"), ",")
		ok := true
		for _, w := range with {
			found := false
			for _, l := range labels {
				found = found || l == w
			}
			ok = ok && found
		}
		if ok {
			n += v
		}
	}
	return n
}

// metricsScenario has exact causes counted live (a reset before headers,
// a status fault the proxy answers), a cause known only from the report
// (latency past the gateway's upstream timeout: 504) and a phase without
// faults.
const metricsScenario = `name: metrics-test
seed: 11
target: {gateway: builtin, timeout: 10s, upstream_timeout: 100ms}
requests:
  - {method: GET, path: /}
phases:
  - {name: clean, duration: 300ms, rate: 40/s}
  - name: faults
    duration: 400ms
    rate: 60/s
    faults:
      - {kind: reset, at: before-headers, probability: 0.3}
      - {kind: status, code: 500, probability: 0.3}
      - {kind: latency, delay: 300ms, probability: 0.3}
`

// TestRunMetricsMatchReport runs a short scenario with metrics and checks
// their final values against the report and the events file: requests by
// class, failures by class and cause, faults applied by kind, the
// histograms' counts, nothing pending and the run marked ended.
func TestRunMetricsMatchReport(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, decode(t, metricsScenario), Options{Dir: dir, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	got := gathered(t, reg)

	if n := sumOf(got, MetricRequests); int(n) != rep.Totals.Requests || n == 0 {
		t.Errorf("%s: got %v, want the report's %d (> 0)", MetricRequests, n, rep.Totals.Requests)
	}
	for code, n := range rep.Totals.Status {
		class := code
		if c, _ := strconv.Atoi(code); c < 500 {
			class = code[:1] + "xx"
		}
		if class == "0xx" {
			continue // the errors, below
		}
		if g := sumOf(got, MetricRequests, "class="+class); class[1:] != "xx" && int(g) != n {
			t.Errorf("%s{class=%s}: got %v, want %d", MetricRequests, class, g, n)
		}
	}
	if g := sumOf(got, MetricRequests, "class=error"); int(g) != rep.Totals.Errors {
		t.Errorf("%s{class=error}: got %v, want %d", MetricRequests, g, rep.Totals.Errors)
	}
	for phase, want := range map[string]int{"clean": rep.Phases[0].Requests, "faults": rep.Phases[1].Requests} {
		// The live phase goes by the run's clock, the report's by the
		// attack's start, a few milliseconds later: a request at a
		// boundary may fall on the other side.
		if g := sumOf(got, MetricRequests, "phase="+phase); g < float64(want)-3 || g > float64(want)+3 {
			t.Errorf("%s{phase=%s}: got %v, want %d ± 3", MetricRequests, phase, g, want)
		}
	}

	wantCauses := map[[2]string]int{}
	for _, c := range rep.Causes {
		wantCauses[[2]string{"502", c.Cause}] += c.Count
	}
	for class, cs := range rep.OtherCauses {
		for _, c := range cs {
			wantCauses[[2]string{class, c.Cause}] += c.Count
		}
	}
	if len(wantCauses) == 0 {
		t.Fatal("the report has no causes: the faults never bit")
	}
	for k, n := range wantCauses {
		if g := sumOf(got, MetricFailures, "class="+k[0], "cause="+k[1]); int(g) != n {
			t.Errorf("%s{class=%s,cause=%s}: got %v, want %d", MetricFailures, k[0], k[1], g, n)
		}
	}
	if g := sumOf(got, MetricFailures); int(g) != sumCounts(wantCauses) {
		t.Errorf("%s: got %v in all, want %d", MetricFailures, g, sumCounts(wantCauses))
	}

	kinds := map[string]int{}
	if err := Folder(dir).EachEvent(func(e *faults.Event) {
		if e.Type == faults.TypeFault {
			kinds[e.Kind]++
		}
	}); err != nil {
		t.Fatal(err)
	}
	for kind, n := range kinds {
		if g := sumOf(got, faults.MetricFaults, "kind="+kind); int(g) != n {
			t.Errorf("%s{kind=%s}: got %v, want the events' %d", faults.MetricFaults, kind, g, n)
		}
	}
	if g := sumOf(got, faults.MetricRequests); g < float64(rep.Totals.Requests)-float64(rep.Totals.Errors) {
		t.Errorf("%s: got %v, want at least the answered requests", faults.MetricRequests, g)
	}
	for name, want := range map[string]float64{
		MetricPending + "{}":           0,
		MetricEnded + "{}":             1,
		MetricOffered + "{}":           0,
		MetricPhase + "{phase=clean}":  0,
		MetricPhase + "{phase=faults}": 0,
		MetricSendLag + "_count{}":     float64(rep.Totals.Requests),
		faults.MetricOpen + "{}":       0,
	} {
		if g, ok := got[name]; !ok || g != want {
			t.Errorf("%s: got %v (present %v), want %v", name, g, ok, want)
		}
	}
	if g := sumOf(got, MetricLatency+"_count"); int(g) != rep.Totals.Requests {
		t.Errorf("%s_count: got %v, want %d", MetricLatency, g, rep.Totals.Requests)
	}
}

func sumCounts(m map[[2]string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestMetricsLiveCauses feeds events and results by hand: a failure whose
// request met an ending fault is counted at once under its cause, one
// without waits as pending, a success forgets its request's fault, and
// the report's counts complete the pending ones at the end.
func TestMetricsLiveCauses(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	sc := decode(t, metricsScenario)
	clock := time.Now()
	m.started(sc, attack.NewPacer(sc.Phases), clock)
	seq := func(n uint64) *uint64 { return &n }
	ev := func(n uint64, ended bool, cause string) faults.Event {
		return faults.Event{Type: faults.TypeFault, Attack: "a", Seq: seq(n), Kind: "reset", Ended: ended, Cause: cause}
	}
	res := func(n uint64, code uint16, errText string) *vegeta.Result {
		return &vegeta.Result{Attack: "a", Seq: n, Code: code, Error: errText, Timestamp: clock.Add(time.Duration(n) * 10 * time.Millisecond), Latency: time.Millisecond}
	}
	steps := []struct {
		name    string
		event   *faults.Event
		result  *vegeta.Result
		failure string // the series that must be 1 now, or ""
		retry   bool   // the request reached the proxy again (attempt 1), before event
		late    *faults.Event
		pending float64
	}{
		{name: "exact cause", event: ptr(ev(0, true, "reset-before-headers")), result: res(0, 502, ""), failure: "cause=reset-before-headers,class=502", pending: 0},
		{name: "no event: pending", result: res(1, 502, ""), pending: 1},
		{name: "a fault that did not end the exchange: pending", event: ptr(ev(2, false, "")), result: res(2, 504, ""), pending: 2},
		{name: "success forgets its fault", event: ptr(ev(3, true, "reset-before-headers")), result: res(3, 200, ""), pending: 2},
		{name: "seq 3 again, without a fault: pending", result: res(3, 502, ""), pending: 3},
		{name: "retried after the fault: pending", event: ptr(ev(4, true, "reset-before-headers")), retry: true, result: res(4, 503, ""), pending: 4},
		{name: "a status fault's answer replaced by the gateway: pending", event: &faults.Event{Type: faults.TypeFault, Attack: "a", Seq: seq(5), Kind: "status", Ended: true, Status: 500, Cause: "upstream-5xx-passthrough"}, result: res(5, 502, ""), pending: 5},
		{name: "a status fault's answer passed on", event: &faults.Event{Type: faults.TypeFault, Attack: "a", Seq: seq(6), Kind: "status", Ended: true, Status: 500, Cause: "upstream-5xx-passthrough"}, result: res(6, 500, ""), failure: "cause=upstream-5xx-passthrough,class=500", pending: 5},
		{name: "an earlier attempt's fault recorded after the retry's: the retry's decides", retry: true, event: &faults.Event{Type: faults.TypeFault, Attack: "a", Seq: seq(7), Kind: "status", Attempt: 1, Ended: true, Status: 503, Cause: "upstream-5xx-passthrough"}, late: ptr(ev(7, true, "reset-before-headers")), result: res(7, 503, ""), failure: "cause=upstream-5xx-passthrough,class=503", pending: 5},
	}
	for _, st := range steps {
		if st.retry && st.late != nil {
			m.event(faults.Event{Type: faults.TypeObservation, Attack: "a", Seq: seq(st.result.Seq), Kind: faults.ObservedRetry, Attempt: 1})
		}
		if st.event != nil {
			m.event(*st.event)
		}
		if st.retry && st.late == nil {
			m.event(faults.Event{Type: faults.TypeObservation, Attack: "a", Seq: seq(st.result.Seq), Kind: faults.ObservedRetry, Attempt: 1})
		}
		if st.late != nil {
			m.event(*st.late)
		}
		m.result(st.result)
		got := gathered(t, reg)
		if st.failure != "" {
			if g := got[MetricFailures+"{"+st.failure+"}"]; g != 1 {
				t.Errorf("%s: %s{%s}: got %v, want 1", st.name, MetricFailures, st.failure, g)
			}
		}
		if g := got[MetricPending+"{}"]; g != st.pending {
			t.Errorf("%s: %s: got %v, want %v", st.name, MetricPending, g, st.pending)
		}
		if g := got[MetricEnded+"{}"]; g != 0 {
			t.Errorf("%s: %s: got %v before the end, want 0", st.name, MetricEnded, g)
		}
	}
	rep := &results.Report{
		Causes:      []results.Cause{{Cause: "reset-before-headers", Count: 1}, {Cause: "gateway-local", Count: 2}, {Cause: "malformed-status-line", Count: 1}},
		OtherCauses: map[string][]results.Cause{"504": {{Cause: "upstream-timeout", Count: 1}}, "503": {{Cause: "upstream-5xx-passthrough", Count: 2}}, "500": {{Cause: "upstream-5xx-passthrough", Count: 1}}},
		Masked:      results.Masked{ByKind: map[string]int{"reset": 1}},
	}
	m.end(rep)
	got := gathered(t, reg)
	for name, want := range map[string]float64{
		MetricFailures + "{cause=reset-before-headers,class=502}":     1,
		MetricFailures + "{cause=gateway-local,class=502}":            2,
		MetricFailures + "{cause=upstream-timeout,class=504}":         1,
		MetricFailures + "{cause=upstream-5xx-passthrough,class=503}": 2,
		MetricFailures + "{cause=upstream-5xx-passthrough,class=500}": 1,
		MetricFailures + "{cause=malformed-status-line,class=502}":    1,
		MetricPending + "{}":          0,
		MetricMasked + "{kind=reset}": 1,
		MetricEnded + "{}":            1,
	} {
		if g := got[name]; g != want {
			t.Errorf("after the end: %s: got %v, want %v", name, g, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestRunMetricsLint: the run's metrics follow Prometheus's naming rules
// as its own linter reads them.
func TestRunMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	sc := decode(t, metricsScenario)
	m.started(sc, attack.NewPacer(sc.Phases), time.Now())
	m.result(&vegeta.Result{Attack: "a", Code: 502, Timestamp: time.Now()})
	m.end(&results.Report{Causes: []results.Cause{{Cause: "gateway-local", Count: 1}}, Masked: results.Masked{ByKind: map[string]int{"reset": 1}}})
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("%s: %s", pr.Metric, pr.Text)
	}
}

// BenchmarkMetricsResult measures what the metrics add to each result of
// a run: an ending fault's event, then its result (a failure counted
// live), as the attack's goroutine and the proxy's tap call them.
//
//	go test -run '^$' -bench BenchmarkMetricsResult -benchmem ./run
func BenchmarkMetricsResult(b *testing.B) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	sc, err := scenarios.Decode("metrics.yaml", []byte(metricsScenario))
	if err != nil {
		b.Fatal(err)
	}
	clock := time.Now()
	m.started(sc, attack.NewPacer(sc.Phases), clock)
	b.ReportAllocs()
	var seq uint64
	for b.Loop() {
		s := seq
		m.event(faults.Event{Type: faults.TypeFault, Attack: "a", Seq: &s, Kind: "reset", Ended: true, Cause: "reset-before-headers"})
		m.result(&vegeta.Result{Attack: "a", Seq: s, Code: 502, Timestamp: clock.Add(time.Duration(s%700) * time.Millisecond), Latency: time.Millisecond})
		seq++
	}
}
