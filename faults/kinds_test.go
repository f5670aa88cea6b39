package faults

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// body100 answers 200 with a 100-byte body.
func body100(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Length", "100")
	w.Write(bytes.Repeat([]byte("b"), 100))
}

// eventsSplit streams five events, each in two flushes that split its
// blank line, so that chunk framing falls inside the separator.
func eventsSplit(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	for i := range 5 {
		fmt.Fprintf(w, "data: %d\n", i)
		w.(http.Flusher).Flush()
		fmt.Fprint(w, "\n")
		w.(http.Flusher).Flush()
	}
}

// events5 streams five server-sent events, flushing each.
func events5(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	for i := range 5 {
		fmt.Fprintf(w, "data: %d\n\n", i)
		w.(http.Flusher).Flush()
	}
}

// exchangeRaw sends one request on a new connection and returns the raw
// bytes that came back until the connection ended, the error that ended
// it, and how long it took.
func exchangeRaw(t *testing.T, addr string) ([]byte, error, time.Duration) {
	t.Helper()
	start := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err, time.Since(start) // a reset can beat connect's return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /v1/x HTTP/1.1\r\nHost: x\r\nX-Vegeta-Attack: a\r\nX-Vegeta-Seq: 1\r\nConnection: close\r\n\r\n")
	var got bytes.Buffer
	_, err = io.Copy(&got, c)
	return got.Bytes(), err, time.Since(start)
}

