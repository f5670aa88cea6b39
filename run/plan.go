package run

import (
	"slices"
	"time"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// planOf returns the scenario's phases as the pacer plans them.
func planOf(sc *scenarios.Scenario, p *attack.Pacer) []results.PhasePlan {
	var out []results.PhasePlan
	var at time.Duration
	for _, ph := range sc.Phases {
		end := at + ph.Duration.D()
		out = append(out, results.PhasePlan{
			Name:    ph.Name,
			StartS:  at.Seconds(),
			EndS:    end.Seconds(),
			Planned: p.Planned(end) - p.Planned(at),
			Rate:    ph.Rate.PerSecond(),
			RampTo:  ph.Rate.PerSecond(),
			Faults:  kinds(ph.Faults),
		})
		if ph.RampTo != nil {
			out[len(out)-1].RampTo = ph.RampTo.PerSecond()
		}
		at = end
	}
	return out
}

// kinds lists the kinds of faults, without repeats, in their order.
func kinds(fs []scenarios.Fault) []string {
	var out []string
	for _, f := range fs {
		if !slices.Contains(out, f.Kind) {
			out = append(out, f.Kind)
		}
	}
	return out
}
