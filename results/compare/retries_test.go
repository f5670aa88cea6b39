package compare

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/internal/golden"
)

// retrySpec is a client retry policy in a fixture: every request gets
// its tries in tries.jsonl, and the requests of phase resets fail as it
// says. Each try takes the request's latency, the next one starting 20 ms
// after the previous one.
type retrySpec struct {
	firstFail uint64 // every n-th request of resets fails its first try with a 502, and is retried (0: none)
	tries     int    // the tries of such a request, the last one answered 200 (0: 2)
	budget    uint64 // every n-th of those is refused its retry by the budget: the user sees the 502 (0: none)
	userFail  uint64 // every n-th request of resets fails all its tries with a 429: a user-seen failure (0: none)
	// burstS, when not 0, keeps userFail and burstTries to the first
	// burstS seconds of resets.
	burstS     float64
	burstTries int // the tries of a failed first try during the burst (0: tries)
}

// apply returns the tries of request r, and sets r to what the user
// saw; inResets says r was sent in phase resets, at sinceResets seconds
// from its start.
func (rs *retrySpec) apply(r *vegeta.Result, inResets bool, sinceResets float64) []attack.Try {
	n, lat := r.Seq, r.Latency
	try := func(k, code int, stop string) attack.Try {
		return attack.Try{Time: r.Timestamp.Add(time.Duration(k) * 20 * time.Millisecond), Attack: r.Attack, Seq: n, Try: k + 1,
			Code: code, Latency: lat, Stop: stop}
	}
	done := func(ts []attack.Try) []attack.Try {
		last := ts[len(ts)-1]
		r.Code, r.Latency = uint16(last.Code), last.Time.Add(last.Latency).Sub(r.Timestamp)
		r.Error = ""
		if last.Code != 200 {
			r.Error = fmt.Sprintf("%d %s", last.Code, http.StatusText(last.Code))
		}
		return ts
	}
	burst := rs.burstS == 0 || sinceResets < rs.burstS
	tries := max(rs.tries, 2)
	if rs.burstS > 0 && burst && rs.burstTries > 0 {
		tries = rs.burstTries
	}
	switch {
	case !inResets:
	case rs.userFail > 0 && burst && n%rs.userFail == 0:
		var ts []attack.Try
		for k := range tries {
			stop := ""
			if k == tries-1 {
				stop = attack.StopAttempts
			}
			ts = append(ts, try(k, 429, stop))
		}
		return done(ts)
	case rs.firstFail > 0 && n%rs.firstFail == 0:
		if rs.budget > 0 && (n/rs.firstFail)%rs.budget == 0 {
			return done([]attack.Try{try(0, 502, attack.StopBudget)})
		}
		var ts []attack.Try
		for k := range tries - 1 {
			ts = append(ts, try(k, 502, ""))
		}
		return done(append(ts, try(tries-1, 200, attack.StopSuccess)))
	}
	return done([]attack.Try{try(0, 200, attack.StopSuccess)})
}

// retryRegressions lists the regressions of c's client retry metrics.
func retryRegressions(c *Comparison) []string {
	var out []string
	for _, r := range regressionsOf(c) {
		for i := range retryMetricDefs {
			if strings.HasSuffix(r, "/"+retryMetricDefs[i].key) {
				out = append(out, r)
			}
		}
	}
	return out
}

