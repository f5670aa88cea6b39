package results

import (
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Evidence levels, strongest first.
const (
	levelExact = iota
	levelTemporal
	levelSignature
	levelNone
)

// temporalSlack widens a request's in-flight window backwards when
// looking for a connection-level fault: the gateway may pick the broken
// connection a moment before the attacker's clock says it sent.
const temporalSlack = 10 * time.Millisecond

// denseSeqs bounds the seqs whose request records live in a slice indexed
// by seq; larger ones (a proxy's own counter, another tool's numbering) go
// to a map.
const denseSeqs = 1 << 26

// rec is an event as the analysis keeps it: a few numbers, its strings
// interned, so that a run with an event per request still fits.
type rec struct {
	t       int64 // unix nanoseconds
	seq     uint64
	attempt int32
	try     uint16 // the client's try number; 0 for none
	attack  uint32 // interned names
	kind    uint32
	cause   uint32
	phase   uint32
	// answered: the fault wrote the answer the gateway passed on, so the
	// answer is not the gateway's own.
	answered bool
}

func (r *rec) time() time.Time { return time.Unix(0, r.t) }

// reqInfo is what the events and the gateway's log say about one request.
type reqInfo struct {
	flags   uint8  // hasEvents, slow..., outcome in outcomeMask
	last    uint16 // the last attempt the proxy saw
	endAt   uint16 // 1 + the attempt of ended, 0 for none
	slowAt  uint16 // 1 + the attempt a fault held the answer back on, 0 for none
	ended   uint32 // 1 + index in evidence.ended of the event that ended attempt endAt-1
	words   uint32 // 1 + interned gateway words, 0 for none
	retried bool   // the gateway's log shows a retry
	maxTry  uint16 // the highest client try number that reached the proxy; 0 for none
	gwRetry uint16 // the proxy's retry observations: the gateway's own retries
	stallAt uint16 // 1 + the attempt an sse-stall fault paused, 0 for none
	// queuedAt is 1 + the attempt the overload cap queued, 0 for none.
	queuedAt uint16
	// wait is 1 + the milliseconds the gateway's log says it held the
	// request before the upstream's answer began, 0 when it does not say.
	wait uint16
	// lat is the request's latency in microseconds, once its result is in.
	lat uint32
}

const (
	infoEvents  = 1 << iota // an event names the request
	outcomeOK               // the request ended well (2xx, 3xx)
	outcomeFail             // the request failed (5xx, no answer)
	outcomePass             // another answer (4xx) reached the client
)

// reqKey identifies a request by interned attack and seq.
type reqKey struct {
	attack uint32
	seq    uint64
}

// evidence indexes a run's events, and its gateway's testimony, for
// attribution.
type evidence struct {
	names  []string // interned strings; names[0] is ""
	ids    map[string]uint32
	dense  map[uint32][]reqInfo
	sparse map[reqKey]*reqInfo
	ended  []rec // events that ended an attempt of a request
	conn   []rec // connection-level faults, in time order once finished
	used   []bool
	// refuse windows, from each refuse fault to the next refuse-ended
	// observation.
	refused   windows
	refusing  *time.Time
	seen      map[string][][2]uint64 // per attack, the seqs the proxy saw; nil when unknown
	endFaults int                    // faults that ended an attempt or a connection
	// The proxy's tallies, by fault, in the order first seen; and the
	// fault events of each fault, for the runs without tallies.
	tallies    map[tallyKey]tallied
	tallyOrder []tallyKey
	faulted    map[tallyKey]int
	// hint is how many requests the plan has, and hintAttack the run's
	// attack: the capacity of its dense slice, which then never regrows
	// (copying a million records at each doubling) on a run that kept to
	// its plan.
	hint       int
	hintAttack string
}

func newEvidence() *evidence {
	return &evidence{names: []string{""}, ids: map[string]uint32{"": 0}, dense: map[uint32][]reqInfo{}, sparse: map[reqKey]*reqInfo{},
		faulted: map[tallyKey]int{}}
}

// intern returns s's number.
func (ev *evidence) intern(s string) uint32 {
	if id, ok := ev.ids[s]; ok {
		return id
	}
	id := uint32(len(ev.names))
	ev.names = append(ev.names, s)
	ev.ids[s] = id
	return id
}

// info returns the record of a request, creating it when create is set;
// nil when there is none.
func (ev *evidence) info(attack uint32, seq uint64, create bool) *reqInfo {
	if seq < denseSeqs {
		d := ev.dense[attack]
		if seq < uint64(len(d)) {
			return &d[seq]
		}
		if !create {
			return nil
		}
		if cap(d) == 0 && seq < uint64(ev.hint) && ev.names[attack] == ev.hintAttack {
			d = make([]reqInfo, 0, ev.hint)
		}
		d = slices.Grow(d, int(seq)+1-len(d))[:seq+1]
		ev.dense[attack] = d
		return &d[seq]
	}
	k := reqKey{attack, seq}
	if in := ev.sparse[k]; in != nil || !create {
		return in
	}
	in := &reqInfo{}
	ev.sparse[k] = in
	return in
}

// lookup returns the record of a request by its names; nil without one.
func (ev *evidence) lookup(attack string, seq uint64) *reqInfo {
	id, ok := ev.ids[attack]
	if !ok {
		return nil
	}
	in := ev.info(id, seq, false)
	if in == nil || (in.flags == 0 && in.words == 0 && !in.retried && in.wait == 0) {
		return nil
	}
	return in
}

// add takes one event.
func (ev *evidence) add(e *faults.Event) {
	if e.Type == faults.TypeFault {
		ev.faulted[tallyKey{ev.intern(e.Phase), e.Fault}]++
	}
	switch {
	case e.Type == faults.TypeObservation && e.Kind == faults.ObservedTally:
		ev.addTally(e)
		return
	case e.Type == faults.TypeObservation && e.Kind == faults.ObservedSeen:
		if ev.seen == nil {
			ev.seen = map[string][][2]uint64{}
		}
		ev.seen[e.Attack] = append(ev.seen[e.Attack], e.Ranges...)
		return
	case e.Type == faults.TypeFault && e.Kind == scenarios.KindRefuse:
		if ev.refusing == nil {
			t := e.Time
			ev.refusing = &t
		}
		return
	case e.Type == faults.TypeObservation && e.Kind == faults.ObservedRefuseEnded:
		if ev.refusing != nil {
			ev.refused = append(ev.refused, [2]time.Time{*ev.refusing, e.Time})
			ev.refusing = nil
		}
		return
	}
	ended := e.Ended && e.Cause != ""
	if ended && e.Type == faults.TypeFault {
		ev.endFaults++
	}
	r := rec{t: e.Time.UnixNano(), attempt: int32(e.Attempt), kind: ev.intern(e.Kind), cause: ev.intern(e.Cause), phase: ev.intern(e.Phase),
		answered: e.Status != 0}
	if e.Seq == nil {
		if ended && e.Type == faults.TypeFault {
			ev.conn = append(ev.conn, r)
		}
		return
	}
	r.seq, r.attack = *e.Seq, ev.intern(e.Attack)
	in := ev.info(r.attack, r.seq, true)
	in.flags |= infoEvents
	attempt := uint16(min(max(e.Attempt, 0), 1<<16-2))
	in.last = max(in.last, attempt)
	r.try = uint16(min(max(e.Try, 0), 1<<16-1))
	in.maxTry = max(in.maxTry, r.try)
	if e.Type == faults.TypeObservation && e.Kind == faults.ObservedRetry && in.gwRetry < 1<<16-1 {
		in.gwRetry++
	}
	switch {
	case ended:
		// The event that ended the highest attempt; on one attempt, the
		// first logged.
		if in.endAt <= attempt {
			if in.endAt == 0 || in.endAt-1 < attempt {
				in.endAt, in.ended = attempt+1, uint32(len(ev.ended))+1
			}
		}
		if e.Type == faults.TypeFault {
			ev.ended = append(ev.ended, r)
		} else {
			// An upstream failure the proxy saw explains a failure but is
			// not a fault: keep it apart from the masked accounting.
			r.kind = ev.intern("")
			ev.ended = append(ev.ended, r)
		}
	case e.Type == faults.TypeFault && holdsBack(e.Kind):
		if in.slowAt <= attempt {
			in.slowAt = attempt + 1
		}
	case e.Type == faults.TypeFault && e.Kind == scenarios.KindSSEStall:
		in.stallAt = max(in.stallAt, attempt+1)
	case e.Type == faults.TypeFault && e.Kind == scenarios.KindOverload:
		// Not ended: the cap queued the attempt, then let it through.
		in.queuedAt = max(in.queuedAt, attempt+1)
	}
}

// addTestimony takes the gateway's log entry about a request.
func (ev *evidence) addTestimony(t *Testimony) {
	if t.Seq == nil {
		return
	}
	in := ev.info(ev.intern(t.Attack), *t.Seq, true)
	if t.Retries > 0 || len(t.Upstream) > 1 {
		in.retried = true
	}
	if t.WaitMS != nil && *t.WaitMS >= 0 {
		in.wait = max(in.wait, uint16(min(*t.WaitMS, 1<<16-2))+1)
	}
	if t.Words == "" {
		return
	}
	w := t.Words
	if in.words != 0 {
		w = ev.names[in.words-1] + "; " + w
	}
	in.words = ev.intern(w) + 1
}

// finish readies the index once every event is in.
func (ev *evidence) finish() {
	if ev.refusing != nil {
		ev.refused = append(ev.refused, [2]time.Time{*ev.refusing, time.Unix(1<<40, 0)})
		ev.refusing = nil
	}
	sort.SliceStable(ev.conn, func(a, b int) bool { return ev.conn[a].t < ev.conn[b].t })
	ev.used = make([]bool, len(ev.conn))
	for a, rs := range ev.seen {
		ev.seen[a] = mergeRanges(rs)
	}
}

// mergeRanges sorts half-open ranges and merges those that overlap or
// touch.
func mergeRanges(rs [][2]uint64) [][2]uint64 {
	sort.Slice(rs, func(a, b int) bool { return rs[a][0] < rs[b][0] })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && r[0] <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}

// holdsBack reports whether a fault kind delays an answer without ending
// the exchange: the kinds of the table's upstream-latency row.
func holdsBack(kind string) bool { return slices.Contains(latencyKinds, kind) }

// latencyKinds are the fault kinds of causes.UpstreamLatency.
var latencyKinds = func() []string {
	c, _ := causes.Lookup(causes.UpstreamLatency)
	return c.Kinds
}()

// sawKnown reports whether the proxy's record of what it saw covers the
// request.
func (ev *evidence) sawKnown(seq uint64) bool {
	return ev.seen != nil && seq < faults.SeenLimit
}

// saw reports whether the proxy received the request at least once; when
// its record does not cover it, whether any event names it.
func (ev *evidence) saw(attack string, seq uint64, in *reqInfo) bool {
	if !ev.sawKnown(seq) {
		return in != nil && in.flags&infoEvents != 0
	}
	rs := ev.seen[attack]
	i := sort.Search(len(rs), func(i int) bool { return rs[i][1] > seq })
	return i < len(rs) && rs[i][0] <= seq
}

// explanation is the cause of a failure and how it is known.
type explanation struct {
	cause string
	level int
	// answered: the fault that explains it wrote the answer itself.
	answered bool
}

// explain finds the cause of a failed result.
func (ev *evidence) explain(r *vegeta.Result, in *reqInfo, class, phase string, sig Signature) explanation {
	if in != nil {
		if in.endAt != 0 && in.endAt-1 == in.last {
			e := &ev.ended[in.ended-1]
			return explanation{ev.names[e.cause], levelExact, e.answered}
		}
		if in.slowAt != 0 && in.slowAt-1 == in.last && (class == "504" || (class == scenarios.ClassError && ErrorKind(r.Error) == ErrorTimeout)) {
			return explanation{cause: causes.UpstreamLatency, level: levelExact}
		}
		// A stream the proxy paused: the client gave up on it (stalled),
		// or the gateway did and cut it.
		if in.stallAt != 0 && in.stallAt-1 == in.last && isStreamClass(class) {
			return explanation{cause: causes.StalledMidStream, level: levelExact}
		}
	}
	// A stream the proxy carried with no fault that ended it or paused it:
	// the upstream's own doing, known only by the proxy having seen it.
	if isStreamClass(class) && ev.saw(r.Attack, r.Seq, in) {
		cause := causes.UpstreamEndedStream
		if class == scenarios.ClassStreamStall {
			cause = causes.UpstreamStalledStream
		}
		return explanation{cause: cause, level: levelTemporal}
	}
	if !ev.saw(r.Attack, r.Seq, in) {
		from, to := r.Timestamp, r.End()
		if ev.refused.cover(from, to) {
			return explanation{cause: causes.ConnectionRefused, level: levelTemporal}
		}
		if j := ev.nearest(from.Add(-temporalSlack).UnixNano(), to.UnixNano(), from, ""); j >= 0 {
			ev.used[j] = true
			return explanation{cause: ev.names[ev.conn[j].cause], level: levelTemporal}
		}
		// The proxy never saw it while a connection-level fault was active
		// in its phase.
		if ev.sawKnown(r.Seq) {
			if j := ev.nearest(math.MinInt64, math.MaxInt64, from, phase); j >= 0 {
				ev.used[j] = true
				return explanation{cause: ev.names[ev.conn[j].cause], level: levelTemporal}
			}
		}
	}
	if c := causes.Word(ev.words(in)); c != "" {
		return explanation{cause: c, level: levelSignature}
	}
	if sig.Cause != "" {
		return explanation{cause: sig.Cause, level: levelSignature}
	}
	if ev.sawKnown(r.Seq) && !ev.saw(r.Attack, r.Seq, in) {
		if sig.Gateway != "" {
			return explanation{cause: causes.GatewayLocal, level: levelSignature}
		}
		return explanation{cause: causes.GatewayLocal, level: levelNone}
	}
	return explanation{cause: causes.Unattributed, level: levelNone}
}

// words returns what the gateway's own logs said about a request.
func (ev *evidence) words(in *reqInfo) string {
	if in == nil || in.words == 0 {
		return ""
	}
	return ev.names[in.words-1]
}

// nearest returns the connection-level fault within [f, t] (unix
// nanoseconds), of phase when it is not empty, nearest to at; -1 for none.
func (ev *evidence) nearest(f, t int64, at time.Time, phase string) int {
	a := at.UnixNano()
	lo := sort.Search(len(ev.conn), func(i int) bool { return ev.conn[i].t >= f })
	best, bestD := -1, int64(1<<62)
	for j := lo; j < len(ev.conn) && ev.conn[j].t <= t; j++ {
		if phase != "" && ev.names[ev.conn[j].phase] != phase {
			continue
		}
		d := ev.conn[j].t - a
		if d < 0 {
			d = -d
		}
		if d < bestD {
			best, bestD = j, d
		}
	}
	return best
}

// masked counts the faults that ended an attempt or a connection but not
// the request, and those repeated by a retry that failed too, with their
// price: what each request that survived them took over base (the
// baseline's p50, ms), and its attempts beyond the first. It calls bucket
// with each masked fault's time.
func (ev *evidence) masked(base float64, bucket func(time.Time)) Masked {
	m := Masked{Faults: ev.endFaults, Reasons: map[string]int{}, ByKind: map[string]int{}}
	mask := func(e *rec, reason string) {
		m.Count++
		m.Reasons[reason]++
		m.ByKind[ev.names[e.kind]]++
		bucket(e.time())
	}
	pr := newPricer(ev, base)
	for i := range ev.ended {
		e := &ev.ended[i]
		if e.kind == 0 {
			continue // an upstream failure the proxy saw, not a fault
		}
		in := ev.info(e.attack, e.seq, false)
		switch {
		case in.flags&(outcomeOK|outcomeFail|outcomePass) == 0:
			mask(e, scenarios.MaskedNoResult)
		case in.flags&outcomeOK != 0 && e.try != 0 && e.try < in.maxTry:
			// A later try of the client's reached the proxy: the client's
			// retry masked it, not the gateway's.
			mask(e, scenarios.MaskedClientRetried)
			pr.add(e, in)
		case in.flags&outcomeOK != 0 && uint16(e.attempt) < in.last:
			mask(e, scenarios.MaskedRetried)
			pr.add(e, in)
			if in.retried {
				m.GatewayConfirmed++
			}
		case in.flags&outcomeOK != 0:
			mask(e, scenarios.MaskedAbsorbed)
			pr.add(e, in)
		case in.flags&outcomeFail != 0 && uint16(e.attempt) < in.last:
			m.Repeated++
		case in.flags&outcomePass != 0:
			m.PassedOn++
		}
	}
	for j := range ev.conn {
		if !ev.used[j] {
			mask(&ev.conn[j], scenarios.MaskedConnUnused)
		}
	}
	m.Price = pr.prices()
	return m
}

// windows are time intervals.
type windows [][2]time.Time

// cover reports whether [from, to] overlaps a window.
func (w windows) cover(from, to time.Time) bool {
	for _, iv := range w {
		if !to.Before(iv[0]) && from.Before(iv[1]) {
			return true
		}
	}
	return false
}

// The kinds of client error ErrorKind tells apart; the report counts
// client errors by them.
const (
	ErrorTimeout  = "timeout"
	ErrorCanceled = "canceled"
	ErrorRefused  = "refused"
	ErrorReset    = "reset"
	ErrorEOF      = "eof" // the connection ended, before or after the headers
	ErrorOther    = "other"
)

// isStreamClass reports whether class is stream-cut or stream-stall.
func isStreamClass(class string) bool {
	return class == scenarios.ClassStreamCut || class == scenarios.ClassStreamStall
}

// ErrorKind classifies the error of a request without an answer (a
// vegeta Result's Error) as one of the Error constants, or ErrorStreamCut
// or ErrorStreamStall for a streaming answer cut or stalled.
func ErrorKind(msg string) string {
	if c := scenarios.StreamClass(msg); c != "" {
		return c
	}
	switch {
	case strings.Contains(msg, "Timeout") || strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline exceeded"):
		return ErrorTimeout
	case strings.Contains(msg, "context canceled"):
		return ErrorCanceled
	case strings.Contains(msg, "connection refused"):
		return ErrorRefused
	case strings.Contains(msg, "connection reset"):
		return ErrorReset
	case strings.HasSuffix(msg, "EOF"):
		return ErrorEOF
	}
	return ErrorOther
}
