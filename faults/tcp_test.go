package faults

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// tcpUpstream is a raw TCP server that runs serve on every connection it
// accepts and counts them. Everything stops when the test ends.
type tcpUpstream struct {
	addr     string
	accepted atomic.Int64
}

func startTCPUpstream(t *testing.T, serve func(c *net.TCPConn)) *tcpUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &tcpUpstream{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c.(*net.TCPConn))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return u
}

// echo sends back everything it reads, then half-closes.
func echo(c *net.TCPConn) {
	if _, err := io.Copy(c, c); err == nil {
		_ = c.CloseWrite()
	}
}

// sendThenWait sends b, then waits for the peer to close.
func sendThenWait(b []byte) func(c *net.TCPConn) {
	return func(c *net.TCPConn) {
		if _, err := c.Write(b); err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, c)
	}
}

// answer waits for the first bytes of a request, then sends b and waits
// for the peer to close. (Sent before the client's dial returns, a RST
// could fail the dial instead of the read.)
func answer(b []byte) func(c *net.TCPConn) {
	return func(c *net.TCPConn) {
		var buf [512]byte
		if _, err := c.Read(buf[:]); err != nil {
			return
		}
		sendThenWait(b)(c)
	}
}

// startTCPProxy runs a mode-tcp proxy in front of upstream with one phase
// of the given faults. It returns the proxy's address, its event log, and
// a function that stops it and returns its events.
func startTCPProxy(t *testing.T, upstream string, specs ...scenarios.Fault) (string, *EventLog, func() []Event) {
	t.Helper()
	addr, log, events := runProxy(t, Config{Upstream: upstream, Seed: 1, Phases: []Phase{onlyPhase(t, specs...)}, Mode: scenarios.ModeTCP})
	return addr, log, func() []Event {
		// The tallies (TestTally*) would be in every test's way.
		return slices.DeleteFunc(events(), func(e Event) bool { return e.Kind == ObservedTally })
	}
}

func dialTCP(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c.(*net.TCPConn)
}

// tcpExchange connects to addr, sends send, and returns everything that
// comes back until the connection ends, and the error that ended it. A
// reset may come before the dial completes: that is the error then.
func tcpExchange(addr, send string) ([]byte, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if send != "" {
		if _, err := io.WriteString(c, send); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(c)
}

// checkEvent checks the fields of a mode-tcp fault event.
func checkEvent(t *testing.T, e Event, conn uint64, kind string, fault int, cause string, ended bool, detail string) {
	t.Helper()
	if e.Type != TypeFault || e.Attack != tcpAttack || e.Seq != nil || e.Conn != conn || e.Phase != "only" ||
		e.Kind != kind || e.Fault != fault || e.Cause != cause || e.Ended != ended || e.Time.IsZero() {
		t.Errorf("got event %+v, want a %s fault %d on conn %d in phase only, cause %q, ended %v", e, kind, fault, conn, cause, ended)
	}
	if !strings.Contains(e.Detail, detail) {
		t.Errorf("got detail %q, want it to contain %q", e.Detail, detail)
	}
}

func TestTCPPassThrough(t *testing.T) {
	up := startTCPUpstream(t, echo)
	addr, _, events := startTCPProxy(t, up.addr)
	c := dialTCP(t, addr)
	want := make([]byte, 3<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range want {
		want[i] = byte(r.Uint32())
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(c)
		got <- b
	}()
	if _, err := c.Write(want); err != nil {
		t.Fatal(err)
	}
	// The half-close goes through: the echo upstream sees EOF, closes its
	// side, and that EOF comes back.
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("got %d bytes back, want the %d sent, in order", len(b), len(want))
	}
	if evs := events(); len(evs) != 0 {
		t.Errorf("got events %+v, want none", evs)
	}
}

func TestTCPServerSpeaksFirst(t *testing.T) {
	up := startTCPUpstream(t, func(c *net.TCPConn) {
		_, _ = c.Write([]byte("220 hello\r\n"))
		_ = c.CloseWrite()
		_, _ = io.Copy(io.Discard, c)
	})
	addr, _, _ := startTCPProxy(t, up.addr)
	c := dialTCP(t, addr)
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "220 hello\r\n" {
		t.Fatalf("got %q, %v; want the greeting, then EOF", b, err)
	}
	// The downstream may still talk after the upstream's half-close.
	if _, err := c.Write([]byte("quit\r\n")); err != nil {
		t.Fatalf("write after the upstream's half-close: %v", err)
	}
}

func TestTCPStopClosesConnections(t *testing.T) {
	up := startTCPUpstream(t, echo)
	addr, _, events := startTCPProxy(t, up.addr)
	c := dialTCP(t, addr)
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatal(err)
	}
	events()
	if n, err := c.Read(b[:]); n != 0 || err == nil {
		t.Errorf("got %d bytes, %v after the proxy stopped; want the connection ended", n, err)
	}
}

func TestTCPUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	addr, _, events := startTCPProxy(t, dead, scenarios.Fault{Kind: "latency", Delay: scenarios.Duration(time.Millisecond)})
	_, err = tcpExchange(addr, "")
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("got %v, want ECONNRESET", err)
	}
	evs := events()
	if len(evs) != 2 {
		t.Fatalf("got %d events, want 2: %+v", len(evs), evs)
	}
	if e := evs[0]; e.Type != TypeObservation || e.Kind != ObservedUpstreamError || e.Cause != "upstream-refused" || e.Conn != 1 {
		t.Errorf("got %+v, want an upstream-error observation with cause upstream-refused", e)
	}
	checkEvent(t, evs[1], 1, "latency", 0, "", false, "no effect: the upstream could not be reached")
}

// tcpPayload is what the upstreams of the mode-tcp cases send.
var tcpPayload = bytes.Repeat([]byte("0123456789"), 10_000)

// tcpCase is one mode-tcp case: the faults, what the upstream does, what
// the client sends, what it must get back, how that ends, and the one
// event.
type tcpCase struct {
	name     string
	faults   []scenarios.Fault
	upstream func(*net.TCPConn)
	send     string
	want     []byte
	wantErr  error // nil: EOF
	dialled  bool
	minTime  time.Duration
	kind     string
	fault    int
	cause    string
	ended    bool
	detail   string
}

// inModeTCP runs each case through a mode-tcp proxy of its own.
func inModeTCP(t *testing.T, tests []tcpCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := startTCPUpstream(t, tt.upstream)
			addr, _, events := startTCPProxy(t, up.addr, tt.faults...)
			start := time.Now()
			got, err := tcpExchange(addr, tt.send)
			elapsed := time.Since(start)
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got %d bytes %.20q, want %d bytes %.20q", len(got), got, len(tt.want), tt.want)
			}
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			if elapsed < tt.minTime {
				t.Errorf("took %s, want at least %s", elapsed, tt.minTime)
			}
			evs := events()
			if n := up.accepted.Load(); (n > 0) != tt.dialled {
				t.Errorf("upstream accepted %d connections, want dialled %v", n, tt.dialled)
			}
			if tt.kind == "" {
				if len(evs) != 0 {
					t.Errorf("got events %+v, want none", evs)
				}
				return
			}
			var faults []Event
			for _, e := range evs {
				if e.Type == TypeFault && e.Fault == tt.fault {
					faults = append(faults, e)
				}
			}
			if len(faults) != 1 {
				t.Fatalf("got %d events for fault %d, want 1: %+v", len(faults), tt.fault, evs)
			}
			checkEvent(t, faults[0], 1, tt.kind, tt.fault, tt.cause, tt.ended, tt.detail)
		})
	}
}

