package attack

import (
	"math"
	"sync"
	"time"
)

// budgetWindow is the window over which a Budget counts first tries and
// retries.
const budgetWindow = time.Second

// Budget caps retries at a share of first tries, as gRPC's retry
// throttling, Finagle's RetryBudget and Envoy's retry_budget do: over
// the last second (a sliding window, not a fixed one), the retries it
// granted may be at most Ratio times the first tries it was told of, or
// MinPerSecond, whichever is more. A Budget is safe for concurrent use;
// its memory is bounded by the first tries and retries of one second.
type Budget struct {
	ratio, min float64

	mu      sync.Mutex
	firsts  timeQueue
	retries timeQueue
}

// NewBudget returns a budget of ratio retries per first try over any
// second, with at least minPerSecond retries per second.
func NewBudget(ratio, minPerSecond float64) *Budget {
	return &Budget{ratio: ratio, min: minPerSecond}
}

// First counts a first try sent at now.
func (b *Budget) First(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.firsts.push(now)
}

// Retry reports whether a retry may go at now, and counts it if so.
// Calls must come with now non-decreasing, give or take the moments
// concurrent callers read the clock.
func (b *Budget) Retry(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	since := now.Add(-budgetWindow)
	b.firsts.dropUntil(since)
	b.retries.dropUntil(since)
	allowed := math.Max(b.ratio*float64(b.firsts.len()), b.min)
	if float64(b.retries.len()+1) > allowed+1e-9 {
		return false
	}
	b.retries.push(now)
	return true
}

// timeQueue is a FIFO of moments.
type timeQueue struct {
	at   []time.Time
	head int
}

func (q *timeQueue) push(t time.Time) {
	if q.head > 0 && q.head >= len(q.at)/2 {
		// Compact: what was dropped is at least half the slice.
		n := copy(q.at, q.at[q.head:])
		q.at = q.at[:n]
		q.head = 0
	}
	q.at = append(q.at, t)
}

// dropUntil drops the moments at or before t.
func (q *timeQueue) dropUntil(t time.Time) {
	for q.head < len(q.at) && !q.at[q.head].After(t) {
		q.head++
	}
}

func (q *timeQueue) len() int { return len(q.at) - q.head }
