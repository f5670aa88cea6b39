package results

import (
	"sort"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
)

// Evidence levels, strongest first.
const (
	levelExact = iota
	levelTemporal
	levelSignature
	levelNone
)

// Masked reasons.
const (
	maskedRetried    = "gateway-retried"
	maskedAbsorbed   = "absorbed"
	maskedConnUnused = "connection-unused"
	maskedNoResult   = "no-result"
)

// temporalSlack widens a request's in-flight window backwards when
// looking for a connection-level fault: the gateway may pick the broken
// connection a moment before the attacker's clock says it sent.
const temporalSlack = 10 * time.Millisecond

// key identifies a request across results and events.
type key struct {
	attack string
	seq    uint64
}

// request is what the events say about one (attack, seq).
type request struct {
	last  int   // the last attempt the proxy saw
	ended []int // events that ended an attempt, by index
	slow  int   // a fault on the last attempt that held the answer back, or -1
	// outcome is 0 while no result was seen, then outcomeOK or
	// outcomeFailed.
	outcome int8
}

const (
	outcomeOK = 1 + iota
	outcomeFailed
)

// evidence indexes a run's events for attribution.
type evidence struct {
	events   []faults.Event
	requests map[key]*request
	conn     []int // connection-level faults, by index, in time order
	used     []bool
	refused  windows
	seen     map[string][][2]uint64 // per attack, the seqs the proxy saw; nil when unknown
	told     map[key][]*Testimony   // the gateway's own log entries per request
}

func newEvidence(events []faults.Event) *evidence {
	ev := &evidence{events: events, requests: map[key]*request{}, refused: refuseWindows(events)}
	for i := range events {
		e := &events[i]
		if e.Type == faults.TypeObservation && e.Kind == faults.ObservedSeen {
			if ev.seen == nil {
				ev.seen = map[string][][2]uint64{}
			}
			ev.seen[e.Attack] = append(ev.seen[e.Attack], e.Ranges...)
			continue
		}
		if e.Seq == nil {
			if e.Type == faults.TypeFault && e.Ended && e.Cause != "" && e.Kind != "refuse" {
				ev.conn = append(ev.conn, i)
			}
			continue
		}
		k := key{e.Attack, *e.Seq}
		rq := ev.requests[k]
		if rq == nil {
			rq = &request{slow: -1}
			ev.requests[k] = rq
		}
		rq.last = max(rq.last, e.Attempt)
		if e.Ended && e.Cause != "" {
			rq.ended = append(rq.ended, i)
		}
	}
	// A fault that held the answer back on the last attempt.
	for i := range events {
		e := &events[i]
		if e.Seq == nil || e.Type != faults.TypeFault || e.Ended || !holdsBack(e.Kind) {
			continue
		}
		if rq := ev.requests[key{e.Attack, *e.Seq}]; rq.last == e.Attempt && rq.slow < 0 {
			rq.slow = i
		}
	}
	sort.SliceStable(ev.conn, func(a, b int) bool { return events[ev.conn[a]].Time.Before(events[ev.conn[b]].Time) })
	ev.used = make([]bool, len(ev.conn))
	for _, s := range ev.seen {
		sort.Slice(s, func(a, b int) bool { return s[a][0] < s[b][0] })
	}
	return ev
}

// holdsBack reports whether a fault kind delays an answer without ending
// the exchange.
func holdsBack(kind string) bool {
	switch kind {
	case "latency", "slow-headers", "slow-body":
		return true
	}
	return false
}

// sawKnown reports whether the proxy's record of what it saw covers k.
func (ev *evidence) sawKnown(k key) bool {
	return ev.seen != nil && k.seq < faults.SeenLimit
}

