package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/scenarios"
)

// Verdict is the outcome of one expectation, as report.json lists it.
type Verdict struct {
	// Expr is the expectation as the scenario writes it.
	Expr string `json:"expr"`
	// OK is true when the expectation held.
	OK bool `json:"ok"`
	// Value is what the run measured, in Unit; nil when it is undefined
	// (Detail says why) or infinite (a class that never occurred, a
	// phase that never recovered).
	Value *float64 `json:"value"`
	// Unit is the unit the expression writes its value in: %, ms, s, m,
	// /s, /m, or "" for a count.
	Unit string `json:"unit"`
	// Detail says why Value is nil, or how it was found when that is
	// worth knowing; "" otherwise.
	Detail string `json:"detail"`
	// Abort is true when the expectation had abort: true.
	Abort bool `json:"abort"`
}

// Verdicts are a report's verdicts, in the scenario's order. In JSON a
// nil Verdicts is [], so that report.json always holds the list.
type Verdicts []Verdict

// MarshalJSON writes v, [] when it is empty.
func (v Verdicts) MarshalJSON() ([]byte, error) {
	if len(v) == 0 {
		return []byte("[]"), nil
	}
	return json.Marshal([]Verdict(v))
}

// Failed returns the verdicts that did not hold.
func (v Verdicts) Failed() []Verdict {
	var out []Verdict
	for _, x := range v {
		if !x.OK {
			out = append(out, x)
		}
	}
	return out
}

// Evaluate measures every expectation on rep and says whether it held,
// in the order of exps. A value the report cannot give (a phase without
// requests, a share of no failures, a recovery it did not measure) fails
// its expectation.
func Evaluate(rep *Report, exps []scenarios.Expectation) Verdicts {
	out := make(Verdicts, len(exps))
	for i, e := range exps {
		v, detail := measure(rep, e)
		w := v * e.Scale()
		out[i] = Verdict{Expr: e.Expr, OK: e.Holds(w), Unit: e.Unit, Detail: detail, Abort: e.Abort}
		if !math.IsNaN(w) && !math.IsInf(w, 0) {
			r := round(w)
			out[i].Value = &r
		}
	}
	return out
}

// SetExpectations evaluates exps on r and records the verdicts, and why
// the run was aborted ("" when it was not), in r and in its diagnosis.
func (r *Report) SetExpectations(exps []scenarios.Expectation, aborted string) {
	r.Expectations = Evaluate(r, exps)
	r.Aborted = nil
	if aborted != "" {
		r.Aborted = &aborted
	}
	r.Diagnosis = Diagnosis(r)
}

