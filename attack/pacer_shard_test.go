package attack

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// TestPacerShardsUnion checks that the n shards of a schedule, each driven
// as vegeta drives a pacer, send together exactly the whole schedule's
// hits at the same due times, and that their rates and plans add up.
func TestPacerShardsUnion(t *testing.T) {
	ramp := rate(300, time.Second)
	down := rate(0, time.Second)
	schedules := []struct {
		name   string
		phases []scenarios.Phase
	}{
		{"constant", []scenarios.Phase{phase(3*time.Second, rate(100, time.Second), nil)}},
		{"odd count", []scenarios.Phase{phase(time.Second, rate(7, time.Second), nil)}},
		{"ramp up and down", []scenarios.Phase{
			phase(time.Second, rate(100, time.Second), nil),
			phase(2*time.Second, rate(100, time.Second), &ramp),
			phase(2*time.Second, rate(300, time.Second), &down),
		}},
		{"slow", []scenarios.Phase{phase(10*time.Second, rate(30, time.Minute), nil)}},
	}
	for _, sc := range schedules {
		for _, n := range []int{1, 2, 3, 4, 7} {
			whole := NewPacer(sc.phases)
			want := simulate(whole)
			var got []time.Duration
			for k := 1; k <= n; k++ {
				v := whole.Shard(k, n)
				sent := simulate(v)
				if lo, hi := len(want)/n, (len(want)+n-1)/n; len(sent) < lo || len(sent) > hi {
					t.Errorf("%s, shard %d/%d: got %d hits, want %d to %d", sc.name, k, n, len(sent), lo, hi)
				}
				got = append(got, sent...)
				for _, at := range []time.Duration{0, 500 * time.Millisecond, 1500 * time.Millisecond, 4 * time.Second} {
					if r, w := v.Rate(at), whole.Rate(at)/float64(n); math.Abs(r-w) > 1e-9 {
						t.Errorf("%s, shard %d/%d: Rate(%s) got %v, want %v", sc.name, k, n, at, r, w)
					}
					if pl, w := v.Planned(at), whole.Planned(at)/float64(n); math.Abs(pl-w) > 1e-9 {
						t.Errorf("%s, shard %d/%d: Planned(%s) got %v, want %v", sc.name, k, n, at, pl, w)
					}
				}
				if gk, gn := v.ShardOf(); gk != k || gn != n {
					t.Errorf("ShardOf: got %d/%d, want %d/%d", gk, gn, k, n)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s, %d shards: the union of the shards' due times (%d) differs from the schedule's (%d)", sc.name, n, len(got), len(want))
			}
		}
	}
}

// TestPacerShardDue checks a shard's hit i is the schedule's hit i*n+k-1.
func TestPacerShardDue(t *testing.T) {
	whole := NewPacer([]scenarios.Phase{phase(2*time.Second, rate(10, time.Second), nil)})
	tests := []struct {
		k, n int
		i    uint64
		want time.Duration
		ok   bool
	}{
		{1, 4, 0, 0, true},
		{2, 4, 0, 100 * time.Millisecond, true},
		{4, 4, 1, 700 * time.Millisecond, true},
		{3, 4, 4, 1800 * time.Millisecond, true},
		{4, 4, 4, 1900 * time.Millisecond, true}, // hit 19, the last
		{1, 4, 5, 2 * time.Second, false},        // hit 20: after the end
		{1, 1, 19, 1900 * time.Millisecond, true},
	}
	for _, tt := range tests {
		got, ok := whole.Shard(tt.k, tt.n).Due(tt.i)
		if ok != tt.ok || (ok && (got-tt.want).Abs() > time.Microsecond) {
			t.Errorf("shard %d/%d Due(%d): got %s %v, want %s %v", tt.k, tt.n, tt.i, got, ok, tt.want, tt.ok)
		}
	}
	if got, _ := whole.Shard(2, 4).Shard(3, 4).Due(1); (got - 600*time.Millisecond).Abs() > time.Microsecond {
		t.Errorf("a view of a view: got %s, want the whole schedule's hit 6 at 600ms", got)
	}
}

func TestPacerShardPanics(t *testing.T) {
	for _, kn := range [][2]int{{0, 4}, {5, 4}, {1, 0}, {-1, 2}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Shard(%d, %d): no panic", kn[0], kn[1])
				}
			}()
			NewPacer(nil).Shard(kn[0], kn[1])
		}()
	}
}
