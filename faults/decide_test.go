package faults

import (
	"math"
	"testing"
)

// hits counts the requests of one attack that a fault of probability p hits.
func hits(seed uint64, n int, p float64) int {
	c := 0
	for seq := range uint64(n) {
		if NewDraw(seed, "a", seq, 0, 0).Hit(p) {
			c++
		}
	}
	return c
}

func TestDrawIsReproducible(t *testing.T) {
	first := hits(42, 10000, 0.1)
	for range 3 {
		if got := hits(42, 10000, 0.1); got != first {
			t.Fatalf("got %d hits, want %d as on the first pass", got, first)
		}
	}
}

func TestDrawIsBinomial(t *testing.T) {
	const n, p = 10000, 0.1
	mean := n * p
	sd := math.Sqrt(n * p * (1 - p))
	// 3.29 standard deviations: the two-sided 99.9% bounds.
	lo, hi := int(mean-3.29*sd), int(mean+3.29*sd)
	for seed := range uint64(20) {
		if got := hits(seed, n, p); got < lo || got > hi {
			t.Errorf("seed %d: got %d hits of %d, want within [%d, %d]", seed, got, n, lo, hi)
		}
	}
}

func TestDrawDependsOnEveryInput(t *testing.T) {
	base := NewDraw(1, "a", 2, 3, 4).Float64()
	for name, d := range map[string]*Draw{
		"seed":    NewDraw(9, "a", 2, 3, 4),
		"attack":  NewDraw(1, "b", 2, 3, 4),
		"seq":     NewDraw(1, "a", 9, 3, 4),
		"attempt": NewDraw(1, "a", 2, 9, 4),
		"fault":   NewDraw(1, "a", 2, 3, 9),
	} {
		if got := d.Float64(); got == base {
			t.Errorf("changing %s: got the same draw %v", name, got)
		}
	}
	if got := NewDraw(1, "a", 2, 3, 4).Float64(); got != base {
		t.Errorf("same inputs: got %v, want %v", got, base)
	}
}