// measure returns what e measures in rep, in e's base unit: NaN when it
// is undefined, +Inf when it never happened; and a detail for the report.
func measure(rep *Report, e scenarios.Expectation) (float64, string) {
	nan := math.NaN()
	var ph *PhaseReport
	if e.Phase != "" {
		for i := range rep.Phases {
			if rep.Phases[i].Name == e.Phase {
				ph = &rep.Phases[i]
				break
			}
		}
		if ph == nil {
			return nan, "the report has no phase " + e.Phase
		}
	}
	inPhase := ""
	if ph != nil {
		inPhase = " in phase " + ph.Name
	}
	switch e.Metric {
	case scenarios.MetricRate, scenarios.MetricCount:
		status, errs, n := rep.Totals.Status, rep.Totals.Errors, rep.Totals.Requests
		if ph != nil {
			status, errs, n = ph.Status, ph.Errors, ph.Requests
		}
		m := matched(status, errs, e.Class)
		if e.Metric == scenarios.MetricCount {
			return float64(m), ""
		}
		if n == 0 {
			return nan, "no requests" + inPhase
		}
		return float64(m) / float64(n), ""

	case scenarios.MetricLatency:
		return latencyOf(rep, ph, e.Stat)

	case scenarios.MetricFirst, scenarios.MetricSustained:
		at := math.Inf(1)
		for _, o := range onsets(rep, e.Class) {
			s := o.FirstS
			if e.Metric == scenarios.MetricSustained {
				s = o.SustainedS
			}
			if s != nil {
				at = min(at, *s)
			}
		}
		if math.IsInf(at, 1) {
			if e.Metric == scenarios.MetricSustained {
				return at, "never sustained: +inf"
			}
			return at, "none in the run: +inf"
		}
		return at, ""

	case scenarios.MetricShare:
		cs := rep.Causes
		if e.Class != "502" {
			cs = rep.OtherCauses[e.Class]
		}
		total, n := 0, 0
		for _, c := range cs {
			total += c.Count
			if c.Cause == e.Cause {
				n += c.Count
			}
		}
		if total == 0 {
			what := e.Class + "s"
			if e.Class == scenarios.ClassError {
				what = "requests without an answer"
			}
			return nan, "no " + what + " to take a share of"
		}
		return float64(n) / float64(total), ""

	case scenarios.MetricRecovery:
		rec := Recovery{State: ph.Recovery, S: ph.RecoveryS}
		if e.Class != "502" {
			var ok bool
			if rec, ok = ph.OtherRecovery[e.Class]; !ok {
				return nan, "recovery not measured after phase " + ph.Name
			}
		}
		switch {
		case rec.State == "recovered" && rec.S != nil:
			return *rec.S, ""
		case rec.State == "not-recovered":
			return math.Inf(1), "never recovered: +inf"
		}
		return nan, "recovery not measured after phase " + ph.Name

	case scenarios.MetricAchievedRate:
		var achieved, offered float64
		if ph != nil {
			achieved, offered = ph.AchievedRate, ph.OfferedRate
		} else {
			// Over the plan: each phase's rates weighted by its length.
			length := 0.0
			for _, p := range rep.Phases {
				d := p.EndS - p.StartS
				achieved += p.AchievedRate * d
				offered += p.OfferedRate * d
				length += d
			}
			if length <= 0 {
				return nan, "the run has no phases"
			}
			achieved, offered = achieved/length, offered/length
		}
		if !e.OfOffered {
			return achieved, ""
		}
		if offered <= 0 {
			return nan, "nothing was offered" + inPhase
		}
		return achieved / offered, ""

	case scenarios.MetricMasked:
		m := rep.Masked
		n := m.Count
		switch {
		case e.Kind != "":
			n = m.ByKind[e.Kind]
		case e.Reason != "":
			n = m.Reasons[e.Reason]
		}
		if e.Unit != scenarios.UnitPercent {
			return float64(n), ""
		}
		if m.Faults == 0 {
			return nan, "no fault broke an attempt"
		}
		return float64(n) / float64(m.Faults), ""

	case scenarios.MetricSendLag:
		if rep.Totals.Requests == 0 {
			return nan, "no requests"
		}
		l := rep.SendLagMS
		switch e.Stat {
		case "p50":
			return l.P50, ""
		case "p99":
			return l.P99, ""
		}
		return l.Max, ""
	}
	return nan, "unknown metric " + e.Metric
}

// matched counts the requests of a class: a status code, a class such as
// 5xx, or error.
func matched(status map[string]int, errs int, class string) int {
	switch {
	case class == scenarios.ClassError:
		return errs
	case strings.HasSuffix(class, "xx"):
		n := 0
		for code, c := range status {
			if len(code) == 3 && code[0] == class[0] {
				n += c
			}
		}
		return n
	}
	return status[class]
}

// latencyOf returns a latency statistic of a phase, or of the whole run
// when ph is nil: exact when one phase holds every request, else the
// largest maximum, the mean weighted by requests, and percentiles of the
// merged histograms.
func latencyOf(rep *Report, ph *PhaseReport, stat string) (float64, string) {
	pick := func(l Latency) float64 { return l.stat(stat) }
	if ph != nil {
		if ph.Requests == 0 {
			return math.NaN(), "no requests in phase " + ph.Name
		}
		return pick(ph.LatencyMS), ""
	}
	var with []*PhaseReport
	n := 0
	for i := range rep.Phases {
		if p := &rep.Phases[i]; p.Requests > 0 {
			with = append(with, p)
			n += p.Requests
		}
	}
	switch {
	case len(with) == 0:
		return math.NaN(), "no requests"
	case len(with) == 1:
		return pick(with[0].LatencyMS), ""
	}
	switch stat {
	case "max":
		v := 0.0
		for _, p := range with {
			v = max(v, p.LatencyMS.Max)
		}
		return v, ""
	case "mean":
		v := 0.0
		for _, p := range with {
			v += p.LatencyMS.Mean * float64(p.Requests)
		}
		return round(v / float64(n)), ""
	}
	var h Histogram
	for _, p := range with {
		if p.Histogram == nil {
			return math.NaN(), "the report has no histogram of phase " + p.Name
		}
		h.Merge(p.Histogram)
	}
	q, _ := strconv.ParseFloat(stat[1:], 64)
	d := h.Quantile(q / 100)
	return round(float64(d) / float64(time.Millisecond)), "from the merged phase histograms: at most 1.6% above the exact value"
}

