package compare

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/internal/golden"
	"github.com/gatecrash/gatecrash/results"
)

// A synthetic run for the fixtures: phases baseline, resets (faults:
// reset) and recover, 12s each at 50/s, one-second buckets. Latencies are
// 8 ms (15 ms in resets) ±15% per request, times a factor of ±20% drawn
// for each bucket (the bucket-to-bucket noise); 3 requests in 50 are a
// slow tail four times as long, so a bucket's p99 (its 50th of 50) is
// a tail request.
type fixtureSpec struct {
	noise    uint64        // seed of the latency noise
	day      int           // started this many days after the first
	tail     float64       // multiplies the tail in resets (0: 1)
	scale    float64       // multiplies every latency in resets (0: 1)
	every502 uint64        // every n-th request in resets is a 502 (0: none)
	late502  time.Duration // 502s go on this long into recover
	skip     uint64        // every n-th request in resets is not sent (0: none)
	drop     string        // a phase left out of the plan
	phaseS   float64       // each phase's length (0: 12s)
	retry    *retrySpec    // a client retry policy: tries.jsonl (nil: none)
}

var fixtureStart = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

// report builds the report of the run, through Analyze, as gatecrash run
// does.
func (f fixtureSpec) report() *results.Report {
	length := orF(f.phaseS, 12)
	run := &results.Run{Schema: results.RunSchema, Scenario: "compare-fixture", Attack: "a", Seed: 1, Started: fixtureStart.AddDate(0, 0, f.day)}
	for _, p := range []struct {
		name   string
		faults []string
	}{{"baseline", nil}, {"resets", []string{"reset"}}, {"recover", nil}} {
		if p.name == f.drop {
			continue
		}
		start := float64(len(run.Phases)) * length
		run.Phases = append(run.Phases, results.PhasePlan{Name: p.name, StartS: start, EndS: start + length, Planned: 50 * length, Rate: 50, RampTo: 50, Faults: p.faults})
	}
	rng := rand.New(rand.NewPCG(f.noise, 7))
	factor := make([]float64, int(3*length)+1)
	for i := range factor {
		factor[i] = 1 + 0.4*(rng.Float64()-0.5)
	}
	var res []vegeta.Result
	var events []faults.Event
	var tries []attack.Try
	pacer := run.Schedule()
	for n := uint64(0); ; n++ {
		due, ok := pacer.Due(n)
		if !ok {
			break
		}
		s := due.Seconds()
		phase := run.Phases[min(int(s/length), len(run.Phases)-1)].Name
		ms := 8.0
		if phase == "resets" {
			ms = 15
		}
		lat := ms * (0.85 + 0.3*rng.Float64())
		tail := n%50 == 7 || n%50 == 23 || n%50 == 41
		if tail {
			lat = 4 * ms * (0.95 + 0.1*rng.Float64())
		}
		lat *= factor[int(s)]
		if phase == "resets" {
			if tail {
				lat *= orF(f.tail, 1)
			}
			lat *= orF(f.scale, 1)
			if f.skip > 0 && n%f.skip == 0 {
				continue
			}
		}
		r := vegeta.Result{Attack: "a", Seq: n, Code: 200, Timestamp: run.Started.Add(due), Latency: time.Duration(lat * float64(time.Millisecond))}
		if f.retry != nil {
			tries = append(tries, f.retry.apply(&r, phase == "resets", s-length)...)
		}
		resetsEnd := 2 * length
		if f.every502 > 0 && n%f.every502 == 0 && (phase == "resets" || phase == "recover" && s < resetsEnd+f.late502.Seconds()) {
			r.Code, r.Error = 502, "502 Bad Gateway"
			seq := n
			events = append(events, faults.Event{Time: r.Timestamp.Add(time.Millisecond), Type: faults.TypeFault, Attack: "a", Seq: &seq,
				Phase: phase, Kind: "reset", Cause: "reset-before-headers", Ended: true})
		}
		res = append(res, r)
	}
	if f.retry == nil {
		return results.Analyze(run, res, events, results.Options{})
	}
	a := results.NewAnalyzer(run, results.Options{})
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

func orF(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// fixtureSpecs are the report.json pairs of testdata; every NEW is
// compared with base.json.
var fixtureSpecs = map[string]fixtureSpec{
	// The base run.
	"base": {noise: 1},
	// (a) the same run on another night: identical numbers.
	"identical": {noise: 1, day: 1},
	// (b) the slow tail of phase resets three times as slow: its p99 in
	// every bucket triples, its p50 does not move.
	"p99x3": {noise: 1, day: 1, tail: 3},
	// (c) another night's noise (±20% from bucket to bucket), and phase
	// resets 3% slower.
	"noise": {noise: 2, day: 1, scale: 1.03},
	// (d) one request in 20 of phase resets answered 502.
	"502": {noise: 1, day: 1, every502: 20},
	// (e) phase recover missing.
	"missing": {noise: 1, day: 1, drop: "recover"},
	// A client retrying up to 3 tries without a budget: one first try in 5
	// of phase resets fails and succeeds at its third try.
	"retries-naive": {noise: 1, retry: &retrySpec{firstFail: 5, tries: 3}},
	// The same run with up to 2 tries and a budget that refuses one retry
	// in 4: less load on the upstream, more failures the user sees.
	"retries-budget": {noise: 1, day: 1, retry: &retrySpec{firstFail: 5, tries: 2, budget: 4}},
}

var fixturesOnce sync.Once

// fixtureSpec reads testdata/NAME.json, which go test -update
// writes from fixtureSpecs.
func readFixture(t *testing.T, name string) *results.Report {
	t.Helper()
	fixturesOnce.Do(func() {
		if !golden.Update() {
			return
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		for name, f := range fixtureSpecs {
			b, err := f.report().MarshalIndent()
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(fixturePath(name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	b, err := os.ReadFile(fixturePath(name))
	if err != nil {
		t.Fatalf("%v (run go test -update to write the fixtures)", err)
	}
	r, err := results.DecodeReport(fixturePath(name), b)
	if err != nil {
		t.Fatalf("%v (run go test -update to write the fixtures)", err)
	}
	return r
}

func fixturePath(name string) string { return filepath.Join("testdata", name+".json") }

// regressionsOf lists the regressions of c as phase/metric.
func regressionsOf(c *Comparison) []string {
	var out []string
	for _, p := range append(slices.Clone(c.Phases), c.Overall) {
		for _, m := range p.Metrics {
			if m.Verdict == MetricRegression {
				out = append(out, p.Name+"/"+m.Metric)
			}
		}
	}
	return out
}

// metricOf returns one metric of c; phase "overall" for the overall
// ones.
func metricOf(t *testing.T, c *Comparison, phase, metric string) MetricChange {
	t.Helper()
	for _, p := range append(slices.Clone(c.Phases), c.Overall) {
		for _, m := range p.Metrics {
			if p.Name == phase && m.Metric == metric {
				return m
			}
		}
	}
	t.Fatalf("no metric %s in phase %s", metric, phase)
	return MetricChange{}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func defaults() Options { return Options{Limits: DefaultLimits()} }

// The fixtures, whose answers are known.
func TestCompareKnownAnswers(t *testing.T) {
	base := readFixture(t, "base")
	tests := []struct {
		name    string
		newName string
		opt     func(*Options)
		// want is every regression, as phase/metric.
		want []string
		// check looks at what else must hold.
		check func(t *testing.T, c *Comparison)
	}{
		{name: "(a) identical runs: nothing moves", newName: "identical",
			check: func(t *testing.T, c *Comparison) {
				for _, p := range append(slices.Clone(c.Phases), c.Overall) {
					for _, m := range p.Metrics {
						if m.Change != nil && *m.Change != 0 {
							t.Errorf("%s %s: change %v, want 0", p.Name, m.Metric, *m.Change)
						}
						if m.Verdict != MetricOK && m.Verdict != MetricNoLimit && m.Verdict != MetricNA {
							t.Errorf("%s %s: verdict %s, want ok", p.Name, m.Metric, m.Verdict)
						}
					}
				}
				if c.Checks != 4*7+1 {
					t.Errorf("checks: got %d, want 29 (7 limits in each of 3 phases and overall, recovery after the phase with faults)", c.Checks)
				}
			}},
		{name: "(b) p99 three times higher in every bucket of phase resets", newName: "p99x3",
			want: []string{"resets/p99_ms", "overall/p99_ms"},
			check: func(t *testing.T, c *Comparison) {
				m := metricOf(t, c, "resets", "p99_ms")
				if *m.Change < 150 || *m.Test.P > 1e-4 || m.Test.NBase != 12 || m.Test.NNew != 12 {
					t.Errorf("p99 in resets: change %v%%, p %v, n %d/%d; want about +200%%, p < 0.0001, 12 buckets a side", *m.Change, *m.Test.P, m.Test.NBase, m.Test.NNew)
				}
				if m := metricOf(t, c, "resets", "p50_ms"); m.Verdict != MetricOK || *m.Change != 0 {
					t.Errorf("p50 in resets: %s %v, want ok, unchanged", m.Verdict, *m.Change)
				}
			}},
		{name: "(c) 3% slower inside ±20% noise: no regression", newName: "noise",
			check: func(t *testing.T, c *Comparison) {
				m := metricOf(t, c, "resets", "p99_ms")
				if m.Verdict != MetricOK || *m.Change <= 0 || *m.Change >= 10 || *m.Test.P < 0.01 {
					t.Errorf("p99 in resets: %s, change %v%%, p %v; want ok, a few %% up, p not below 0.01", m.Verdict, *m.Change, *m.Test.P)
				}
			}},
		{name: "(c) with a 1% p99 limit: beyond it, but not significant", newName: "noise",
			opt: func(o *Options) { o.Limits.P99Increase.Value = 1; o.Limits.P50Increase.Value = 1 },
			check: func(t *testing.T, c *Comparison) {
				m := metricOf(t, c, "resets", "p99_ms")
				if !m.BeyondLimit || m.Verdict != MetricNotSignificant {
					t.Errorf("p99 in resets: change %v%%, %s; want beyond 1%%, not-significant", *m.Change, m.Verdict)
				}
				for _, p := range append(slices.Clone(c.Phases), c.Overall) {
					for _, m := range p.Metrics {
						if m.BeyondLimit && m.Verdict != MetricNotSignificant {
							t.Errorf("%s %s: beyond its limit, %s (p %v); want not-significant: the noise did it", p.Name, m.Metric, m.Verdict, deref(m.Test.P))
						}
					}
				}
				if !strings.Contains(c.Verdict, "not significant at alpha 0.01: ") || !strings.Contains(c.Verdict, "p99 latency in phase resets") {
					t.Errorf("verdict %q does not say p99 in resets is not significant", c.Verdict)
				}
			}},
		{name: "(c) with a 1% p99 limit and --no-test: the limit alone decides, and the noise passes for regressions", newName: "noise",
			opt: func(o *Options) { o.Limits.P99Increase.Value = 1; o.NoTest = true },
			// The noise moved these beyond their limits (p50 in resets +11%
			// against its default 10%); the tests said they are not
			// significant.
			want: []string{"baseline/p99_ms", "resets/p50_ms", "resets/p99_ms", "recover/p99_ms", "overall/p99_ms"},
			check: func(t *testing.T, c *Comparison) {
				for _, p := range append(slices.Clone(c.Phases), c.Overall) {
					for _, m := range p.Metrics {
						if m.Test != nil {
							t.Errorf("--no-test ran a test: %+v", m.Test)
						}
						if m.BeyondLimit != (m.Verdict == MetricRegression) {
							t.Errorf("%s %s: beyond its limit %v, %s; with --no-test one goes with the other", p.Name, m.Metric, m.BeyondLimit, m.Verdict)
						}
					}
				}
			}},
		{name: "(d) 502 share 0% -> 5% in phase resets", newName: "502",
			want: []string{"resets/share_502", "overall/share_502"},
			check: func(t *testing.T, c *Comparison) {
				m := metricOf(t, c, "resets", "share_502")
				if *m.Base != 0 || math.Abs(*m.New-0.05) > 0.001 || math.Abs(*m.Change-5) > 0.1 {
					t.Errorf("502 share in resets: %v -> %v (%vpp), want 0 -> 0.05 (+5pp)", *m.Base, *m.New, *m.Change)
				}
				if len(c.Causes) != 1 || c.Causes[0].Cause != "reset-before-headers" || c.Causes[0].New != 1 || c.Causes[0].ChangePP != 100 {
					t.Errorf("causes: got %+v, want reset-before-headers 0 -> 100%%", c.Causes)
				}
				if m := metricOf(t, c, "overall", "onset_first_s"); m.Base != nil || m.New == nil || *m.New < 12 || *m.New >= 13 {
					t.Errorf("first 502: got %v -> %v, want none -> 12s", deref(m.Base), deref(m.New))
				}
			}},
		{name: "(e) a phase missing in NEW: listed, not compared", newName: "missing",
			check: func(t *testing.T, c *Comparison) {
				if !slices.Equal(c.OnlyInBase, []string{"recover"}) || len(c.OnlyInNew) != 0 || len(c.Phases) != 2 {
					t.Errorf("only in BASE %v, only in NEW %v, %d phases; want [recover], [], 2", c.OnlyInBase, c.OnlyInNew, len(c.Phases))
				}
				if m := metricOf(t, c, "resets", "recovery_s"); m.Verdict != MetricNA || m.NewState != "not-measured" {
					t.Errorf("recovery after resets: %s, new %s; want n/a: NEW has no phase after it", m.Verdict, m.NewState)
				}
				if !strings.Contains(c.Verdict, "only in BASE: recover") {
					t.Errorf("verdict %q does not name the phase", c.Verdict)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := defaults()
			if tt.opt != nil {
				tt.opt(&opt)
			}
			c := Reports(base, readFixture(t, tt.newName), opt)
			got := regressionsOf(c)
			if !slices.Equal(got, tt.want) {
				t.Errorf("regressions: got %v, want %v\nverdict: %s", got, tt.want, c.Verdict)
			}
			if c.Regression != (len(tt.want) > 0) {
				t.Errorf("regression: got %v, want %v", c.Regression, len(tt.want) > 0)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

// More answers known by construction, from reports built in memory.
func TestCompareBuilt(t *testing.T) {
	base := fixtureSpecs["base"].report()
	tests := []struct {
		name string
		cur  fixtureSpec
		opt  func(*Options)
		want []string
	}{
		{name: "502s go on 6s into recover: recovery 6s later, and the 502 share of recover and resets",
			cur:  fixtureSpec{noise: 1, every502: 10, late502: 6 * time.Second},
			want: []string{"resets/share_502", "resets/recovery_s", "recover/share_502", "overall/share_502"}},
		{name: "502s go on 1s into recover: recovery 1s later is within its 1s limit",
			cur:  fixtureSpec{noise: 1, every502: 10, late502: time.Second},
			want: []string{"resets/share_502", "overall/share_502"}},
		{name: "recovery limit off",
			cur:  fixtureSpec{noise: 1, every502: 10, late502: 6 * time.Second},
			opt:  func(o *Options) { o.Limits.RecoveryIncrease.Off = true; o.Limits.Share502Increase.Off = true },
			want: nil},
		{name: "one request in ten of resets not sent: the achieved rate falls 10%",
			cur:  fixtureSpec{noise: 1, skip: 10},
			want: []string{"resets/achieved_rate", "overall/achieved_rate"}},
		{name: "the rate falls 10% but the limit is 20%",
			cur:  fixtureSpec{noise: 1, skip: 10},
			opt:  func(o *Options) { o.Limits.RateDecrease.Value = 20 },
			want: nil},
		{name: "p99 limit off: the tripled tail passes",
			cur:  fixtureSpec{noise: 1, tail: 3},
			opt:  func(o *Options) { o.Limits.P99Increase.Off = true },
			want: nil},
		{name: "a stricter alpha still finds the tripled tail",
			cur:  fixtureSpec{noise: 1, tail: 3},
			opt:  func(o *Options) { o.Alpha = 0.0001 },
			want: []string{"resets/p99_ms"}},
		// Overall, the median stays in the two thirds of the run that did
		// not move.
		{name: "everything in resets 3x slower: p50 and p99 in resets, p99 overall",
			cur:  fixtureSpec{noise: 1, scale: 3},
			want: []string{"resets/p50_ms", "resets/p99_ms", "overall/p99_ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := defaults()
			if tt.opt != nil {
				tt.opt(&opt)
			}
			c := Reports(base, tt.cur.report(), opt)
			if got := regressionsOf(c); !slices.Equal(got, tt.want) {
				t.Errorf("regressions: got %v, want %v\nverdict: %s", got, tt.want, c.Verdict)
			}
		})
	}
}

// Too few buckets: a tripled p99 is "not enough data to test", unless
// tests are off.
func TestCompareNotEnoughData(t *testing.T) {
	base := fixtureSpec{noise: 1, phaseS: 4}.report()
	cur := fixtureSpec{noise: 1, tail: 3, phaseS: 4}.report()
	c := Reports(base, cur, defaults())
	m := metricOf(t, c, "resets", "p99_ms")
	if c.Regression || m.Verdict != MetricNotEnoughData || m.Test == nil || m.Test.P != nil || m.Test.NBase != 4 {
		t.Errorf("4 buckets a side: regression %v, p99 %s %+v; want no regression, not-enough-data, n 4", c.Regression, m.Verdict, m.Test)
	}
	if !strings.Contains(c.Verdict, "not enough data to test: p99 latency in phase resets") {
		t.Errorf("verdict %q does not say so", c.Verdict)
	}
	// 4 buckets a side, all apart: p = 1 - Phi((8 - 0.5)/sqrt(16*9/12))
	// = 0.0152 at best, never below 0.01.
	opt := defaults()
	opt.MinBuckets = 4
	m = metricOf(t, Reports(base, cur, opt), "resets", "p99_ms")
	if m.Verdict != MetricNotEnoughData || m.Test.PMin == nil || math.Abs(*m.Test.PMin-0.0152) > 1e-4 {
		t.Errorf("--min-buckets 4: got %s, p_min %v; want not-enough-data, p_min 0.0152", m.Verdict, deref(m.Test.PMin))
	}
	opt.Alpha = 0.05
	if m := metricOf(t, Reports(base, cur, opt), "resets", "p99_ms"); m.Verdict != MetricRegression || *m.Test.P != *m.Test.PMin {
		t.Errorf("--min-buckets 4 --alpha 0.05: got %s, p %v; want regression, p 0.0152", m.Verdict, deref(m.Test.P))
	}
	opt = defaults()
	opt.NoTest = true
	if c := Reports(base, cur, opt); !c.Regression || c.Test.Name != "none" {
		t.Errorf("--no-test: regression %v, test %q; want a regression, test none", c.Regression, c.Test.Name)
	}
}

// A report compared with itself never regresses, nor does it fail to
// render.
func TestCompareSelf(t *testing.T) {
	for name := range fixtureSpecs {
		t.Run(name, func(t *testing.T) {
			r := readFixture(t, name)
			checkSelf(t, r)
		})
	}
}

func checkSelf(t *testing.T, r *results.Report) {
	t.Helper()
	c := Reports(r, r, defaults())
	if c.Regression {
		t.Errorf("a report against itself: %s", c.Verdict)
	}
	if _, err := c.MarshalIndent(); err != nil {
		t.Error(err)
	}
	var b bytes.Buffer
	if err := c.WriteText(&b); err != nil {
		t.Error(err)
	}
	if err := c.WriteMarkdown(&b); err != nil {
		t.Error(err)
	}
}

// Golden text and Markdown for (b) and (c).
func TestCompareGolden(t *testing.T) {
	base := readFixture(t, "base")
	for _, name := range []string{"p99x3", "noise"} {
		t.Run(name, func(t *testing.T) {
			c := Reports(base, readFixture(t, name), defaults())
			// The goldens name the fixtures by the path they were made
			// from, when they lived in results/testdata/compare.
			c.Base.File, c.New.File = filepath.Join("testdata", "compare", "base.json"), filepath.Join("testdata", "compare", name+".json")
			var txt, md bytes.Buffer
			if err := c.WriteText(&txt); err != nil {
				t.Fatal(err)
			}
			if err := c.WriteMarkdown(&md); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, name+".txt", txt.Bytes())
			golden.Check(t, name+".md", md.Bytes())
			for _, out := range []string{txt.String(), md.String()} {
				if !strings.Contains(out, "Mann-Whitney U") || !strings.Contains(out, "alpha 0.01") {
					t.Errorf("the output does not name the test and alpha:\n%s", out)
				}
			}
		})
	}
}

// The JSON form has the fields docs/compare.md lists.
func TestCompareJSON(t *testing.T) {
	c := Reports(readFixture(t, "base"), readFixture(t, "p99x3"), defaults())
	b, err := c.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "base", "new", "test", "limits", "regression", "verdict", "regressions", "checks", "phases", "overall", "only_in_base", "only_in_new", "causes", "notes"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("no %q in the JSON", k)
		}
	}
	test := doc["test"].(map[string]any)
	if test["name"] != "mann-whitney-u" || test["alpha"] != 0.01 {
		t.Errorf("test: got %v, want mann-whitney-u at 0.01", test)
	}
	m := doc["phases"].([]any)[1].(map[string]any)["metrics"].([]any)[2].(map[string]any)
	for _, k := range []string{"metric", "unit", "base", "new", "worse", "change", "change_unit", "limit", "beyond_limit", "test", "verdict"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in a metric: %v", k, m)
		}
	}
	if m["metric"] != "p99_ms" || m["verdict"] != "regression" {
		t.Errorf("phases[1].metrics[2]: got %v %v, want p99_ms regression", m["metric"], m["verdict"])
	}
	var back Comparison
	if err := json.Unmarshal(b, &back); err != nil || back.Verdict != c.Verdict || len(back.Phases) != len(c.Phases) {
		t.Errorf("the JSON does not read back: %v", err)
	}
}

// Markdown escapes what came from a report.
func TestCompareMarkdownEscapes(t *testing.T) {
	r := fixtureSpecs["base"].report()
	r.Phases[0].Name = "a|b <script>"
	for i := range r.Timeline {
		if r.Timeline[i].Phase == "baseline" {
			r.Timeline[i].Phase = r.Phases[0].Name
		}
	}
	r.Causes = []results.Cause{{Cause: "x`|y", Count: 1, Share: 1}}
	var b bytes.Buffer
	if err := Reports(r, r, defaults()).WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if s := b.String(); strings.Contains(s, "<script>") || strings.Contains(s, "a|b") || !strings.Contains(s, `a\|b &lt;script&gt;`) || !strings.Contains(s, "x\\`\\|y") {
		t.Errorf("not escaped:\n%s", s)
	}
}

// FuzzReadReport reads anything as a report.json; what it accepts
// compares with itself without a regression, a panic or a bad JSON.
func FuzzReadReport(f *testing.F) {
	// Small seeds: the fuzzer minimises every new input it keeps, which
	// takes long on the 40 KB fixtures of testdata.
	for _, p := range []string{filepath.Join("..", "testdata", "analyze.json"), fixturePath("missing")} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var r results.Report
		if err := json.Unmarshal(b, &r); err != nil {
			f.Fatal(err)
		}
		r.Timeline = r.Timeline[:min(len(r.Timeline), 8)]
		for i := range r.Phases {
			r.Phases[i].Histogram = &results.Histogram{}
		}
		small, err := json.Marshal(&r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(small)
	}
	f.Add([]byte(`{"schema": "gatecrash/report/v1", "phases": [{"name": "p", "end_s": 1, "requests": 1, "status": {"502": 2}, "recovery": "recovered", "recovery_s": 1e308}], "timeline": [{"t_s": 0, "requests": 1, "achieved_rate": 1e308}]}`))
	f.Add([]byte(`{"schema": "gatecrash/report/v1", "analysis": {"bucket_s": 1e-9}, "phases": [{"name": "p", "end_s": 1e9}], "timeline": []}`))
	f.Add([]byte(`{"schema": "gatecrash/report/v1", "retries": {"requests": 0}, "phases": [{"name": "p", "end_s": 2, "requests": 3, "retries": {"requests": 3, "tries": 9, "upstream_arrivals": 1000000000000000000, "user_failures": -1}}], "timeline": [{"t_s": 0, "requests": 3, "retries": {"requests": 3, "tries": 1000000000, "budget_exhausted": 2}}, {"t_s": 1, "retries": {"requests": -5}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := results.DecodeReport("fuzz.json", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		checkSelf(t, r)
	})
}

// A change exactly at its limit is not beyond it.
func TestCompareLimitIsStrict(t *testing.T) {
	base := fixtureSpecs["base"].report()
	for _, tt := range []struct {
		late   time.Duration
		beyond bool
	}{{time.Second, false}, {2 * time.Second, true}} {
		opt := defaults()
		opt.NoTest = true
		c := Reports(base, fixtureSpec{noise: 1, every502: 10, late502: tt.late}.report(), opt)
		m := metricOf(t, c, "resets", "recovery_s")
		if m.Change == nil || *m.Change != tt.late.Seconds() || m.BeyondLimit != tt.beyond || (m.Verdict == MetricRegression) != tt.beyond {
			t.Errorf("recovery %s later, limit 1s: change %v, beyond %v, %s; want beyond %v", tt.late, deref(m.Change), m.BeyondLimit, m.Verdict, tt.beyond)
		}
	}
}

// TestCompareTiesReachAlpha: tied samples can give a p below the tie-free
// best; the test must then be run, not called short of data.
func TestCompareTiesReachAlpha(t *testing.T) {
	bs := [][]float64{{0, 0, 0, 0, 0}}
	ns := [][]float64{{1, 2, 3, 4, 5}}
	got := testBuckets(bs, ns, +1, 5, 0.005)
	if got.PMin == nil || *got.PMin < 0.005 {
		t.Fatalf("p_min: got %v, want at least 0.005 (5 against 5 without ties)", got.PMin)
	}
	if got.P == nil || *got.P >= 0.005 {
		t.Errorf("p: got %v, want the tied samples' own p below 0.005", got.P)
	}
}

// TestCompareSaysDamaged: a damaged side is named in the text and the
// Markdown, and in the JSON's sides, so a comparison never passes a cut
// run off as a whole one.
func TestCompareSaysDamaged(t *testing.T) {
	base := readFixture(t, "base")
	cut := *base
	cut.Damaged = []results.Damaged{{File: "results", Problem: results.DamageCut}}
	c := Reports(base, &cut, defaults())
	if got, want := c.New.Damaged, []string{"results cut"}; !slices.Equal(got, want) {
		t.Errorf("New.Damaged: got %q, want %q", got, want)
	}
	if len(c.Base.Damaged) != 0 {
		t.Errorf("Base.Damaged: got %q, want none", c.Base.Damaged)
	}
	var text, md bytes.Buffer
	if err := c.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"text": text.String(), "markdown": md.String()} {
		if !strings.Contains(out, "NEW is a damaged run (results cut)") {
			t.Errorf("%s does not say NEW is damaged:\n%s", name, out)
		}
	}
	if !strings.Contains(text.String(), "damaged (results cut)") {
		t.Errorf("text's new: line does not say damaged:\n%s", text.String())
	}
}
