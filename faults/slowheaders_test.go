package faults

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// TestSlowHeadersOnTheWire: the whole answer comes, its head dribbled.
func TestSlowHeadersOnTheWire(t *testing.T) {
	onTheWire(t, []wireCase{
		{name: "slow headers over 300ms", fault: scenarios.Fault{Kind: "slow-headers", Duration: scenarios.Duration(300 * time.Millisecond)},
			check: func(t *testing.T, got []byte, err error, took time.Duration) {
				if !bytes.HasPrefix(got, []byte(head100)) || took < 250*time.Millisecond {
					t.Errorf("got %q in %s; want the whole answer in at least 250ms", got, took)
				}
			}},
	})
}
