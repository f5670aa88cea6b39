package faults

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// TestSSECutOnTheWire: a stream ends after its events; any other answer passes.
func TestSSECutOnTheWire(t *testing.T) {
	onTheWire(t, []wireCase{
		{name: "sse cut after 2 events", upstream: events5, fault: scenarios.Fault{Kind: "sse-cut", Events: 2},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if !bytes.Contains(got, []byte("data: 1\n\n")) || bytes.Contains(got, []byte("data: 2")) || err != nil {
					t.Errorf("got %q, %v; want events 0 and 1, then EOF", got, err)
				}
			}, cause: "closed-mid-body", ended: true},
		{name: "sse cut counts events, not chunks", upstream: eventsSplit, fault: scenarios.Fault{Kind: "sse-cut", Events: 2},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if !bytes.Contains(got, []byte("data: 1\n")) || bytes.Contains(got, []byte("data: 2")) || err != nil {
					t.Errorf("got %q, %v; want events 0 and 1, then EOF", got, err)
				}
			}, cause: "closed-mid-body", ended: true},
		{name: "sse cut on a non-stream answer has no effect", fault: scenarios.Fault{Kind: "sse-cut", Events: 0},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if !bytes.HasSuffix(got, bytes.Repeat([]byte("b"), 100)) {
					t.Errorf("got %q; want the whole answer", got)
				}
			}},
	})
}
