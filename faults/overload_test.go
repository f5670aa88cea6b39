package faults

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

func TestOverloadRejects(t *testing.T) {
	for _, reject := range []string{"503", "reset"} {
		t.Run(reject, func(t *testing.T) {
			release := make(chan struct{})
			arrived := make(chan struct{}, 1)
			addr, events := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				<-release
				fmt.Fprint(w, "ok")
			}), scenarios.Fault{Kind: "overload", MaxInflight: 1, Reject: reject})
			first := make(chan error, 1)
			go func() {
				_, _, err := goClient(t, addr)
				first <- err
			}()
			<-arrived // the one slot is taken
			got, err, _ := exchangeRaw(t, addr)
			if reject == "503" && !bytes.HasPrefix(got, []byte("HTTP/1.1 503 Service Unavailable\r\n")) {
				t.Errorf("got %q, %v; want a 503", got, err)
			}
			if reject == "reset" && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("got %q, %v; want ECONNRESET", got, err)
			}
			close(release)
			if err := <-first; err != nil {
				t.Errorf("the request in flight: %v", err)
			}
			evs := events()
			if len(evs) != 1 || evs[0].Cause != "overload-rejected" {
				t.Errorf("got %+v, want one overload-rejected event", evs)
			}
			// The 503 is the fault's own answer; a reset answers nothing.
			wantStatus := map[string]int{"503": 503, "reset": 0}[reject]
			if len(evs) == 1 && evs[0].Status != wantStatus {
				t.Errorf("got event status %d, want %d", evs[0].Status, wantStatus)
			}
		})
	}
}

// TestOverloadQueue: with one slot and a queue of one, a second request
// waits for the slot and gets through once it frees; with a short queue
// timeout it is rejected after waiting.
func TestOverloadQueue(t *testing.T) {
	for _, tt := range []struct {
		name    string
		timeout time.Duration
		want    string // the second request's status line
	}{
		{"admitted when the slot frees", 30 * time.Second, "HTTP/1.1 200 OK"},
		{"rejected after the queue timeout", 100 * time.Millisecond, "HTTP/1.1 503 Service Unavailable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			arrived := make(chan struct{}, 2)
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				<-release
				fmt.Fprint(w, "ok")
			}))
			defer up.Close()
			rule, _ := NewRule(0, scenarios.Fault{Kind: "overload", MaxInflight: 1, Queue: 1, QueueTimeout: scenarios.Duration(tt.timeout)})
			p, _ := New(Config{Upstream: up.Listener.Addr().String(), Phases: []Phase{{Name: "p", Rules: []Rule{rule}}}})
			addr, stop := serve(t, p)
			defer stop()

			first := make(chan error, 1)
			go func() { _, _, err := goClient(t, addr); first <- err }()
			<-arrived // the one slot is taken
			second := make(chan []byte, 1)
			start := time.Now()
			go func() { b, _, _ := exchangeRaw(t, addr); second <- b }()
			// Wait (bounded) until the second is in the fault: counted as
			// applied while it waits (the first, admitted at once, is not).
			for deadline := time.Now().Add(10 * time.Second); rule.Applied() == 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			if tt.timeout > time.Second {
				close(release)
			}
			got := <-second
			if tt.timeout <= time.Second {
				if took := time.Since(start); took < tt.timeout {
					t.Errorf("rejected after %s, want after the %s queue timeout", took, tt.timeout)
				}
				close(release)
			}
			if !bytes.HasPrefix(got, []byte(tt.want)) {
				t.Errorf("second request: got %q, want %s", got, tt.want)
			}
			if err := <-first; err != nil {
				t.Errorf("first request: %v", err)
			}
		})
	}
}
