package run

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/scenarios"
)

// TestPlanFaultSpecs checks that the plan tells apart phases whose faults
// are of the same kinds with other settings (retry-storm's spike, a
// latency fault, beside the cap's own latency), and keeps alike phases
// alike.
func TestPlanFaultSpecs(t *testing.T) {
	sc, err := scenarios.Lookup("retry-storm")
	if err != nil {
		t.Fatal(err)
	}
	steps := make([]attack.Step, len(sc.Phases))
	for i, ph := range sc.Phases {
		steps[i] = attack.Step{Duration: ph.Duration.D(), Rate: ph.Rate.PerSecond(), RampTo: ph.Rate.PerSecond()}
	}
	plan := planOf(sc, attack.NewSchedule(steps))
	byName := map[string][]string{}
	for _, p := range plan {
		byName[p.Name] = p.FaultSpecs
		if len(p.FaultSpecs) != len(sc.Phases[len(byName)-1].Faults) {
			t.Errorf("%s: got %d specs %q, want one per fault", p.Name, len(p.FaultSpecs), p.FaultSpecs)
		}
		for _, s := range p.FaultSpecs {
			if s == "" || slices.Contains([]byte(s), '\n') {
				t.Errorf("%s: spec %q, want one line", p.Name, s)
			}
		}
	}
	if !slices.Equal(byName["baseline"], byName["after"]) || !slices.Equal(byName["after"], byName["low"]) {
		t.Errorf("baseline, after and low: got %q, %q, %q, want alike", byName["baseline"], byName["after"], byName["low"])
	}
	if slices.Equal(byName["spike"], byName["after"]) || len(byName["spike"]) != 3 {
		t.Errorf("spike: got %q, want its 1500ms latency beside after's %q", byName["spike"], byName["after"])
	}
	t.Logf("spike: %q", byName["spike"])
}

// TestPlanFaultSpecsRedacted checks that a fault's secret header values
// stay out of its spec, and that the others are kept.
func TestPlanFaultSpecsRedacted(t *testing.T) {
	f := scenarios.Fault{Kind: scenarios.KindStatus, Code: 503, Headers: map[string]string{"Set-Cookie": "sid=sekret-1", "X-Why": "busy"}}
	f.Match.Header = map[string]string{"Authorization": "Bearer sekret-2", "X-Tenant": "t1"}
	got := specs([]scenarios.Fault{f})
	if len(got) != 1 {
		t.Fatalf("got %q, want one spec", got)
	}
	for _, s := range []string{"sekret-1", "sekret-2"} {
		if strings.Contains(got[0], s) {
			t.Errorf("spec %q holds the secret %q", got[0], s)
		}
	}
	for _, s := range []string{"X-Why: busy", "X-Tenant: t1", "REDACTED"} {
		if !strings.Contains(got[0], s) {
			t.Errorf("spec %q lacks %q", got[0], s)
		}
	}
	if f.Headers["Set-Cookie"] != "sid=sekret-1" {
		t.Error("specs changed the scenario's fault")
	}
}
