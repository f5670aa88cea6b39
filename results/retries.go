package results

import (
	"sort"
	"time"

	"github.com/gatecrash/gatecrash/attack"
)

// Retries says what a client retry policy (the scenario's client.retry)
// bought and what it cost, over the requests of a part of the run: the
// whole run, a phase, or a timeline bucket. A request counts in the part
// its first try was sent in, with all its tries and every arrival of its
// seq at the proxy, whenever they happened.
//
// A try succeeded when it was answered in full with a 2xx or 3xx; any
// other outcome (no answer, a body cut short, a 4xx, a 5xx) is a failure,
// as the retrying attacker sees it before consulting retry_on.
type Retries struct {
	// Requests counts the requests: the first tries.
	Requests int `json:"requests"`
	// Tries counts every try of them, the first ones included.
	Tries int `json:"tries"`
	// FirstTryFailures counts the requests whose first try failed: what
	// the users would have seen without the policy.
	FirstTryFailures int `json:"first_try_failures"`
	// UserFailures counts the requests whose last try failed: what the
	// users saw.
	UserFailures int `json:"user_failures"`
	// Hidden counts the requests whose first try failed and whose last
	// succeeded: the errors the policy hid.
	Hidden int `json:"hidden"`
	// FirstTryFailureRate and UserFailureRate are FirstTryFailures and
	// UserFailures over Requests.
	FirstTryFailureRate float64 `json:"first_try_failure_rate"`
	UserFailureRate     float64 `json:"user_failure_rate"`
	// TriesPerRequest is Tries over Requests: the load the client put on
	// the gateway per request.
	TriesPerRequest float64 `json:"tries_per_request"`
	// UpstreamArrivals counts the arrivals of the requests at the proxy,
	// in front of the upstream: per request, 1 plus the proxy's retry and
	// client-retry observations of its seq, 0 when the proxy never saw it.
	UpstreamArrivals int `json:"upstream_arrivals"`
	// Amplification is UpstreamArrivals over Requests: the load reaching
	// the upstream per request, the client's and the gateway's retries
	// multiplied.
	Amplification float64 `json:"amplification"`
	// GatewayRetries counts the gateway's own retries (the proxy's retry
	// observations: the same try again), apart from the client's.
	GatewayRetries int `json:"gateway_retries"`
	// AddedLatencyMS is, over the requests that succeeded after a retry,
	// the latency the retries added: from the end of the first try to the
	// end of the last (backoffs and later tries), in milliseconds.
	AddedLatencyMS BucketLatency `json:"added_latency_ms"`
	// BudgetExhausted counts the requests whose retry the retry budget
	// refused; BudgetFirstS is when that first happened (the end of the
	// try the budget did not let retry), null when it never did.
	BudgetExhausted int      `json:"budget_exhausted"`
	BudgetFirstS    *float64 `json:"budget_first_s"`
	// RetryAfter counts the tries that waited what a Retry-After asked.
	RetryAfter int `json:"retry_after"`
	// Stops counts the requests by why their tries ended (success,
	// not-retryable, attempts, deadline, budget, interrupted).
	Stops map[string]int `json:"stops"`
	// Policy is the client retry policy in one line, from run.json; in
	// the run's total only, absent when run.json does not say.
	Policy string `json:"policy,omitempty"`
	// Surge is the longest stretch in which the retries multiplied the
	// load reaching the upstream; in the run's total only, and absent when
	// no timeline bucket's amplification reached SurgeFactor.
	Surge *Surge `json:"surge,omitempty"`
}

// SurgeFactor is the amplification from which a timeline bucket counts
// in a Surge: retries added half the offered load or more.
const SurgeFactor = 1.5

