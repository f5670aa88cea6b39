package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Schema identifies the JSON form of a Comparison; docs/compare.md
// describes every field.
const Schema = "gatecrash/compare/v1"

// The test compare runs, as every output names it.
const (
	testName  = "mann-whitney-u"
	testWords = "one-sided Mann-Whitney U on per-second buckets, normal approximation with tie and continuity corrections (overall: stratified by phase, van Elteren)"
)

// Limit is how far a metric may move in its bad direction before
// the move counts: in percent of the base value for latencies and the
// rate, in percentage points for shares, in seconds for recovery. A move
// must be beyond (greater than) Value. Off turns the check off; the
// metric is still shown. The zero Limit allows no move at all.
type Limit struct {
	Value float64
	Off   bool
}

// Limits holds the limit of every metric compare checks. Start from
// DefaultLimits: the zero Limits allows no move at all.
type Limits struct {
	P50Increase      Limit // percent
	P99Increase      Limit // percent
	RateDecrease     Limit // percent
	Share502Increase Limit // percentage points
	Share503Increase Limit // percentage points
	Share504Increase Limit // percentage points
	ErrorIncrease    Limit // percentage points
	RecoveryIncrease Limit // seconds
}

// DefaultLimits returns compare's default limits, as docs/compare.md
// lists them.
func DefaultLimits() Limits {
	return Limits{
		P50Increase:      Limit{Value: 10},
		P99Increase:      Limit{Value: 10},
		RateDecrease:     Limit{Value: 1},
		Share502Increase: Limit{Value: 0.5},
		Share503Increase: Limit{Value: 0.5},
		Share504Increase: Limit{Value: 0.5},
		ErrorIncrease:    Limit{Value: 0.5},
		RecoveryIncrease: Limit{Value: 1},
	}
}

// Options are the settings of a comparison.
type Options struct {
	// Alpha is the significance level of each test; zero means 0.01.
	Alpha float64
	// MinBuckets is the fewest buckets each side needs for a test; with
	// fewer, a change beyond its limit is "not enough data to test" and
	// not a regression. Zero means 5; less than 2 counts as 2.
	MinBuckets int
	// NoTest skips the tests: every change beyond its limit is a
	// regression.
	NoTest bool
	// Limits are the limits of the checks.
	Limits Limits
}

func (o Options) withDefaults() Options {
	if !(o.Alpha > 0) {
		o.Alpha = 0.01
	}
	if o.MinBuckets == 0 {
		o.MinBuckets = 5
	}
	o.MinBuckets = max(o.MinBuckets, 2)
	return o
}

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
	// onset_first_s, onset_sustained_s.
	Metric string `json:"metric"`
	// Unit is the unit of Base and New: ms, /s, share (a fraction) or s.
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
	// (percentage points) or s; null when it has no number (Base is 0, or
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

// view is what compare reads of a phase, or of several together.
type view struct {
	requests int
	status   map[string]int
	errors   int
	rate     float64
	lat      [3]float64 // p50, p90, p99
	hasLat   bool
	strata   [][]results.Bucket // the buckets of each phase: the samples

	// Phases only.
	recovery  string
	recoveryS *float64
	window    []results.Bucket // from the phase's end to the next phase with faults
}

func (v *view) nBuckets() int {
	n := 0
	for _, s := range v.strata {
		n += len(s)
	}
	return n
}

// metricDef is one metric compare shows.
type metricDef struct {
	key, label string
	unit       string // of the values
	changeUnit string // of the change and the limit
	worse      int    // +1: higher is worse, -1: lower is worse
	flag       string // the limit's flag; empty: no limit
	limit      func(*Limits) Limit
	value      func(*view) (float64, bool)
	sample     func(*results.Bucket) (float64, bool) // nil: no per-bucket sample
}

// metricDefs are the metrics of a phase, in their order.
var metricDefs = []metricDef{
	{key: "p50_ms", label: "p50 latency", unit: "ms", changeUnit: "%", worse: 1, flag: "max-p50-increase",
		limit:  func(l *Limits) Limit { return l.P50Increase },
		value:  func(v *view) (float64, bool) { return v.lat[0], v.hasLat },
		sample: func(b *results.Bucket) (float64, bool) { return b.LatencyMS.P50, b.Requests > 0 }},
	{key: "p90_ms", label: "p90 latency", unit: "ms", changeUnit: "%", worse: 1,
		value: func(v *view) (float64, bool) { return v.lat[1], v.hasLat }},
	{key: "p99_ms", label: "p99 latency", unit: "ms", changeUnit: "%", worse: 1, flag: "max-p99-increase",
		limit:  func(l *Limits) Limit { return l.P99Increase },
		value:  func(v *view) (float64, bool) { return v.lat[2], v.hasLat },
		sample: func(b *results.Bucket) (float64, bool) { return b.LatencyMS.P99, b.Requests > 0 }},
	{key: "achieved_rate", label: "achieved rate", unit: "/s", changeUnit: "%", worse: -1, flag: "max-rate-decrease",
		limit:  func(l *Limits) Limit { return l.RateDecrease },
		value:  func(v *view) (float64, bool) { return v.rate, true },
		sample: func(b *results.Bucket) (float64, bool) { return b.AchievedRate, true }},
	shareMetric("2xx", "2xx share", -1, "", nil),
	shareMetric("502", "502 share", 1, "max-502-increase", func(l *Limits) Limit { return l.Share502Increase }),
	shareMetric("503", "503 share", 1, "max-503-increase", func(l *Limits) Limit { return l.Share503Increase }),
	shareMetric("504", "504 share", 1, "max-504-increase", func(l *Limits) Limit { return l.Share504Increase }),
	shareMetric(scenarios.ClassError, "error share", 1, "max-error-increase", func(l *Limits) Limit { return l.ErrorIncrease }),
}

