package attack

import (
	"math"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gatecrash/gatecrash/scenarios"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func rate(n int, per time.Duration) scenarios.Rate { return scenarios.Rate{Freq: n, Per: per} }

func phase(d time.Duration, r scenarios.Rate, ramp *scenarios.Rate) scenarios.Phase {
	return scenarios.Phase{Duration: scenarios.Duration(d), Rate: r, RampTo: ramp}
}

// simulate drives the pacer the way vegeta's attack loop does, on a
// simulated clock, and returns each hit's send time.
func simulate(p *Pacer) []time.Duration {
	var sent []time.Duration
	var elapsed time.Duration
	for hits := uint64(0); hits < 1e6; hits++ {
		wait, stop := p.Pace(elapsed, hits)
		if stop {
			break
		}
		elapsed += wait
		sent = append(sent, elapsed)
	}
	return sent
}

func TestPacerCountsPerPhase(t *testing.T) {
	ramp := rate(300, time.Second)
	down := rate(0, time.Second)
	tests := []struct {
		name   string
		phases []scenarios.Phase
		want   []int // hits sent in each phase
	}{
		{"constant", []scenarios.Phase{phase(3*time.Second, rate(100, time.Second), nil)}, []int{300}},
		{"per minute", []scenarios.Phase{phase(time.Minute, rate(6000, time.Minute), nil)}, []int{6000}},
		{"two phases, no gap", []scenarios.Phase{
			phase(2*time.Second, rate(100, time.Second), nil),
			phase(time.Second, rate(50, time.Second), nil),
		}, []int{200, 50}},
		// 100/s to 300/s over 5s: the mean rate 200/s, 1000 hits.
		{"ramp up", []scenarios.Phase{phase(5*time.Second, rate(100, time.Second), &ramp)}, []int{1000}},
		// 100/s to 0 over 2s: 100 hits.
		{"ramp down to zero", []scenarios.Phase{phase(2*time.Second, rate(100, time.Second), &down)}, []int{100}},
		{"baseline, ramp, recover", []scenarios.Phase{
			phase(time.Second, rate(100, time.Second), nil),
			phase(2*time.Second, rate(100, time.Second), &ramp),
			phase(time.Second, rate(10, time.Second), nil),
		}, []int{100, 400, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPacer(tt.phases)
			got := make([]int, len(tt.phases))
			var last time.Duration
			for i, at := range simulate(p) {
				if at < last {
					t.Fatalf("hit %d at %s, before hit %d at %s", i, at, i-1, last)
				}
				last = at
				ph := p.Phase(at)
				if ph < 0 {
					t.Fatalf("hit %d at %s is outside the attack (%s)", i, at, p.Duration())
				}
				got[ph]++
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("phase %d: got %d hits, want %d", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestPacerRate(t *testing.T) {
	ramp := rate(300, time.Second)
	p := NewPacer([]scenarios.Phase{
		phase(time.Second, rate(100, time.Second), nil),
		phase(2*time.Second, rate(100, time.Second), &ramp),
	})
	for _, tt := range []struct {
		at   time.Duration
		want float64
	}{
		{0, 100}, {500 * time.Millisecond, 100}, {time.Second, 100}, {2 * time.Second, 200},
		{2500 * time.Millisecond, 250}, {3 * time.Second, 0},
	} {
		if got := p.Rate(tt.at); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Rate(%s): got %v, want %v", tt.at, got, tt.want)
		}
	}
	if got, want := p.Planned(3*time.Second), 500.0; math.Abs(got-want) > 1e-9 {
		t.Errorf("Planned(end): got %v, want %v", got, want)
	}
}

func TestPacerWaitsUntilDue(t *testing.T) {
	p := NewPacer([]scenarios.Phase{phase(time.Second, rate(10, time.Second), nil)})
	// Hit 3 is due at 300ms: at 250ms the pacer must say wait 50ms.
	if wait, stop := p.Pace(250*time.Millisecond, 3); stop || wait != 50*time.Millisecond {
		t.Errorf("got wait %s stop %v, want 50ms false", wait, stop)
	}
	// Behind schedule: no wait.
	if wait, stop := p.Pace(900*time.Millisecond, 3); stop || wait != 0 {
		t.Errorf("got wait %s stop %v, want 0 false", wait, stop)
	}
	// After the last hit: stop.
	if _, stop := p.Pace(900*time.Millisecond, 10); !stop {
		t.Error("got no stop after the planned hits, want stop")
	}
}

func TestPhaseClamped(t *testing.T) {
	p := NewPacer([]scenarios.Phase{
		phase(time.Second, rate(10, time.Second), nil),
		phase(time.Second, rate(10, time.Second), nil),
	})
	for _, tt := range []struct {
		at   time.Duration
		want int
	}{{-time.Second, 0}, {0, 0}, {1500 * time.Millisecond, 1}, {2 * time.Second, 1}, {time.Hour, 1}} {
		if got := p.PhaseClamped(tt.at); got != tt.want {
			t.Errorf("PhaseClamped(%s): got %d, want %d", tt.at, got, tt.want)
		}
	}
}
