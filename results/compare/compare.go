package compare

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/gatecrash/gatecrash/results"
)

// Schema identifies the JSON form of a Comparison; docs/compare.md
// describes every field.
const Schema = "gatecrash/compare/v1"

// The test compare runs, as every output names it.
const (
	testName  = "mann-whitney-u"
	testWords = "one-sided Mann-Whitney U on per-second buckets, normal approximation with tie and continuity corrections (overall: stratified by phase, van Elteren)"
)

// Comparison is what compare found between two reports, BASE and NEW.
// Its JSON form is `gatecrash compare --format json`.
type Comparison struct {
	// Schema is always "gatecrash/compare/v1".
	Schema string `json:"schema"`
	// Base and New say which reports were compared.
	Base Side `json:"base"`
	New  Side `json:"new"`
	// Test names the test and its settings.
	Test Test `json:"test"`
	// Limits are the limits used, by flag, as the flags write them.
	Limits map[string]string `json:"limits"`
	// Regression is true when any check found one; Regressions says each
	// in a line, Verdict sums it all up in one.
	Regression  bool     `json:"regression"`
	Verdict     string   `json:"verdict"`
	Regressions []string `json:"regressions"`
	// Checks counts the metrics compared against a limit.
	Checks int `json:"checks"`
	// Phases are the phases both reports have, in BASE's order.
	Phases []PhaseChange `json:"phases"`
	// Overall covers the phases both reports have, together.
	Overall PhaseChange `json:"overall"`
	// OnlyInBase and OnlyInNew are the phases of one report only: they
	// are not compared.
	OnlyInBase []string `json:"only_in_base"`
	OnlyInNew  []string `json:"only_in_new"`
	// RetriesOnlyIn is "base" or "new" when only that report has client
	// retries (a policy added or removed): they are not compared, and a
	// note says so. Empty when both have them (their metrics are
	// compared) or neither does.
	RetriesOnlyIn string `json:"retries_only_in,omitempty"`
	// Causes compares the shares of the causes of 502s.
	Causes []CauseChange `json:"causes"`
	// Notes are what makes the two reports less alike than they should be.
	Notes []string `json:"notes"`
}

// Side says which report one side of a comparison is.
type Side struct {
	// File is the report.json read; empty when the report was not read
	// from a file (the run that just ended).
	File        string    `json:"file"`
	Scenario    string    `json:"scenario"`
	Started     time.Time `json:"started"`
	Seed        uint64    `json:"seed"`
	Interrupted bool      `json:"interrupted"`
	// Damaged names the report's damaged files with their problem
	// ("results cut"), from its damaged list; empty for a whole run.
	Damaged []string `json:"damaged,omitempty"`
	// BucketS is the report's timeline bucket width.
	BucketS float64 `json:"bucket_s"`
}

// Test names the test a comparison used.
type Test struct {
	// Name is "mann-whitney-u", or "none" with NoTest.
	Name string `json:"name"`
	// Description says the test in words.
	Description string `json:"description"`
	// Alpha is the significance level of each test.
	Alpha float64 `json:"alpha"`
	// MinBuckets is the fewest buckets a side needs for a test.
	MinBuckets int `json:"min_buckets"`
	// NoTest is true when limits alone decided.
	NoTest bool `json:"no_test"`
}

// PhaseChange compares one phase, or the whole of the phases both reports
// have (Name "overall").
type PhaseChange struct {
	Name string `json:"name"`
	// StartS and EndS bound the phase in BASE.
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	// BaseBuckets and NewBuckets count the timeline buckets wholly in the
	// phase: the samples of the tests.
	BaseBuckets int `json:"base_buckets"`
	NewBuckets  int `json:"new_buckets"`
	// Metrics are in a fixed order (see docs/compare.md).
	Metrics []MetricChange `json:"metrics"`
}