// recoveryFlag is the flag of the recovery limit.
const recoveryFlag = "max-recovery-increase"

func shareMetric(class, label string, worse int, flag string, limit func(*Limits) Limit) metricDef {
	return metricDef{key: "share_" + class, label: label, unit: "share", changeUnit: "pp", worse: worse, flag: flag, limit: limit,
		value: func(v *view) (float64, bool) { return shareOf(v.status, v.errors, v.requests, class) },
		sample: func(b *results.Bucket) (float64, bool) {
			return shareOf(b.Status, b.Errors, b.Requests, class)
		}}
}

// shareOf returns the share of requests of a class: "2xx", a status
// code, or "error"; false without requests.
func shareOf(status map[string]int, errs, requests int, class string) (float64, bool) {
	if requests <= 0 {
		return 0, false
	}
	n := 0
	switch class {
	case "2xx":
		for code, c := range status {
			if v, err := strconv.Atoi(code); err == nil && v >= 200 && v < 300 {
				n += c
			}
		}
	case scenarios.ClassError:
		n = errs
	default:
		n = status[class]
	}
	return float64(n) / float64(requests), true
}

// bucketWidth is a report's bucket width in seconds.
func bucketWidth(r *results.Report) float64 {
	if w := r.Analysis.Bucket.Seconds(); w > 0 {
		return w
	}
	return 1
}

// bucketsIn returns the timeline buckets of r wholly within [lo, hi).
func bucketsIn(r *results.Report, lo, hi float64) []results.Bucket {
	w, eps := bucketWidth(r), 1e-6
	var out []results.Bucket
	for _, b := range r.Timeline {
		if b.TS >= lo-eps && b.TS+w <= hi+eps {
			out = append(out, b)
		}
	}
	return out
}

// phaseView reads phase i of r.
func phaseView(r *results.Report, i int) *view {
	p := &r.Phases[i]
	v := &view{
		requests: p.Requests, status: p.Status, errors: p.Errors,
		rate:     p.AchievedRate,
		lat:      [3]float64{p.LatencyMS.P50, p.LatencyMS.P90, p.LatencyMS.P99},
		hasLat:   p.Requests > 0,
		strata:   [][]results.Bucket{bucketsIn(r, p.StartS, p.EndS)},
		recovery: p.Recovery, recoveryS: p.RecoveryS,
	}
	end := p.EndS
	if n := len(r.Phases); n > 0 {
		end = r.Phases[n-1].EndS
	}
	for _, q := range r.Phases[i+1:] {
		if len(q.Faults) > 0 {
			end = q.StartS
			break
		}
	}
	v.window = bucketsIn(r, p.EndS, end)
	return v
}

// overallView reads the phases idx of r together: the counts add up,
// the latencies come from their merged histograms.
func overallView(r *results.Report, idx []int) *view {
	v := &view{status: map[string]int{}, hasLat: true}
	var h results.Histogram
	var length, achieved float64
	for _, i := range idx {
		p := &r.Phases[i]
		v.requests += p.Requests
		v.errors += p.Errors
		for code, n := range p.Status {
			v.status[code] += n
		}
		d := p.EndS - p.StartS
		length += d
		achieved += p.AchievedRate * d
		switch {
		case p.Histogram != nil:
			h.Merge(p.Histogram)
		case p.Requests > 0:
			v.hasLat = false // no histogram: no overall latency
		}
		v.strata = append(v.strata, bucketsIn(r, p.StartS, p.EndS))
	}
	if length > 0 {
		v.rate = achieved / length
	}
	if h.Count() == 0 {
		v.hasLat = false
	}
	if v.hasLat {
		for k, q := range []float64{0.5, 0.9, 0.99} {
			v.lat[k] = roundNum(float64(h.Quantile(q)) / float64(time.Millisecond))
		}
	}
	return v
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
		Limits:      limitFlags(opt.Limits),
		Regressions: []string{},
		Phases:      []PhaseChange{},
		OnlyInBase:  []string{},
		OnlyInNew:   []string{},
		Notes:       []string{},
	}
	if opt.NoTest {
		c.Test.Name, c.Test.Description = "none", "no test (--no-test): limits alone decide"
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
	c.Causes = compareCauses(base.Causes, newRep.Causes)
	c.Notes = append(compareNotes(base, newRep), c.Notes...)
	c.verdict()
	return c
}

