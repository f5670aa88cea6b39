package faults

import (
	"context"
	"fmt"

	"github.com/gatecrash/gatecrash/scenarios"
)

// Reset ends the downstream connection with a TCP RST (SO_LINGER 0) at a
// point of the exchange: at connect (before reading anything), before the
// response headers (after reading the whole request), right after the
// headers, or after AfterBytes bytes of the body.
type Reset struct {
	// At is one of the scenarios.At constants; empty means before-headers.
	At string
	// AfterBytes is the body bytes sent first, with At mid-body.
	AfterBytes int
}

var _ Fault = Reset{}

// Apply resets or plans the reset.
func (r Reset) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	return endAt(x, r.At, r.AfterBytes, howReset)
}

// AtConnect reports whether the reset happens when the connection is
// accepted, before any request.
func (r Reset) AtConnect() bool { return r.At == scenarios.AtConnect }

// Close is Reset with a FIN: the connection is closed normally.
type Close struct {
	// At is one of the scenarios.At constants; empty means before-headers.
	At string
	// AfterBytes is the body bytes sent first, with At mid-body.
	AfterBytes int
}

var _ Fault = Close{}

// Apply closes or plans the close.
func (c Close) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	return endAt(x, c.At, c.AfterBytes, howClose)
}

// AtConnect reports whether the close happens when the connection is
// accepted, before any request.
func (c Close) AtConnect() bool { return c.At == scenarios.AtConnect }

// endAt ends the exchange's connection (how: reset or close) at a point.
func endAt(x *Exchange, at string, afterBytes int, how string) (Outcome, error) {
	switch at {
	case "", scenarios.AtBeforeHeaders:
		out := Outcome{Detail: how + " after reading the request, before any response byte", Cause: beforeHeadersCause(how), Ended: true, Close: true}
		if err := x.DrainRequest(); err != nil {
			out.Detail = how + " while reading the request body"
		}
		endConn(x.Conn, how)
		return out, nil
	case scenarios.AtAfterHeaders:
		x.CutAfterHead(how)
	case scenarios.AtMidBody:
		x.CutAfterBytes(int64(afterBytes), how)
	default:
		return Outcome{}, fmt.Errorf("%s at %q is not a point of a request", how, at)
	}
	return Outcome{Pending: true}, nil
}

// beforeHeadersCause names the cause of ending a connection before any
// answer byte.
func beforeHeadersCause(how string) string {
	if how == howReset {
		return "reset-before-headers"
	}
	return "closed-before-headers"
}
