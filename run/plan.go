package run

import (
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

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
		out[len(out)-1].FaultSpecs = specs(ph.Faults)
		if ph.RampTo != nil {
			out[len(out)-1].RampTo = ph.RampTo.PerSecond()
		}
		at = end
	}
	if _, n := p.ShardOf(); n > 0 {
		// A shard offers its share of every rate.
		for i := range out {
			out[i].Rate /= float64(n)
			out[i].RampTo /= float64(n)
		}
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

// specs writes each fault as one line of YAML, without repeats, in their
// order: what tells two phases' faults apart when their kinds are alike.
// The values of secret headers (a status fault's answer headers, a match
// on a header) are redacted, as everywhere in a run folder.
func specs(fs []scenarios.Fault) []string {
	var out []string
	for _, f := range fs {
		f.Headers, f.Match.Header = redacted(f.Headers), redacted(f.Match.Header)
		n := &yaml.Node{}
		if err := n.Encode(f); err != nil {
			continue // a validated fault encodes; without its spec the phase is told by its kinds
		}
		flow(n)
		b, err := yaml.Marshal(n)
		if err != nil {
			continue
		}
		if s := strings.TrimSpace(string(b)); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// flow sets n and everything under it to YAML's flow style, one line.
func flow(n *yaml.Node) {
	n.Style |= yaml.FlowStyle
	for _, c := range n.Content {
		flow(c)
	}
}

// redacted returns a copy of h with the values of its secret headers
// replaced by results.Redacted; nil for nil.
func redacted(h map[string]string) map[string]string {
	if h == nil {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		if results.SecretHeader(k) {
			v = results.Redacted
		}
		out[k] = v
	}
	return out
}