// TestCompareRetries: the client retry metrics are compared when both
// reports have retries, against their limits and with the test on the
// buckets; with one side only, a note says so and nothing fails.
func TestCompareRetries(t *testing.T) {
	// Phase resets: one first try in 5 fails and succeeds at its second
	// try; amplification 1.2.
	base := fixtureSpec{noise: 1, retry: &retrySpec{firstFail: 5}}.report()
	tests := []struct {
		name string
		cur  fixtureSpec
		opt  func(*Options)
		// want is every regression, as phase/metric; retryOnly looks at
		// the retry metrics' alone.
		want      []string
		retryOnly bool
		check     func(t *testing.T, c *Comparison)
	}{
		{name: "the same policy another night: nothing moves",
			cur: fixtureSpec{noise: 1, day: 1, retry: &retrySpec{firstFail: 5}},
			check: func(t *testing.T, c *Comparison) {
				if c.Checks != 4*9+1 {
					t.Errorf("checks: got %d, want 37 (9 limits in each of 3 phases and overall, recovery after the phase with faults)", c.Checks)
				}
				if c.Limits[userFailureFlag] != "0.5pp" || c.Limits[amplificationFlag] != "10%" {
					t.Errorf("limits: got %v, want the retry limits in", c.Limits)
				}
				m := metricOf(t, c, "resets", "amplification")
				if *m.Base != 1.2 || *m.New != 1.2 || m.Unit != "x" || m.ChangeUnit != "%" || m.Test == nil || m.Test.NBase != 12 {
					t.Errorf("amplification in resets: %v -> %v %s (%s), test %+v; want 1.2x -> 1.2x, in %%, 12 buckets", deref(m.Base), deref(m.New), m.Unit, m.ChangeUnit, m.Test)
				}
				for _, k := range []struct {
					metric string
					want   float64
				}{{"first_try_failure_rate", 0.2}, {"hidden_share", 0.2}, {"user_failure_rate", 0}, {"tries_per_request", 1.2}, {"budget_refused", 0}} {
					if m := metricOf(t, c, "resets", k.metric); m.New == nil || *m.New != k.want {
						t.Errorf("%s in resets: got %v, want %v", k.metric, deref(m.New), k.want)
					}
				}
				// Overall: 1 in 15 requests of the three phases fails its
				// first try.
				if m := metricOf(t, c, "overall", "amplification"); m.New == nil || math.Abs(*m.New-1.067) > 1e-9 || m.Test.Strata != 3 {
					t.Errorf("amplification overall: got %v (%d strata), want 1.067 over 3 phases", deref(m.New), m.Test.Strata)
				}
			}},
		{name: "amplification 1.2x -> 1.4x in resets (+16.7%): beyond its 10% limit, significant",
			cur:  fixtureSpec{noise: 1, day: 1, retry: &retrySpec{firstFail: 5, tries: 3}},
			want: []string{"resets/amplification"},
			check: func(t *testing.T, c *Comparison) {
				if m := metricOf(t, c, "resets", "amplification"); *m.New != 1.4 || math.Abs(*m.Change-16.667) > 1e-9 || *m.Test.P >= 1e-4 {
					t.Errorf("amplification in resets: %v -> %v (%v%%, p %v); want 1.2 -> 1.4 (+16.667%%), p < 0.0001", *m.Base, *m.New, *m.Change, deref(m.Test.P))
				}
				if m := metricOf(t, c, "resets", "tries_per_request"); m.Verdict != MetricNoLimit || *m.New != 1.4 {
					t.Errorf("tries per request in resets: %s %v; want no limit, 1.4", m.Verdict, *m.New)
				}
				if !strings.Contains(c.Verdict, "amplification in phase resets: 1.2x -> 1.4x (+16.7%, limit +10%, p < 0.0001)") {
					t.Errorf("verdict %q does not say the amplification", c.Verdict)
				}
			}},
		{name: "amplification +16.7% within a 20% limit",
			cur: fixtureSpec{noise: 1, day: 1, retry: &retrySpec{firstFail: 5, tries: 3}},
			opt: func(o *Options) { o.Limits.AmplificationIncrease.Value = 20 }},
		{name: "amplification limit off",
			cur: fixtureSpec{noise: 1, day: 1, retry: &retrySpec{firstFail: 5, tries: 3}},
			opt: func(o *Options) { o.Limits.AmplificationIncrease.Off = true }},
		{name: "amplification +11% from one bucket of resets (10 tries there): beyond the limit, not significant",
			cur: fixtureSpec{noise: 1, day: 1, retry: &retrySpec{firstFail: 5, burstS: 1, burstTries: 10}},
			check: func(t *testing.T, c *Comparison) {
				if m := metricOf(t, c, "resets", "amplification"); !m.BeyondLimit || m.Verdict != MetricNotSignificant {
					t.Errorf("amplification in resets: %v -> %v (%v%%), %s; want beyond 10%%, not-significant", *m.Base, *m.New, *m.Change, m.Verdict)
				}
			}},
		{name: "amplification +16.7% with --no-test: the limit alone decides",
			cur:  fixtureSpec{noise: 1, day: 1, retry: &retrySpec{firstFail: 5, tries: 3}},
			opt:  func(o *Options) { o.NoTest = true },
			want: []string{"resets/amplification"}, retryOnly: true},
		{name: "user-seen failures 0% -> 5% in resets: beyond the 0.5pp limit, there and overall",
			cur:  fixtureSpec{noise: 1, day: 1, retry: &retrySpec{firstFail: 5, userFail: 20}},
			want: []string{"resets/user_failure_rate", "overall/user_failure_rate"},
			check: func(t *testing.T, c *Comparison) {
				m := metricOf(t, c, "resets", "user_failure_rate")
				if *m.Base != 0 || *m.New != 0.05 || *m.Change != 5 || m.ChangeUnit != "pp" {
					t.Errorf("user failures in resets: %v -> %v (%v %s), want 0 -> 0.05 (+5pp)", *m.Base, *m.New, *m.Change, m.ChangeUnit)
				}
				if m := metricOf(t, c, "resets", "hidden_share"); *m.New != 0.15 || m.Verdict != MetricNoLimit {
					t.Errorf("hidden errors in resets: %v %s, want 0.15, no limit", *m.New, m.Verdict)
				}
			}},
		{name: "user-seen failures +5pp within a 6pp limit",
			cur: fixtureSpec{noise: 1, day: 1, retry: &retrySpec{firstFail: 5, userFail: 20}},
			opt: func(o *Options) { o.Limits.UserFailureIncrease.Value = 6 }},
		{name: "user-seen failures 50% in one bucket of resets: +4.2pp, beyond the limit, not significant",
			cur: fixtureSpec{noise: 1, day: 1, retry: &retrySpec{firstFail: 5, userFail: 2, burstS: 1}},
			check: func(t *testing.T, c *Comparison) {
				for _, phase := range []string{"resets", "overall"} {
					if m := metricOf(t, c, phase, "user_failure_rate"); !m.BeyondLimit || m.Verdict != MetricNotSignificant {
						t.Errorf("user failures %s: %v -> %v (%vpp), %s; want beyond 0.5pp, not-significant", phase, *m.Base, *m.New, *m.Change, m.Verdict)
					}
				}
			}},
		{name: "the budget refuses one retry in 4: counted, never a check",
			cur:  fixtureSpec{noise: 1, day: 1, retry: &retrySpec{firstFail: 5, budget: 4}},
			want: []string{"resets/share_502", "resets/user_failure_rate", "overall/share_502", "overall/user_failure_rate"},
			check: func(t *testing.T, c *Comparison) {
				m := metricOf(t, c, "resets", "budget_refused")
				if *m.Base != 0 || *m.New != 30 || *m.Change != 30 || m.Verdict != MetricNoLimit || m.Test == nil || m.Test.P == nil {
					t.Errorf("budget-refused retries in resets: %v -> %v (%v), %s, test %+v; want 0 -> 30 (+30), no limit, tested", *m.Base, *m.New, deref(m.Change), m.Verdict, m.Test)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := defaults()
			if tt.opt != nil {
				tt.opt(&opt)
			}
			c := Reports(base, tt.cur.report(), opt)
			got := regressionsOf(c)
			if tt.retryOnly {
				got = retryRegressions(c)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("regressions: got %v, want %v\nverdict: %s", got, tt.want, c.Verdict)
			}
			if c.RetriesOnlyIn != "" || slices.ContainsFunc(c.Notes, func(n string) bool { return strings.HasPrefix(n, "client retries") }) {
				t.Errorf("both have retries, yet: only in %q, notes %q", c.RetriesOnlyIn, c.Notes)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

// TestCompareRetriesOneSide: a policy added or removed is said in one
// line of every format, and compares nothing and fails nothing.
func TestCompareRetriesOneSide(t *testing.T) {
	tests := []struct {
		name          string
		base, cur     fixtureSpec
		policy        string
		onlyIn, wantL string
	}{
		{"a policy added", fixtureSpec{noise: 1}, fixtureSpec{noise: 1, day: 1, retry: &retrySpec{firstFail: 5, tries: 3}}, "exponential",
			"new", "client retries: only in NEW (policy exponential): not compared"},
		{"a policy removed", fixtureSpec{noise: 1, retry: &retrySpec{firstFail: 5, tries: 3}}, fixtureSpec{noise: 1, day: 1}, "naive",
			"base", "client retries: only in BASE (policy naive): not compared"},
		{"a policy added, its name unknown", fixtureSpec{noise: 1}, fixtureSpec{noise: 1, day: 1, retry: &retrySpec{firstFail: 5, tries: 3}}, "",
			"new", "client retries: only in NEW: not compared"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := defaults()
			base, cur := tt.base.report(), tt.cur.report()
			// report.json's retries.policy, from run.json.
			if tt.onlyIn == "new" {
				cur.Retries.Policy = tt.policy
			} else {
				base.Retries.Policy = tt.policy
			}
			c := Reports(base, cur, opt)
			if c.Regression || c.RetriesOnlyIn != tt.onlyIn || c.Checks != 29 {
				t.Errorf("regression %v (%s), only in %q, %d checks; want none, %q, 29 checks", c.Regression, c.Verdict, c.RetriesOnlyIn, c.Checks, tt.onlyIn)
			}
			if _, ok := c.Limits[amplificationFlag]; ok {
				t.Errorf("limits %v hold the amplification's, which was not compared", c.Limits)
			}
			for _, p := range append(slices.Clone(c.Phases), c.Overall) {
				for _, m := range p.Metrics {
					for i := range retryMetricDefs {
						if m.Metric == retryMetricDefs[i].key {
							t.Errorf("%s: %s compared", p.Name, m.Metric)
						}
					}
				}
			}
			var txt, md bytes.Buffer
			if err := c.WriteText(&txt); err != nil {
				t.Fatal(err)
			}
			if err := c.WriteMarkdown(&md); err != nil {
				t.Fatal(err)
			}
			js, err := c.MarshalIndent()
			if err != nil {
				t.Fatal(err)
			}
			for format, out := range map[string]string{"text": txt.String(), "markdown": md.String(), "json": string(js)} {
				if n := strings.Count(out, "client retries: "); n != 1 || !strings.Contains(out, tt.wantL) {
					t.Errorf("%s: says %q %d times, want once:\n%s", format, tt.wantL, n, out)
				}
			}
		})
	}
}

// Golden text, Markdown and JSON for a pair of reports with retries:
// naive retries against a budget.
func TestCompareRetriesGolden(t *testing.T) {
	c := Reports(readFixture(t, "retries-naive"), readFixture(t, "retries-budget"), defaults())
	c.Base.File, c.New.File = filepath.Join("testdata", "retries-naive.json"), filepath.Join("testdata", "retries-budget.json")
	var txt, md bytes.Buffer
	if err := c.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	js, err := c.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "retries.txt", txt.Bytes())
	golden.Check(t, "retries.md", md.Bytes())
	golden.Check(t, "retries.compare.json", js)
	for _, out := range []string{txt.String(), md.String(), string(js)} {
		if !strings.Contains(out, "amplification") || !strings.Contains(out, "user-seen failures") && !strings.Contains(out, "user_failure_rate") {
			t.Errorf("the output lacks the retry metrics:\n%s", out)
		}
	}
}