// saw reports whether the proxy received k at least once; when its record
// does not cover k, whether any event names k.
func (ev *evidence) saw(k key, rq *request) bool {
	if !ev.sawKnown(k) {
		return rq != nil
	}
	rs := ev.seen[k.attack]
	i := sort.Search(len(rs), func(i int) bool { return rs[i][1] > k.seq })
	return i < len(rs) && rs[i][0] <= k.seq
}

// explain returns the cause of a failed result, its evidence level, and the
// event that gave it (-1 for none).
func (ev *evidence) explain(r *vegeta.Result, rq *request, class, phase string, sig Signature) (string, int, int) {
	k := key{r.Attack, r.Seq}
	if rq != nil {
		for _, i := range rq.ended {
			if ev.events[i].Attempt == rq.last {
				return ev.events[i].Cause, levelExact, i
			}
		}
		if rq.slow >= 0 && (class == "504" || (class == ClassError && errorKind(r.Error) == "timeout")) {
			return CauseUpstreamLatency, levelExact, rq.slow
		}
	}
	if !ev.saw(k, rq) {
		from, to := r.Timestamp, r.End()
		if ev.refused.cover(from, to) {
			return "connection-refused", levelTemporal, -1
		}
		if j := ev.nearest(from.Add(-temporalSlack), to, from, ""); j >= 0 {
			ev.used[j] = true
			return ev.events[ev.conn[j]].Cause, levelTemporal, ev.conn[j]
		}
		// The proxy never saw it while a connection-level fault was active
		// in its phase.
		if ev.sawKnown(k) {
			if j := ev.nearest(time.Time{}, time.Unix(1<<40, 0), from, phase); j >= 0 {
				ev.used[j] = true
				return ev.events[ev.conn[j]].Cause, levelTemporal, ev.conn[j]
			}
		}
	}
	if c := wordsCause(ev.words(k)); c != "" {
		return c, levelSignature, -1
	}
	if sig.Cause != "" {
		return sig.Cause, levelSignature, -1
	}
	if ev.sawKnown(k) && !ev.saw(k, rq) {
		if sig.Gateway != "" {
			return CauseGatewayLocal, levelSignature, -1
		}
		return CauseGatewayLocal, levelNone, -1
	}
	return CauseUnattributed, levelNone, -1
}

// words returns what the gateway's own logs said about k.
func (ev *evidence) words(k key) string {
	var w []string
	for _, t := range ev.told[k] {
		if t.Words != "" {
			w = append(w, t.Words)
		}
	}
	return strings.Join(w, "; ")
}

// retried reports whether the gateway's own log says it retried k.
func (ev *evidence) retried(k key) bool {
	for _, t := range ev.told[k] {
		if t.Retries > 0 || len(t.Upstream) > 1 {
			return true
		}
	}
	return false
}

// gatewayWords maps what gateways log to the cause it names. The first
// phrase found wins, so the last try's words (logged last) do not matter
// more than the first's; the phrases are nginx's error log, HAProxy's
// termination states and Go's (Caddy's) errors.
var gatewayWords = []struct{ phrase, cause string }{
	{"Connection refused", "connection-refused"},
	{"connection refused", "connection-refused"},
	{"no live upstreams", "connection-refused"},
	{"SC--", "connection-refused"},
	{"timed out", "upstream-timeout"},
	{"sH--", "upstream-timeout"},
	{"timeout awaiting response headers", "upstream-timeout"},
	{"Connection reset by peer", "reset-before-headers"},
	{"connection reset by peer", "reset-before-headers"},
	{"prematurely closed connection while reading response header", "closed-before-headers"},
	{"prematurely closed connection", "closed-mid-body"},
	{"SH--", "closed-before-headers"},
	{"SD--", "closed-mid-body"},
	{"no valid HTTP/1.0 header", "malformed-status-line"},
	{"malformed HTTP", "malformed-response"},
	{"invalid header", "malformed-header"},
	{"too big header", "oversized-headers"},
	{"PH--", "malformed-response"},
	{"unexpected EOF", "closed-mid-body"},
	{"EOF", "closed-before-headers"},
}

