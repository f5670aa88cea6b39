package faults

import (
	"context"
	"fmt"
	"net"

	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Point is where a Reset or a Close ends the connection.
type Point struct {
	// At is one of the scenarios.At constants; empty means before-headers.
	At string
	// AfterBytes is the body bytes sent first, with At mid-body.
	AfterBytes int
}

// onAccept returns how when the connection ends as soon as it is
// accepted, else "".
func (p Point) onAccept(how string) string {
	if p.At == scenarios.AtConnect {
		return how
	}
	return ""
}

// end ends the exchange's connection (how: causes.HowReset or HowClose)
// at the point, or plans it.
func (p Point) end(x *Exchange, how string) (Outcome, error) {
	switch p.At {
	case "", scenarios.AtBeforeHeaders:
		out := Outcome{Detail: how + " after reading the request, before any response byte",
			Cause: causes.Ended(how, causes.BeforeHeaders), Ended: true, Close: true}
		if err := x.DrainRequest(); err != nil {
			out.Detail = how + " while reading the request body"
		}
		endConn(x.Conn, how)
		return out, nil
	case scenarios.AtAfterHeaders:
		x.CutAfterHead(how)
	case scenarios.AtMidBody:
		x.CutAfterBytes(int64(p.AfterBytes), how)
	default:
		return Outcome{}, fmt.Errorf("%s at %q is not a point of a request", how, p.At)
	}
	return Outcome{Pending: true}, nil
}

// stream is the point in mode tcp: at connect and before headers the
// connection ends without dialling the upstream; mid-body, after
// AfterBytes bytes from the upstream. After headers has no meaning there.
func (p Point) stream(how string) (Stream, bool) {
	switch p.At {
	case "", scenarios.AtConnect, scenarios.AtBeforeHeaders:
		return Stream{End: p.endEarly(how)}, true
	case scenarios.AtMidBody:
		return Stream{Cut: int64(p.AfterBytes), CutHow: how}, true
	}
	return Stream{}, false
}

// endEarly returns the mode-tcp end of a connection at connect, or once
// the first bytes of the request came.
func (p Point) endEarly(how string) func(context.Context, net.Conn, func(Outcome)) {
	return func(ctx context.Context, c net.Conn, record func(Outcome)) {
		detail := how + " as soon as the connection was accepted, upstream not dialled"
		if p.At != scenarios.AtConnect {
			// Whatever came at once: closing with unread bytes would send
			// a RST instead of a FIN.
			b := make([]byte, 64<<10)
			n, err := c.Read(b)
			switch {
			case ctx.Err() != nil:
				record(Outcome{Detail: "no effect: the proxy stopped first"})
				return
			case n == 0:
				record(Outcome{Detail: fmt.Sprintf("no effect: the peer ended the connection before sending (%v)", err)})
				return
			}
			detail = how + " once the first bytes of the request came, upstream not dialled"
		}
		linger := beginEnd(c, how)
		record(Outcome{Detail: detail, Cause: causes.Ended(how, causes.BeforeHeaders), Ended: true})
		linger()
	}
}