// goClient reads the same exchange with Go's HTTP client, as a gateway
// built on net/http would.
func goClient(t *testing.T, addr string) (int, []byte, error) {
	t.Helper()
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := cl.Get("http://" + addr + "/v1/x")
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func TestEveryKindOnTheWire(t *testing.T) {
	head100 := "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
	tests := []struct {
		name     string
		upstream http.HandlerFunc
		fault    scenarios.Fault
		check    func(t *testing.T, got []byte, err error, took time.Duration)
		cause    string // the event's cause; "" for none
		ended    bool
	}{
		{name: "close before headers: EOF, no byte", fault: scenarios.Fault{Kind: "close"},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if len(got) != 0 || err != nil {
					t.Errorf("got %q, %v; want nothing then EOF", got, err)
				}
			}, cause: "closed-before-headers", ended: true},
		// The RST can meet the client's write of its request first, which
		// takes the ECONNRESET; the read after it sees EOF.
		{name: "reset at connect: no byte", fault: scenarios.Fault{Kind: "reset", At: "connect"},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if len(got) != 0 || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
					t.Errorf("got %q, %v; want no byte, then ECONNRESET (or EOF after a failed write)", got, err)
				}
			}, cause: "reset-before-headers", ended: true},
		// A FIN before the request arrives: reading gives EOF, or ECONNRESET
		// when the request reached the closed socket first.
		{name: "close at connect: no byte", fault: scenarios.Fault{Kind: "close", At: "connect"},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if len(got) != 0 || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
					t.Errorf("got %q, %v; want no byte, then EOF or ECONNRESET", got, err)
				}
			}, cause: "closed-before-headers", ended: true},
		{name: "reset after headers: the head, then ECONNRESET", fault: scenarios.Fault{Kind: "reset", At: "after-headers"},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if !bytes.HasPrefix(got, []byte(head100)) || !bytes.HasSuffix(got, []byte("\r\n\r\n")) || !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("got %q, %v; want the head only, then ECONNRESET", got, err)
				}
			}, cause: "reset-after-headers", ended: true},
		{name: "close mid-body: exactly after_bytes, then EOF", fault: scenarios.Fault{Kind: "close", At: "mid-body", AfterBytes: 7},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				_, body, _ := bytes.Cut(got, []byte("\r\n\r\n"))
				if string(body) != "bbbbbbb" || err != nil {
					t.Errorf("got body %q, %v; want 7 bytes then EOF", body, err)
				}
			}, cause: "closed-mid-body", ended: true},
		{name: "reset mid-body", fault: scenarios.Fault{Kind: "reset", At: "mid-body", AfterBytes: 3},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				_, body, _ := bytes.Cut(got, []byte("\r\n\r\n"))
				if string(body) != "bbb" || !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("got body %q, %v; want 3 bytes then ECONNRESET", body, err)
				}
			}, cause: "reset-mid-body", ended: true},
		{name: "slow body: 100 bytes at 250 B/s", fault: scenarios.Fault{Kind: "slow-body", BytesPerSecond: 250},
			check: func(t *testing.T, got []byte, err error, took time.Duration) {
				if !bytes.HasSuffix(got, bytes.Repeat([]byte("b"), 100)) || took < 300*time.Millisecond {
					t.Errorf("got %d bytes in %s; want the whole body in at least 300ms", len(got), took)
				}
			}},
		{name: "slow headers over 300ms", fault: scenarios.Fault{Kind: "slow-headers", Duration: scenarios.Duration(300 * time.Millisecond)},
			check: func(t *testing.T, got []byte, err error, took time.Duration) {
				if !bytes.HasPrefix(got, []byte(head100)) || took < 250*time.Millisecond {
					t.Errorf("got %q in %s; want the whole answer in at least 250ms", got, took)
				}
			}},
		{name: "malformed header", fault: scenarios.Fault{Kind: "malformed", Variant: "header"},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if string(got) != "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nthis header line has no colon\r\n\r\nok" {
					t.Errorf("got %q", got)
				}
			}, cause: "malformed-header", ended: true},
		{name: "length mismatch", fault: scenarios.Fault{Kind: "malformed", Variant: "length-mismatch"},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if !bytes.HasPrefix(got, []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n")) || err != nil {
					t.Errorf("got %q, %v", got, err)
				}
			}, cause: "length-mismatch", ended: true},
		{name: "bad chunked", fault: scenarios.Fault{Kind: "malformed", Variant: "bad-chunked"},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if !bytes.Contains(got, []byte("\r\n\r\n5\r\nhello\r\nzz\r\n")) {
					t.Errorf("got %q", got)
				}
			}, cause: "truncated-chunked", ended: true},
		{name: "oversized headers", fault: scenarios.Fault{Kind: "malformed", Variant: "oversized-headers", Size: 70000},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				h, body, _ := bytes.Cut(got, []byte("\r\n\r\n"))
				if len(h) < 69000 || len(h) > 70000 || string(body) != "ok" {
					t.Errorf("got a %d-byte head and body %q; want about 70000 and ok", len(h), body)
				}
			}, cause: "oversized-headers", ended: true},
		{name: "garbage", fault: scenarios.Fault{Kind: "malformed", Variant: "garbage", Bytes: 33},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if len(got) != 33 {
					t.Errorf("got %d bytes, want 33", len(got))
				}
			}, cause: "malformed-status-line", ended: true},
		{name: "sse cut after 2 events", upstream: events5, fault: scenarios.Fault{Kind: "sse-cut", Events: 2},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if !bytes.Contains(got, []byte("data: 1\n\n")) || bytes.Contains(got, []byte("data: 2")) || err != nil {
					t.Errorf("got %q, %v; want events 0 and 1, then EOF", got, err)
				}
			}, cause: "closed-mid-body", ended: true},
		{name: "sse cut counts events, not chunks", upstream: eventsSplit, fault: scenarios.Fault{Kind: "sse-cut", Events: 2},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if !bytes.Contains(got, []byte("data: 1\n")) || bytes.Contains(got, []byte("data: 2")) || err != nil {
					t.Errorf("got %q, %v; want events 0 and 1, then EOF", got, err)
				}
			}, cause: "closed-mid-body", ended: true},
		{name: "sse stall after 1 event", upstream: events5, fault: scenarios.Fault{Kind: "sse-stall", Events: 1, For: scenarios.Duration(300 * time.Millisecond)},
			check: func(t *testing.T, got []byte, err error, took time.Duration) {
				if !bytes.Contains(got, []byte("data: 4\n\n")) || took < 300*time.Millisecond {
					t.Errorf("got %q in %s; want every event in at least 300ms", got, took)
				}
			}},
		{name: "sse cut on a non-stream answer has no effect", fault: scenarios.Fault{Kind: "sse-cut", Events: 0},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if !bytes.HasSuffix(got, bytes.Repeat([]byte("b"), 100)) {
					t.Errorf("got %q; want the whole answer", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := tt.upstream
			if up == nil {
				up = body100
			}
			addr, events := startProxy(t, up, tt.fault)
			got, err, took := exchangeRaw(t, addr)
			tt.check(t, got, err, took)
			evs := events()
			var faults []Event
			for _, e := range evs {
				if e.Type == TypeFault {
					faults = append(faults, e)
				}
			}
			if len(faults) != 1 || faults[0].Kind != tt.fault.Kind || faults[0].Cause != tt.cause || faults[0].Ended != tt.ended {
				t.Errorf("got events %+v, want one %s event with cause %q, ended %v", evs, tt.fault.Kind, tt.cause, tt.ended)
			}
		})
	}
}

