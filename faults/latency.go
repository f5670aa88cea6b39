package faults

import (
	"context"
	"fmt"
	"time"
)

// Latency delays the response headers by Delay, plus or minus a uniform
// Jitter.
type Latency struct {
	// Delay is the mean wait.
	Delay time.Duration
	// Jitter spreads the wait uniformly over Delay ± Jitter; zero waits
	// exactly Delay.
	Jitter time.Duration
}

var _ Fault = Latency{}

// Apply waits, then lets the exchange go on.
func (l Latency) Apply(ctx context.Context, x *Exchange) (Outcome, error) {
	d := l.Delay
	if l.Jitter > 0 {
		d += time.Duration(x.Draw.Uniform() * float64(l.Jitter))
	}
	if d < 0 {
		d = 0
	}
	out := Outcome{Detail: fmt.Sprintf("delay %s", d.Round(time.Microsecond))}
	if !sleep(ctx, d) {
		out.Detail += " (cut short: proxy stopping)"
		out.Ended, out.Close = true, true
	}
	return out, nil
}