// onsets returns the onsets of a failure class: a code, 5xx (every 5xx
// code), or error.
func onsets(rep *Report, class string) []Onset {
	switch class {
	case "502":
		return []Onset{rep.Onset}
	case "5xx":
		out := []Onset{rep.Onset}
		for c, o := range rep.OtherOnsets {
			if len(c) == 3 && c[0] == '5' {
				out = append(out, o)
			}
		}
		return out
	}
	if o, ok := rep.OtherOnsets[class]; ok {
		return []Onset{o}
	}
	return nil
}

// ExpectFile is the file in a run folder that holds the scenario's
// expectations, and why the run was aborted, so that the report can be
// rebuilt with its verdicts.
const ExpectFile = "expect.json"

// ExpectSchema identifies the expect.json format.
const ExpectSchema = "gatecrash/expect/v1"

type expectDoc struct {
	Schema  string        `json:"schema"`
	Expect  []expectEntry `json:"expect"`
	Aborted string        `json:"aborted,omitempty"`
}

type expectEntry struct {
	Expr  string `json:"expr"`
	Abort bool   `json:"abort,omitempty"`
}

// WriteExpect writes expect.json: the expectations and why the run was
// aborted ("" when it was not).
func WriteExpect(path string, exps []scenarios.Expectation, aborted string) error {
	doc := expectDoc{Schema: ExpectSchema, Expect: []expectEntry{}, Aborted: aborted}
	for _, e := range exps {
		doc.Expect = append(doc.Expect, expectEntry{e.Expr, e.Abort})
	}
	b, err := marshalIndent(doc, "expectations")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write expectations: %w", err)
	}
	return nil
}

// ReadExpect reads expect.json. A folder without one (written before
// expectations existed) has none: ReadExpect returns nil, "", nil.
func ReadExpect(path string) (exps []scenarios.Expectation, aborted string, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	var doc expectDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if doc.Schema != ExpectSchema {
		return nil, "", fmt.Errorf("%s: schema %q, want %q", path, doc.Schema, ExpectSchema)
	}
	var errs []error
	for i, x := range doc.Expect {
		e, err := scenarios.ParseExpectation(x.Expr, x.Abort)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: expect[%d]: %w", path, i, err))
			continue
		}
		exps = append(exps, e)
	}
	if errs != nil {
		return nil, "", errors.Join(errs...)
	}
	return exps, doc.Aborted, nil
}

// Watch follows the results of a run as they come, and tells when an
// expectation with abort: true has failed for good, so that the run can
// stop early. It keeps a running tally: counts per phase, and the
// latencies of the phases a latency expectation names. It is not safe for
// concurrent use; a nil *Watch watches nothing.
//
// It decides exactly as the report will: first(...) > X fails at the
// first failure of its class sent at or before X; count(...) < N when the
// count reaches N; max(latency) < X at a request as slow; and rate, count
// and latency in a phase once every request sent in that phase has its
// result. vegeta numbers requests in the order it sends them, so that
// moment is when every request numbered below the first one sent after the
// phase has come back.
type Watch struct {
	start  time.Time
	phases []watchPhase
	exps   []watched
	track  bool                // some expectation waits for its phase to end
	low    uint64              // the lowest seq not back yet
	back   map[uint64]struct{} // seqs above low that are back
	done   bool
}

type watched struct {
	e     scenarios.Expectation
	phase int // -1: the whole run
	n     int // count(...) so far
}

type watchPhase struct {
	end     time.Duration
	counts  counts
	keepLat bool
	lat     []float64
	next    uint64 // the lowest seq sent at or after end; noSeq until one is back
	closed  bool
	waiting []int // exps decided when the phase has ended
}

const noSeq = math.MaxUint64

// NewWatch returns a Watch of the expectations with abort: true among
// exps, for a run of this plan whose clock starts at start (no later than
// the attack's own start). It returns nil when there is none to watch.
func NewWatch(plan []PhasePlan, start time.Time, exps []scenarios.Expectation) *Watch {
	w := &Watch{start: start, phases: make([]watchPhase, len(plan)), back: map[uint64]struct{}{}}
	for i, p := range plan {
		w.phases[i] = watchPhase{end: seconds(p.EndS), next: noSeq}
	}
	for _, e := range exps {
		if !e.Abort || !e.CanAbort() {
			continue
		}
		pi := -1
		if e.Phase != "" {
			for i, p := range plan {
				if p.Name == e.Phase {
					pi = i
					break
				}
			}
			if pi < 0 {
				continue
			}
		}
		w.exps = append(w.exps, watched{e: e, phase: pi})
		if pi >= 0 && !immediate(e) {
			w.phases[pi].waiting = append(w.phases[pi].waiting, len(w.exps)-1)
			w.phases[pi].keepLat = w.phases[pi].keepLat || e.Metric == scenarios.MetricLatency
			w.track = true
		}
	}
	if len(w.exps) == 0 {
		return nil
	}
	return w
}

