package faults

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestSetStart checks that the proxy's phases, for what goes by its clock,
// begin when SetStart says, whether it is called before Serve begins or
// while it serves: the run sets it to the attack's start, once the
// gateway is up.
func TestSetStart(t *testing.T) {
	phases := []Phase{{Name: "first", Duration: 100 * time.Millisecond}, {Name: "second", Duration: time.Hour}}
	name := func(p *Proxy) string {
		if ph := p.phaseNow(); ph != nil {
			return ph.Name
		}
		return ""
	}
	for _, before := range []bool{true, false} {
		p, err := New(Config{Upstream: "127.0.0.1:1", Phases: phases})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		future := time.Now().Add(time.Hour)
		if before {
			p.SetStart(future)
		}
		go func() { done <- p.Serve(ctx, ln) }()
		if !before {
			p.SetStart(future)
		}
		// Serve must not move a start set before it: still the first
		// phase an hour before it begins.
		for range 3 {
			if got := name(p); got != "first" {
				t.Errorf("before=%v: start an hour ahead: got phase %q, want first", before, got)
			}
			time.Sleep(time.Millisecond)
		}
		p.SetStart(time.Now().Add(-150 * time.Millisecond))
		if got := name(p); got != "second" {
			t.Errorf("before=%v: started 150ms ago: got phase %q, want second", before, got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
