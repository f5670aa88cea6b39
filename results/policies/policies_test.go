package policies

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func f(v float64) *float64 { return &v }

// stormReport is a report of retry-storm's shape: phases baseline,
// spike and after, recovery measured after spike, latencies of p99
// p99ms, and retry figures x.
func stormReport(x *results.Retries, rec results.Recovery, p99ms int, failed ...string) *results.Report {
	var h results.Histogram
	for i := 0; i < 99; i++ {
		h.Record(10 * time.Millisecond)
	}
	h.Record(time.Duration(p99ms) * time.Millisecond)
	h.Record(time.Duration(p99ms) * time.Millisecond)
	r := &results.Report{Scenario: "retry-storm", Seed: 34, Analysis: results.Options{Threshold: 0.01},
		Totals:  results.Totals{Requests: x.Requests},
		Retries: x,
		Phases: []results.PhaseReport{
			{Name: "baseline", EndS: 3, Histogram: &h, OtherRecovery: map[string]results.Recovery{}},
			{Name: "spike", StartS: 3, EndS: 6, RecoveryUntilS: f(14), OtherRecovery: map[string]results.Recovery{scenarios.ClassUserFailure: rec}},
			{Name: "after", StartS: 6, EndS: 14, OtherRecovery: map[string]results.Recovery{}},
		}}
	r.Expectations = results.Verdicts{{Expr: "rate(class=5xx) < 1% in baseline", OK: true}}
	for _, e := range failed {
		r.Expectations = append(r.Expectations, results.Verdict{Expr: e})
	}
	return r
}

// stormRuns are three policies' runs of retry-storm, as gatecrash
// policies sets them side by side.
func stormRuns() []Run {
	none, _ := scenarios.LookupPolicy(scenarios.PolicyNone)
	naive, _ := scenarios.LookupPolicy(scenarios.PolicyNaive)
	custom, err := scenarios.DecodeRetry("--policy", []byte("{policy: exponential, max_attempts: 5}"))
	if err != nil {
		panic(err)
	}
	return []Run{
		{Policy: "none", Retry: none, Dir: "out/0-none", Report: stormReport(&results.Retries{Requests: 1540, UserFailures: 300, UserFailureRate: 0.195, FirstTryFailureRate: 0.195,
			TriesPerRequest: 1, Amplification: 1}, results.Recovery{State: "recovered", S: f(0)}, 1007)},
		{Policy: "naive", Retry: naive, Dir: "out/1-naive", Report: stormReport(&results.Retries{Requests: 1540, UserFailures: 1024, UserFailureRate: 0.665, FirstTryFailureRate: 0.691,
			Hidden: 40, TriesPerRequest: 2.37, Amplification: 2.37, Surge: &results.Surge{FromS: 7, ToS: 17, Amplification: 2.98, OfferedRate: 76, UpstreamRate: 226.1}},
			results.Recovery{State: "recovered", S: f(10)}, 3014, "rate(user-failure) < 25%")},
		{Policy: "{policy: exponential, max_attempts: 5}", Retry: custom, Dir: "out/2-custom", Report: stormReport(&results.Retries{Requests: 1540, UserFailures: 290, UserFailureRate: 0.188, FirstTryFailureRate: 0.195,
			Hidden: 10, TriesPerRequest: 1.02, Amplification: 1.02}, results.Recovery{State: "recovered", S: f(0)}, 2097)},
	}
}