// wordsCause returns the cause a gateway's words name, or "".
func wordsCause(words string) string {
	if words == "" {
		return ""
	}
	for _, w := range gatewayWords {
		if strings.Contains(words, w.phrase) {
			return w.cause
		}
	}
	return ""
}

// nearest returns the connection-level fault within [from, to], of phase
// when it is not empty, nearest to at; -1 for none.
func (ev *evidence) nearest(from, to, at time.Time, phase string) int {
	lo := sort.Search(len(ev.conn), func(i int) bool { return !ev.events[ev.conn[i]].Time.Before(from) })
	best, bestD := -1, time.Duration(1<<62)
	for j := lo; j < len(ev.conn); j++ {
		e := &ev.events[ev.conn[j]]
		if e.Time.After(to) {
			break
		}
		if phase != "" && e.Phase != phase {
			continue
		}
		d := e.Time.Sub(at)
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
// the request, and those repeated by a retry that failed too. It calls
// bucket with each masked fault's time.
func (ev *evidence) masked(bucket func(time.Time)) Masked {
	m := Masked{Reasons: map[string]int{}, ByKind: map[string]int{}}
	mask := func(e *faults.Event, reason string) {
		m.Count++
		m.Reasons[reason]++
		m.ByKind[e.Kind]++
		bucket(e.Time)
	}
	// Walk the events in their order, so the result does not depend on map
	// order.
	for i := range ev.events {
		e := &ev.events[i]
		if e.Type != faults.TypeFault || !e.Ended || e.Cause == "" || e.Kind == "refuse" {
			continue
		}
		m.Faults++
		if e.Seq == nil {
			continue
		}
		rq := ev.requests[key{e.Attack, *e.Seq}]
		switch {
		case rq.outcome == 0:
			mask(e, maskedNoResult)
		case rq.outcome == outcomeOK && e.Attempt < rq.last:
			mask(e, maskedRetried)
			if ev.retried(key{e.Attack, *e.Seq}) {
				m.GatewayConfirmed++
			}
		case rq.outcome == outcomeOK:
			mask(e, maskedAbsorbed)
		case e.Attempt < rq.last:
			m.Repeated++
		}
	}
	for j, i := range ev.conn {
		if !ev.used[j] {
			mask(&ev.events[i], maskedConnUnused)
		}
	}
	return m
}

// answeredByProxy reports whether the event's fault wrote the answer the
// gateway passed on, so that the answer is not the gateway's own.
func answeredByProxy(e *faults.Event) bool {
	return e.Kind == "status" || (e.Kind == "overload" && strings.HasPrefix(e.Detail, "rejected with 503"))
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

// refuseWindows returns when the proxy's listener was refusing
// connections: from each refuse fault event to the next refuse-ended
// observation (or forever).
func refuseWindows(events []faults.Event) windows {
	var w windows
	var open *time.Time
	for _, e := range events {
		switch {
		case e.Type == faults.TypeFault && e.Kind == "refuse" && open == nil:
			t := e.Time
			open = &t
		case e.Type == faults.TypeObservation && e.Kind == faults.ObservedRefuseEnded && open != nil:
			w = append(w, [2]time.Time{*open, e.Time})
			open = nil
		}
	}
	if open != nil {
		w = append(w, [2]time.Time{*open, time.Unix(1<<40, 0)})
	}
	return w
}

// errorKind classifies the error of a request without an answer.
func errorKind(msg string) string {
	switch {
	case strings.Contains(msg, "Timeout") || strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline exceeded"):
		return "timeout"
	case strings.Contains(msg, "context canceled"):
		return "canceled"
	case strings.Contains(msg, "connection refused"):
		return "refused"
	case strings.Contains(msg, "connection reset"):
		return "reset"
	case strings.HasSuffix(msg, "EOF"):
		return "eof"
	}
	return "other"
}
