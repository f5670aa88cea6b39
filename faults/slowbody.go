package faults

import "context"

// SlowBody paces the response body to BytesPerSecond; in mode tcp, every
// byte the upstream sends.
type SlowBody struct {
	// BytesPerSecond is the body's pace; more than 0.
	BytesPerSecond int
}

var (
	_ Exchanger = SlowBody{}
	_ Streamer  = SlowBody{}
)

// Apply plans the pacing.
func (s SlowBody) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	x.ThrottleBody(s.BytesPerSecond)
	return Outcome{Pending: true}, nil
}

// Stream paces the upstream's bytes, in mode tcp; a pace of 0 or less
// does nothing there.
func (s SlowBody) Stream() (Stream, bool) {
	return Stream{Pace: s.BytesPerSecond}, s.BytesPerSecond > 0
}
