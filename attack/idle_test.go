package attack_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/scenarios"
)

// TestIdleConnectionsClosed checks that the connections the attacker
// opened in a burst do not stay open for the rest of the run: a burst
// of burst requests, each held by the server until all have arrived, so
// that each comes on a connection of its own, then a slow phase whose
// requests need one connection. The attack ends as soon as the server
// has seen all but one of the burst's connections closed; without an
// idle timeout they stay open and the slow phase runs to its end.
func TestIdleConnectionsClosed(t *testing.T) {
	const burst = 8
	var (
		mu      sync.Mutex
		arrived int
		closed  int
	)
	all := make(chan struct{})
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		if arrived == burst {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-r.Context().Done():
		}
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			mu.Lock()
			closed++
			mu.Unlock()
		}
	}
	ts.Start()
	defer ts.Close()

	phases := []scenarios.Phase{
		{Name: "burst", Duration: scenarios.Duration(burst * time.Millisecond), Rate: scenarios.Rate{Freq: 1000, Per: time.Second}},
		{Name: "slow", Duration: scenarios.Duration(20 * time.Second), Rate: scenarios.Rate{Freq: 20, Per: time.Second}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var gone bool
	_, err := attack.Run(ctx, attack.NewPacer(phases), attack.Options{
		Name: "idle", BaseURL: ts.URL, Requests: []scenarios.Request{{Method: http.MethodGet, Path: "/"}},
		Timeout: 10 * time.Second, IdleTimeout: 50 * time.Millisecond,
	}, func(*vegeta.Result) error {
		mu.Lock()
		defer mu.Unlock()
		if closed >= burst-1 && !gone {
			gone = true
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !gone {
		t.Errorf("got the burst's connections open for the whole attack (%d closed by its end), want at least %d of its %d closed while it ran", closed, burst-1, burst)
	}
}
