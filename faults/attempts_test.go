package faults

import (
	"runtime"
	"testing"
	"time"
)

// TestAttemptsHorizon checks what the proxy remembers of earlier attempts:
// a retry within the horizon is counted, however many generations it
// crosses; one past the retention is taken for a first attempt; attacks
// are apart; a generation full before its time ends early.
func TestAttemptsHorizon(t *testing.T) {
	const h = 10 * time.Second
	type hit struct {
		attack string
		seq    uint64
		at     time.Duration // since the first hit
		want   int           // attempts before
	}
	tests := []struct {
		name  string
		limit int // 0: attemptsGeneration
		hits  []hit
	}{
		{name: "at once", hits: []hit{{"a", 1, 0, 0}, {"a", 1, 0, 1}, {"a", 1, time.Millisecond, 2}}},
		{name: "just under the horizon", hits: []hit{{"a", 1, 0, 0}, {"a", 2, h - 1, 0}, {"a", 1, h - 1, 1}}},
		{name: "past the horizon, in the old generation", hits: []hit{{"a", 1, 0, 0}, {"a", 2, h, 0}, {"a", 1, h + h/2, 1}}},
		{name: "a count carried over generations", hits: []hit{
			{"a", 1, 0, 0}, {"a", 1, h / 2, 1}, {"a", 2, h, 0}, {"a", 1, h + h/2, 2}, {"a", 3, 2 * h, 0}, {"a", 1, 2*h + h/2, 3},
		}},
		{name: "forgotten after two generations", hits: []hit{{"a", 1, 0, 0}, {"a", 2, h, 0}, {"a", 3, 2 * h, 0}, {"a", 1, 2 * h, 0}}},
		{name: "idle for two horizons", hits: []hit{{"a", 1, 0, 0}, {"a", 1, 2 * h, 0}, {"a", 1, 2 * h, 1}}},
		{name: "attacks apart", hits: []hit{{"a", 1, 0, 0}, {"b", 1, 0, 0}, {"", 1, 0, 0}, {"b", 1, 0, 1}, {"a", 1, 0, 1}}},
		{name: "a full generation ends early", limit: 2, hits: []hit{
			{"a", 1, 0, 0}, {"a", 2, 0, 0}, {"a", 3, 0, 0}, {"a", 1, 0, 1}, {"a", 4, 0, 0}, {"a", 2, 0, 0},
		}},
	}
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := attempts{horizon: h, limit: tt.limit}
			for i, x := range tt.hits {
				if got, _ := a.next(seqID{x.attack, x.seq}, 0, t0.Add(x.at)); got != x.want {
					t.Errorf("hit %d (%q, seq %d at %s): got %d attempts before, want %d", i, x.attack, x.seq, x.at, got, x.want)
				}
			}
		})
	}
}

// TestAttemptsMemoryBounded drives the attempts of a long run, a million
// seqs with a few retries, and checks that what it keeps is bounded by
// the requests of two horizons (or two full generations), not by the
// run's length: the bound, 64 bytes a request kept, is far above the
// about 10 it takes, and far below what a million would.
func TestAttemptsMemoryBounded(t *testing.T) {
	const n = 1_000_000
	tests := []struct {
		name    string
		horizon time.Duration // 0: AttemptsHorizon
		limit   int           // 0: attemptsGeneration
		rate    int           // seqs a second
		kept    int           // most requests two generations hold
		tries   bool          // requests carry try numbers: 1, and 2 on a retry
	}{
		{name: "1,000/s, default horizon", rate: 1000, kept: 2 * 1000 * int(AttemptsHorizon/time.Second)},
		{name: "1,000/s, 1s horizon", horizon: time.Second, rate: 1000, kept: 2 * 1000},
		{name: "1,000,000/s, full generations", rate: 1_000_000, limit: 1 << 14, kept: 2 << 14},
		{name: "1,000/s, default horizon, with tries", rate: 1000, kept: 2 * 1000 * int(AttemptsHorizon/time.Second), tries: true},
		{name: "1,000,000/s, full generations, with tries", rate: 1_000_000, limit: 1 << 14, kept: 2 << 14, tries: true},
	}
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := liveHeap()
			a := &attempts{horizon: tt.horizon, limit: tt.limit}
			step := time.Second / time.Duration(tt.rate)
			retries := 0
			first, retry := 0, 0
			if tt.tries {
				first, retry = 1, 2
			}
			for i := range uint64(n) {
				now := t0.Add(time.Duration(i) * step)
				a.next(seqID{"soak", i}, first, now)
				if i%1000 == 999 { // a retry, 10 requests later
					if got, _ := a.next(seqID{"soak", i - 10}, retry, now); got != 1 {
						t.Fatalf("retry of seq %d: got %d attempts before, want 1", i-10, got)
					}
					retries++
				}
			}
			kept := liveHeap() - before
			runtime.KeepAlive(a)
			bound := int64(tt.kept)*64 + 1<<20
			t.Logf("%d seqs and %d retries: %d bytes kept (%.1f a seq), bound %d", n, retries, kept, float64(kept)/n, bound)
			if kept > bound {
				t.Errorf("got %d bytes kept after %d seqs, want at most %d (64 bytes for each of the %d requests of two generations, and 1 MB)", kept, n, bound, tt.kept)
			}
		})
	}
}

// liveHeap returns the bytes of the heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
