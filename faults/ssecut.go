package faults

import (
	"context"

	"github.com/gatecrash/gatecrash/results/causes"
)

// SSECut ends a server-sent-events answer (text/event-stream) after Events
// events, as an upstream (an LLM streaming tokens) that dies mid-stream.
type SSECut struct {
	// Events go down before the cut.
	Events int
	// Cut is "close" (the default) or "reset".
	Cut string
}

var _ Exchanger = SSECut{}

// Apply plans the cut.
func (s SSECut) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	how := causes.HowClose
	if s.Cut == causes.HowReset {
		how = causes.HowReset
	}
	x.CutStream(s.Events, how)
	return Outcome{Pending: true}, nil
}
