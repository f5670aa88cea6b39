package faults

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
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

// TestSSEStallGatewayLeaves: a gateway that closes its connection during
// a stall (its client gave up on the stream) is the gateway leaving, not
// the upstream failing: the proxy's write after the pause fails on the
// gateway's side, and the only failure it records is gateway-closed.
func TestSSEStallGatewayLeaves(t *testing.T) {
	// Enough events after the pause that writing them down must fail.
	many := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 500 {
			fmt.Fprintf(w, "data: %d %s\n\n", i, strings.Repeat("x", 1000))
			w.(http.Flusher).Flush()
		}
	}
	addr, log, events := startProxyLog(t, http.HandlerFunc(many), scenarios.Fault{Kind: "sse-stall", Events: 1, For: scenarios.Duration(300 * time.Millisecond)})
	live, unsubscribe := log.Subscribe()
	defer unsubscribe()
	c := dialProxy(t, addr)
	fmt.Fprintf(c, "GET /stream HTTP/1.1\r\nHost: x\r\nX-Vegeta-Attack: a\r\nX-Vegeta-Seq: 7\r\n\r\n")
	br := bufio.NewReader(c)
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read the first event: %v", err)
		}
		if strings.HasPrefix(l, "data: 0") {
			break
		}
	}
	// Leave with a RST, as a gateway whose client went away may: the
	// proxy's next write fails at once.
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	// The exchange's end: an observation of the failure it met.
	timeout := time.After(10 * time.Second)
	for ended := false; !ended; {
		select {
		case e := <-live:
			ended = e.Type == TypeObservation && (e.Kind == ObservedGatewayClosed || e.Kind == ObservedUpstreamError)
		case <-timeout:
			t.Fatalf("no observation of the exchange's end within 10s; events %+v", events())
		}
	}
	evs := events()
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind+"/"+e.Cause)
		if e.Kind == ObservedUpstreamError {
			t.Errorf("got an upstream error %+v; the gateway left, the upstream did nothing", e)
		}
	}
	if !slices.Contains(kinds, ObservedGatewayClosed+"/") || !slices.Contains(kinds, "sse-stall/") {
		t.Errorf("got events %q, want the sse-stall fault and the gateway closing", kinds)
	}
}
