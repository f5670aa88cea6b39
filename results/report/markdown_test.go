package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/internal/golden"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/causes"
)

// outputFixture is a report with every part the Markdown, HTML and JUnit
// outputs show: three phases (one ramping with faults), a timeline with
// 502, 503, 504 and requests without an answer, causes of each class with
// the gateway's words, masked faults, correlations and a fault that never
// bit. It is written by
// hand so that the golden files do not move with the analysis.
func outputFixture() *results.Report {
	f := func(v float64) *float64 { return &v }
	s := func(v string) *string { return &v }
	n := func(v int) *int { return &v }
	r := &results.Report{
		Schema:    results.Schema,
		Scenario:  "upstream-resets",
		Seed:      7,
		Started:   time.Date(2026, 11, 25, 23, 57, 6, 0, time.UTC),
		DurationS: 12.004,
		Analysis:  results.Options{Bucket: time.Second, Threshold: 0.01, Sustain: 3},
		Diagnosis: "502s began at 4.2s (phase resets, 112.5/s offered), sustained from 5.0s (the knee: 137.5/s offered): 93.8% follow upstream resets before headers (exact, temporal), 6.3% gateway-local. After phase resets the 502 share fell under 1.0% within 1.0s. keepalive (phase resets) never applied: no connection was idle 50ms; lower idle or the rate. Gateway: nginx (started by gatecrash).",
		Gateway:   results.Gateway{Kind: "nginx", Evidence: "started by gatecrash"},
		Totals: results.Totals{
			Requests:   1500,
			Status:     map[string]int{"200": 1459, "502": 32, "504": 5, "503": 3},
			Errors:     1,
			ErrorKinds: map[string]int{"timeout": 1},
		},
		Phases: []results.PhaseReport{
			{Name: "baseline", StartS: 0, EndS: 4, Faults: []string{}, OfferedRate: 100, AchievedRate: 100, Requests: 400,
				Status: map[string]int{"200": 400}, LatencyMS: results.Latency{P50: 1.3, P90: 1.6, P99: 2.1, Max: 3}, Recovery: "not-measured"},
			{Name: "resets", StartS: 4, EndS: 8, Faults: []string{"reset", "latency", "keepalive"}, OfferedRate: 150, AchievedRate: 149.5, Requests: 598,
				Status: map[string]int{"200": 558, "502": 32, "504": 5, "503": 2}, Errors: 1,
				LatencyMS: results.Latency{P50: 17.2, P90: 25.3, P99: 27.1, Max: 1002}, Recovery: "recovered", RecoveryS: f(1)},
			{Name: "recover", StartS: 8, EndS: 12, Faults: []string{}, OfferedRate: 125, AchievedRate: 125.5, Requests: 502,
				Status: map[string]int{"200": 501, "503": 1}, LatencyMS: results.Latency{P50: 1.2, P90: 1.5, P99: 1.9, Max: 2.6}, Recovery: "not-measured"},
		},
		Onset:       results.Onset{FirstS: f(4.2), FirstPhase: s("resets"), FirstRate: f(112.5), SustainedS: f(5), SustainedPhase: s("resets"), KneeRate: f(137.5)},
		OtherOnsets: map[string]results.Onset{"503": {FirstS: f(6.1), FirstPhase: s("resets")}, "504": {FirstS: f(5.5), FirstPhase: s("resets")}, "error": {FirstS: f(7.2), FirstPhase: s("resets")}},
		Causes: []results.Cause{
			{Cause: "reset-before-headers", Count: 30, Share: 0.938, Evidence: results.Evidence{Exact: 29, Temporal: 1},
				GatewayWords: []results.Words{{Words: "upstream prematurely closed connection while reading response header from upstream", Count: 28}, {Words: "recv() failed (104: Connection reset by peer)", Count: 2}}},
			{Cause: causes.GatewayLocal, Count: 2, Share: 0.063, Evidence: results.Evidence{None: 2}, GatewayWords: []results.Words{}},
		},
		OtherCauses: map[string][]results.Cause{
			"503":   {{Cause: "overload-rejected", Count: 3, Share: 1, Evidence: results.Evidence{Exact: 3}, GatewayWords: []results.Words{}}},
			"504":   {{Cause: causes.UpstreamLatency, Count: 5, Share: 1, Evidence: results.Evidence{Exact: 4, Signature: 1}, GatewayWords: []results.Words{{Words: "upstream timed out (110: Connection timed out)", Count: 5}}}},
			"error": {{Cause: causes.Unattributed, Count: 1, Share: 1, Evidence: results.Evidence{None: 1}, GatewayWords: []results.Words{}}},
		},
		Masked: results.Masked{Faults: 90, Count: 58, Reasons: map[string]int{"gateway-retried": 52, "absorbed": 6}, ByKind: map[string]int{"reset": 58},
			Repeated: 2, GatewayConfirmed: 50},
		Correlations: []results.Correlation{{Kind: "latency", Pearson: f(0.42)}, {Kind: "reset", Pearson: f(0.91)}},
		SendLagMS:    results.SendLag{P50: 0.6, P99: 1.1, Max: 2.6},
		Unapplied: []results.Unapplied{{Phase: "resets", Fault: 2, Kind: "keepalive", Matched: n(598), Probability: f(1), Expected: f(598), Never: true,
			Warning: "keepalive (phase resets) never applied: no connection was idle 50ms; lower idle or the rate."}},
	}
	for i := range 12 {
		ts := float64(i)
		b := results.Bucket{TS: ts, Status: map[string]int{}, Faults: map[string]int{}}
		switch {
		case i < 4:
			b.Phase, b.OfferedRate = "baseline", 100
			b.Status["200"] = 100
			b.LatencyMS = results.BucketLatency{P50: 1.3, P99: 2}
		case i < 8:
			b.Phase, b.OfferedRate = "resets", 112.5+25*float64(i-4)
			n502 := []int{3, 9, 11, 9}[i-4]
			b.Status["502"] = n502
			b.Status["504"] = []int{0, 2, 2, 1}[i-4]
			b.Status["503"] = []int{0, 0, 2, 0}[i-4]
			b.Errors = []int{0, 0, 0, 1}[i-4]
			b.Status["200"] = int(b.OfferedRate) - n502 - b.Status["504"] - b.Status["503"] - b.Errors
			b.Faults["reset"] = []int{20, 25, 27, 18}[i-4]
			b.Faults["latency"] = []int{10, 12, 15, 11}[i-4]
			b.Masked = []int{15, 14, 16, 13}[i-4]
			n502 = b.Status["502"]
			b.Causes = map[string]int{"reset-before-headers": n502 - min(n502, []int{1, 0, 1, 0}[i-4]), causes.GatewayLocal: min(n502, []int{1, 0, 1, 0}[i-4])}
			b.LatencyMS = results.BucketLatency{P50: 16 + float64(i), P99: 27 + float64(i)}
		default:
			b.Phase, b.OfferedRate = "recover", 125
			b.Status["200"] = 125
			if i == 8 {
				b.Status["200"], b.Status["503"] = 124, 1
			}
			b.LatencyMS = results.BucketLatency{P50: 1.2, P99: 1.9}
		}
		for _, n := range b.Status {
			b.Requests += n
		}
		b.Requests += b.Errors
		b.AchievedRate = float64(b.Requests)
		r.Timeline = append(r.Timeline, b)
	}
	withSlow(r)
	return r
}

