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
	return srv.URL(), &log
}

func TestGatewayAnswers(t *testing.T) {
	tests := []struct {
		name  string
		fault *scenarios.Fault
		code  int
		body  string
	}{
		{"no fault passes the upstream through", nil, 200, `"` + string(bytes.Repeat([]byte("x"), 98)) + `"`},
		{"reset before headers is 502", &scenarios.Fault{Kind: "reset"}, 502, ""},
		{"malformed status line is 502", &scenarios.Fault{Kind: "malformed"}, 502, ""},
		{"hang is 504 after the upstream timeout", &scenarios.Fault{Kind: "hang"}, 504, ""},
		{"latency beyond the upstream timeout is 504", &scenarios.Fault{Kind: "latency", Delay: scenarios.Duration(time.Second)}, 504, ""},
		{"an injected 503 passes through", &scenarios.Fault{Kind: "status", Code: 503, Body: "busy"}, 503, "busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, log := chain(t, tt.fault, 200*time.Millisecond)
			// A fresh connection per request: the gateway must not retry.
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
			resp, err := client.Get(url + "/v1/items")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code || string(body) != tt.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.code, tt.body)
			}
			if tt.code >= 502 && tt.code <= 504 && tt.fault.Kind != "status" && !strings.Contains(log.String(), "status=") {
				t.Errorf("gateway log lacks the error answer: %q", log.String())
			}
		})
	}
}
