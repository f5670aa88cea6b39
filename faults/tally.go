package faults

import (
	"fmt"
	"strconv"
	"time"
)

// recordTally records one tally observation per rule of every phase of
// the schedule in force, phases and rules in order (see ObservedTally).
func (p *Proxy) recordTally() {
	now := time.Now()
	for _, ph := range p.Phases() {
		for _, r := range ph.Rules {
			p.record(tally(now, ph.Name, r))
		}
	}
}

// tally returns the tally observation of rule r of phase: its counters
// as they are now.
func tally(at time.Time, phase string, r Rule) Event {
	e := Event{Time: at, Type: TypeObservation, Kind: ObservedTally, Phase: phase, Fault: r.Index,
		FaultKind: r.Kind, Matched: r.Matched(), Applied: r.Applied(), P: r.Probability}
	if m, ok := r.Fault.(Misser); ok {
		e.Conditional = true
		if e.Applied == 0 {
			e.Detail = m.Missed()
			return e
		}
	}
	e.Detail = fmt.Sprintf("matched %d, applied %d, probability %s", e.Matched, e.Applied, strconv.FormatFloat(e.P, 'g', -1, 64))
	return e
}
