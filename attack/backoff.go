package attack

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// backoff draws the waits between one request's tries, with the formulas
// of the AWS architecture blog's "Exponential Backoff And Jitter" (Marc
// Brooker, 2015). A backoff is for one request: it is not safe for
// concurrent use.
type backoff struct {
	kind, jitter string
	base, cap    time.Duration // cap <= 0: no cap
	rng          *rand.Rand    // jitter's source; nil is allowed when jitter is none
	prev         time.Duration // the last wait drawn, for decorrelated jitter
}

// newBackoff returns the backoff of policy p, drawing from rng.
func newBackoff(p *scenarios.Retry, rng *rand.Rand) *backoff {
	return &backoff{kind: p.Backoff, jitter: p.Jitter, base: p.Base.D(), cap: p.Cap.D(), rng: rng}
}

// wait returns the wait before try n+1, after try n failed (n from 1):
//
//	none:         0, whatever the jitter
//	constant:     w = base
//	exponential:  w = min(cap, base·2^(n-1))
//
// then the jitter:
//
//	none:          w
//	full:          uniform in [0, w)
//	equal:         w/2 + uniform in [0, w/2)
//	decorrelated:  min(cap, uniform in [base, 3·previous wait)), the
//	               previous wait of the first retry being base; it
//	               replaces w, as the blog's formula does.
func (b *backoff) wait(n int) time.Duration {
	if b.kind == scenarios.BackoffNone || b.kind == "" {
		return 0
	}
	var w time.Duration
	switch b.kind {
	case scenarios.BackoffConstant:
		w = b.base
	default: // exponential
		w = b.capped(exponential(b.base, n))
	}
	switch b.jitter {
	case scenarios.JitterFull:
		return b.between(0, w)
	case scenarios.JitterEqual:
		return w/2 + b.between(0, w-w/2)
	case scenarios.JitterDecorrelated:
		prev := b.prev
		if prev <= 0 {
			prev = b.base
		}
		b.prev = b.capped(b.between(b.base, satMul(prev, 3)))
		return b.prev
	default: // none
		return w
	}
}

// capped returns min(cap, d), or d when there is no cap.
func (b *backoff) capped(d time.Duration) time.Duration {
	if b.cap > 0 && d > b.cap {
		return b.cap
	}
	return d
}

// between returns a uniform draw in [lo, hi), lo when hi <= lo.
func (b *backoff) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(b.rng.Float64()*float64(hi-lo))
}

// exponential returns base·2^(n-1), saturating instead of overflowing.
func exponential(base time.Duration, n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if base <= 0 {
		return 0
	}
	if n-1 >= 62 || base > math.MaxInt64>>(n-1) {
		return math.MaxInt64
	}
	return base << (n - 1)
}

// satMul returns d·k, saturating instead of overflowing.
func satMul(d time.Duration, k int64) time.Duration {
	if d > math.MaxInt64/time.Duration(k) {
		return math.MaxInt64
	}
	return d * time.Duration(k)
}
