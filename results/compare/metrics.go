package compare

import (
	"math"
	"strconv"
	"time"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// view is what compare reads of a phase, or of several together.
type view struct {
	requests int
	status   map[string]int
	errors   int
	rate     float64
	lat      [3]float64 // p50, p90, p99
	hasLat   bool
	strata   [][]results.Bucket // the buckets of each phase: the samples
	retries  *results.Retries   // the client retries' counts; nil without

	// Phases only.
	recovery  string
	recoveryS *float64
	window    []results.Bucket // the span recovery was measured over: see recoveryEnd
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
	if p.Retries != nil {
		v.retries = &results.Retries{}
		addRetries(v.retries, p.Retries)
	}
	v.window = bucketsIn(r, p.EndS, recoveryEnd(r, i))
	return v
}

// recoveryEnd is the end of the span recovery was measured over after
// phase i of r: the report's recovery_until_s; in a report written before
// it existed, the start of the next phase with faults, or the end of the
// last phase.
func recoveryEnd(r *results.Report, i int) float64 {
	p := &r.Phases[i]
	if p.RecoveryUntilS != nil {
		return *p.RecoveryUntilS
	}
	end := p.EndS
	if n := len(r.Phases); n > 0 {
		end = r.Phases[n-1].EndS
	}
	for _, q := range r.Phases[i+1:] {
		if len(q.Faults) > 0 {
			return q.StartS
		}
	}
	return end
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
		if r.Retries != nil {
			if v.retries == nil {
				v.retries = &results.Retries{}
			}
			addRetries(v.retries, p.Retries)
		}
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

// changeOf is n against b in unit: % of b, pp, or the difference (s,
// count); nil when it has no number.
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
