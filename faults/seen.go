package faults

import (
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"time"
)

// AttemptsHorizon is how long the proxy remembers that a request reached
// it, to tell a retry of it (the same attack and seq again) from a first
// attempt: a retry that comes within AttemptsHorizon of the attempt
// before it is always counted as one; one that comes later may be taken
// for a first attempt (and then draws its faults as the first did). Two
// minutes is twice nginx's default proxy_read_timeout, the longest a
// gateway commonly waits on an attempt before it retries; gateways retry
// a refused, reset or closed attempt within milliseconds. Above
// attemptsGeneration requests per AttemptsHorizon (about 8,700/s) the
// horizon shrinks to the last attemptsGeneration requests, so that the
// memory stays bounded whatever the rate.
const AttemptsHorizon = 2 * time.Minute

// attemptsGeneration caps the requests one generation of attempts holds.
const attemptsGeneration = 1 << 20

// attempts counts how often each (attack, seq) reached the proxy, within
// a horizon (see AttemptsHorizon). It keeps two generations: a request is
// counted in the current one, and a generation that has lasted the
// horizon, or holds attemptsGeneration requests, becomes the old one, the
// old one being dropped. A request is thus remembered for at least the
// horizon, at most twice, and the memory is bounded by the requests of
// two horizons (two generations), whatever the run's length. Each
// generation keeps, per attack, the set of seqs seen once and the counts
// of the few seen more often: about 10 bytes a request.
type attempts struct {
	horizon  time.Duration // AttemptsHorizon, except in tests
	limit    int           // attemptsGeneration, except in tests
	cur, old generation
}

// generation is the attempts of one period, by attack.
type generation struct {
	began time.Time
	n     int // requests in seqs
	seqs  map[string]map[uint64]struct{}
	more  map[seqID]int // attempts of the seqs seen more than once
	// tries holds, by attack, the try numbers (see scenarios.HeaderTry) seen of
	// the seqs that came as another try than the first: bit t-1 for try
	// t, tries from 64 on sharing bit 63. A seq of seqs that is not in it
	// came as try 1 only, or without a try: so that a run whose requests
	// mostly succeed at their first try keeps no more than without tries.
	tries map[string]map[uint64]uint64
}

// triesOf returns the try numbers seen of id, which is in g, as a bit
// set: try 1 alone for a seq seen only as try 1 or without a try.
func (g *generation) triesOf(id seqID) uint64 {
	if mask, ok := g.tries[id.attack][id.seq]; ok {
		return mask
	}
	return tryBit(1)
}

// setTries records the try numbers seen of id.
func (g *generation) setTries(id seqID, mask uint64) {
	m := g.tries[id.attack]
	if m == nil {
		if g.tries == nil {
			g.tries = make(map[string]map[uint64]uint64)
		}
		m = make(map[uint64]uint64)
		g.tries[id.attack] = m
	}
	m[id.seq] = mask
}

// tryBit is try's bit in a generation's tries (try >= 1).
func tryBit(try int) uint64 { return 1 << (min(try, 64) - 1) }

// seqID identifies a request; it holds no pointer but the attack name's.
type seqID struct {
	attack string
	seq    uint64
}

// count returns how often id was seen in g.
func (g *generation) count(id seqID) int {
	if _, ok := g.seqs[id.attack][id.seq]; !ok {
		return 0
	}
	if n, ok := g.more[id]; ok {
		return n
	}
	return 1
}

// set records that id was seen n times (n >= 1).
func (g *generation) set(id seqID, n int) {
	set := g.seqs[id.attack]
	if set == nil {
		if g.seqs == nil {
			g.seqs = make(map[string]map[uint64]struct{})
		}
		set = make(map[uint64]struct{})
		g.seqs[id.attack] = set
	}
	if _, ok := set[id.seq]; !ok {
		set[id.seq] = struct{}{}
		g.n++
	}
	if n > 1 {
		if g.more == nil {
			g.more = make(map[seqID]int)
		}
		g.more[id] = n
	}
}

// next returns how often id was seen before now, within the horizon, and
// counts this time. try is the request's try number (0 for none); again
// reports that the same try of id was seen before, within the horizon
// (always false for try 0). Tries from 64 on are not told apart, and an
// arrival without a try counts as try 1 for the arrivals after it.
func (a *attempts) next(id seqID, try int, now time.Time) (n int, again bool) {
	horizon, limit := a.horizon, a.limit
	if horizon <= 0 {
		horizon = AttemptsHorizon
	}
	if limit <= 0 {
		limit = attemptsGeneration
	}
	switch age := now.Sub(a.cur.began); {
	case a.cur.began.IsZero():
		a.cur.began = now
	case age >= 2*horizon: // idle for a horizon: both are past it
		a.old, a.cur = generation{}, generation{began: now}
	case age >= horizon || a.cur.n >= limit:
		a.old, a.cur = a.cur, generation{began: now}
	}
	g := &a.cur
	n = a.cur.count(id)
	if n == 0 {
		g = &a.old
		n = a.old.count(id)
	}
	var mask uint64
	if n > 0 {
		mask = g.triesOf(id) // carried over to the current generation
	}
	if try > 0 {
		again = mask&tryBit(try) != 0
		mask |= tryBit(try)
	}
	if mask != 0 && mask != tryBit(1) {
		a.cur.setTries(id, mask)
	}
	a.cur.set(id, n+1)
	return n, again
}