// Surge is a stretch of consecutive timeline buckets whose amplification
// (arrivals at the upstream per request first sent in the bucket) reached
// SurgeFactor: a retry storm, when it outlasts the fault that began it.
type Surge struct {
	// FromS and ToS bound the stretch, in seconds from the start.
	FromS float64 `json:"from_s"`
	ToS   float64 `json:"to_s"`
	// Amplification is the stretch's arrivals over its requests.
	Amplification float64 `json:"amplification"`
	// OfferedRate and UpstreamRate are the requests (first tries) and
	// their arrivals at the upstream per second over the stretch.
	OfferedRate  float64 `json:"offered_rate"`
	UpstreamRate float64 `json:"upstream_rate"`
}

// surgeOf finds the longest stretch of buckets, each width long, whose
// amplification reached SurgeFactor; the first of equals. nil when none
// did.
func surgeOf(tl []Bucket, width time.Duration) *Surge {
	var best *Surge
	for i := 0; i < len(tl); {
		if !surging(&tl[i]) {
			i++
			continue
		}
		j, requests, arrivals := i, 0, 0
		for ; j < len(tl) && surging(&tl[j]); j++ {
			requests += tl[j].Retries.Requests
			arrivals += tl[j].Retries.UpstreamArrivals
		}
		d := time.Duration(j-i) * width
		if best == nil || d.Seconds() > best.ToS-best.FromS+1e-9 {
			from := time.Duration(i) * width
			best = &Surge{
				FromS: round(from.Seconds()), ToS: round((from + d).Seconds()),
				Amplification: round(float64(arrivals) / float64(requests)),
				OfferedRate:   round(float64(requests) / d.Seconds()),
				UpstreamRate:  round(float64(arrivals) / d.Seconds()),
			}
		}
		i = j
	}
	return best
}

// surging reports whether a bucket's retries reached SurgeFactor.
func surging(b *Bucket) bool {
	r := b.Retries
	return r != nil && r.Requests > 0 && float64(r.UpstreamArrivals) >= SurgeFactor*float64(r.Requests)
}

// retryAcc adds up the requests of one part of the run.
type retryAcc struct {
	requests, tries, firstFail, userFail, hidden int
	arrivals, gateway, budget, retryAfter        int
	budgetFirst                                  *time.Duration
	added                                        []float64
	stops                                        map[string]int
}

// pendingTries is what is kept of a request between its first try and
// its last.
type pendingTries struct {
	first, last attack.Try
	tries       int
	retryAfter  int
}

// triesKey identifies a request in tries.jsonl.
type triesKey struct {
	attack string
	seq    uint64
}

// tryOK reports whether a try succeeded: answered in full with a 2xx or
// 3xx.
func tryOK(t *attack.Try) bool {
	return t.Error == "" && t.Code >= 200 && t.Code < 400
}

// AddTry takes one try of tries.jsonl (a run with a client retry policy).
// Give it every event first; the tries of a request come in order, those
// of different requests in any order. It does not keep t.
func (a *Analyzer) AddTry(t *attack.Try) {
	a.finishEvidence()
	if a.pending == nil {
		a.pending = map[triesKey]*pendingTries{}
		a.retries = &retryAcc{}
	}
	k := triesKey{t.Attack, t.Seq}
	p := a.pending[k]
	if p == nil {
		p = &pendingTries{first: *t}
		a.pending[k] = p
	}
	p.tries++
	p.last = *t
	if t.RetryAfter {
		p.retryAfter++
	}
	if t.Stop != "" {
		delete(a.pending, k)
		a.endTries(p)
	}
}

