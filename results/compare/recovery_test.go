package compare

import (
	"testing"

	"github.com/gatecrash/gatecrash/results"
)

// TestRecoveryEnd checks the span compare tests recovery over: the
// report's own recovery_until_s, else (an older report) up to the next
// phase with faults or the end.
func TestRecoveryEnd(t *testing.T) {
	until := 14.0
	phases := func(untilS *float64) *results.Report {
		return &results.Report{Phases: []results.PhaseReport{
			{Name: "baseline", EndS: 3, Faults: []string{"overload"}},
			{Name: "spike", StartS: 3, EndS: 6, Faults: []string{"latency", "overload"}, RecoveryUntilS: untilS},
			{Name: "after", StartS: 6, EndS: 14, Faults: []string{"overload"}},
			{Name: "quiet", StartS: 14, EndS: 20},
		}}
	}
	for _, tt := range []struct {
		name string
		r    *results.Report
		i    int
		want float64
	}{
		{"recovery_until_s", phases(&until), 1, 14},
		{"an older report: the next phase with faults", phases(nil), 1, 6},
		{"an older report: to the end", phases(nil), 2, 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := recoveryEnd(tt.r, tt.i); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