// MetricChange compares one metric.
type MetricChange struct {
	// Metric is a stable name: p50_ms, p90_ms, p99_ms, achieved_rate,
	// share_2xx, share_502, share_503, share_504, share_error, recovery_s,
	// onset_first_s, onset_sustained_s; with client retries on both
	// sides, also user_failure_rate, first_try_failure_rate,
	// hidden_share, tries_per_request, amplification, budget_refused.
	Metric string `json:"metric"`
	// Unit is the unit of Base and New: ms, /s, share (a fraction), s,
	// x (a ratio: per request) or count.
	Unit string `json:"unit"`
	// Base and New are the values; null when a side has none.
	Base *float64 `json:"base"`
	New  *float64 `json:"new"`
	// BaseState and NewState are the recovery states, for recovery_s.
	BaseState string `json:"base_state,omitempty"`
	NewState  string `json:"new_state,omitempty"`
	// Worse is the direction that is bad: "higher" or "lower".
	Worse string `json:"worse"`
	// Change is New against Base in ChangeUnit: % of Base, pp
	// (percentage points), s or count (New minus Base); null when it has no number (Base is 0, or
	// a side never recovered).
	Change     *float64 `json:"change"`
	ChangeUnit string   `json:"change_unit"`
	// Limit is the limit in ChangeUnit, in the Worse direction; null when
	// the metric has none, it is off, or a side has no value.
	Limit *float64 `json:"limit"`
	// BeyondLimit is true when the change goes past the limit.
	BeyondLimit bool `json:"beyond_limit"`
	// Test is the test on the per-bucket samples; null when the metric
	// has none or tests are off.
	Test *BucketTest `json:"test"`
	// Verdict is regression, ok, not-significant, not-enough-data,
	// no-limit, off or n/a.
	Verdict string `json:"verdict"`
}

// Verdicts of a MetricChange.
const (
	MetricRegression     = "regression"      // beyond the limit, and significant (or tests off)
	MetricOK             = "ok"              // within the limit
	MetricNotSignificant = "not-significant" // beyond the limit, but within the noise
	MetricNotEnoughData  = "not-enough-data" // beyond the limit, too few buckets to test
	MetricNoLimit        = "no-limit"        // shown, never checked
	MetricOff            = "off"             // its limit is off
	MetricNA             = "n/a"             // a side has no value
)

// BucketTest is one Mann-Whitney U test of the per-bucket samples.
type BucketTest struct {
	// NBase and NNew are the sample sizes (buckets).
	NBase int `json:"n_base"`
	NNew  int `json:"n_new"`
	// U counts the pairs (BASE bucket, NEW bucket) whose NEW value is
	// higher, a tie counting half, out of NBase·NNew. Z is its standard
	// score with the continuity correction, positive when NEW is worse. P
	// is the one-sided p-value that NEW is worse. All three are null with
	// fewer than Test.MinBuckets buckets on a side.
	U *float64 `json:"u"`
	Z *float64 `json:"z"`
	P *float64 `json:"p"`
	// PMin is the smallest p-value samples of these sizes give without
	// ties (every NEW bucket worse than every BASE bucket); when neither it
	// nor the tied samples' own p is below alpha, there is not enough data
	// to test. Null with fewer than
	// Test.MinBuckets buckets on a side.
	PMin *float64 `json:"p_min"`
	// Strata is 1 for a phase; for overall, the number of phases whose
	// buckets were tested (van Elteren's stratified form of the test), and
	// U is the sum of each phase's U.
	Strata int `json:"strata"`
}

// CauseChange compares the share of one cause among 502s.
type CauseChange struct {
	Cause     string  `json:"cause"`
	BaseCount int     `json:"base_count"`
	NewCount  int     `json:"new_count"`
	Base      float64 `json:"base"`
	New       float64 `json:"new"`
	// ChangePP is New minus Base in percentage points.
	ChangePP float64 `json:"change_pp"`
}

