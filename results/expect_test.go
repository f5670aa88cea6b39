package results

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// fixtureReport loads testdata/analyze.json, the golden report of
// TestAnalyze: clean (4 requests, 200, 1-4 ms), then faulty (three 502s
// at 1.5, 2.0 and 2.5s, one request without an answer at 2.9s; 5-8 ms).
func fixtureReport(t *testing.T) *Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "analyze.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}

func expectations(t *testing.T, exprs ...string) []scenarios.Expectation {
	t.Helper()
	out := make([]scenarios.Expectation, len(exprs))
	for i, x := range exprs {
		abort := strings.HasSuffix(x, " [abort]")
		e, err := scenarios.ParseExpectation(strings.TrimSuffix(x, " [abort]"), abort)
		if err != nil {
			t.Fatalf("%s: %v", x, err)
		}
		out[i] = e
	}
	return out
}

func fp(v float64) *float64 { return &v }

func TestEvaluate(t *testing.T) {
	rep := fixtureReport(t)
	s := 0.5
	rep.Phases[0].Recovery, rep.Phases[0].RecoveryS = "recovered", &s
	rep.Phases[0].OtherRecovery = map[string]Recovery{"error": {State: "not-recovered"}}
	for _, tt := range []struct {
		expr   string
		ok     bool
		value  *float64
		detail string
	}{
		{"rate(status=502) < 50%", true, fp(37.5), ""},
		{"rate(status=502) == 75% in faulty", true, fp(75), ""},
		{"rate(class=5xx) > 0% in clean", false, fp(0), ""},
		{"rate(error) <= 12.5%", true, fp(12.5), ""},
		{"rate(status=200) == 100% in clean", true, fp(100), ""},
		{"rate(status=502) < 1% in nope", false, nil, "the report has no phase nope"},
		{"count(status=502) == 3", true, fp(3), ""},
		{"count(status=200) < 4 in clean", false, fp(4), ""},
		{"count(class=2xx) >= 4", true, fp(4), ""},
		{"p50(latency) == 6ms in faulty", true, fp(6), ""},
		{"p90(latency) < 5ms in clean", true, fp(4), ""},
		{"max(latency) < 0.008s", false, fp(0.008), ""},
		{"mean(latency) == 4.5ms", true, fp(4.5), ""},
		{"p99(latency) <= 8.1ms", true, fp(8.063), "from the merged phase histograms: at most 1.6% above the exact value"},
		{"first(status=502) > 1.5s", false, fp(1.5), ""},
		{"first(status=502) >= 1500ms", true, fp(1500), ""},
		{"first(status=503) > 10s", true, nil, "none in the run: +inf"},
		{"first(status=503) < 10s", false, nil, "none in the run: +inf"},
		{"first(status=599) > 1m", true, nil, "none in the run: +inf"},
		{"first(class=5xx) == 1.5s", true, fp(1.5), ""},
		{"first(error) < 3s", true, fp(2.9), ""},
		{"sustained(status=502) > 1s", true, nil, "never sustained: +inf"},
		{"share(cause=reset-before-headers) >= 33%", true, fp(33.333), ""},
		{"share(cause=upstream-timeout) > 0%", false, fp(0), ""},
		{"share(cause=unattributed, error) == 100%", true, fp(100), ""},
		{"share(cause=upstream-timeout, status=504) > 0%", false, nil, "no 504s to take a share of"},
		{"recovery(phase=clean) < 1s", true, fp(0.5), ""},
		{"recovery(phase=clean) < 500ms", false, fp(500), ""},
		{"recovery(phase=clean, error) < 1s", false, nil, "never recovered: +inf"},
		{"recovery(phase=clean, error) > 1s", true, nil, "never recovered: +inf"},
		{"recovery(phase=clean, status=504) < 1s", false, nil, "recovery not measured after phase clean"},
		{"recovery(phase=faulty) < 1s", false, nil, "recovery not measured after phase faulty"},
		{"achieved_rate >= 100% of offered in faulty", true, fp(100), ""},
		{"achieved_rate > 3/s", false, fp(2.667), ""},
		{"achieved_rate >= 160/m in clean", true, fp(240), ""},
		{"achieved_rate >= 99% of offered", true, fp(100), ""},
		{"masked(kind=reset) == 1", true, fp(1), ""},
		{"masked >= 25%", true, fp(25), ""},
		{"masked(reason=absorbed) > 0", false, fp(0), ""},
		{"send_lag(p99) < 0.5s", false, fp(0.5), ""},
		{"send_lag(p50) == 0ms", true, fp(0), ""},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			e := expectations(t, tt.expr)[0]
			got := Evaluate(rep, []scenarios.Expectation{e})[0]
			want := Verdict{Expr: tt.expr, OK: tt.ok, Value: tt.value, Unit: e.Unit, Detail: tt.detail}
			if got.Expr != want.Expr || got.OK != want.OK || got.Unit != want.Unit || got.Detail != want.Detail ||
				(got.Value == nil) != (want.Value == nil) || got.Value != nil && *got.Value != *want.Value {
				t.Errorf("got %s, want %s", verdictString(got), verdictString(want))
			}
		})
	}
}