// withSlow fills the parts of issue 16 by hand: the causes of slow
// answers (over the run and in phase resets), the masked faults' price,
// one piece of advice, and example requests of a failure cause and of a
// slow cause.
func withSlow(r *results.Report) {
	lat := func(lo, p50, hi float64) results.Range { return results.Range{Min: lo, P50: p50, Max: hi} }
	injected := results.SlowCause{Cause: results.SlowInjected, Count: 9, Share: 0.75, Evidence: results.Evidence{Exact: 9},
		LatencyMS: lat(251, 260.5, 1002), AddedMS: lat(249.7, 259.2, 1000.7)}
	retried := results.SlowCause{Cause: results.SlowGatewayRetried, Count: 3, Share: 0.25, Evidence: results.Evidence{Exact: 2, Signature: 1},
		LatencyMS: lat(60, 75, 90.5), AddedMS: lat(58.7, 73.7, 89.2)}
	r.Slow = &results.Slow{ThresholdMS: 50, From: results.SlowFromBaseline,
		Baseline: results.SlowBaseline{Scope: "quiet-phases", Requests: 902, P50MS: 1.3, P99MS: 2.1},
		Answers:  1459, Count: 12, Causes: []results.SlowCause{injected, retried}}
	r.Phases[0].Slow = &results.PhaseSlow{Answers: 400, Causes: []results.SlowCause{}}
	r.Phases[1].Slow = &results.PhaseSlow{Answers: 558, Count: 12, Causes: []results.SlowCause{injected, retried}}
	r.Phases[2].Slow = &results.PhaseSlow{Answers: 501, Causes: []results.SlowCause{}}
	r.Masked.Price = []results.MaskedPrice{{Kind: "reset", Phase: "resets", Faults: 58, Requests: 52, AddedMS: 3843.2, AddedMaxMS: 89.2, ExtraAttempts: 52}}
	r.Advice = []results.Advice{{Rule: "nginx-read-timeout", Gateway: "nginx", Setting: "proxy_read_timeout", Current: "unset (default 60s)",
		Suggest: "1500ms", Cause: causes.UpstreamLatency, Evidence: "5 answers 504 after 1.0s while the upstream's p99 was 1.4s"}}
	r.Examples = []results.Story{
		{Attack: "upstream-resets", Seq: 412, TimeS: 4.21, Phase: "resets", Status: 502, LatencyMS: 3.4,
			Attempts: []results.StoryAttempt{{Attempt: 0, Events: []results.StoryEvent{{AtS: 4.211, Type: "fault", Kind: "reset", Cause: "reset-before-headers", Ended: true, Conn: 17, Detail: "RST before headers"}}}},
			Gateway:  []results.StoryTestimony{{Gateway: "nginx", AtS: 4.213, Status: 502, Upstream: []string{"127.0.0.1:9001"}, Words: "upstream prematurely closed connection while reading response header from upstream"}},
			Cause:    "reset-before-headers", Evidence: "exact", Why: "the proxy reset attempt 0 of seq 412 before its headers"},
		{Attack: "upstream-resets", Seq: 430, TimeS: 4.33, Phase: "resets", Status: 200, LatencyMS: 251,
			Attempts: []results.StoryAttempt{{Attempt: 0, Events: []results.StoryEvent{{AtS: 4.33, Type: "fault", Kind: "latency", Conn: 18, Detail: "delayed 250ms"}}}},
			Slow:     results.SlowInjected, SlowEvidence: "exact", SlowWhy: "the proxy delayed attempt 0 of seq 430 by 250ms"},
	}
}