// Reports compares the report newRep with the report base. It sets no
// File: the caller knows where each came from.
func Reports(base, newRep *results.Report, opt Options) *Comparison {
	opt = opt.withDefaults()
	c := &Comparison{
		Schema: Schema,
		Base:   sideOf(base),
		New:    sideOf(newRep),
		Test: Test{Name: testName, Description: testWords,
			Alpha: opt.Alpha, MinBuckets: opt.MinBuckets, NoTest: opt.NoTest},
		Limits:      limitFlags(opt.Limits, base.Retries != nil && newRep.Retries != nil),
		Regressions: []string{},
		Phases:      []PhaseChange{},
		OnlyInBase:  []string{},
		OnlyInNew:   []string{},
		Notes:       []string{},
	}
	if opt.NoTest {
		c.Test.Name, c.Test.Description = "none", "no test (--no-test): limits alone decide"
	}
	retries, onlyIn, retriesLine := retriesCompared(base, newRep, opt)
	c.RetriesOnlyIn = onlyIn
	defs := metricDefs
	if retries {
		defs = append(append([]metricDef{}, metricDefs...), retryMetricDefs...)
	}

	// Match the phases by name; a name used twice matches in order.
	type key struct {
		name string
		k    int
	}
	newIdx, seen := map[key]int{}, map[string]int{}
	for j, p := range newRep.Phases {
		newIdx[key{p.Name, seen[p.Name]}] = j
		seen[p.Name]++
	}
	matched := make([]bool, len(newRep.Phases))
	var bi, ni []int
	clear(seen)
	for i, p := range base.Phases {
		j, ok := newIdx[key{p.Name, seen[p.Name]}]
		seen[p.Name]++
		if !ok {
			c.OnlyInBase = append(c.OnlyInBase, p.Name)
			continue
		}
		matched[j] = true
		bi, ni = append(bi, i), append(ni, j)
		bv, nv := phaseView(base, i), phaseView(newRep, j)
		pc := PhaseChange{Name: p.Name, StartS: p.StartS, EndS: p.EndS, BaseBuckets: bv.nBuckets(), NewBuckets: nv.nBuckets()}
		for k := range metricDefs {
			pc.Metrics = append(pc.Metrics, compareMetric(&metricDefs[k], bv, nv, opt))
		}
		pc.Metrics = append(pc.Metrics, compareRecovery(bv, nv, opt))
		for k := range defs[len(metricDefs):] {
			pc.Metrics = append(pc.Metrics, compareMetric(&defs[len(metricDefs)+k], bv, nv, opt))
		}
		c.Phases = append(c.Phases, pc)
		c.Notes = append(c.Notes, phaseNotes(&p, &newRep.Phases[j])...)
	}
	for j, p := range newRep.Phases {
		if !matched[j] {
			c.OnlyInNew = append(c.OnlyInNew, p.Name)
		}
	}

	bv, nv := overallView(base, bi), overallView(newRep, ni)
	c.Overall = PhaseChange{Name: "overall", BaseBuckets: bv.nBuckets(), NewBuckets: nv.nBuckets()}
	if len(bi) > 0 {
		c.Overall.StartS, c.Overall.EndS = base.Phases[bi[0]].StartS, base.Phases[bi[len(bi)-1]].EndS
	}
	for k := range metricDefs {
		c.Overall.Metrics = append(c.Overall.Metrics, compareMetric(&metricDefs[k], bv, nv, opt))
	}
	c.Overall.Metrics = append(c.Overall.Metrics,
		compareOnset("onset_first_s", base.Onset.FirstS, newRep.Onset.FirstS),
		compareOnset("onset_sustained_s", base.Onset.SustainedS, newRep.Onset.SustainedS))
	for k := range defs[len(metricDefs):] {
		c.Overall.Metrics = append(c.Overall.Metrics, compareMetric(&defs[len(metricDefs)+k], bv, nv, opt))
	}
	c.Causes = compareCauses(base.Causes, newRep.Causes)
	c.Notes = append(compareNotes(base, newRep), c.Notes...)
	if retriesLine != "" {
		c.Notes = append(c.Notes, retriesLine)
	}
	c.verdict()
	return c
}

