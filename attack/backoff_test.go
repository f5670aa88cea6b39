package attack

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// fixedSource is a rand.Source that always returns the same value, so
// that rand.Rand.Float64 is exactly frac(v) = (v<<11>>11)/2^53.
type fixedSource uint64

func (s fixedSource) Uint64() uint64 { return uint64(s) }

// half makes Float64 return exactly 0.5; zero 0; top the largest value
// below 1.
const (
	half fixedSource = 1 << 52
	zero fixedSource = 0
	top  fixedSource = math.MaxUint64
)

// TestBackoffFormulas checks each backoff and jitter against the AWS
// post's definition, with a source whose every draw is known: 0, 0.5 or
// just below 1, so the values are exact.
func TestBackoffFormulas(t *testing.T) {
	const ms = time.Millisecond
	topF := float64(uint64(1)<<53-1) / (1 << 53)
	below := func(d time.Duration) time.Duration { return time.Duration(topF * float64(d)) }
	tests := []struct {
		name, kind, jitter string
		base, cap          time.Duration
		src                fixedSource
		want               []time.Duration // waits after tries 1, 2, 3...
	}{
		{"none", scenarios.BackoffNone, scenarios.JitterNone, 100 * ms, time.Second, half, []time.Duration{0, 0, 0}},
		{"none ignores jitter", scenarios.BackoffNone, scenarios.JitterFull, 100 * ms, time.Second, top, []time.Duration{0, 0}},
		{"constant", scenarios.BackoffConstant, scenarios.JitterNone, 100 * ms, time.Second, half, []time.Duration{100 * ms, 100 * ms, 100 * ms}},
		{"exponential: base·2^(n-1), capped", scenarios.BackoffExponential, scenarios.JitterNone, 100 * ms, time.Second, half,
			[]time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}},
		{"exponential without a cap", scenarios.BackoffExponential, scenarios.JitterNone, 100 * ms, 0, half,
			[]time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms}},
		{"full: uniform in [0, w), draw 0.5", scenarios.BackoffExponential, scenarios.JitterFull, 100 * ms, time.Second, half,
			[]time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 500 * ms}},
		{"full, draw 0", scenarios.BackoffExponential, scenarios.JitterFull, 100 * ms, time.Second, zero, []time.Duration{0, 0, 0}},
		{"full, draw below 1", scenarios.BackoffExponential, scenarios.JitterFull, 100 * ms, time.Second, top,
			[]time.Duration{below(100 * ms), below(200 * ms), below(400 * ms)}},
		{"full on constant", scenarios.BackoffConstant, scenarios.JitterFull, 100 * ms, time.Second, half, []time.Duration{50 * ms, 50 * ms}},
		{"equal: w/2 + uniform in [0, w/2), draw 0.5", scenarios.BackoffExponential, scenarios.JitterEqual, 100 * ms, time.Second, half,
			[]time.Duration{75 * ms, 150 * ms, 300 * ms, 600 * ms, 750 * ms}},
		{"equal, draw 0", scenarios.BackoffExponential, scenarios.JitterEqual, 100 * ms, time.Second, zero,
			[]time.Duration{50 * ms, 100 * ms, 200 * ms}},
		// sleep = min(cap, uniform in [base, 3·sleep)), sleep from base:
		// 100+0.5·(300-100) = 200; 100+0.5·(600-100) = 350;
		// 100+0.5·(1050-100) = 575; 100+0.5·(1725-100) = 912.5;
		// 100+0.5·(2737.5-100) = 1418.75 -> cap 1000; then [100, 3000) -> 1550 -> 1000.
		{"decorrelated, draw 0.5", scenarios.BackoffExponential, scenarios.JitterDecorrelated, 100 * ms, time.Second, half,
			[]time.Duration{200 * ms, 350 * ms, 575 * ms, 912500 * time.Microsecond, time.Second, time.Second}},
		{"decorrelated, draw 0: base", scenarios.BackoffExponential, scenarios.JitterDecorrelated, 100 * ms, time.Second, zero,
			[]time.Duration{100 * ms, 100 * ms, 100 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &scenarios.Retry{Backoff: tt.kind, Jitter: tt.jitter, Base: scenarios.Duration(tt.base), Cap: scenarios.Duration(tt.cap)}
			b := newBackoff(p, rand.New(tt.src))
			for i, want := range tt.want {
				if got := b.wait(i + 1); got != want {
					t.Errorf("wait after try %d: got %s, want %s", i+1, got, want)
				}
			}
		})
	}
}

// TestBackoffBounds draws many waits from a real source and checks each
// against its jitter's interval.
func TestBackoffBounds(t *testing.T) {
	const base, cp = 10 * time.Millisecond, 500 * time.Millisecond
	w := func(n int) time.Duration { return min(cp, base<<(n-1)) }
	tests := []struct {
		jitter string
		lo, hi func(n int, prev time.Duration) time.Duration // [lo, hi), or [lo, hi] when lo == hi
	}{
		{scenarios.JitterNone, func(n int, _ time.Duration) time.Duration { return w(n) }, func(n int, _ time.Duration) time.Duration { return w(n) }},
		{scenarios.JitterFull, func(int, time.Duration) time.Duration { return 0 }, func(n int, _ time.Duration) time.Duration { return w(n) }},
		{scenarios.JitterEqual, func(n int, _ time.Duration) time.Duration { return w(n) / 2 }, func(n int, _ time.Duration) time.Duration { return w(n) }},
		{scenarios.JitterDecorrelated, func(int, time.Duration) time.Duration { return base }, func(_ int, prev time.Duration) time.Duration { return min(cp, 3*prev) }},
	}
	for _, tt := range tests {
		t.Run(tt.jitter, func(t *testing.T) {
			p := &scenarios.Retry{Backoff: scenarios.BackoffExponential, Jitter: tt.jitter, Base: scenarios.Duration(base), Cap: scenarios.Duration(cp)}
			for seq := range uint64(500) {
				b := newBackoff(p, rand.New(rand.NewPCG(7, seq)))
				prev := base
				for n := 1; n <= 8; n++ {
					got := b.wait(n)
					lo, hi := tt.lo(n, prev), tt.hi(n, prev)
					if got < lo || got > hi || (lo < hi && got == hi && hi != cp) {
						t.Fatalf("seq %d, wait after try %d: got %s, want in [%s, %s)", seq, n, got, lo, hi)
					}
					prev = got
				}
			}
		})
	}
}

// TestBackoffRepeats: the waits depend on the seed and the seq alone.
func TestBackoffRepeats(t *testing.T) {
	p := &scenarios.Retry{Backoff: scenarios.BackoffExponential, Jitter: scenarios.JitterFull, Base: scenarios.Duration(time.Second), Cap: scenarios.Duration(time.Hour)}
	draw := func(seed, seq uint64) []time.Duration {
		b := newBackoff(p, rand.New(rand.NewPCG(seed, seq)))
		var ws []time.Duration
		for n := 1; n <= 5; n++ {
			ws = append(ws, b.wait(n))
		}
		return ws
	}
	a, b, c := draw(1, 42), draw(1, 42), draw(1, 43)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed and seq: wait %d: got %s and %s, want equal", i+1, a[i], b[i])
		}
	}
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Errorf("seqs 42 and 43 drew the same waits %v, want their own", a)
	}
}
