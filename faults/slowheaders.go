package faults

import (
	"context"
	"time"
)

// SlowHeaders dribbles the response head over Duration.
type SlowHeaders struct {
	// Duration is how long the head takes to go down.
	Duration time.Duration
}

var _ Exchanger = SlowHeaders{}

// Apply plans the dribble.
func (s SlowHeaders) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	x.DribbleHead(s.Duration)
	return Outcome{Pending: true}, nil
}
