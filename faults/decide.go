package faults

import (
	"hash/fnv"
	"math"
)

// Draw is a reproducible source of uniform numbers for one fault decision:
// a pure function of (seed, attack, seq, attempt, fault index). The same
// inputs give the same draws whatever the concurrency, and a retry (a new
// attempt) draws afresh.
type Draw struct {
	state uint64
}

// NewDraw returns the draw for one (seed, attack, seq, attempt, fault).
func NewDraw(seed uint64, attack string, seq uint64, attempt, fault int) *Draw {
	h := fnv.New64a()
	var b [8]byte
	put := func(v uint64) {
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
		h.Write(b[:])
	}
	put(seed)
	h.Write([]byte(attack))
	h.Write([]byte{0})
	put(seq)
	put(uint64(attempt))
	put(uint64(fault))
	return &Draw{state: h.Sum64()}
}

// next is splitmix64: a well-mixed 64-bit sequence from any starting state.
func (d *Draw) next() uint64 {
	d.state += 0x9e3779b97f4a7c15
	z := d.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Float64 returns the next number, uniform in [0, 1).
func (d *Draw) Float64() float64 {
	return float64(d.next()>>11) / (1 << 53)
}

// Hit reports whether an event of probability p happens: the first draw.
func (d *Draw) Hit(p float64) bool {
	if p >= 1 {
		d.next()
		return true
	}
	return d.Float64() < p
}

// Uniform returns a number uniform in [-1, 1).
func (d *Draw) Uniform() float64 { return 2*d.Float64() - 1 }

// Normal returns a standard normal number (Box-Muller from two draws).
func (d *Draw) Normal() float64 {
	u1 := 1 - d.Float64() // in (0, 1]
	u2 := d.Float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}
