package faults

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

func TestKeepaliveClosesIdleConnection(t *testing.T) {
	addr, events := startProxy(t, http.HandlerFunc(body100), scenarios.Fault{Kind: "keepalive", Idle: scenarios.Duration(50 * time.Millisecond)})
	c := dialProxy(t, addr)
	defer c.Close()
	br := keptAlive(t, c)
	start := time.Now()
	// The answer was complete and keep-alive; now the proxy must close.
	if n, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("got %v, %v; want EOF once idle", n, err)
	}
	if took := time.Since(start); took < 40*time.Millisecond {
		t.Errorf("closed after %s idle, want at least the 50ms idle", took)
	}
	evs := events()
	if len(evs) != 1 || evs[0].Cause != "keepalive-race" || evs[0].Seq != nil {
		t.Errorf("got %+v, want one keepalive event without seq", evs)
	}
}
