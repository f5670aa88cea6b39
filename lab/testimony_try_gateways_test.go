package lab_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// startTryProxy serves a fault proxy without faults in front of upstream
// on loopback, and returns its address and a function that stops it and
// returns its events.
func startTryProxy(t *testing.T, upstream string) (string, func() []faults.Event) {
	t.Helper()
	var buf bytes.Buffer
	log := faults.NewEventLog(&buf)
	p, err := faults.New(faults.Config{Upstream: upstream, Events: log, Phases: []faults.Phase{{Name: "p", Duration: time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy: %v", err)
		}
	}
	t.Cleanup(stop)
	return ln.Addr().String(), func() []faults.Event {
		stop()
		if err := log.Close(); err != nil {
			t.Fatal(err)
		}
		evs, err := faults.ReadEvents(&buf)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
}

// TestGatewaysForwardTry sends, through each real gateway gatecrash
// manages (default template) and the fault proxy behind it, seq 5 as
// try 1 and try 2 (a client retry) and seq 6 without a try header. Each
// gateway forwards X-Gatecrash-Try upstream unchanged (none of the
// three drops an unknown header), so the proxy logs one client-retry
// observation of seq 5, try 2, attempt 1, and nothing for seq 6; and the
// gateway's own log, read as its testimony, says which try each line is.
func TestGatewaysForwardTry(t *testing.T) {
	for _, kind := range []string{scenarios.GatewayNginx, scenarios.GatewayHAProxy, scenarios.GatewayCaddy} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			up := startSlowUpstream(t)
			proxy, events := startTryProxy(t, up.Addr())
			m, dir := startManaged(t, lab.ManagedConfig{
				Template:       defaultTemplate(t, kind),
				Upstream:       proxy,
				ConnectTimeout: 500 * time.Millisecond,
				ReadTimeout:    5 * time.Second,
			})
			for _, r := range []struct {
				seq int
				try []string
			}{{5, []string{scenarios.HeaderTry, "1"}}, {5, []string{scenarios.HeaderTry, "2"}}, {6, nil}} {
				if code, _, _ := get(t, m.URL(), r.seq, r.try...); code != 200 {
					t.Fatalf("seq %d %v: got %d, want 200", r.seq, r.try, code)
				}
			}
			var retries []faults.Event
			for _, e := range events() {
				if e.Kind == faults.ObservedRetry || e.Kind == faults.ObservedClientRetry {
					retries = append(retries, e)
				}
			}
			if len(retries) != 1 || retries[0].Kind != faults.ObservedClientRetry || retries[0].Seq == nil || *retries[0].Seq != 5 || retries[0].Try != 2 || retries[0].Attempt != 1 {
				t.Fatalf("got retry observations %+v, want one client-retry of seq 5, try 2, attempt 1", retries)
			}

			// The gateway's log: one line per try, each with its number.
			access := filepath.Join(dir, accessLogFile)
			got := map[uint64][]int{}
			for deadline := time.Now().Add(5 * time.Second); ; {
				ts := readAccess(t, kind, access)
				got = map[uint64][]int{}
				for _, x := range ts {
					if x.Seq != nil {
						got[*x.Seq] = append(got[*x.Seq], x.Try)
					}
				}
				if len(got[6]) > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(got[5]) != 2 || got[5][0] != 1 || got[5][1] != 2 || len(got[6]) != 1 || got[6][0] != 0 {
				t.Errorf("got tries by seq %v from the access log, want seq 5: [1 2], seq 6: [0]", got)
			}
		})
	}
}

// readAccess reads a gateway's access log as its testimony.
func readAccess(t *testing.T, kind, path string) []results.Testimony {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	defer f.Close()
	ts, err := lab.ReadTestimony(kind, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}