func sideOf(r *results.Report) Side {
	return Side{Scenario: r.Scenario, Started: r.Started, Seed: r.Seed, Interrupted: r.Interrupted, BucketS: bucketWidth(r)}
}

// limitFlags writes the limits as their flags take them.
func limitFlags(l Limits) map[string]string {
	m := map[string]string{}
	for k := range metricDefs {
		if mt := &metricDefs[k]; mt.flag != "" {
			m[mt.flag] = FormatLimit(mt.limit(&l), mt.changeUnit)
		}
	}
	m[recoveryFlag] = FormatLimit(l.RecoveryIncrease, "s")
	return m
}

// FormatLimit writes a limit as its flag takes it: 10%, 0.5pp, 1s, off.
func FormatLimit(l Limit, unit string) string {
	if l.Off {
		return "off"
	}
	return strconv.FormatFloat(l.Value, 'f', -1, 64) + unit
}

// compareMetric compares one metric of two views.
func compareMetric(m *metricDef, bv, nv *view, opt Options) MetricChange {
	mc := MetricChange{Metric: m.key, Unit: m.unit, Worse: worseWord(m.worse), ChangeUnit: m.changeUnit}
	b, bok := m.value(bv)
	n, nok := m.value(nv)
	if bok {
		mc.Base = num(roundUnit(b, m.unit))
	}
	if nok {
		mc.New = num(roundUnit(n, m.unit))
	}
	have := mc.Base != nil && mc.New != nil
	movedBad := false
	if have {
		mc.Change = changeOf(*mc.Base, *mc.New, m.changeUnit)
		movedBad = float64(m.worse)*(*mc.New-*mc.Base) > 0
	}
	var lim *Limit
	if m.limit != nil {
		l := m.limit(&opt.Limits)
		lim = &l
	}
	var bs, ns [][]float64
	if m.sample != nil {
		bs, ns = samplesOf(bv.strata, m.sample), samplesOf(nv.strata, m.sample)
	}
	judge(&mc, m.worse, lim, have, movedBad, m.sample != nil, bs, ns, opt)
	return mc
}

// judge sets the limit, the test and the verdict of mc, whose values
// and change are set: have says both sides have a value, movedBad that it
// moved the bad way (what counts when the change has no number), testable
// that bs and ns are its per-bucket samples.
func judge(mc *MetricChange, worse int, lim *Limit, have, movedBad, testable bool, bs, ns [][]float64, opt Options) {
	if lim != nil && !lim.Off && have {
		mc.Limit = ptr(lim.Value)
		if mc.Change != nil {
			mc.BeyondLimit = float64(worse)**mc.Change > lim.Value
		} else {
			mc.BeyondLimit = movedBad
		}
	}
	if testable && have && !opt.NoTest {
		mc.Test = testBuckets(bs, ns, worse, opt.MinBuckets, opt.Alpha)
	}
	switch {
	case lim == nil:
		mc.Verdict = MetricNoLimit
	case lim.Off:
		mc.Verdict = MetricOff
	case !have:
		mc.Verdict = MetricNA
	case !mc.BeyondLimit:
		mc.Verdict = MetricOK
	case opt.NoTest:
		mc.Verdict = MetricRegression
	case mc.Test == nil || mc.Test.P == nil:
		mc.Verdict = MetricNotEnoughData
	case *mc.Test.P < opt.Alpha:
		mc.Verdict = MetricRegression
	default:
		mc.Verdict = MetricNotSignificant
	}
}

// compareRecovery compares the recovery after a phase: recovery_s, tested on
// the 502 share of the buckets from the phase's end to the next phase
// with faults (or the end of the run).
func compareRecovery(bv, nv *view, opt Options) MetricChange {
	mc := MetricChange{Metric: "recovery_s", Unit: "s", Worse: "higher", ChangeUnit: "s",
		BaseState: orDefault(bv.recovery, "not-measured"), NewState: orDefault(nv.recovery, "not-measured"),
		Base: recoveryValue(bv), New: recoveryValue(nv)}
	measured := func(s string) bool { return s == "recovered" || s == "not-recovered" }
	have := measured(mc.BaseState) && measured(mc.NewState)
	movedBad := false
	switch {
	case mc.Base != nil && mc.New != nil:
		mc.Change = num(roundNum(*mc.New - *mc.Base))
	default:
		// Recovered on one side only, or on neither: no number; worse
		// when NEW never recovered and BASE did.
		movedBad = mc.Base != nil && mc.NewState == "not-recovered"
	}
	sample := func(b *results.Bucket) (float64, bool) { return shareOf(b.Status, b.Errors, b.Requests, "502") }
	bs, ns := samplesOf([][]results.Bucket{bv.window}, sample), samplesOf([][]results.Bucket{nv.window}, sample)
	lim := opt.Limits.RecoveryIncrease
	judge(&mc, 1, &lim, have, movedBad, true, bs, ns, opt)
	return mc
}

