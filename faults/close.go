package faults

import (
	"context"

	"github.com/gatecrash/gatecrash/results/causes"
)

// Close is Reset with a FIN: the connection is closed normally, at the
// same points.
type Close struct{ Point }

var (
	_ Exchanger = Close{}
	_ Acceptor  = Close{}
	_ Streamer  = Close{}
)

// Apply closes or plans the close.
func (c Close) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	return c.end(x, causes.HowClose)
}

// OnAccept returns causes.HowClose when the close happens at connect.
func (c Close) OnAccept() string { return c.onAccept(causes.HowClose) }

// Stream closes the connection in mode tcp.
func (c Close) Stream() (Stream, bool) { return c.stream(causes.HowClose) }
