package faults

import (
	"net"
	"sort"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

func TestLatencyDistributions(t *testing.T) {
	for _, typ := range []string{"lognormal", "normal", "uniform"} {
		t.Run(typ, func(t *testing.T) {
			l := Latency{Distribution: &scenarios.Distribution{Type: typ, P50: scenarios.Duration(10 * time.Millisecond), P99: scenarios.Duration(50 * time.Millisecond)}}
			var ws []float64
			for seq := range uint64(20000) {
				ws = append(ws, float64(l.Wait(NewDraw(1, "a", seq, 0, 0))))
			}
			p50, p99 := quantile(ws, 0.5), quantile(ws, 0.99)
			if p50 < 9e6 || p50 > 11e6 || p99 < 45e6 || p99 > 55e6 {
				t.Errorf("got p50 %.1fms p99 %.1fms, want 10ms and 50ms within 10%%", p50/1e6, p99/1e6)
			}
		})
	}
}

func quantile(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[int(q*float64(len(s)-1))]
}

// TestLatencyInModeTCP: the upstream's first bytes are held.
func TestLatencyInModeTCP(t *testing.T) {
	inModeTCP(t, []tcpCase{
		{
			name:     "latency",
			faults:   []scenarios.Fault{{Kind: "latency", Delay: scenarios.Duration(300 * time.Millisecond), Jitter: scenarios.Duration(50 * time.Millisecond)}},
			upstream: func(c *net.TCPConn) { _, _ = c.Write([]byte("hi")); _ = c.CloseWrite() },
			want:     []byte("hi"),
			dialled:  true,
			minTime:  250 * time.Millisecond,
			kind:     "latency", detail: "before the upstream's first bytes",
		},
	})
}
