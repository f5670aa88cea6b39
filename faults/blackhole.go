package faults

import "context"

// Blackhole reads every request and never answers, while its phase runs:
// the gateway's read timeout fires. In mode tcp it swallows connections.
type Blackhole struct{}

var (
	_ Exchanger = Blackhole{}
	_ Streamer  = Blackhole{}
)

// Apply reads the request and waits for the gateway to give up.
func (Blackhole) Apply(ctx context.Context, x *Exchange) (Outcome, error) {
	return noAnswer(ctx, x, 0, "blackhole", "blackhole: no answer")
}

// Stream swallows the connection's bytes, in mode tcp.
func (Blackhole) Stream() (Stream, bool) {
	return Stream{End: swallow(0, "blackhole: no answer")}, true
}
