package attack

import (
	"fmt"
	"math"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/scenarios"
)

// Pacer is a vegeta.Pacer that walks a scenario's phases back to back:
// within a phase the rate is constant, or moves linearly from its rate to
// its ramp_to. Hit n is due at the moment the planned count of hits since
// the start reaches n, so the total and every phase's count are fixed by
// the scenario alone. A Pacer is safe for concurrent use (it is immutable).
//
// A shard view (Shard) offers 1/N of the schedule: shard k of n takes the
// global hits k-1, k-1+n, k-1+2n, ..., so that the n shards together send
// exactly the whole schedule's hits, each at its global due time.
type Pacer struct {
	segs  []segment
	total time.Duration
	// k and n: the shard view, hits k-1, k-1+n, ... of the schedule; n
	// is 0 for the whole schedule.
	k, n uint64
}

var _ vegeta.Pacer = (*Pacer)(nil)

// segment is one phase in pacer terms.
type segment struct {
	start, dur time.Duration
	r0, r1     float64 // hits per second at the start and the end
	before     float64 // hits planned before the segment
}

// hits returns the planned hits within the segment after tau.
func (s segment) hits(tau time.Duration) float64 {
	t, d := tau.Seconds(), s.dur.Seconds()
	return s.r0*t + (s.r1-s.r0)*t*t/(2*d)
}

// at returns the time within the segment when m planned hits are reached.
func (s segment) at(m float64) time.Duration {
	if m <= 0 {
		return 0
	}
	a := (s.r1 - s.r0) / (2 * s.dur.Seconds())
	b := s.r0
	disc := b*b + 4*a*m
	if disc < 0 {
		disc = 0
	}
	den := b + math.Sqrt(disc)
	if den <= 0 {
		return s.dur
	}
	// The stable root of a*t^2 + b*t - m = 0, which also holds for a = 0.
	return time.Duration(2 * m / den * float64(time.Second))
}

// Step is one phase of a schedule in plain numbers: it lasts Duration,
// and its rate moves linearly from Rate to RampTo hits per second (equal
// for a constant rate).
type Step struct {
	Duration     time.Duration
	Rate, RampTo float64
}

// NewPacer returns the pacer for a scenario's phases.
func NewPacer(phases []scenarios.Phase) *Pacer {
	steps := make([]Step, len(phases))
	for i, ph := range phases {
		steps[i] = Step{Duration: ph.Duration.D(), Rate: ph.Rate.PerSecond(), RampTo: ph.Rate.PerSecond()}
		if ph.RampTo != nil {
			steps[i].RampTo = ph.RampTo.PerSecond()
		}
	}
	return NewSchedule(steps)
}

// NewSchedule returns the pacer for steps, the same a scenario with these
// phases gets: a report rebuilds its run's schedule with it.
func NewSchedule(steps []Step) *Pacer {
	p := &Pacer{}
	var before float64
	for _, st := range steps {
		s := segment{start: p.total, dur: st.Duration, r0: st.Rate, r1: st.RampTo, before: before}
		before += s.hits(s.dur)
		p.total += s.dur
		p.segs = append(p.segs, s)
	}
	return p
}

// Shard returns the view of shard k of n (k from 1 to n) of the whole
// schedule p: its hit i is the schedule's hit (i*n + k-1), due when that
// one is; its Rate and Planned are 1/n of the schedule's. A view of a
// view is a view of the whole schedule. It panics unless 1 <= k <= n.
func (p *Pacer) Shard(k, n int) *Pacer {
	if n < 1 || k < 1 || k > n {
		panic(fmt.Sprintf("attack: shard %d of %d", k, n))
	}
	v := *p
	v.k, v.n = uint64(k), uint64(n)
	return &v
}

// ShardOf returns the shard the pacer views, k of n, or 0 of 0 for a
// whole schedule.
func (p *Pacer) ShardOf() (k, n int) { return int(p.k), int(p.n) }

// global returns the schedule's hit of the view's hit i.
func (p *Pacer) global(i uint64) uint64 {
	if p.n == 0 {
		return i
	}
	return i*p.n + p.k - 1
}

// share returns the view's share of a quantity of the whole schedule.
func (p *Pacer) share(v float64) float64 {
	if p.n == 0 {
		return v
	}
	return v / float64(p.n)
}

// Duration returns the length of the whole attack.
func (p *Pacer) Duration() time.Duration { return p.total }

// Phase returns the index of the phase running at elapsed, or -1 outside
// the attack.
func (p *Pacer) Phase(elapsed time.Duration) int {
	if elapsed < 0 {
		return -1
	}
	for i, s := range p.segs {
		if elapsed < s.start+s.dur {
			return i
		}
	}
	return -1
}

// PhaseClamped is Phase, but before the attack it returns the first phase
// and after it the last.
func (p *Pacer) PhaseClamped(elapsed time.Duration) int {
	if i := p.Phase(elapsed); i >= 0 || elapsed < 0 {
		return max(i, 0)
	}
	return len(p.segs) - 1
}

// Planned returns the hits planned from the start until elapsed; in a
// shard view, 1/n of the schedule's, which the shard's own count matches
// within one hit.
func (p *Pacer) Planned(elapsed time.Duration) float64 {
	if len(p.segs) == 0 || elapsed <= 0 {
		return 0
	}
	last := p.segs[len(p.segs)-1]
	if elapsed >= p.total {
		return p.share(last.before + last.hits(last.dur))
	}
	s := p.segs[p.Phase(elapsed)]
	return p.share(s.before + s.hits(elapsed-s.start))
}

// Due returns when hit n (counting from 0) is due, and false when it falls
// after the end of the attack.
func (p *Pacer) Due(n uint64) (time.Duration, bool) {
	m := float64(p.global(n))
	for _, s := range p.segs {
		in := s.hits(s.dur)
		if m < s.before+in {
			return s.start + s.at(m-s.before), true
		}
	}
	return p.total, false
}

// Pace implements vegeta.Pacer.
func (p *Pacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	due, ok := p.Due(hits)
	if !ok {
		return 0, true
	}
	if due <= elapsed {
		return 0, false
	}
	return due - elapsed, false
}

// Rate implements vegeta.Pacer: the offered rate at elapsed, per second.
func (p *Pacer) Rate(elapsed time.Duration) float64 {
	i := p.Phase(elapsed)
	if i < 0 {
		return 0
	}
	s := p.segs[i]
	f := (elapsed - s.start).Seconds() / s.dur.Seconds()
	return p.share(s.r0 + (s.r1-s.r0)*f)
}
