package faults

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// Latency delays the response headers by Delay, plus or minus a uniform
// Jitter, or by a wait drawn from a distribution.
type Latency struct {
	// Delay is the mean wait.
	Delay time.Duration
	// Jitter spreads the wait uniformly over Delay ± Jitter; zero waits
	// exactly Delay.
	Jitter time.Duration
	// Distribution, when not nil, replaces Delay and Jitter.
	Distribution *scenarios.Distribution
}

var (
	_ Exchanger = Latency{}
	_ Streamer  = Latency{}
)

func newLatency(s scenarios.Fault) Fault {
	return Latency{Delay: s.Delay.D(), Jitter: s.Jitter.D(), Distribution: s.Distribution}
}

// z99 is the standard normal's 99th percentile.
const z99 = 2.3263478740408408

// Wait returns the wait for one request, from its draw.
func (l Latency) Wait(d *Draw) time.Duration {
	var w float64
	if dist := l.Distribution; dist != nil {
		p50, p99 := float64(dist.P50.D()), float64(dist.P99.D())
		switch dist.Type {
		case "lognormal":
			mu, sigma := math.Log(p50), (math.Log(p99)-math.Log(p50))/z99
			w = math.Exp(mu + sigma*d.Normal())
		case "normal":
			w = p50 + (p99-p50)/z99*d.Normal()
		default: // uniform: median p50, 99th percentile p99
			width := (p99 - p50) / 0.49
			w = p50 - width/2 + width*d.Float64()
		}
	} else {
		w = float64(l.Delay)
		if l.Jitter > 0 {
			w += d.Uniform() * float64(l.Jitter)
		}
	}
	return time.Duration(max(w, 0))
}

// Apply waits, then lets the exchange go on.
func (l Latency) Apply(ctx context.Context, x *Exchange) (Outcome, error) {
	w := l.Wait(x.Draw)
	out := Outcome{Detail: fmt.Sprintf("delay %s", w.Round(time.Microsecond))}
	if !sleep(ctx, w) {
		out.Detail += " (cut short: proxy stopping)"
		out.Ended, out.Close = true, true
	}
	return out, nil
}

// Stream holds the upstream's first bytes for the wait, in mode tcp.
func (l Latency) Stream() (Stream, bool) { return Stream{Delay: l.Wait}, true }
