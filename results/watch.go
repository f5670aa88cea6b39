package results

import (
	"fmt"
	"math"
	"strconv"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/scenarios"
)

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
		ph.counts.addStream(classOf(r.Code, r.Error))
		if ph.keepLat {
			ph.lat = append(ph.lat, ms)
		}
	}
	came := r.Timestamp.Add(r.Latency).Sub(w.start)
	if why := w.checkImmediate(r, off, ms, pi, came); why != "" {
		return why
	}
	if !w.track {
		return ""
	}
	w.arrived(r.Seq)
	return w.closePhases(r.Seq, off, came)
}

// checkImmediate checks the expectations a single result can fail: the
// first and the count of a class, a latency.
func (w *Watch) checkImmediate(r *vegeta.Result, off time.Duration, ms float64, pi int, came time.Duration) string {
	for i := range w.exps {
		x := &w.exps[i]
		e := x.e
		if !immediate(e) || x.phase >= 0 && x.phase != pi {
			continue
		}
		var v float64
		switch e.Metric {
		case scenarios.MetricFirst:
			if !matchesResult(e, r) {
				continue
			}
			v = round(max(off, 0).Seconds())
		case scenarios.MetricCount:
			if !matchesResult(e, r) {
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
	return ""
}

// matchesResult reports whether a result is of the expectation's class:
// a stream cut or stalled is not of ClassError, for it had an answer.
func matchesResult(e scenarios.Expectation, r *vegeta.Result) bool {
	if e.Class == scenarios.ClassError && scenarios.StreamClass(r.Error) != "" {
		return false
	}
	return e.MatchesCode(r.Code)
}

// arrived marks a seq as arrived, and moves the lowest seq not yet arrived
// past those that have.
func (w *Watch) arrived(seq uint64) {
	if seq == w.low {
		w.low++
		for {
			if _, ok := w.back[w.low]; !ok {
				break
			}
			delete(w.back, w.low)
			w.low++
		}
	} else if seq > w.low {
		w.back[seq] = struct{}{}
	}
}

// closePhases checks the expectations of every phase all of whose results
// have arrived.
func (w *Watch) closePhases(seq uint64, off, came time.Duration) string {
	for j := range w.phases {
		ph := &w.phases[j]
		if off >= ph.end && seq < ph.next {
			ph.next = seq
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
			m = c.of(scenarios.ClassError)
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