func verdictString(v Verdict) string {
	val := "null"
	if v.Value != nil {
		val = formatMeasure(*v.Value, "")
	}
	return strings.Join([]string{v.Expr, map[bool]string{true: "ok", false: "FAIL"}[v.OK], val, v.Unit, v.Detail}, " | ")
}

// TestExpectationsText checks the verdicts in report.json, the text
// report's table, and the diagnosis.
func TestExpectationsText(t *testing.T) {
	rep := fixtureReport(t)
	rep.SetExpectations(expectations(t,
		"rate(status=502) < 0.5% in faulty [abort]",
		"first(status=503) > 10s",
		"p50(latency) < 250ms in clean",
		"share(cause=upstream-timeout, status=504) > 0%",
	), "rate(status=502) < 0.5% in faulty failed for good at 3.008s (measured 75%)")
	if got := len(rep.Expectations.Failed()); got != 2 {
		t.Errorf("got %d failed, want 2", got)
	}
	want := "The run was aborted: rate(status=502) < 0.5% in faulty failed for good at 3.008s (measured 75%). " +
		"2 of 4 expectations failed: rate(status=502) < 0.5% in faulty (75%), share(cause=upstream-timeout, status=504) > 0% (no 504s to take a share of). 502s began"
	if !strings.HasPrefix(rep.Diagnosis, want) {
		t.Errorf("diagnosis: got %q, want it to start with %q", rep.Diagnosis, want)
	}
	// report.TestTextExpectations renders these verdicts for a terminal.
	js, err := rep.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Aborted      *string          `json:"aborted"`
		Expectations []map[string]any `json:"expectations"`
	}
	if err := json.Unmarshal(js, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Aborted == nil || len(raw.Expectations) != 4 {
		t.Fatalf("got aborted %v and %d expectations, want both", raw.Aborted, len(raw.Expectations))
	}
	first := raw.Expectations[0]
	if first["expr"] != "rate(status=502) < 0.5% in faulty" || first["ok"] != false || first["value"] != 75.0 || first["unit"] != "%" || first["abort"] != true || first["detail"] != "" {
		t.Errorf("got %v, want the expression, false, 75, %%, abort and no detail", first)
	}
	if v, ok := raw.Expectations[1]["value"]; !ok || v != nil || raw.Expectations[1]["ok"] != true {
		t.Errorf("got %v, want ok with a null value (+inf)", raw.Expectations[1])
	}

	// Without expectations: none in the text, [] in JSON.
	rep = fixtureReport(t)
	rep.SetExpectations(nil, "")
	if strings.Contains(rep.Diagnosis, "expectation") {
		t.Errorf("got expectations mentioned without any:\n%s", rep.Diagnosis)
	}
	js, _ = rep.MarshalIndent()
	if !bytes.Contains(js, []byte(`"expectations": [],`)) || !bytes.Contains(js, []byte(`"aborted": null,`)) {
		t.Errorf("got %s, want expectations [] and aborted null", js)
	}
	rep.SetExpectations(expectations(t, "count(status=502) == 3", "first(error) < 3s"), "")
	if !strings.HasPrefix(rep.Diagnosis, "All 2 expectations held. 502s began") {
		t.Errorf("got %q, want it to say all held first", rep.Diagnosis)
	}
}

func TestExpectFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "expect.json")
	exps, aborted, err := ReadExpect(path)
	if exps != nil || aborted != "" || err != nil {
		t.Errorf("missing file: got %v, %q, %v; want nothing", exps, aborted, err)
	}
	in := expectations(t, "rate(status=502) < 1% in a [abort]", "first(status=502) > 10s")
	if err := WriteExpect(path, in, "because"); err != nil {
		t.Fatal(err)
	}
	exps, aborted, err = ReadExpect(path)
	if err != nil || aborted != "because" || !slices.Equal(exps, in) {
		t.Errorf("got %v, %q, %v; want %v, because", exps, aborted, err, in)
	}
	for _, tt := range []struct{ content, want string }{
		{`{"schema": "gatecrash/expect/v1", "expect": [{"expr": "p98(latency) < 1s"}, {"expr": "count(status=502) > 1", "abort": true}]}`,
			`expect[0]: unknown metric "p98"; use p50, p90, p99, max, mean` + "\n" + path + ": expect[1]: abort: true needs count(...) with < or <="},
		{`{"schema": "other", "expect": []}`, `schema "other", want "gatecrash/expect/v1"`},
		{`{"schema": "gatecrash/expect/v1", "expectations": []}`, `unknown field "expectations"`},
	} {
		if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ReadExpect(path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("got %v, want an error with %q", err, tt.want)
		}
	}
}