// endTries counts a request whose tries ended.
func (a *Analyzer) endTries(p *pendingTries) {
	off := p.first.Time.Sub(a.run.Started)
	accs := []*retryAcc{a.retries}
	b := a.bucketAt(off)
	if b.retries == nil {
		b.retries = &retryAcc{}
	}
	accs = append(accs, b.retries)
	if pi := phaseIndex(a.run, off); pi >= 0 {
		ph := &a.phases[pi]
		if ph.retries == nil {
			ph.retries = &retryAcc{}
		}
		accs = append(accs, ph.retries)
	}
	firstFail, lastOK := !tryOK(&p.first), tryOK(&p.last)
	arrivals, gateway := a.arrivals(p)
	var added float64
	if firstFail && lastOK {
		end := p.last.Time.Add(p.last.Latency)
		added = float64(end.Sub(p.first.Time.Add(p.first.Latency))) / float64(time.Millisecond)
	}
	budgetAt := p.last.Time.Add(p.last.Latency).Sub(a.run.Started)
	for _, acc := range accs {
		acc.requests++
		acc.tries += p.tries
		acc.retryAfter += p.retryAfter
		acc.arrivals += arrivals
		acc.gateway += gateway
		if firstFail {
			acc.firstFail++
		}
		if !lastOK {
			acc.userFail++
		}
		if firstFail && lastOK {
			acc.hidden++
			acc.added = append(acc.added, max(added, 0))
		}
		if p.last.Stop == attack.StopBudget {
			acc.budget++
			if acc.budgetFirst == nil || budgetAt < *acc.budgetFirst {
				at := budgetAt
				acc.budgetFirst = &at
			}
		}
		if acc.stops == nil {
			acc.stops = map[string]int{}
		}
		stop := p.last.Stop
		if stop == "" {
			stop = "unknown" // tries.jsonl was cut before the request ended
		}
		acc.stops[stop]++
	}
}

// arrivals returns how often a request reached the proxy, and how many of
// those were the gateway's own retries. A request the proxy's record of
// what it saw does not hold never reached it; without such a record, each
// try is taken to have arrived once, unless events say more.
func (a *Analyzer) arrivals(p *pendingTries) (arrivals, gateway int) {
	in := a.ev.lookup(p.first.Attack, p.first.Seq)
	if a.ev.sawKnown(p.first.Seq) {
		if !a.ev.saw(p.first.Attack, p.first.Seq, in) {
			return 0, 0
		}
		if in == nil || in.flags&infoEvents == 0 {
			return 1, 0
		}
		return int(in.last) + 1, int(in.gwRetry)
	}
	if in == nil || in.flags&infoEvents == 0 {
		return p.tries, 0
	}
	return max(int(in.last)+1, p.tries), int(in.gwRetry)
}

// flushTries counts the requests whose last try tries.jsonl does not hold
// (it was cut short), as far as their tries go, in a stable order.
func (a *Analyzer) flushTries() {
	keys := make([]triesKey, 0, len(a.pending))
	for k := range a.pending {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].attack != keys[j].attack {
			return keys[i].attack < keys[j].attack
		}
		return keys[i].seq < keys[j].seq
	})
	for _, k := range keys {
		p := a.pending[k]
		delete(a.pending, k)
		a.endTries(p)
	}
}

// report returns the figures of acc; nil for a nil acc.
func (acc *retryAcc) report() *Retries {
	if acc == nil {
		return nil
	}
	r := &Retries{
		Requests: acc.requests, Tries: acc.tries, FirstTryFailures: acc.firstFail, UserFailures: acc.userFail,
		Hidden: acc.hidden, UpstreamArrivals: acc.arrivals, GatewayRetries: acc.gateway,
		BudgetExhausted: acc.budget, RetryAfter: acc.retryAfter, Stops: acc.stops,
	}
	if r.Stops == nil {
		r.Stops = map[string]int{}
	}
	if n := float64(acc.requests); n > 0 {
		r.FirstTryFailureRate = round(float64(acc.firstFail) / n)
		r.UserFailureRate = round(float64(acc.userFail) / n)
		r.TriesPerRequest = round(float64(acc.tries) / n)
		r.Amplification = round(float64(acc.arrivals) / n)
	}
	if len(acc.added) > 0 {
		p := percentiles(acc.added, 50, 99)
		r.AddedLatencyMS = BucketLatency{P50: round(p[0]), P99: round(p[1])}
	}
	if acc.budgetFirst != nil {
		s := round(acc.budgetFirst.Seconds())
		r.BudgetFirstS = &s
	}
	return r
}
