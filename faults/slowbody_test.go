package faults

import (
	"bytes"
	"net"
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

// TestSlowBodyInModeTCP: the upstream's bytes are paced.
func TestSlowBodyInModeTCP(t *testing.T) {
	inModeTCP(t, []tcpCase{
		{
			// 15,000 bytes at 10,000 B/s take 1.5 s, less a burst of up
			// to one second's worth.
			name:     "slow body",
			faults:   []scenarios.Fault{{Kind: "slow-body", BytesPerSecond: 10_000}},
			upstream: func(c *net.TCPConn) { _, _ = c.Write(tcpPayload[:15_000]); _ = c.CloseWrite() },
			want:     tcpPayload[:15_000],
			dialled:  true,
			minTime:  1500*time.Millisecond - time.Second,
			kind:     "slow-body", detail: "paced to 10000 B/s",
		},
	})
}
