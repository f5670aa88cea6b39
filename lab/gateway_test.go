package lab_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/scenarios"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for the gateway's writes and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// chain starts upstream -> fault proxy (one fault, always) -> built-in
// gateway, and returns the gateway's URL and its error log.
func chain(t *testing.T, fault *scenarios.Fault, upstreamTimeout time.Duration) (string, *syncBuffer) {
	url, log, _ := chainProxy(t, fault, upstreamTimeout)
	return url, log
}

// chainProxy is chain that also returns the fault proxy's address.
func chainProxy(t *testing.T, fault *scenarios.Fault, upstreamTimeout time.Duration) (string, *syncBuffer, string) {
	t.Helper()
	up, err := lab.Start(lab.Upstream{BodyBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Close() })
	phase := faults.Phase{Name: "p", Duration: time.Hour}
	if fault != nil {
		r, err := faults.NewRule(0, *fault)
		if err != nil {
			t.Fatal(err)
		}
		phase.Rules = []faults.Rule{r}
	}
	p, err := faults.New(faults.Config{Upstream: up.Addr(), Phases: []faults.Phase{phase}})
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
	var log syncBuffer
	gw, err := lab.NewGateway("http://"+ln.Addr().String(), upstreamTimeout, &log)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := lab.Start(gw)
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last in first out: gateway, then proxy, then upstream.
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() { srv.Close() })
	return srv.URL(), &log, ln.Addr().String()
}

func TestGatewayAnswers(t *testing.T) {
	ms := func(d int) scenarios.Duration { return scenarios.Duration(time.Duration(d) * time.Millisecond) }
	ok := `"` + string(bytes.Repeat([]byte("x"), 98)) + `"`
	tests := []struct {
		name  string
		fault *scenarios.Fault
		code  int
		body  string
		// cut: the answer breaks off after the upstream's headers: Go's
		// ReverseProxy aborts, so the client gets no answer or a cut one.
		cut bool
	}{
		{name: "no fault passes the upstream through", code: 200, body: ok},
		{name: "reset before headers", fault: &scenarios.Fault{Kind: "reset"}, code: 502},
		{name: "close before headers", fault: &scenarios.Fault{Kind: "close"}, code: 502},
		{name: "reset at connect", fault: &scenarios.Fault{Kind: "reset", At: "connect"}, code: 502},
		{name: "close at connect", fault: &scenarios.Fault{Kind: "close", At: "connect"}, code: 502},
		{name: "reset after headers: a cut 200", fault: &scenarios.Fault{Kind: "reset", At: "after-headers"}, code: 200, cut: true},
		{name: "close mid-body: a cut 200", fault: &scenarios.Fault{Kind: "close", At: "mid-body", AfterBytes: 10}, code: 200, cut: true},
		{name: "malformed status line", fault: &scenarios.Fault{Kind: "malformed"}, code: 502},
		{name: "malformed header", fault: &scenarios.Fault{Kind: "malformed", Variant: "header"}, code: 502},
		{name: "garbage", fault: &scenarios.Fault{Kind: "malformed", Variant: "garbage", Bytes: 64}, code: 502},
		{name: "length mismatch: a cut 200", fault: &scenarios.Fault{Kind: "malformed", Variant: "length-mismatch"}, code: 200, cut: true},
		{name: "bad chunked: a cut 200", fault: &scenarios.Fault{Kind: "malformed", Variant: "bad-chunked"}, code: 200, cut: true},
		{name: "oversized headers under Go's 1 MB limit pass", fault: &scenarios.Fault{Kind: "malformed", Variant: "oversized-headers", Size: 70000}, code: 200, body: "ok"},
		{name: "hang is 504 after the upstream timeout", fault: &scenarios.Fault{Kind: "hang"}, code: 504},
		{name: "blackhole is 504", fault: &scenarios.Fault{Kind: "blackhole"}, code: 504},
		{name: "latency beyond the upstream timeout is 504", fault: &scenarios.Fault{Kind: "latency", Delay: ms(3000)}, code: 504},
		{name: "slow headers beyond the upstream timeout is 504", fault: &scenarios.Fault{Kind: "slow-headers", Duration: ms(3000)}, code: 504},
		{name: "slow body arrives whole", fault: &scenarios.Fault{Kind: "slow-body", BytesPerSecond: 1000}, code: 200, body: ok},
		{name: "an injected 503 passes through", fault: &scenarios.Fault{Kind: "status", Code: 503, Body: "busy"}, code: 503, body: "busy"},
		{name: "refuse is 502", fault: &scenarios.Fault{Kind: "refuse"}, code: 502},
		{name: "overload with room passes", fault: &scenarios.Fault{Kind: "overload", MaxInflight: 1}, code: 200, body: ok},
		{name: "sse cut on a plain answer passes", fault: &scenarios.Fault{Kind: "sse-cut", Events: 0}, code: 200, body: ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, log, proxy := chainProxy(t, tt.fault, 500*time.Millisecond)
			if tt.fault != nil && tt.fault.Kind == "refuse" {
				waitRefused(t, proxy)
			}
			// A fresh connection per request: the gateway must not retry.
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
			resp, err := client.Get(url + "/v1/items")
			if err != nil {
				if !tt.cut {
					t.Fatal(err)
				}
				return // no answer at all: vegeta's code 0
			}
			body, berr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Errorf("got %d, want %d", resp.StatusCode, tt.code)
			}
			if tt.cut {
				if berr == nil {
					t.Errorf("got the whole body %q, want it cut", body)
				}
			} else if berr != nil || string(body) != tt.body {
				t.Errorf("got body %q, %v; want %q", body, berr, tt.body)
			}
			if tt.code >= 502 && tt.code <= 504 && tt.fault.Kind != "status" && !strings.Contains(log.String(), "status=") {
				t.Errorf("gateway log lacks the error answer: %q", log.String())
			}
		})
	}
}

// waitRefused waits (bounded) until connecting to addr is refused.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the proxy never refused connections")
}
