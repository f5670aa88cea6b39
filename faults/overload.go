package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Overload caps the requests in flight through the proxy at MaxInflight;
// up to Queue more wait up to QueueTimeout for a slot; the rest are
// rejected, with a 503 or a reset (Reject), as an overloaded upstream.
type Overload struct {
	// MaxInflight is at least 1.
	MaxInflight int
	// Queue is how many may wait; QueueTimeout how long.
	Queue        int
	QueueTimeout time.Duration
	// Reject is "503" (the default) or "reset".
	Reject string

	slots, waiting chan struct{}
}

var (
	_ Exchanger = (*Overload)(nil)
	_ Misser    = (*Overload)(nil)
)

// Missed says why an overload fault never applied.
func (o *Overload) Missed() string {
	q := ""
	if o.Queue > 0 {
		q = fmt.Sprintf(" and its queue of %d", o.Queue)
	}
	return fmt.Sprintf("the requests in flight never filled its %d slots%s; raise the rate or lower max_inflight", o.MaxInflight, q)
}

// newOverload returns the Overload of a spec, with its slots.
func newOverload(s scenarios.Fault) Fault {
	return &Overload{MaxInflight: s.MaxInflight, Queue: s.Queue, QueueTimeout: s.QueueTimeout.D(), Reject: s.Reject,
		slots: make(chan struct{}, s.MaxInflight), waiting: make(chan struct{}, max(s.Queue, 0))}
}

// Apply takes a slot (releasing it when the exchange ends), waits in the
// queue for one, or rejects the request.
func (o *Overload) Apply(ctx context.Context, x *Exchange) (Outcome, error) {
	select {
	case o.slots <- struct{}{}:
		x.OnDone(func() { <-o.slots })
		return Outcome{Skip: true}, nil
	default:
	}
	if o.Queue > 0 {
		select {
		case o.waiting <- struct{}{}:
			start := time.Now()
			t := time.NewTimer(o.QueueTimeout)
			defer t.Stop()
			select {
			case o.slots <- struct{}{}:
				<-o.waiting
				x.OnDone(func() { <-o.slots })
				// Let the exchange go on; the wait itself is the fault.
				return Outcome{Detail: fmt.Sprintf("queued %s for one of %d slots", time.Since(start).Round(time.Millisecond), o.MaxInflight)}, nil
			case <-t.C:
				<-o.waiting
				return o.reject(x, fmt.Sprintf("waited %s in the queue", o.QueueTimeout))
			case <-ctx.Done():
				<-o.waiting
				return o.reject(x, "proxy stopping")
			}
		default:
		}
	}
	return o.reject(x, fmt.Sprintf("%d in flight and the queue of %d full", o.MaxInflight, o.Queue))
}

// reject turns the request away, with a reset or a 503 as Reject says.
func (o *Overload) reject(x *Exchange, why string) (Outcome, error) {
	if o.Reject == causes.HowReset {
		out := Outcome{Detail: "rejected with RST: " + why, Cause: causes.OverloadRejected, Ended: true, Close: true}
		_ = x.DrainRequest()
		endConn(x.Conn, causes.HowReset)
		return out, nil
	}
	out, err := Status{Code: 503, Body: "overloaded\n", Headers: map[string]string{"Retry-After": "1"}}.Apply(context.Background(), x)
	out.Detail, out.Cause = "rejected with 503: "+why, causes.OverloadRejected
	return out, err
}
