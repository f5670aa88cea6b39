package faults

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

func TestHangEndsWhenPeerCloses(t *testing.T) {
	addr, log, events := startProxyLog(t, http.HandlerFunc(hello), scenarios.Fault{Kind: "hang"})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Vegeta-Seq: 1\r\n\r\n")
	// Closing our side must end the hang while the proxy runs on: the
	// event is written once the hang ends.
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for log.Count() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	evs := events()
	if len(evs) != 1 || !strings.Contains(evs[0].Detail, "peer closed") {
		t.Fatalf("got %+v, want one hang event ended by the peer closing", evs)
	}
}

// TestHangInModeTCP: a hang with for swallows the request and ends on its timer.
func TestHangInModeTCP(t *testing.T) {
	inModeTCP(t, []tcpCase{
		{
			name:     "hang for",
			faults:   []scenarios.Fault{{Kind: "hang", For: scenarios.Duration(300 * time.Millisecond)}},
			upstream: sendThenWait(tcpPayload),
			send:     "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
			minTime:  300 * time.Millisecond,
			kind:     "hang", cause: "upstream-timeout", ended: true, detail: "timer",
		},
	})
}

// TestHangInModeTCPUntilTheEnd: hang swallows a connection until the peer closes or the proxy
// stops.
func TestHangInModeTCPUntilTheEnd(t *testing.T) { swallowsInModeTCP(t, "hang") }
