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
// the run was aborted ("" when it was not), in r and in its diagnosis. On
// a damaged report (set r.Damaged first) no expectation is judged: each
// verdict fails, its value null, its detail "not measured: the run is
// damaged", for what was not recorded could turn any of them.
func (r *Report) SetExpectations(exps []scenarios.Expectation, aborted string) {
	r.Expectations = Evaluate(r, exps)
	if len(r.Damaged) > 0 {
		for i := range r.Expectations {
			v := &r.Expectations[i]
			v.OK, v.Value, v.Detail = false, nil, notMeasured
		}
	}
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
		switch e.Class {
		case scenarios.ClassUserFailure:
			return measureUserFailure(rep, ph, e, inPhase)
		case scenarios.ClassStreamCut, scenarios.ClassStreamStall:
			return measureStreamClass(rep, ph, e, inPhase)
		}
		return measureRate(rep, ph, e, inPhase)
	case scenarios.MetricTTFT, scenarios.MetricITL:
		return measureStreamTime(rep, ph, e, inPhase)
	case scenarios.MetricAmplification:
		return measureAmplification(rep, ph, inPhase)
	case scenarios.MetricLatency:
		return latencyOf(rep, ph, e.Stat)
	case scenarios.MetricFirst, scenarios.MetricSustained:
		return measureOnset(rep, e)
	case scenarios.MetricShare:
		return measureShare(rep, e)
	case scenarios.MetricRecovery:
		return measureRecovery(ph, e)
	case scenarios.MetricAchievedRate:
		return measureAchievedRate(rep, ph, e, inPhase)
	case scenarios.MetricMasked:
		return measureMasked(rep, e)
	case scenarios.MetricSendLag:
		return measureSendLag(rep, e)
	}
	return nan, "unknown metric " + e.Metric
}

// measureRate measures the share or the count of the requests of a class.
func measureRate(rep *Report, ph *PhaseReport, e scenarios.Expectation, inPhase string) (float64, string) {
	nan := math.NaN()
	status, errs, n := rep.Totals.Status, rep.Totals.Errors, rep.Totals.Requests
	if ph != nil {
		status, errs, n = ph.Status, ph.Errors, ph.Requests
	}
	m := matched(status, errs, e.Class)
	if e.Class == scenarios.ClassError {
		// Streams cut or stalled had an answer.
		st := rep.Streams
		if ph != nil {
			st = ph.Streams
		}
		if st != nil {
			m -= st.Cut + st.Stalled
		}
	}
	if e.Metric == scenarios.MetricCount {
		return float64(m), ""
	}
	if n == 0 {
		return nan, "no requests" + inPhase
	}
	return float64(m) / float64(n), ""
}

// noStreams is the detail of a stream metric in a run without streams.
const noStreams = "the run had no streaming answer (text/event-stream), so the report has no streams"

// measureStreamClass measures the share or the count of the requests
// whose stream was cut, or stalled.
func measureStreamClass(rep *Report, ph *PhaseReport, e scenarios.Expectation, inPhase string) (float64, string) {
	if rep.Streams == nil {
		return math.NaN(), noStreams
	}
	st, n := rep.Streams, rep.Totals.Requests
	if ph != nil {
		st, n = ph.Streams, ph.Requests
	}
	m := 0
	if st != nil {
		m = st.Cut
		if e.Class == scenarios.ClassStreamStall {
			m = st.Stalled
		}
	}
	if e.Metric == scenarios.MetricCount {
		return float64(m), ""
	}
	if n == 0 {
		return math.NaN(), "no requests" + inPhase
	}
	return float64(m) / float64(n), ""
}

// measureStreamTime measures p50(ttft), p99(ttft) or p99(itl).
func measureStreamTime(rep *Report, ph *PhaseReport, e scenarios.Expectation, inPhase string) (float64, string) {
	if rep.Streams == nil {
		return math.NaN(), noStreams
	}
	st := rep.Streams
	if ph != nil {
		st = ph.Streams
	}
	switch {
	case st == nil || st.Tokens == 0:
		return math.NaN(), "no stream with a token" + inPhase
	case e.Metric == scenarios.MetricITL && st.ITLP99MS == 0 && st.Tokens <= st.Streams:
		// Perhaps no stream had two tokens: the ITL of none is undefined.
		return math.NaN(), "no stream of two tokens or more" + inPhase
	case e.Metric == scenarios.MetricITL:
		return st.ITLP99MS, ""
	case e.Stat == "p50":
		return st.TTFTMS.P50, ""
	}
	return st.TTFTMS.P99, ""
}

// measureUserFailure measures the share or the count of the requests
// whose outcome, as the user saw it, was not a 2xx or 3xx: from the
// client's tries with a retry policy; without one, from the answers, every
// request having had one try (a body cut short after a 2xx then counts as
// a success: the report does not keep it apart).
func measureUserFailure(rep *Report, ph *PhaseReport, e scenarios.Expectation, inPhase string) (float64, string) {
	var m, n int
	retries, status, errs, requests := rep.Retries, rep.Totals.Status, rep.Totals.Errors, rep.Totals.Requests
	if ph != nil {
		retries, status, errs, requests = ph.Retries, ph.Status, ph.Errors, ph.Requests
	}
	detail := ""
	if retries != nil {
		m, n = retries.UserFailures, retries.Requests
	} else {
		m, n = requests-matched(status, errs, "2xx")-matched(status, errs, "3xx"), requests
		if rep.Retries == nil {
			detail = "no client retry policy: every request had one try"
		}
	}
	if e.Metric == scenarios.MetricCount {
		return float64(m), detail
	}
	if n == 0 {
		return math.NaN(), "no requests" + inPhase
	}
	return float64(m) / float64(n), detail
}

// measureAmplification measures the arrivals at the upstream per request,
// which the report has only with a client retry policy.
func measureAmplification(rep *Report, ph *PhaseReport, inPhase string) (float64, string) {
	r := rep.Retries
	if ph != nil {
		r = ph.Retries
	}
	switch {
	case rep.Retries == nil:
		return math.NaN(), "the run had no client retry policy (client.retry), so the report does not count the arrivals at the upstream per request"
	case r == nil || r.Requests == 0:
		return math.NaN(), "no requests" + inPhase
	}
	return float64(r.UpstreamArrivals) / float64(r.Requests), ""
}

// measureOnset measures when a class first appeared, or took hold.
func measureOnset(rep *Report, e scenarios.Expectation) (float64, string) {
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
}

// measureShare measures the share of a cause among the failures of a class.
func measureShare(rep *Report, e scenarios.Expectation) (float64, string) {
	nan := math.NaN()
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
}

// measureRecovery measures how long the failures of a class took to fall back after a phase.
func measureRecovery(ph *PhaseReport, e scenarios.Expectation) (float64, string) {
	nan := math.NaN()
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
}

// measureAchievedRate measures the rate achieved, or its share of the rate offered.
func measureAchievedRate(rep *Report, ph *PhaseReport, e scenarios.Expectation, inPhase string) (float64, string) {
	nan := math.NaN()
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
}

// measureMasked measures the masked faults, a count or a share.
func measureMasked(rep *Report, e scenarios.Expectation) (float64, string) {
	nan := math.NaN()
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
}

// measureSendLag measures the attacker's send lag.
func measureSendLag(rep *Report, e scenarios.Expectation) (float64, string) {
	nan := math.NaN()
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
