package faults

import (
	"context"
	"fmt"
	"time"
)

// Blackhole reads every request and never answers, while its phase runs:
// the gateway's read timeout fires. In mode tcp it swallows connections.
type Blackhole struct{}

var _ Fault = Blackhole{}

// Apply reads the request and waits for the gateway to give up.
func (Blackhole) Apply(ctx context.Context, x *Exchange) (Outcome, error) {
	out := Outcome{Cause: "upstream-timeout", Ended: true, Close: true}
	if err := x.DrainRequest(); err != nil {
		out.Detail = "blackhole: request body unreadable"
		return out, err
	}
	start := time.Now()
	why := x.WaitPeer(ctx, 0)
	out.Detail = fmt.Sprintf("blackhole: no answer; ended after %s: %s", time.Since(start).Round(time.Millisecond), why)
	return out, nil
}

// Refuse closes the proxy's listener while its phase runs, so that
// connecting is refused for real (ECONNREFUSED), not accepted and closed;
// the listener reopens when the phase ends. It acts on the listener, not
// on requests.
type Refuse struct{}

var _ Fault = Refuse{}

// Apply does nothing to a request: see Proxy.Serve.
func (Refuse) Apply(context.Context, *Exchange) (Outcome, error) { return Outcome{Skip: true}, nil }

// Keepalive closes a downstream keep-alive connection once it has been
// idle for Idle, without warning: the race that makes a gateway send a
// request on a connection the upstream is closing.
type Keepalive struct {
	// Idle is how long a connection may wait for its next request.
	Idle time.Duration
}

var _ Fault = Keepalive{}

// Apply does nothing to a request: the proxy applies IdleLimit between
// requests.
func (Keepalive) Apply(context.Context, *Exchange) (Outcome, error) {
	return Outcome{Skip: true}, nil
}
