package faults

import (
	"context"
	"time"
)

// SSECut ends a server-sent-events answer (text/event-stream) after Events
// events, as an upstream (an LLM streaming tokens) that dies mid-stream.
type SSECut struct {
	// Events go down before the cut.
	Events int
	// Cut is "close" (the default) or "reset".
	Cut string
}

var _ Fault = SSECut{}

// Apply plans the cut.
func (s SSECut) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	how := howClose
	if s.Cut == howReset {
		how = howReset
	}
	x.CutStream(s.Events, how)
	return Outcome{Pending: true}, nil
}

// SSEStall pauses a server-sent-events answer for For after Events events.
type SSEStall struct {
	// Events go down before the pause.
	Events int
	// For is the pause.
	For time.Duration
}

var _ Fault = SSEStall{}

// Apply plans the stall.
func (s SSEStall) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	x.StallStream(s.Events, s.For)
	return Outcome{Pending: true}, nil
}
