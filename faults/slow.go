package faults

import (
	"context"
	"time"
)

// SlowBody paces the response body to BytesPerSecond.
type SlowBody struct {
	// BytesPerSecond is the body's pace; more than 0.
	BytesPerSecond int
}

var _ Fault = SlowBody{}

// Apply plans the pacing.
func (s SlowBody) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	x.ThrottleBody(s.BytesPerSecond)
	return Outcome{Pending: true}, nil
}

// SlowHeaders dribbles the response head over Duration.
type SlowHeaders struct {
	// Duration is how long the head takes to go down.
	Duration time.Duration
}

var _ Fault = SlowHeaders{}

// Apply plans the dribble.
func (s SlowHeaders) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	x.DribbleHead(s.Duration)
	return Outcome{Pending: true}, nil
}
