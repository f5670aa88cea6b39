package faults

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// hits counts the requests of one attack that a fault of probability p hits.
func hits(seed uint64, n int, p float64) int {
	c := 0
	for seq := range uint64(n) {
		if NewDraw(seed, "a", seq, 0, 0).Hit(p) {
			c++
		}
	}
	return c
}

func TestDrawIsReproducible(t *testing.T) {
	first := hits(42, 10000, 0.1)
	for range 3 {
		if got := hits(42, 10000, 0.1); got != first {
			t.Fatalf("got %d hits, want %d as on the first pass", got, first)
		}
	}
}

func TestDrawIsBinomial(t *testing.T) {
	const n, p = 10000, 0.1
	mean := n * p
	sd := math.Sqrt(n * p * (1 - p))
	// 3.29 standard deviations: the two-sided 99.9% bounds.
	lo, hi := int(mean-3.29*sd), int(mean+3.29*sd)
	for seed := range uint64(20) {
		if got := hits(seed, n, p); got < lo || got > hi {
			t.Errorf("seed %d: got %d hits of %d, want within [%d, %d]", seed, got, n, lo, hi)
		}
	}
}

func TestDrawDependsOnEveryInput(t *testing.T) {
	base := NewDraw(1, "a", 2, 3, 4).Float64()
	for name, d := range map[string]*Draw{
		"seed":    NewDraw(9, "a", 2, 3, 4),
		"attack":  NewDraw(1, "b", 2, 3, 4),
		"seq":     NewDraw(1, "a", 9, 3, 4),
		"attempt": NewDraw(1, "a", 2, 9, 4),
		"fault":   NewDraw(1, "a", 2, 3, 9),
	} {
		if got := d.Float64(); got == base {
			t.Errorf("changing %s: got the same draw %v", name, got)
		}
	}
	if got := NewDraw(1, "a", 2, 3, 4).Float64(); got != base {
		t.Errorf("same inputs: got %v, want %v", got, base)
	}
}

// TestDecisionsIndependentOfConcurrency sends the same 10,000 requests
// through the proxy twice, on one connection and then on 16 at once: the
// same seqs must be faulted both times, exactly those the draws predict.
func TestDecisionsIndependentOfConcurrency(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 requests")
	}
	const n, p = 10000, 0.1
	want := map[uint64]bool{}
	for seq := range uint64(n) {
		if NewDraw(1, "a", seq, 0, 0).Hit(p) {
			want[seq] = true
		}
	}
	for _, conns := range []int{1, 16} {
		prob := p
		addr, events := startProxy(t, http.HandlerFunc(hello), scenarios.Fault{Kind: "status", Code: 500, Probability: &prob})
		var wg sync.WaitGroup
		for c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Error(err)
					return
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(time.Minute))
				br := bufio.NewReader(conn)
				for seq := c; seq < n; seq += conns {
					fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Vegeta-Attack: a\r\nX-Vegeta-Seq: %d\r\n\r\n", seq)
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		got := map[uint64]bool{}
		for _, e := range events() {
			if e.Type == TypeFault {
				got[*e.Seq] = true
			}
		}
		if len(got) != len(want) {
			t.Errorf("%d connections: %d requests faulted, want %d", conns, len(got), len(want))
		}
		for seq := range want {
			if !got[seq] {
				t.Errorf("%d connections: seq %d not faulted, want it as the draw decides", conns, seq)
				break
			}
		}
		t.Logf("%d connections: %d of %d requests faulted", conns, len(got), n)
	}
}
