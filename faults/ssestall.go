package faults

import (
	"context"
	"time"
)

// SSEStall pauses a server-sent-events answer for For after Events events.
type SSEStall struct {
	// Events go down before the pause.
	Events int
	// For is the pause.
	For time.Duration
}

var _ Exchanger = SSEStall{}

// Apply plans the stall.
func (s SSEStall) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	x.StallStream(s.Events, s.For)
	return Outcome{Pending: true}, nil
}