// immediate reports whether e can fail at any single result, rather than
// when its phase has ended.
func immediate(e scenarios.Expectation) bool {
	less := e.Op == "<" || e.Op == "<="
	switch e.Metric {
	case scenarios.MetricFirst:
		return true
	case scenarios.MetricCount:
		return less
	case scenarios.MetricLatency:
		return e.Stat == "max" && less
	}
	return false
}

// Add takes the next result. It returns why the run should stop, once:
// the first expectation with abort: true that has failed for good; ""
// otherwise. It does not keep r.
func (w *Watch) Add(r *vegeta.Result) string {
	if w == nil || w.done {
		return ""
	}
	off := r.Timestamp.Sub(w.start)
	pi := len(w.phases) - 1
	for i, p := range w.phases {
		if off < p.end {
			pi = i
			break
		}
	}
	ms := float64(r.Latency) / float64(time.Millisecond)
	if pi >= 0 {
		ph := &w.phases[pi]
		ph.counts.add(r.Code)
		if ph.keepLat {
			ph.lat = append(ph.lat, ms)
		}
	}
	came := r.Timestamp.Add(r.Latency).Sub(w.start)
	for i := range w.exps {
		x := &w.exps[i]
		e := x.e
		if !immediate(e) || x.phase >= 0 && x.phase != pi {
			continue
		}
		var v float64
		switch e.Metric {
		case scenarios.MetricFirst:
			if !e.MatchesCode(r.Code) {
				continue
			}
			v = round(max(off, 0).Seconds())
		case scenarios.MetricCount:
			if !e.MatchesCode(r.Code) {
				continue
			}
			x.n++
			v = float64(x.n)
		case scenarios.MetricLatency:
			v = round(ms)
		}
		if why := w.check(e, v, came); why != "" {
			return why
		}
	}
	if !w.track {
		return ""
	}
	if r.Seq == w.low {
		w.low++
		for {
			if _, ok := w.back[w.low]; !ok {
				break
			}
			delete(w.back, w.low)
			w.low++
		}
	} else if r.Seq > w.low {
		w.back[r.Seq] = struct{}{}
	}
	for j := range w.phases {
		ph := &w.phases[j]
		if off >= ph.end && r.Seq < ph.next {
			ph.next = r.Seq
		}
		if ph.closed || len(ph.waiting) == 0 || ph.next == noSeq || w.low < ph.next {
			continue
		}
		ph.closed = true
		for _, k := range ph.waiting {
			e := w.exps[k].e
			if why := w.check(e, measurePhase(ph, e), came); why != "" {
				return why
			}
		}
		ph.lat = nil
	}
	return ""
}

// check returns why the run stops when e does not hold with v, in e's
// base unit, known at came; "" when it holds.
func (w *Watch) check(e scenarios.Expectation, v float64, came time.Duration) string {
	x := v * e.Scale()
	if e.Holds(x) {
		return ""
	}
	w.done = true
	measured := "undefined"
	if !math.IsNaN(x) {
		measured = formatMeasure(round(x), e.Unit)
	}
	return fmt.Sprintf("%s failed for good at %ss (measured %s)", e.Expr, strconv.FormatFloat(round(max(came, 0).Seconds()), 'f', -1, 64), measured)
}

// measurePhase measures e over a phase's results, in e's base unit, as
// the report does.
func measurePhase(ph *watchPhase, e scenarios.Expectation) float64 {
	c := &ph.counts
	switch e.Metric {
	case scenarios.MetricRate, scenarios.MetricCount:
		m := 0
		switch {
		case e.Class == scenarios.ClassError:
			m = c.errors
		default:
			for _, cc := range c.status {
				if e.MatchesCode(cc.code) {
					m += cc.n
				}
			}
		}
		if e.Metric == scenarios.MetricCount {
			return float64(m)
		}
		if c.requests == 0 {
			return math.NaN()
		}
		return float64(m) / float64(c.requests)
	case scenarios.MetricLatency:
		if len(ph.lat) == 0 {
			return math.NaN()
		}
		return latency(ph.lat).stat(e.Stat)
	}
	return math.NaN()
}

// formatMeasure writes a value with its unit: 1.2%, 250ms, 12.
func formatMeasure(v float64, unit string) string {
	return strconv.FormatFloat(v, 'f', -1, 64) + unit
}

// stat returns the statistic an expectation names: p50, p90, p99, max, or
// else the mean.
func (l Latency) stat(name string) float64 {
	switch name {
	case "p50":
		return l.P50
	case "p90":
		return l.P90
	case "p99":
		return l.P99
	case "max":
		return l.Max
	}
	return l.Mean
}
