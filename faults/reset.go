package faults

import (
	"context"

	"github.com/gatecrash/gatecrash/results/causes"
)

// Reset ends the downstream connection with a TCP RST (SO_LINGER 0) at a
// point of the exchange: at connect (before reading anything), before the
// response headers (after reading the whole request), right after the
// headers, or after AfterBytes bytes of the body. In mode tcp, before
// headers means once the first bytes of the request came, and mid-body
// after AfterBytes bytes from the upstream; after-headers does nothing.
type Reset struct{ Point }

var (
	_ Exchanger = Reset{}
	_ Acceptor  = Reset{}
	_ Streamer  = Reset{}
)

// Apply resets or plans the reset.
func (r Reset) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	return r.end(x, causes.HowReset)
}

// OnAccept returns causes.HowReset when the reset happens at connect.
func (r Reset) OnAccept() string { return r.onAccept(causes.HowReset) }

// Stream resets the connection in mode tcp.
func (r Reset) Stream() (Stream, bool) { return r.stream(causes.HowReset) }