func recoveryValue(v *view) *float64 {
	if v.recovery != "recovered" || v.recoveryS == nil {
		return nil
	}
	return num(roundNum(*v.recoveryS))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// compareOnset compares an onset time; earlier is worse; no limit.
func compareOnset(key string, b, n *float64) MetricChange {
	mc := MetricChange{Metric: key, Unit: "s", Worse: "lower", ChangeUnit: "s", Base: b, New: n, Verdict: MetricNoLimit}
	if b != nil && n != nil {
		mc.Change = num(roundNum(*n - *b))
	}
	return mc
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

// verdict sums the checks up.
func (c *Comparison) verdict() {
	sc := c.scan()
	c.Checks = sc.checks
	c.Regressions = c.Regressions[:0]
	for _, r := range sc.regressions {
		c.Regressions = append(c.Regressions, describe(r.where, r.m, "->"))
	}
	c.Regression = len(c.Regressions) > 0
	var s string
	if c.Regression {
		s = fmt.Sprintf("REGRESSION in %d of %d checks: %s", len(c.Regressions), c.Checks, c.Regressions[0])
		if n := len(c.Regressions) - 1; n > 0 {
			s += fmt.Sprintf(" (and %d more)", n)
		}
	} else {
		s = fmt.Sprintf("no regression in %d checks", c.Checks)
	}
	for _, part := range c.asides() {
		s += "; " + part
	}
	c.Verdict = s
}

// place is one metric and where it is.
type place struct {
	where string // "in phase NAME" or "overall"
	m     *MetricChange
}

// scanned is what the checks of a comparison found.
type scanned struct {
	checks                      int
	regressions, notSig, noData []place
}

func (c *Comparison) scan() scanned {
	var sc scanned
	each := func(where string, ms []MetricChange) {
		for i := range ms {
			m := &ms[i]
			switch m.Verdict {
			case MetricRegression:
				sc.regressions = append(sc.regressions, place{where, m})
			case MetricNotSignificant:
				sc.notSig = append(sc.notSig, place{where, m})
			case MetricNotEnoughData:
				sc.noData = append(sc.noData, place{where, m})
			case MetricOK:
			default:
				continue
			}
			sc.checks++
		}
	}
	for i := range c.Phases {
		each("in phase "+c.Phases[i].Name, c.Phases[i].Metrics)
	}
	each("overall", c.Overall.Metrics)
	return sc
}

// asides are what the verdict adds after its first words: the changes
// beyond their limits that are not regressions, the phases not compared.
func (c *Comparison) asides() []string {
	sc := c.scan()
	names := func(ws []place) string {
		s := make([]string, len(ws))
		for i, w := range ws {
			s[i] = labelOf(w.m.Metric) + " " + w.where
		}
		return strings.Join(s, ", ")
	}
	var out []string
	if len(sc.notSig) > 0 {
		out = append(out, fmt.Sprintf("beyond its limit but not significant at alpha %g: %s", c.Test.Alpha, names(sc.notSig)))
	}
	if len(sc.noData) > 0 {
		out = append(out, "beyond its limit, not enough data to test: "+names(sc.noData))
	}
	if len(c.OnlyInBase)+len(c.OnlyInNew) > 0 {
		var parts []string
		if len(c.OnlyInBase) > 0 {
			parts = append(parts, "only in BASE: "+strings.Join(c.OnlyInBase, ", "))
		}
		if len(c.OnlyInNew) > 0 {
			parts = append(parts, "only in NEW: "+strings.Join(c.OnlyInNew, ", "))
		}
		out = append(out, "phases not compared ("+strings.Join(parts, "; ")+")")
	}
	return out
}

// describe says one regression in a line.
func describe(where string, m *MetricChange, arrow string) string {
	s := fmt.Sprintf("%s %s: %s %s %s (%s, limit %s", labelOf(m.Metric), where,
		valueText(m.Base, m.Unit, m.BaseState), arrow, valueText(m.New, m.Unit, m.NewState), changeText(m), limitText(m))
	if m.Test != nil && m.Test.P != nil {
		s += ", p " + pText(*m.Test.P, true)
	}
	return s + ")"
}

// testBuckets runs the test on the per-bucket samples of each stratum (one
// per phase), worse +1 when higher is worse. It leaves U, Z and P unset
// with fewer than minBuckets buckets a side, or when samples of these
// sizes could not reach alpha.
func testBuckets(bs, ns [][]float64, worse, minBuckets int, alpha float64) *BucketTest {
	t := &BucketTest{Strata: len(bs)}
	for k := range bs {
		t.NBase += len(bs[k])
		t.NNew += len(ns[k])
	}
	st := mannWhitneyStrata(bs, ns)
	if t.NBase < minBuckets || t.NNew < minBuckets || st.strata == 0 {
		return t
	}
	cont := len(bs) == 1
	pmin := normalUpper(mwScore(st.best, st.sdDistinct, cont))
	t.PMin = num(roundSig(pmin, 4))
	var p, z float64
	if worse > 0 {
		p, z = st.s.pGreater(cont), st.s.zGreater(cont)
	} else {
		p, z = st.s.pLess(cont), st.s.zLess(cont)
	}
	// Ties shrink the statistic's spread, so tied samples can reach a p
	// below the tie-free best: only when neither does is there not enough
	// data.
	if pmin >= alpha && p >= alpha {
		return t
	}
	t.U = num(roundNum(st.sumU))
	t.Z = num(roundNum(z))
	t.P = num(roundSig(p, 4))
	return t
}

func samplesOf(strata [][]results.Bucket, f func(*results.Bucket) (float64, bool)) [][]float64 {
	out := make([][]float64, len(strata))
	for k, bs := range strata {
		out[k] = make([]float64, 0, len(bs))
		for i := range bs {
			if v, ok := f(&bs[i]); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
				out[k] = append(out[k], v)
			}
		}
	}
	return out
}

// changeOf is n against b in unit: % of b, pp, or s; nil when it has no
// number.
func changeOf(b, n float64, unit string) *float64 {
	var v float64
	switch unit {
	case "%":
		if b == 0 {
			if n == 0 {
				return ptr(0)
			}
			return nil
		}
		v = 100 * (n - b) / b
	case "pp":
		v = 100 * (n - b)
	default:
		v = n - b
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return num(roundNum(v))
}

func roundUnit(v float64, unit string) float64 {
	if unit == "share" {
		return roundSig(v, 0) // shares keep five decimals
	}
	return roundNum(v)
}

// roundSig rounds v to sig significant digits; with sig 0, to five
// decimals. Non-finite values become 0.
func roundSig(v float64, sig int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	if sig == 0 {
		return math.Round(v*1e5) / 1e5
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', sig, 64), 64)
	return r
}

func ptr(v float64) *float64 { return &v }

// num is a pointer to v, or nil when v is not a finite number, which
// JSON cannot hold.
func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// finiteValue is v, or 0 when v is not a finite number.
func finiteValue(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// roundNum keeps three decimals; it leaves alone what is too large to
// need rounding, or not a number.
func roundNum(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) >= 1e12 {
		return v
	}
	return math.Round(v*1000) / 1000
}

func worseWord(w int) string {
	if w > 0 {
		return "higher"
	}
	return "lower"
}

// MarshalIndent renders the comparison as indented JSON with a final
// newline.
func (c *Comparison) MarshalIndent() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "->" stays readable; nothing here goes into HTML
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode comparison: %w", err)
	}
	return b.Bytes(), nil
}

// The Mann-Whitney U test.
//
// Two samples x (BASE's buckets) and y (NEW's) are ranked together, tied
// values sharing the mean of their ranks. U counts the pairs (x_i, y_j)
// with y_j > x_i, a tie counting half: U = R_y - n_y(n_y+1)/2, where R_y
// is the sum of y's ranks. Without a difference between the samples U has
// mean n_x·n_y/2 and variance n_x·n_y/12 · ((N+1) - Σ(t³-t)/(N(N-1))),
// N = n_x+n_y, the sum running over groups of t tied values; for samples
// of five or more a side U is close enough to normal to read a p-value
// from its standard score (Lehmann, Nonparametrics, 1975; R's
// wilcox.test with exact = FALSE does the same).

// mwStat is the U statistic of y against x and the moments of its
// distribution when the samples do not differ.
type mwStat struct {
	u, mean, sd float64
}

func mannWhitney(x, y []float64) mwStat {
	type obs struct {
		v   float64
		isY bool
	}
	all := make([]obs, 0, len(x)+len(y))
	for _, v := range x {
		all = append(all, obs{v, false})
	}
	for _, v := range y {
		all = append(all, obs{v, true})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	var ry, ties float64
	for i := 0; i < len(all); {
		j := i
		for j+1 < len(all) && all[j+1].v == all[i].v {
			j++
		}
		r := float64(i+j+2) / 2 // ranks i+1 .. j+1 share their mean
		for k := i; k <= j; k++ {
			if all[k].isY {
				ry += r
			}
		}
		t := float64(j - i + 1)
		ties += t*t*t - t
		i = j + 1
	}
	nx, ny := float64(len(x)), float64(len(y))
	n := nx + ny
	s := mwStat{u: ry - ny*(ny+1)/2, mean: nx * ny / 2}
	if n > 1 {
		s.sd = math.Sqrt(max(nx*ny/12*((n+1)-ties/(n*(n-1))), 0))
	}
	return s
}

// mwStrataStat combines the U tests of several strata, van Elteren's
// way: T = Σ w_k·U_k with w_k = 1/(N_k+1), N_k the size of stratum k, has
// mean Σ w_k·m_k and variance Σ w_k²·σ_k² (van Elteren, 1960). It
// compares buckets only with buckets of the same phase, which are alike,
// and weighs each phase about equally. With one stratum, w = 1: the
// plain test.
type mwStrataStat struct {
	s          mwStat  // T, its mean and sd
	sumU       float64 // Σ U_k
	best       float64 // the largest T - mean samples of these sizes allow
	sdDistinct float64 // the sd of T without ties
	strata     int     // strata with samples on both sides
}

func mannWhitneyStrata(xs, ys [][]float64) mwStrataStat {
	var r mwStrataStat
	var v, vd float64
	for k := range xs {
		if len(xs[k]) == 0 || len(ys[k]) == 0 {
			continue
		}
		m := mannWhitney(xs[k], ys[k])
		n1, n2 := float64(len(xs[k])), float64(len(ys[k]))
		w := 1.0
		if len(xs) > 1 {
			w = 1 / (n1 + n2 + 1)
		}
		r.s.u += w * m.u
		r.s.mean += w * m.mean
		v += w * w * m.sd * m.sd
		r.sumU += m.u
		r.best += w * n1 * n2 / 2
		vd += w * w * n1 * n2 * (n1 + n2 + 1) / 12
		r.strata++
	}
	r.s.sd, r.sdDistinct = math.Sqrt(v), math.Sqrt(vd)
	return r
}

// mwScore is the standard score of a distance d from the mean.
func mwScore(d, sd float64, cont bool) float64 {
	if sd == 0 {
		return 0
	}
	if cont {
		d -= 0.5
	}
	return d / sd
}

// zGreater is the standard score of U towards "y is higher", with the
// continuity correction when cont.
func (s mwStat) zGreater(cont bool) float64 {
	return mwScore(s.u-s.mean, s.sd, cont)
}

// zLess is the standard score of U towards "y is lower".
func (s mwStat) zLess(cont bool) float64 {
	return mwScore(s.mean-s.u, s.sd, cont)
}

// pGreater is the one-sided p-value that y tends to be higher than x.
func (s mwStat) pGreater(cont bool) float64 {
	if s.sd == 0 {
		return 1 // every value tied: no evidence either way
	}
	return normalUpper(s.zGreater(cont))
}

// pLess is the one-sided p-value that y tends to be lower than x.
func (s mwStat) pLess(cont bool) float64 {
	if s.sd == 0 {
		return 1
	}
	return normalUpper(s.zLess(cont))
}

// pTwoSided is the two-sided p-value that x and y differ; the continuity
// correction moves U half a step towards the mean, as R and SciPy do.
func (s mwStat) pTwoSided(cont bool) float64 {
	if s.sd == 0 {
		return 1
	}
	d := s.u - s.mean
	if cont && d != 0 {
		d -= math.Copysign(0.5, d)
	}
	return min(2*normalUpper(math.Abs(d)/s.sd), 1)
}

// normalUpper is P(Z > z) for a standard normal Z, accurate far into the
// tail.
func normalUpper(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// Text and Markdown.

// labels name the metrics in words.
var labels = map[string]string{
	"recovery_s":        "recovery",
	"onset_first_s":     "first 502",
	"onset_sustained_s": "sustained 502s",
}

func labelOf(key string) string {
	for i := range metricDefs {
		if metricDefs[i].key == key {
			return metricDefs[i].label
		}
	}
	if l, ok := labels[key]; ok {
		return l
	}
	return key
}

// valueText writes a value in its unit.
func valueText(v *float64, unit, state string) string {
	if v == nil {
		switch state {
		case "not-recovered":
			return "never"
		case "not-measured":
			return "not measured"
		}
		return "none"
	}
	switch unit {
	case "ms":
		return strconv.FormatFloat(*v, 'f', -1, 64) + " ms"
	case "/s":
		return strconv.FormatFloat(*v, 'f', -1, 64) + "/s"
	case "share":
		return strconv.FormatFloat(100**v, 'f', 2, 64) + "%"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64) + "s"
}

func changeText(m *MetricChange) string {
	if m.Change == nil {
		switch {
		case m.Base == nil && m.New == nil:
			return "-"
		case m.Base != nil && m.New == nil && m.NewState == "not-recovered":
			return "never recovered"
		case m.Base == nil && m.New != nil && m.BaseState == "not-recovered":
			return "recovered"
		case m.Base == nil || m.New == nil:
			return "-"
		}
		return "new from 0"
	}
	v := *m.Change
	switch m.ChangeUnit {
	case "%":
		return signed(v, 1) + "%"
	case "pp":
		return signed(v, 2) + "pp"
	}
	return signed(v, -1) + "s"
}

func signed(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

func limitText(m *MetricChange) string {
	switch {
	case m.Verdict == MetricOff:
		return "off"
	case m.Limit == nil:
		return "-"
	}
	sign := "+"
	if m.Worse == "lower" {
		sign = "-"
	}
	return sign + strconv.FormatFloat(*m.Limit, 'f', -1, 64) + m.ChangeUnit
}

// pText writes a p-value; words puts "= " before a number.
func pText(p float64, words bool) string {
	if p < 0.0001 {
		if words {
			return "< 0.0001"
		}
		return "<0.0001"
	}
	s := strconv.FormatFloat(p, 'f', 4, 64)
	if words {
		return "= " + s
	}
	return s
}

// notEnough says why a metric could not be tested.
func notEnough(m *MetricChange, t Test) string {
	switch {
	case m.Test == nil:
		return "not enough data to test"
	case m.Test.PMin != nil:
		return fmt.Sprintf("not enough data to test (%d and %d buckets cannot give p below alpha %g: at best %s)", m.Test.NBase, m.Test.NNew, t.Alpha, pText(*m.Test.PMin, false))
	}
	return fmt.Sprintf("not enough data to test (%d and %d buckets, %d needed a side)", m.Test.NBase, m.Test.NNew, t.MinBuckets)
}

func testText(m *MetricChange) string {
	switch {
	case m.Test == nil:
		return "-"
	case m.Test.P == nil:
		return fmt.Sprintf("n=%d+%d", m.Test.NBase, m.Test.NNew)
	}
	return pText(*m.Test.P, false)
}

func verdictText(m *MetricChange, t Test) string {
	switch m.Verdict {
	case MetricRegression:
		return "REGRESSION"
	case MetricNotSignificant:
		return fmt.Sprintf("ok: beyond the limit, not significant (p >= %g)", t.Alpha)
	case MetricNotEnoughData:
		return "ok: beyond the limit, " + notEnough(m, t)
	case MetricNoLimit:
		return "no limit"
	case MetricOff:
		return "limit off"
	}
	return m.Verdict
}

// testLines say which test and alpha decided, and the rule.
func (c *Comparison) testLines() (test, rule string) {
	if c.Test.NoTest {
		return "none (--no-test)", "a change beyond its limit is a regression"
	}
	return fmt.Sprintf("%s, alpha %g", testWords, c.Test.Alpha),
		fmt.Sprintf("a regression is a change beyond its limit and significant at alpha %g; fewer than %d buckets a side, or too few to reach alpha: not enough data to test, no regression", c.Test.Alpha, c.Test.MinBuckets)
}

func sideText(s Side) string {
	name := s.File
	if name == "" {
		name = "this run"
	}
	t := fmt.Sprintf("%s: scenario %s, started %s, seed %d", name, s.Scenario, s.Started.UTC().Format(time.RFC3339), s.Seed)
	if s.Interrupted {
		t += ", interrupted"
	}
	return t
}

func phaseHead(p *PhaseChange) string {
	if p.Name == "overall" {
		return fmt.Sprintf("overall (the phases both have; %d and %d buckets)", p.BaseBuckets, p.NewBuckets)
	}
	return fmt.Sprintf("phase %s (%gs-%gs; %d and %d buckets)", p.Name, p.StartS, p.EndS, p.BaseBuckets, p.NewBuckets)
}

// WriteText writes the comparison for a terminal: the verdict, the test,
// then every phase's metrics side by side.
func (c *Comparison) WriteText(w io.Writer) error {
	var b strings.Builder
	sc := c.scan()
	if c.Regression {
		fmt.Fprintf(&b, "gatecrash compare: REGRESSION in %d of %d checks\n", len(sc.regressions), sc.checks)
		for _, r := range sc.regressions {
			fmt.Fprintf(&b, "  %s\n", describe(r.where, r.m, "->"))
		}
	} else {
		fmt.Fprintf(&b, "gatecrash compare: no regression in %d checks\n", sc.checks)
	}
	for _, a := range c.asides() {
		fmt.Fprintf(&b, "  %s\n", a)
	}
	test, rule := c.testLines()
	fmt.Fprintf(&b, "base: %s\nnew:  %s\ntest: %s\nrule: %s\n", sideText(c.Base), sideText(c.New), test, rule)
	phases := append(append([]PhaseChange{}, c.Phases...), c.Overall)
	for i := range phases {
		p := &phases[i]
		fmt.Fprintf(&b, "\n%s\n", phaseHead(p))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  metric\tbase\tnew\tchange\tlimit\tp\tverdict")
		for k := range p.Metrics {
			m := &p.Metrics[k]
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", labelOf(m.Metric),
				valueText(m.Base, m.Unit, m.BaseState), valueText(m.New, m.Unit, m.NewState),
				changeText(m), limitText(m), testText(m), verdictText(m, c.Test))
		}
		tw.Flush()
	}
	if len(c.Causes) > 0 {
		b.WriteString("\ncauses of 502s (share of the 502s)\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  cause\tbase\tnew\tchange")
		for _, cc := range c.Causes {
			fmt.Fprintf(tw, "  %s\t%s (%d)\t%s (%d)\t%spp\n", cc.Cause, valueText(&cc.Base, "share", ""), cc.BaseCount,
				valueText(&cc.New, "share", ""), cc.NewCount, signed(cc.ChangePP, 2))
		}
		tw.Flush()
	}
	if len(c.OnlyInBase) > 0 {
		fmt.Fprintf(&b, "\nonly in BASE, not compared: %s\n", strings.Join(c.OnlyInBase, ", "))
	}
	if len(c.OnlyInNew) > 0 {
		fmt.Fprintf(&b, "\nonly in NEW, not compared: %s\n", strings.Join(c.OnlyInNew, ", "))
	}
	if len(c.Notes) > 0 {
		b.WriteString("\nnotes:\n")
		for _, n := range c.Notes {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscape escapes text for Markdown, inside a table cell too; it keeps
// HTML out.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '|', '#', '~', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func markOf(m *MetricChange) string {
	switch m.Verdict {
	case MetricRegression:
		return "❌"
	case MetricOK:
		return "✅"
	case MetricNotSignificant:
		return "✅ within noise"
	case MetricNotEnoughData:
		return "✅ not enough data to test"
	case MetricOff:
		return "limit off"
	}
	return ""
}

// WriteMarkdown writes the comparison for a pull-request comment or a CI
// summary: a verdict line, then one table with a mark per metric.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	sc := c.scan()
	if c.Regression {
		fmt.Fprintf(&b, "### ❌ gatecrash compare: regression in %d of %d checks\n\n", len(sc.regressions), sc.checks)
		for _, r := range sc.regressions {
			fmt.Fprintf(&b, "- %s\n", mdEscape(describe(r.where, r.m, "→")))
		}
		b.WriteString("\n")
	} else {
		fmt.Fprintf(&b, "### ✅ gatecrash compare: no regression in %d checks\n\n", sc.checks)
	}
	if as := c.asides(); len(as) > 0 {
		fmt.Fprintf(&b, "%s.\n\n", mdEscape(strings.ToUpper(as[0][:1])+strings.Join(as, "; ")[1:]))
	}
	b.WriteString("| phase | metric | base | new | change | limit | p | |\n|---|---|---|---|---|---|---|---|\n")
	phases := append(append([]PhaseChange{}, c.Phases...), c.Overall)
	for i := range phases {
		p := &phases[i]
		name := mdEscape(p.Name)
		if p.Name == "overall" {
			name = "**overall**"
		}
		for k := range p.Metrics {
			m := &p.Metrics[k]
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", name, labelOf(m.Metric),
				valueText(m.Base, m.Unit, m.BaseState), valueText(m.New, m.Unit, m.NewState),
				changeText(m), limitText(m), strings.ReplaceAll(testText(m), "<", "&lt;"), markOf(m))
		}
	}
	if len(c.Causes) > 0 {
		b.WriteString("\n<details><summary>causes of 502s</summary>\n\n| cause | base | new | change |\n|---|---|---|---|\n")
		for _, cc := range c.Causes {
			fmt.Fprintf(&b, "| %s | %s (%d) | %s (%d) | %spp |\n", mdEscape(cc.Cause), valueText(&cc.Base, "share", ""), cc.BaseCount,
				valueText(&cc.New, "share", ""), cc.NewCount, signed(cc.ChangePP, 2))
		}
		b.WriteString("\n</details>\n")
	}
	if len(c.OnlyInBase) > 0 || len(c.OnlyInNew) > 0 || len(c.Notes) > 0 {
		b.WriteString("\n")
	}
	if len(c.OnlyInBase) > 0 {
		fmt.Fprintf(&b, "- only in BASE, not compared: %s\n", mdEscape(strings.Join(c.OnlyInBase, ", ")))
	}
	if len(c.OnlyInNew) > 0 {
		fmt.Fprintf(&b, "- only in NEW, not compared: %s\n", mdEscape(strings.Join(c.OnlyInNew, ", ")))
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "- %s\n", mdEscape(n))
	}
	test, rule := c.testLines()
	fmt.Fprintf(&b, "\n<sub>test: %s; %s. base: %s. new: %s.</sub>\n", mdEscape(test), mdEscape(rule), mdEscape(sideText(c.Base)), mdEscape(sideText(c.New)))
	_, err := io.WriteString(w, b.String())
	return err
}
