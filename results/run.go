package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/gatecrash/gatecrash/attack"
)

// RunSchema identifies the run.json format.
const RunSchema = "gatecrash/run/v1"

// Run is what a report needs to know about a run beyond its results and
// events: the plan and the clock. It is written to run.json so that a
// report can be rebuilt from the run folder alone.
type Run struct {
	Schema string `json:"schema"`
	// Scenario is the scenario's name.
	Scenario string `json:"scenario"`
	// Attack is the vegeta attack name (X-Vegeta-Attack).
	Attack string `json:"attack"`
	// Seed is the seed of every fault decision.
	Seed uint64 `json:"seed"`
	// Started is the zero of the pacer's clock.
	Started time.Time `json:"started"`
	// Retry is the client retry policy in one line, as gatecrash validate
	// prints it; empty without one.
	Retry string `json:"retry,omitempty"`
	// Running is true in the run.json written as the attack starts, and
	// dropped when the run ends and writes it again: a run.json still
	// running belongs to a run that was killed before it could finish.
	Running bool `json:"running,omitempty"`
	// Interrupted is true when the run was stopped before its end.
	Interrupted bool `json:"interrupted"`
	// StoppedS is when an interrupted attack stopped sending, in seconds
	// from Started; zero when the run was not interrupted.
	StoppedS float64 `json:"stopped_s,omitempty"`
	// Gateway is the gateway kind: builtin, nginx, haproxy, caddy, or none
	// (a gateway gatecrash did not start).
	Gateway string `json:"gateway"`
	// GatewayVersion is what the gateway gatecrash started says of its
	// version, such as "nginx/1.22.1"; empty otherwise.
	GatewayVersion string `json:"gateway_version,omitempty"`
	// Phases is the plan.
	Phases []PhasePlan `json:"phases"`
	// Shard is set in the run.json of one shard of a sharded run (run
	// --shard): Phases are then the shard's share of the scenario's, 1/N
	// of every rate and count, and its hits are the scenario's
	// K-1, K-1+N, ...
	Shard *Shard `json:"shard,omitempty"`
	// Shards lists the shards a merged run joined (gatecrash merge), by
	// their attack names; Phases are then the whole scenario's.
	Shards []Shard `json:"shards,omitempty"`
}

// Shard is one shard of a sharded run: shard K of N (K from 1 to N).
type Shard struct {
	// Attack is the shard's attack name (X-Vegeta-Attack).
	Attack string `json:"attack"`
	K      int    `json:"k"`
	N      int    `json:"n"`
	// StartAt is the start the shards shared (run --start-at).
	StartAt time.Time `json:"start_at"`
}

// String says which shard: 2/4.
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// PhasePlan is one phase as planned.
type PhasePlan struct {
	Name string `json:"name"`
	// StartS and EndS are seconds from Run.Started.
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	// Planned is the number of hits the pacer plans in the phase.
	Planned float64 `json:"planned"`
	// Rate and RampTo are the offered rate at the phase's start and end,
	// per second; equal for a constant rate. Both zero in a run.json
	// written before they existed: the rate is then Planned over the
	// phase's length.
	Rate   float64 `json:"rate"`
	RampTo float64 `json:"ramp_to"`
	// Faults lists the kinds of the faults active in the phase.
	Faults []string `json:"faults,omitempty"`
	// FaultSpecs writes each fault of the phase as one line of YAML, in
	// their order, without repeats: what tells apart two phases whose
	// faults are of the same kinds with other settings. Absent in a
	// run.json written before it existed.
	FaultSpecs []string `json:"fault_specs,omitempty"`
}

// Schedule returns the pacer of the run's plan: when each hit was due and
// the offered rate at each moment. For one shard's run.json, it is the
// shard's view of the whole schedule (attack.Pacer.Shard).
func (r *Run) Schedule() *attack.Pacer {
	times := 1.0
	if r.Shard != nil && r.Shard.ok() {
		times = float64(r.Shard.N)
	}
	steps := make([]attack.Step, len(r.Phases))
	for i, p := range r.Phases {
		d := time.Duration((p.EndS - p.StartS) * float64(time.Second))
		st := attack.Step{Duration: d, Rate: p.Rate * times, RampTo: p.RampTo * times}
		if st.Rate == 0 && st.RampTo == 0 && d > 0 {
			st.Rate = p.Planned * times / d.Seconds()
			st.RampTo = st.Rate
		}
		steps[i] = st
	}
	p := attack.NewSchedule(steps)
	if r.Shard != nil && r.Shard.ok() {
		return p.Shard(r.Shard.K, r.Shard.N)
	}
	return p
}

// ok reports whether the shard is one of its N.
func (s Shard) ok() bool { return s.N >= 1 && s.K >= 1 && s.K <= s.N }

// shardPacers returns the view of each shard of a merged run, by attack
// name; nil for a run that is not a merge.
func (r *Run) shardPacers(whole *attack.Pacer) map[string]*attack.Pacer {
	if len(r.Shards) == 0 {
		return nil
	}
	m := make(map[string]*attack.Pacer, len(r.Shards))
	for _, s := range r.Shards {
		if s.ok() {
			m[s.Attack] = whole.Shard(s.K, s.N)
		}
	}
	return m
}

// WriteRun writes run.json whole or not at all: into a file beside it,
// then renamed over it, so that a run killed while it writes (run.json is
// written as the attack starts and again at its end) leaves the old one.
func WriteRun(path string, r *Run) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode run: %w", err)
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write run: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write run: %w", err)
	}
	return nil
}

// ReadRun reads run.json.
func ReadRun(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Schema != RunSchema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, r.Schema, RunSchema)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("%s: %w; it is not a run.json gatecrash wrote", path, err)
	}
	return &r, nil
}

// maxPlan bounds a plan's length: a run.json beyond it is not one
// gatecrash wrote, and its timeline would not fit in memory.
const maxPlan = 30 * 24 * time.Hour

// check rejects a plan no run has.
func (r *Run) check() error {
	if r.Started.IsZero() {
		return errors.New("started: missing")
	}
	if !finite(r.StoppedS) || r.StoppedS < 0 {
		return fmt.Errorf("stopped_s: %v is not a time in the run", r.StoppedS)
	}
	if r.Shard != nil && !r.Shard.ok() {
		return fmt.Errorf("shard: %s is not a shard K/N with K from 1 to N", r.Shard)
	}
	for i, s := range r.Shards {
		if !s.ok() {
			return fmt.Errorf("shards[%d]: %s is not a shard K/N with K from 1 to N", i, s)
		}
	}
	end := 0.0
	for i, p := range r.Phases {
		switch {
		case !finite(p.StartS) || !finite(p.EndS) || p.StartS < end || p.EndS < p.StartS:
			return fmt.Errorf("phases[%d]: start_s %v, end_s %v: phases must follow each other", i, p.StartS, p.EndS)
		case p.EndS > maxPlan.Seconds():
			return fmt.Errorf("phases[%d]: end_s %v is more than %s", i, p.EndS, maxPlan)
		case !finite(p.Planned) || p.Planned < 0 || !finite(p.Rate) || p.Rate < 0 || !finite(p.RampTo) || p.RampTo < 0:
			return fmt.Errorf("phases[%d]: planned %v, rate %v, ramp_to %v: must be numbers, at least 0", i, p.Planned, p.Rate, p.RampTo)
		}
		end = p.EndS
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
