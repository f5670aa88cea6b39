package faults

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// TestSSEStallOnTheWire: every event comes, after the pause.
func TestSSEStallOnTheWire(t *testing.T) {
	onTheWire(t, []wireCase{
		{name: "sse stall after 1 event", upstream: events5, fault: scenarios.Fault{Kind: "sse-stall", Events: 1, For: scenarios.Duration(300 * time.Millisecond)},
			check: func(t *testing.T, got []byte, err error, took time.Duration) {
				if !bytes.Contains(got, []byte("data: 4\n\n")) || took < 300*time.Millisecond {
					t.Errorf("got %q in %s; want every event in at least 300ms", got, took)
				}
			}},
	})
}
