package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/gatecrash/gatecrash/results/causes"
)

// Hang reads the request and never answers. With For set, it closes the
// connection after that long; otherwise it waits until the gateway gives
// up (closes its side) or the proxy stops. In mode tcp it reads and
// discards what comes, the same way.
type Hang struct {
	// For is how long to hang before closing; zero hangs until the peer
	// or the proxy ends it.
	For time.Duration
}

var (
	_ Exchanger = Hang{}
	_ Streamer  = Hang{}
)

// Apply reads the request and waits.
func (h Hang) Apply(ctx context.Context, x *Exchange) (Outcome, error) {
	return noAnswer(ctx, x, h.For, "hang", "no answer")
}

// Stream swallows the connection's bytes, in mode tcp.
func (h Hang) Stream() (Stream, bool) { return Stream{End: swallow(h.For, "no answer")}, true }

// noAnswer reads the request and waits, up to d when d is positive, for
// the peer or the proxy to end the exchange (hang and blackhole). name
// words an unreadable request, what the event.
func noAnswer(ctx context.Context, x *Exchange, d time.Duration, name, what string) (Outcome, error) {
	out := Outcome{Cause: causes.UpstreamTimeout, Ended: true, Close: true}
	if err := x.DrainRequest(); err != nil {
		out.Detail = name + ": request body unreadable"
		return out, err
	}
	start := time.Now()
	why := x.WaitPeer(ctx, d)
	out.Detail = fmt.Sprintf("%s; ended after %s: %s", what, time.Since(start).Round(time.Millisecond), why)
	if why == "timer" {
		// The proxy closed first: the gateway saw EOF before any header.
		out.Cause = causes.ClosedBeforeHeaders
	}
	return out, nil
}

// swallow returns the mode-tcp end of hang and blackhole: read and discard
// what comes, up to d when d is positive, and never answer.
func swallow(d time.Duration, what string) func(context.Context, net.Conn, func(Outcome)) {
	return func(ctx context.Context, c net.Conn, record func(Outcome)) {
		start := time.Now()
		if d > 0 {
			_ = c.SetReadDeadline(start.Add(d))
		}
		_, err := io.Copy(io.Discard, c)
		var why string
		switch {
		case ctx.Err() != nil:
			why = "stopped"
		case errors.Is(err, os.ErrDeadlineExceeded):
			why = "timer"
		case err == nil:
			why = "peer closed"
		case errors.Is(err, syscall.ECONNRESET):
			why = "peer reset"
		default:
			why = err.Error()
		}
		record(Outcome{Cause: causes.UpstreamTimeout, Ended: true,
			Detail: fmt.Sprintf("%s; ended after %s: %s", what, time.Since(start).Round(time.Millisecond), why)})
	}
}