// TestTCPFaults: what the proxy of mode tcp does with faults together, and with those it ignores.
func TestTCPFaults(t *testing.T) {
	inModeTCP(t, []tcpCase{
		{
			name: "the earliest cut wins",
			faults: []scenarios.Fault{
				{Kind: "close", At: scenarios.AtMidBody, AfterBytes: 500},
				{Kind: "reset", At: scenarios.AtMidBody, AfterBytes: 100},
			},
			upstream: answer(tcpPayload),
			send:     "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
			want:     tcpPayload[:100],
			wantErr:  syscall.ECONNRESET,
			dialled:  true,
			kind:     "reset", fault: 1, cause: "reset-mid-body", ended: true, detail: "after 100 bytes",
		},
		{
			name:     "a probability 0 fault does nothing",
			faults:   []scenarios.Fault{{Kind: "reset", At: scenarios.AtConnect, Probability: new(0.0)}},
			upstream: func(c *net.TCPConn) { _, _ = c.Write([]byte("ok")); _ = c.CloseWrite() },
			want:     []byte("ok"),
			dialled:  true,
			kind:     "",
		},
		{
			name:     "kinds that need heads are ignored",
			faults:   []scenarios.Fault{{Kind: "status", Code: 503}, {Kind: "reset", At: scenarios.AtAfterHeaders}},
			upstream: func(c *net.TCPConn) { _, _ = c.Write([]byte("ok")); _ = c.CloseWrite() },
			want:     []byte("ok"),
			dialled:  true,
			kind:     "",
		},
	})
}

// swallowsInModeTCP checks that a fault of kind (hang or blackhole)
// swallows a mode-tcp connection without dialling the upstream, until
// the peer closes or the proxy stops.
func swallowsInModeTCP(t *testing.T, kind string) {
	for _, how := range []string{"peer closed", "stopped"} {
		t.Run(kind+" until "+how, func(t *testing.T) {
			up := startTCPUpstream(t, echo)
			addr, log, events := startTCPProxy(t, up.addr, scenarios.Fault{Kind: kind})
			sub, unsubscribe := log.Subscribe()
			defer unsubscribe()
			c := dialTCP(t, addr)
			if _, err := c.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			var b [1]byte
			if n, err := c.Read(b[:]); n != 0 || !isTimeout(err) {
				t.Fatalf("got %d bytes, %v; want nothing until the deadline", n, err)
			}
			if how == "peer closed" {
				c.Close()
				select {
				case <-sub:
				case <-time.After(5 * time.Second):
					t.Fatal("no event 5s after the peer closed")
				}
			}
			evs := events()
			if n, err := c.Read(b[:]); n != 0 || err == nil {
				t.Errorf("got %d bytes, %v after the proxy stopped; want the connection ended", n, err)
			}
			if n := up.accepted.Load(); n != 0 {
				t.Errorf("upstream accepted %d connections, want none", n)
			}
			if len(evs) != 1 {
				t.Fatalf("got %d events, want 1: %+v", len(evs), evs)
			}
			checkEvent(t, evs[0], 1, kind, 0, "upstream-timeout", true, how)
		})
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestTCPDecisions checks that mode tcp decides per connection with the
// documented draw: (seed, "tcp", connection id, 0, fault index).
func TestTCPDecisions(t *testing.T) {
	up := startTCPUpstream(t, func(c *net.TCPConn) { _, _ = c.Write([]byte("ok")); _ = c.CloseWrite() })
	half := 0.5
	addr, _, events := startTCPProxy(t, up.addr, scenarios.Fault{Kind: "close", At: scenarios.AtConnect, Probability: &half})
	const n = 40
	var want []uint64
	for id := uint64(1); id <= n; id++ {
		hit := NewDraw(1, "tcp", id, 0, 0).Hit(half)
		if hit {
			want = append(want, id)
		}
		// One connection at a time, so that ids follow the dial order.
		c := dialTCP(t, addr)
		b, _ := io.ReadAll(c)
		if closed := len(b) == 0; closed != hit {
			t.Errorf("connection %d: got %q, want closed %v", id, b, hit)
		}
		c.Close()
	}
	var got []uint64
	for _, e := range events() {
		got = append(got, e.Conn)
	}
	slices.Sort(got) // a connection's event may be logged after the next one's
	if len(want) == 0 || len(want) == n || !slices.Equal(got, want) {
		t.Errorf("got faults on connections %v, want %v", got, want)
	}
}