// seenSet is the set of seqs of one attack that reached the proxy: one bit
// per seq, grown on demand. Seqs at or above limit are only counted, so
// that its memory stays bounded (limit/8 bytes at most).
type seenSet struct {
	words  []uint64 // bit i of words[w] is seq 64*w+i
	limit  uint64   // SeenLimit, except in tests
	n      uint64   // distinct seqs tracked
	capped uint64   // requests with a seq at or above limit
}

// add puts seq in the set.
func (s *seenSet) add(seq uint64) {
	if seq >= s.limit {
		s.capped++
		return
	}
	w, bit := seq/64, uint64(1)<<(seq%64)
	if w >= uint64(len(s.words)) {
		// Amortized growth: append doubles the capacity as needed.
		s.words = append(s.words, make([]uint64, w+1-uint64(len(s.words)))...)
	}
	if s.words[w]&bit == 0 {
		s.words[w] |= bit
		s.n++
	}
}

// ranges returns the set as sorted, non-overlapping, non-adjacent
// half-open intervals [lo, hi); nil when it is empty.
func (s *seenSet) ranges() [][2]uint64 {
	var out [][2]uint64
	var lo uint64
	open := false // a run of set bits started at lo and goes on
	for i, w := range s.words {
		base := uint64(i) * 64
		for pos := uint(0); pos < 64; {
			if !open {
				rest := w >> pos // the bits from pos up; 0: no set bit left
				if rest == 0 {
					break
				}
				pos += uint(bits.TrailingZeros64(rest))
				lo, open = base+uint64(pos), true
				continue
			}
			rest := ^w >> pos // the clear bits from pos up; 0: the run goes past this word
			if rest == 0 {
				break
			}
			pos += uint(bits.TrailingZeros64(rest))
			out = append(out, [2]uint64{lo, base + uint64(pos)})
			open = false
		}
	}
	if open {
		out = append(out, [2]uint64{lo, uint64(len(s.words)) * 64})
	}
	return out
}

// seenRangesPerEvent bounds the ranges of one seen observation, so that a
// line of events.jsonl stays far below what ReadEvents accepts (about 1.5
// MB at 24 bytes a range); a longer list is split over several events.
const seenRangesPerEvent = 1 << 16

// recordSeen records the seqs that reached the proxy: one seen observation
// per attack, attacks in sorted order (more than one for an attack whose
// ranges exceed seenRangesPerEvent). It then forgets them, so that a
// proxy served again reports each request once, in the seen events of
// the Serve that received it. The proxy of mode tcp reads no requests and
// records nothing.
func (p *Proxy) recordSeen() {
	p.mu.Lock()
	sets := p.seen
	p.seen = nil
	p.mu.Unlock()
	now := time.Now()
	for _, attack := range slices.Sorted(maps.Keys(sets)) {
		s := sets[attack]
		detail := fmt.Sprintf("received %d distinct seqs", s.n)
		if s.capped > 0 {
			detail += fmt.Sprintf("; capped: seqs above %d not tracked (untracked requests: %d)", s.limit-1, s.capped)
		}
		rs := s.ranges()
		parts := max(1, (len(rs)+seenRangesPerEvent-1)/seenRangesPerEvent)
		for i := range parts {
			e := Event{Time: now, Type: TypeObservation, Attack: attack, Kind: ObservedSeen, Fault: -1, Detail: detail}
			e.Ranges = rs[min(i*seenRangesPerEvent, len(rs)):min((i+1)*seenRangesPerEvent, len(rs))]
			if parts > 1 {
				e.Detail += fmt.Sprintf("; ranges part %d of %d", i+1, parts)
			}
			p.record(e)
		}
	}
}

// identify reads the request's attack, seq and try, counts its attempt
// and, for a seq from the request, marks it seen. again reports that the
// same try of the same (attack, seq) reached the proxy before: a gateway
// retry (false for a request without a try).
func (p *Proxy) identify(l *link, h *head) (e Event, again bool) {
	// The attack name is the same on every request of a run: keep the
	// link's last one rather than allocate it anew.
	if string(h.attack) != l.attack {
		l.attack = string(h.attack)
	}
	e = Event{Attack: l.attack, Conn: l.id, Try: parseTry(h.try)}
	p.requests.Add(1)
	seq, ok := parseSeq(h.seq)
	if !ok {
		// No usable seq: number the request ourselves, in a space apart.
		e.Attack = "gatecrash-proxy-counter"
		seq = p.counter.Add(1) - 1
	}
	e.Seq = &seq
	p.mu.Lock()
	// A counter's seq is new every time: no attempt came before it, and
	// the seen events tell of vegeta's seqs, not of the counter's.
	if ok {
		e.Attempt, again = p.attempts.next(seqID{e.Attack, seq}, e.Try, time.Now())
		s := p.seen[e.Attack]
		if s == nil {
			if p.seen == nil {
				p.seen = make(map[string]*seenSet)
			}
			s = &seenSet{limit: SeenLimit}
			p.seen[e.Attack] = s
		}
		s.add(seq)
	}
	p.mu.Unlock()
	return e, again
}

// maxTry is the largest try number the proxy reads; a larger one is
// ignored as junk.
const maxTry = 1<<31 - 1

// parseTry parses a try number (see scenarios.HeaderTry) without allocating: a
// decimal from 1 to maxTry; 0 for anything else, as for no header.
func parseTry(b []byte) int {
	n, ok := parseSeq(b)
	if !ok || n < 1 || n > maxTry {
		return 0
	}
	return int(n)
}

// parseSeq parses a decimal seq without allocating.
func parseSeq(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}