func sideOf(r *results.Report) Side {
	s := Side{Scenario: r.Scenario, Started: r.Started, Seed: r.Seed, Interrupted: r.Interrupted, BucketS: bucketWidth(r)}
	for _, d := range r.Damaged {
		s.Damaged = append(s.Damaged, d.File+" "+d.Problem)
	}
	return s
}

// compareCauses lines up the causes of 502s of both reports, by the larger
// share first.
func compareCauses(base, cur []results.Cause) []CauseChange {
	byName := map[string]*CauseChange{}
	var out []*CauseChange
	get := func(name string) *CauseChange {
		if c, ok := byName[name]; ok {
			return c
		}
		c := &CauseChange{Cause: name}
		byName[name] = c
		out = append(out, c)
		return c
	}
	for _, c := range base {
		cc := get(c.Cause)
		cc.BaseCount += c.Count
		cc.Base = finiteValue(roundNum(cc.Base + c.Share))
	}
	for _, c := range cur {
		cc := get(c.Cause)
		cc.NewCount += c.Count
		cc.New = finiteValue(roundNum(cc.New + c.Share))
	}
	res := make([]CauseChange, len(out))
	for i, c := range out {
		c.ChangePP = finiteValue(roundNum(100 * (c.New - c.Base)))
		res[i] = *c
	}
	sort.SliceStable(res, func(i, j int) bool {
		a, b := max(res[i].Base, res[i].New), max(res[j].Base, res[j].New)
		if a != b {
			return a > b
		}
		return res[i].Cause < res[j].Cause
	})
	return res
}

// compareNotes says what makes the reports less alike than they should be.
func compareNotes(base, cur *results.Report) []string {
	var notes []string
	if base.Scenario != cur.Scenario {
		notes = append(notes, fmt.Sprintf("BASE ran scenario %q, NEW ran %q: these are different scenarios", base.Scenario, cur.Scenario))
	}
	if bw, nw := bucketWidth(base), bucketWidth(cur); bw != nw {
		notes = append(notes, fmt.Sprintf("the timeline buckets are %gs wide in BASE and %gs in NEW: the per-bucket samples (and the onsets and recoveries) are not alike; rebuild one with gatecrash report --bucket", bw, nw))
	}
	if a, b := base.Analysis.WithDefaults(), cur.Analysis.WithDefaults(); a.Threshold != b.Threshold || a.Sustain != b.Sustain {
		notes = append(notes, fmt.Sprintf("the reports were made with other settings (threshold %g, sustain %d in BASE; %g, %d in NEW): onsets and recoveries are not alike", a.Threshold, a.Sustain, b.Threshold, b.Sustain))
	}
	for _, side := range []struct {
		name string
		r    *results.Report
	}{{"BASE", base}, {"NEW", cur}} {
		if side.r.Interrupted {
			notes = append(notes, side.name+" was interrupted: it covers only what ran")
		}
	}
	return notes
}

// phaseNotes says when a phase did not offer the same load on both
// sides.
func phaseNotes(b, n *results.PhaseReport) []string {
	var notes []string
	if bl, nl := b.EndS-b.StartS, n.EndS-n.StartS; math.Abs(bl-nl) > 1e-6 {
		notes = append(notes, fmt.Sprintf("phase %s lasts %gs in BASE and %gs in NEW", b.Name, bl, nl))
	}
	if bo, no := b.OfferedRate, n.OfferedRate; math.Abs(bo-no) > 0.01*max(bo, no) {
		notes = append(notes, fmt.Sprintf("phase %s offered %g/s in BASE and %g/s in NEW: its rates and latencies compare different loads", b.Name, bo, no))
	}
	return notes
}