// TestMalformedAsGoSeesIt: what a Go-based gateway's client makes of each
// malformed answer.
func TestMalformedAsGoSeesIt(t *testing.T) {
	for _, tt := range []struct {
		variant string
		want    string // in the client's error
	}{
		{"status-line", "malformed HTTP status code"},
		{"header", "malformed MIME header"},
		{"length-mismatch", "unexpected EOF"},
		{"bad-chunked", "invalid byte in chunk length"},
		{"oversized-headers", ""}, // Go reads 1 MB of headers: it passes
	} {
		t.Run(tt.variant, func(t *testing.T) {
			addr, _ := startProxy(t, http.HandlerFunc(body100), scenarios.Fault{Kind: "malformed", Variant: tt.variant})
			_, _, err := goClient(t, addr)
			if tt.want == "" {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestKeepaliveClosesIdleConnection(t *testing.T) {
	addr, events := startProxy(t, http.HandlerFunc(body100), scenarios.Fault{Kind: "keepalive", Idle: scenarios.Duration(50 * time.Millisecond)})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
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
		})
	}
}

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

func TestLatencyDistributions(t *testing.T) {
	for _, typ := range []string{"lognormal", "normal", "uniform"} {
		t.Run(typ, func(t *testing.T) {
			l := Latency{Distribution: &scenarios.Distribution{Type: typ, P50: scenarios.Duration(10 * time.Millisecond), P99: scenarios.Duration(50 * time.Millisecond)}}
			var ws []float64
			for seq := range uint64(20000) {
				ws = append(ws, float64(l.Wait(NewDraw(1, "a", seq, 0, 0))))
			}
			p50, p99 := quantile(ws, 0.5), quantile(ws, 0.99)
			if p50 < 9e6 || p50 > 11e6 || p99 < 45e6 || p99 > 55e6 {
				t.Errorf("got p50 %.1fms p99 %.1fms, want 10ms and 50ms within 10%%", p50/1e6, p99/1e6)
			}
		})
	}
}

func quantile(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[int(q*float64(len(s)-1))]
}

// TestRefuseEndsOpenConnections: an upstream that dies takes its open
// keep-alive connections with it, so refuse ends them too.
func TestRefuseEndsOpenConnections(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(body100))
	defer up.Close()
	p, _ := New(Config{Upstream: up.Listener.Addr().String(), Phases: []Phase{{Name: "open"}}})
	addr, stop := serve(t, p)
	defer stop()

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	// The connection is idle and kept alive; now the upstream "dies".
	refuse, _ := NewRule(0, scenarios.Fault{Kind: "refuse"})
	p.SetPhases([]Phase{{Name: "refusing", Rules: []Rule{refuse}}})
	if b, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("got %v, %v; want the idle connection closed (EOF)", b, err)
	}
}

// TestResetAtConnectIsAnRST reads without writing, so the RST itself
// (not a failed write) is what the client meets.
func TestResetAtConnectIsAnRST(t *testing.T) {
	addr, _ := startProxy(t, http.HandlerFunc(body100), scenarios.Fault{Kind: "reset", At: "connect"})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.ECONNRESET) {
			return // the RST beat connect's return
		}
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("got %v, want ECONNRESET", err)
	}
}

// TestPlannedFaultLoggedWhenALaterOneEnds: slow-body planned, then a
// status answers: both log an event.
func TestPlannedFaultLoggedWhenALaterOneEnds(t *testing.T) {
	addr, events := startProxy(t, http.HandlerFunc(body100),
		scenarios.Fault{Kind: "slow-body", BytesPerSecond: 1000},
		scenarios.Fault{Kind: "status", Code: 500})
	exchangeRaw(t, addr)
	var kinds []string
	for _, e := range events() {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "status,slow-body" && strings.Join(kinds, ",") != "slow-body,status" {
		t.Errorf("got events %v, want one for slow-body and one for status", kinds)
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