func TestBuild(t *testing.T) {
	tab := Build(stormRuns())
	if tab.Scenario != "retry-storm" || tab.Seed != 34 || tab.Threshold != 0.01 || !reflect.DeepEqual(tab.Phases, []string{"spike"}) {
		t.Fatalf("got %s seed %d threshold %v phases %q, want retry-storm, 34, 0.01, [spike]", tab.Scenario, tab.Seed, tab.Threshold, tab.Phases)
	}
	for _, tt := range []struct {
		row      int
		verdict  string
		p99      float64
		recovery float64
		failed   []string
	}{
		{0, Pass, 1007, 0, []string{}},
		{1, Fail, 3014, 10, []string{"rate(user-failure) < 25%"}},
		{2, Pass, 2097, 0, []string{}},
	} {
		r := tab.Rows[tt.row]
		// The histogram's buckets hold a latency within 1% or so.
		if r.Verdict != tt.verdict || r.P99MS < tt.p99*0.98 || r.P99MS > tt.p99*1.02 || *r.Recovery[0].S != tt.recovery || !reflect.DeepEqual(r.Failed, tt.failed) {
			t.Errorf("row %d (%s): got %s, p99 %v, recovery %v, failed %q; want %s, about %v, %v, %q", tt.row, r.Policy, r.Verdict, r.P99MS, *r.Recovery[0].S, r.Failed, tt.verdict, tt.p99, tt.recovery, tt.failed)
		}
	}
	if !tab.Failed() {
		t.Error("Failed: got false, want true: naive failed an expectation")
	}
	want := []string{"After phase spike, none and {policy: exponential, max_attempts: 5} recovered soonest: the failures users saw fell under 1.0% at once. " +
		"naive recovered last: the failures users saw fell under 1.0% within 10.0s, while its retries multiplied the load reaching the upstream by 2.98 from 7.0s to 17.0s (226.1/s for 76.0/s offered)."}
	if !reflect.DeepEqual(tab.Summary, want) {
		t.Errorf("summary:\n got %q\nwant %q", tab.Summary, want)
	}
}

func TestVerdicts(t *testing.T) {
	none, _ := scenarios.LookupPolicy(scenarios.PolicyNone)
	ok := results.Recovery{State: "not-recovered"}
	for _, tt := range []struct {
		name string
		edit func(*results.Report)
		want string
	}{
		{"held", func(*results.Report) {}, Pass},
		{"failed", func(r *results.Report) { r.Expectations = append(r.Expectations, results.Verdict{Expr: "x"}) }, Fail},
		{"aborted", func(r *results.Report) { why := "x"; r.Aborted, r.Interrupted = &why, true }, Fail},
		{"interrupted", func(r *results.Report) { r.Interrupted = true }, Broken},
		{"damaged", func(r *results.Report) { r.Damaged = []results.Damaged{{File: "results"}} }, Broken},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := stormReport(&results.Retries{Requests: 10}, ok, 10)
			tt.edit(rep)
			tab := Build([]Run{{Policy: "none", Retry: none, Report: rep}})
			if got := tab.Rows[0].Verdict; got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if got := tab.Rows[0].Recovery[0]; got.State != "not-recovered" || got.S != nil {
				t.Errorf("recovery: got %+v, want not-recovered", got)
			}
			if tab.Failed() != (tt.want == Fail) {
				t.Errorf("Failed: got %t", tab.Failed())
			}
		})
	}
	// A run without tries.jsonl counts its answers: one try each.
	rep := stormReport(&results.Retries{}, ok, 10)
	rep.Retries, rep.Totals = nil, results.Totals{Requests: 10, Status: map[string]int{"200": 6, "302": 1, "503": 2}, Errors: 1}
	row := Build([]Run{{Policy: "none", Retry: none, Report: rep}}).Rows[0]
	if row.Requests != 10 || row.UserFailures != 3 || row.UserFailureRate != 0.3 || row.TriesPerRequest != 1 {
		t.Errorf("without tries: got %+v, want 10 requests, 3 user failures (30%%), 1 try each", row)
	}
}

func TestGolden(t *testing.T) {
	tab := Build(stormRuns())
	for _, tt := range []struct {
		file  string
		write func(io.Writer, *Table) error
	}{
		{"table.txt", Text},
		{"table.md", Markdown},
		{"table.json", JSON},
	} {
		t.Run(tt.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b, tab); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s differs from the golden file; run go test -update if the change is right:\n%s", tt.file, b.String())
			}
		})
	}
}

// TestMarkdownEscapes checks that a policy given as a mapping cannot break
// the Markdown table: its pipes and markup are escaped.
func TestMarkdownEscapes(t *testing.T) {
	runs := stormRuns()
	runs[2].Policy = "{retry_on: [502|503], x: <b>*y*</b>}"
	var b bytes.Buffer
	if err := Markdown(&b, Build(runs)); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, "<b>") || strings.Contains(line, "502|503") {
			t.Errorf("unescaped: %q", line)
		}
	}
}