// TestExpectNames checks that the names expectations accept are those the
// report uses.
func TestExpectNames(t *testing.T) {
	for _, cause := range causes.Names() {
		if _, err := scenarios.ParseExpect("share(cause=" + cause + ") < 1%"); err != nil {
			t.Errorf("share(cause=%s) is not accepted (%v), but reports use that cause", cause, err)
		}
	}
	for reason := range maskedWords {
		if !slices.Contains(scenarios.MaskedReasons(), reason) {
			t.Errorf("masked(reason=%s) is not accepted, but reports use that reason", reason)
		}
	}
}

// watchPlan is three phases of a second each.
var watchPlan = []PhasePlan{
	{Name: "a", StartS: 0, EndS: 1, Planned: 10},
	{Name: "b", StartS: 1, EndS: 2, Planned: 10},
	{Name: "c", StartS: 2, EndS: 3, Planned: 10},
}

func TestWatch(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res := func(seq uint64, ms int, code uint16, lat time.Duration) *vegeta.Result {
		return &vegeta.Result{Seq: seq, Timestamp: t0.Add(time.Duration(ms) * time.Millisecond), Code: code, Latency: lat}
	}
	type step struct {
		r    *vegeta.Result
		stop string // what Add must return
	}
	for _, tt := range []struct {
		name  string
		exprs []string
		steps []step
	}{
		{"first fails at a failure before the time", []string{"first(status=502) > 1.5s [abort]"}, []step{
			{res(0, 100, 200, time.Millisecond), ""},
			{res(1, 1200, 503, time.Millisecond), ""},
			{res(2, 1250, 502, 10*time.Millisecond), "first(status=502) > 1.5s failed for good at 1.26s (measured 1.25s)"},
			{res(3, 1300, 502, time.Millisecond), ""}, // once
		}},
		{"first holds after the time", []string{"first(status=502) > 1.5s [abort]"}, []step{
			{res(0, 1600, 502, time.Millisecond), ""},
		}},
		{"count fails once it reaches its limit", []string{"count(class=5xx) < 2 [abort]"}, []step{
			{res(0, 100, 502, time.Millisecond), ""},
			{res(1, 200, 200, time.Millisecond), ""},
			{res(2, 2500, 504, time.Millisecond), "count(class=5xx) < 2 failed for good at 2.501s (measured 2)"},
		}},
		{"count in a phase counts that phase only", []string{"count(error) <= 1 in b [abort]"}, []step{
			{res(0, 100, 0, time.Millisecond), ""},
			{res(1, 200, 0, time.Millisecond), ""},
			{res(2, 1100, 0, time.Millisecond), ""},
			{res(3, 2100, 0, time.Millisecond), ""},
			{res(4, 1900, 0, time.Second), "count(error) <= 1 in b failed for good at 2.9s (measured 2)"},
		}},
		{"streams cut or stalled are not errors", []string{"count(error) < 2 [abort]"}, []step{
			{&vegeta.Result{Seq: 0, Timestamp: t0, Error: "stream-cut: the stream ended after 3 tokens without its end marker"}, ""},
			{&vegeta.Result{Seq: 1, Timestamp: t0, Error: "stream-stall: no token for 1s after 3 tokens"}, ""},
			{&vegeta.Result{Seq: 2, Timestamp: t0, Error: "EOF"}, ""},
			{&vegeta.Result{Seq: 3, Timestamp: t0, Error: "EOF"}, "count(error) < 2 failed for good at 0s (measured 2)"},
		}},
		{"max latency fails at a slow request", []string{"max(latency) < 1s [abort]"}, []step{
			{res(0, 100, 200, 999*time.Millisecond), ""},
			{res(1, 200, 200, time.Second), "max(latency) < 1s failed for good at 1.2s (measured 1s)"},
		}},
		{"a phase's rate is decided once all its requests are back", []string{"rate(status=502) < 10% in a [abort]"}, []step{
			{res(0, 100, 200, time.Millisecond), ""},
			{res(2, 900, 200, time.Millisecond), ""},
			{res(3, 1100, 200, time.Millisecond), ""}, // phase b began, but seq 1 is out
			{res(4, 1200, 200, time.Millisecond), ""}, // still out
			{res(1, 500, 502, 900*time.Millisecond), "rate(status=502) < 10% in a failed for good at 1.4s (measured 33.333%)"},
		}},
		{"a phase's rate that holds does not stop the run", []string{"rate(status=502) < 50% in a [abort]"}, []step{
			{res(0, 100, 200, time.Millisecond), ""},
			{res(1, 500, 502, time.Millisecond), ""},
			{res(2, 900, 200, time.Millisecond), ""},
			{res(3, 1100, 200, time.Millisecond), ""},
		}},
		{"a phase's latency", []string{"p50(latency) < 5ms in b [abort]", "count(status=502) < 5 in a [abort]"}, []step{
			{res(0, 100, 200, 10*time.Millisecond), ""},
			{res(1, 1100, 200, 10*time.Millisecond), ""},
			{res(2, 1500, 200, 1*time.Millisecond), ""},
			{res(3, 1900, 200, 20*time.Millisecond), ""},
			{res(4, 2100, 200, 1*time.Millisecond), "p50(latency) < 5ms in b failed for good at 2.101s (measured 10ms)"},
		}},
		{"an empty phase fails its rate", []string{"rate(status=502) < 10% in b [abort]"}, []step{
			{res(0, 100, 200, time.Millisecond), ""},
			{res(1, 2100, 200, time.Millisecond), "rate(status=502) < 10% in b failed for good at 2.101s (measured undefined)"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWatch(watchPlan, t0, expectations(t, tt.exprs...))
			if w == nil {
				t.Fatal("got a nil Watch, want one")
			}
			for i, s := range tt.steps {
				if got := w.Add(s.r); got != s.stop {
					t.Errorf("step %d (seq %d): got %q, want %q", i, s.r.Seq, got, s.stop)
				}
			}
		})
	}
	// Nothing to watch: no abort, or one that cannot be decided early.
	if w := NewWatch(watchPlan, t0, expectations(t, "first(status=502) > 1s", "rate(status=502) < 1% in nope")); w != nil {
		t.Errorf("got %+v, want nil", w)
	}
	var w *Watch
	if got := w.Add(res(0, 0, 502, 0)); got != "" {
		t.Errorf("nil Watch: got %q", got)
	}
}

// TestWatchAgreesWithReport runs random runs through a Watch and through
// the analysis: whenever the Watch stops a run, the report finds the same
// expectation failed; and an expectation the Watch can decide (one that
// fails at a single result, or one on a phase followed by requests) fails
// in the report only if the Watch stopped the run.
func TestWatchAgreesWithReport(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	run := &Run{Schema: RunSchema, Scenario: "s", Started: t0, Phases: watchPlan}
	exprs := []string{
		"first(status=502) > 1.2s", "first(class=5xx) >= 500ms", "count(status=502) < 3", "count(error) <= 2 in b",
		"max(latency) < 40ms", "max(latency) <= 35ms in a", "rate(status=502) < 10% in a", "rate(error) <= 5% in b",
		"p99(latency) < 30ms in a", "mean(latency) < 15ms in b", "count(status=200) > 8 in a", "p50(latency) >= 10ms in b",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	codes := []uint16{200, 200, 200, 200, 200, 200, 502, 503, 0, 0}
	for round := range 200 {
		var res []vegeta.Result
		n := 10 + rng.IntN(40)
		at := time.Duration(0)
		for seq := range n {
			at += time.Duration(rng.IntN(int(7*time.Second) / n))
			r := vegeta.Result{Seq: uint64(seq), Timestamp: t0.Add(at), Code: codes[rng.IntN(len(codes))],
				Latency: time.Duration(1+rng.IntN(40)) * time.Millisecond}
			if r.Code == 0 {
				// No answer, or a stream cut or stalled: not of class error.
				r.Error = []string{"EOF", "stream-cut: x", "stream-stall: y"}[rng.IntN(3)]
			}
			res = append(res, r)
		}
		// Results come back in the order they complete.
		done := slices.Clone(res)
		slices.SortStableFunc(done, func(a, b vegeta.Result) int {
			return a.Timestamp.Add(a.Latency).Compare(b.Timestamp.Add(b.Latency))
		})
		rep := Analyze(run, res, nil, Options{})
		for _, x := range exprs {
			e := expectations(t, x+" [abort]")
			v := Evaluate(rep, e)[0]
			w := NewWatch(watchPlan, t0, e)
			stopped := ""
			for i := range done {
				if stopped = w.Add(&done[i]); stopped != "" {
					break
				}
			}
			if stopped != "" && v.OK {
				t.Fatalf("round %d: %s: the Watch stopped the run (%s), the report says it held (%s)", round, x, stopped, verdictString(v))
			}
			decided := immediate(e[0]) || e[0].Phase != "" && e[0].Phase != "c" && rep.Phases[2].Requests > 0
			if decided && !v.OK && stopped == "" {
				t.Fatalf("round %d: %s: the report says it failed (%s), the Watch let the run go on", round, x, verdictString(v))
			}
		}
	}
}
