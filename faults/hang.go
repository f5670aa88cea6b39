package faults

import (
	"context"
	"fmt"
	"time"
)

// Hang reads the request and never answers. With For set, it closes the
// connection after that long; otherwise it waits until the gateway gives
// up (closes its side) or the proxy stops.
type Hang struct {
	// For is how long to hang before closing; zero hangs until the peer
	// or the proxy ends it.
	For time.Duration
}

var _ Fault = Hang{}

// Apply reads the request and waits.
func (h Hang) Apply(ctx context.Context, x *Exchange) (Outcome, error) {
	out := Outcome{Cause: "upstream-timeout", Ended: true, Close: true}
	if err := x.DrainRequest(); err != nil {
		out.Detail = "hang: request body unreadable"
		return out, err
	}
	start := time.Now()
	why := x.WaitPeer(ctx, h.For)
	out.Detail = fmt.Sprintf("no answer; ended after %s: %s", time.Since(start).Round(time.Millisecond), why)
	if why == "timer" {
		// The proxy closed first: the gateway saw EOF before any header.
		out.Cause = "closed-before-headers"
	}
	return out, nil
}
