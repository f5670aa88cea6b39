package faults

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// TestSlowBodyOnTheWire: the whole body comes, paced.
func TestSlowBodyOnTheWire(t *testing.T) {
	onTheWire(t, []wireCase{
		{name: "slow body: 100 bytes at 250 B/s", fault: scenarios.Fault{Kind: "slow-body", BytesPerSecond: 250},
			check: func(t *testing.T, got []byte, err error, took time.Duration) {
				if !bytes.HasSuffix(got, bytes.Repeat([]byte("b"), 100)) || took < 300*time.Millisecond {
					t.Errorf("got %d bytes in %s; want the whole body in at least 300ms", len(got), took)
				}
			}},
	})
}
