package faults

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

func TestRefuseClosesTheListener(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up.Close() // nothing needs to answer: connecting is what is tested
	refuse, _ := NewRule(0, scenarios.Fault{Kind: "refuse"})
	var buf bytes.Buffer
	log := NewEventLog(&buf)
	p, _ := New(Config{Upstream: up.Addr().String(), Phases: []Phase{{Name: "refusing", Rules: []Rule{refuse}}}, Events: log})
	addr, stop := serve(t, p)
	defer stop()

	// Connecting is refused for real once the refuse loop has run.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if errors.Is(err, syscall.ECONNREFUSED) {
			break
		}
		if err == nil {
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("connecting: got %v, want ECONNREFUSED", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The fault ends: the listener reopens on the same address.
	p.SetPhases([]Phase{{Name: "open"}})
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the refuse ended: %v, want a connection", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if refuse.Applied() != 1 {
		t.Errorf("refuse applied %d times, want 1", refuse.Applied())
	}
}

// TestRefuseEndsOpenConnections: an upstream that dies takes its open
// keep-alive connections with it, so refuse ends them too.
func TestRefuseEndsOpenConnections(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(body100))
	defer up.Close()
	p, _ := New(Config{Upstream: up.Listener.Addr().String(), Phases: []Phase{{Name: "open"}}})
	addr, stop := serve(t, p)
	defer stop()

	c := dialProxy(t, addr)
	defer c.Close()
	br := keptAlive(t, c)
	// The connection is idle and kept alive; now the upstream "dies".
	refuse, _ := NewRule(0, scenarios.Fault{Kind: "refuse"})
	p.SetPhases([]Phase{{Name: "refusing", Rules: []Rule{refuse}}})
	if b, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("got %v, %v; want the idle connection closed (EOF)", b, err)
	}
}