// fixtureVerdicts are expectations as a scenario might set them, one of
// them failed, with characters Markdown, HTML and XML must escape.
func fixtureVerdicts() []shownVerdict {
	return []shownVerdict{
		{Expr: "rate(status=502) < 0.5% in baseline", OK: true, Value: "0.0%"},
		{Expr: "p99(latency) < 25ms in resets", OK: false, Value: "27.1ms"},
		{Expr: "share(cause=reset-before-headers) >= 99%", OK: false, Value: "93.8%"},
		{Expr: "first(status=502) > 2s", OK: true, Value: "4.2s"},
	}
}

// evilFixture is outputFixture with markup and control characters in
// everything that comes from the scenario or a target.
func evilFixture() *results.Report {
	r := outputFixture()
	const evil = "<script>alert(1)</script>"
	r.Scenario = "x" + evil + "|`y`*_[z](http://127.0.0.1:1/)"
	r.Phases[1].Name = evil
	for i := range r.Timeline {
		if r.Timeline[i].Phase == "resets" {
			r.Timeline[i].Phase = evil
		}
	}
	r.Phases[2].Name = "a|b\n## c <img src=x onerror=alert(2)>"
	r.Causes[0].GatewayWords = []results.Words{{Words: evil + " & \"quoted\" </td></tr></table>", Count: 3}, {Words: "ctl \x00\x1b[31m \x01", Count: 1}}
	r.Gateway.Evidence = "<script>alert(3)</script>"
	r.Diagnosis = "phase " + evil + " broke; " + r.Phases[2].Name
	r.Unapplied[0].Phase = evil
	r.Unapplied[0].Warning = "keepalive (phase " + evil + ") never applied: *no* `connection` was idle 50ms | [x](y)."
	r.Timeline[5].Faults[evil] = 4
	r.Phases[1].Slow = &results.PhaseSlow{Answers: 558, Count: 12, Causes: r.Slow.Causes}
	r.Slow.From, r.Slow.Expectation = results.SlowFromExpectation, "p99(latency) < 50ms in "+evil
	r.Masked.Price[0].Phase = evil
	r.Advice[0].Current = evil + " | `x`"
	r.Advice[0].Evidence = "a|b\n## c <img src=x onerror=alert(5)>"
	r.Examples[0].Phase = evil
	r.Examples[0].Gateway[0].Words = evil + " </pre>"
	r.Examples[1].Error = "<img src=x onerror=alert(6)>"
	r.Examples[1].Attempts[0].Events[0].Detail = "</pre><script>alert(7)</script>"
	return r
}

func TestMarkdownGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    *results.Report
		vs   []shownVerdict
	}{
		{"markdown.md", outputFixture(), nil},
		{"markdown-expectations.md", outputFixture(), fixtureVerdicts()},
		{"markdown-escaped.md", evilFixture(), []shownVerdict{{Expr: "a|b `c` <d>", OK: false, Value: "<1>"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeMarkdown(&b, tt.r, tt.vs); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tt.name, b.Bytes())
		})
	}
}

// TestMarkdownEscapes checks that nothing from a target or the scenario
// reaches the Markdown as markup: no raw tag, no line break that would
// end a table row or start a heading.
func TestMarkdownEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := writeMarkdown(&b, evilFixture(), nil); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, bad := range []string{"<script", "<img", "\n## c", "[z](http", "[x](y)", "*no*"} {
		if strings.Contains(md, bad) {
			t.Errorf("the Markdown holds %q unescaped:\n%s", bad, md)
		}
	}
	// Every table row has as many cells as its header.
	var want int
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			want = 0
			continue
		}
		n := strings.Count(line, "|") - strings.Count(line, `\|`)
		if want == 0 {
			want = n
		} else if n != want {
			t.Errorf("row %q has %d cell separators, want %d", line, n, want)
		}
	}
}

// TestOutputsShowReportExpectations checks that the exported writers
// show Report.Expectations (and why a run was aborted) as the text report
// words them.
func TestOutputsShowReportExpectations(t *testing.T) {
	r := outputFixture()
	if vs := shownVerdicts(r); vs != nil {
		t.Errorf("a report without expectations: got %v, want none", vs)
	}
	p99 := 27.1
	r.Expectations = results.Verdicts{
		{Expr: "p99(latency) < 25ms in resets", OK: false, Value: &p99, Unit: "ms", Abort: true},
		{Expr: "rate(status=502) < 0.5% in baseline", OK: true, Value: new(float64), Unit: "%"},
	}
	aborted := "p99(latency) < 25ms in resets failed for good at 6.0s"
	r.Aborted = &aborted
	failedValue := r.Expectations[0].Measured()

	var md, junit, page bytes.Buffer
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := JUnit(&junit, r); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, r); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, out string
		want      []string
	}{
		{"markdown", md.String(), []string{"❌ 1 of 2 expectations failed", "| ❌ | `p99(latency) < 25ms in resets` (abort) | " + failedValue + " |", "`rate(status=502) < 0.5% in baseline`", "> **Aborted**: p99(latency) &lt; 25ms"}},
		{"junit", junit.String(), []string{`tests="3" failures="1"`, `<failure message="measured ` + failedValue + `" type="expectation">`, `name="rate(status=502) &lt; 0.5% in baseline"`, `<property name="aborted" value="p99(latency) &lt; 25ms in resets failed for good at 6.0s">`}},
		{"html", page.String(), []string{"1 of 2 expectations failed.", "<code>p99(latency) &lt; 25ms in resets</code> <small>(abort)</small>", "Aborted: p99(latency) &lt; 25ms in resets failed for good at 6.0s"}},
	} {
		for _, w := range c.want {
			if !strings.Contains(c.out, w) {
				t.Errorf("%s does not hold %q", c.name, w)
			}
		}
	}
}

func TestMdCode(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"p99 < 2s", "`p99 < 2s`"},
		{"a`b", "`` a`b ``"},
		{"a|b", "`a\\|b`"},
		{"a\nb", "`a b`"},
	} {
		if got := mdCode(tt.in); got != tt.want {
			t.Errorf("mdCode(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}
