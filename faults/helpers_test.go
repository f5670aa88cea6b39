package faults

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// serve runs p on a free loopback port and returns its address and a
// function that stops it and waits until Serve has returned.
func serve(t *testing.T, p *Proxy) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	return ln.Addr().String(), func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
}

// startProxy runs a proxy in front of a real upstream with one phase of
// the given faults, and returns its address and the event log's buffer.
// Everything stops when the test ends.
func startProxy(t *testing.T, upstream http.Handler, specs ...scenarios.Fault) (string, func() []Event) {
	addr, _, events := startProxyLog(t, upstream, specs...)
	return addr, events
}

// startProxyLog is startProxy that also returns the live event log.
func startProxyLog(t *testing.T, upstream http.Handler, specs ...scenarios.Fault) (string, *EventLog, func() []Event) {
	t.Helper()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	addr, log, events := runProxy(t, Config{Upstream: up.Listener.Addr().String(), Seed: 1, Phases: []Phase{onlyPhase(t, specs...)}})
	return addr, log, func() []Event {
		return withoutSummaries(events())
	}
}

// withoutSummaries drops the observations the proxy records when Serve
// returns (seen, tally), which would be in every test's way.
func withoutSummaries(evs []Event) []Event {
	return slices.DeleteFunc(evs, func(e Event) bool { return e.Kind == ObservedSeen || e.Kind == ObservedTally })
}

// onlyPhase is a phase "only", an hour long, of the given faults.
func onlyPhase(t *testing.T, specs ...scenarios.Fault) Phase {
	t.Helper()
	phase := Phase{Name: "only", Duration: time.Hour}
	for i, s := range specs {
		r, err := NewRule(i, s)
		if err != nil {
			t.Fatal(err)
		}
		phase.Rules = append(phase.Rules, r)
	}
	return phase
}

// runProxy serves a proxy of cfg with an event log of its own, on a free
// loopback port, until the test ends. It returns the proxy's address, the
// live log, and a function that stops the proxy and returns its events.
func runProxy(t *testing.T, cfg Config) (string, *EventLog, func() []Event) {
	t.Helper()
	var buf bytes.Buffer
	log := NewEventLog(&buf)
	cfg.Events = log
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, stopServe := serve(t, p)
	var once sync.Once
	stop := func() { once.Do(stopServe) }
	t.Cleanup(stop)
	return addr, log, func() []Event {
		stop()
		if err := log.Close(); err != nil {
			t.Fatal(err)
		}
		evs, err := ReadEvents(&buf)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
}

// hello answers "hello from upstream", or echoes the request body.
func hello(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Upstream", "yes")
	if len(b) > 0 {
		fmt.Fprintf(w, "echo %s", b)
		return
	}
	fmt.Fprint(w, "hello from upstream")
}

// rawRequest sends one GET with a seq on a new raw TCP connection and
// returns everything that came back until the connection ended, and the
// read error that ended it.
func rawRequest(t *testing.T, addr string, seq int) ([]byte, error) {
	t.Helper()
	c := dialProxy(t, addr)
	defer c.Close()
	fmt.Fprintf(c, "GET /v1/items HTTP/1.1\r\nHost: x\r\nX-Vegeta-Attack: a\r\nX-Vegeta-Seq: %d\r\nConnection: close\r\n\r\n", seq)
	b, err := io.ReadAll(c)
	return b, err
}

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

// head100 is the head body100's answers start with.
const head100 = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"

// wireCase is one fault and what a raw client meets through the proxy:
// the bytes, the error that ended the connection, how long it took, and
// the one fault event it logs.
type wireCase struct {
	name     string
	upstream http.HandlerFunc // nil: body100
	fault    scenarios.Fault
	check    func(t *testing.T, got []byte, err error, took time.Duration)
	cause    string // the event's cause; "" for none
	ended    bool
}

// onTheWire runs each case through a proxy of its own, as one raw
// exchange, and checks its event.
func onTheWire(t *testing.T, tests []wireCase) {
	t.Helper()
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

// dialProxy connects to addr, failing the test when it cannot, with a
// deadline of 10s on the connection. The caller closes it.
func dialProxy(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// keptAlive sends one GET on c and reads its whole answer, which leaves
// the connection idle and kept alive; it returns the connection's reader.
func keptAlive(t *testing.T, c net.Conn) *bufio.Reader {
	t.Helper()
	br := bufio.NewReader(c)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	return br
}

// logRig is a proxy whose events go to a buffer, with the proxy itself at
// hand (for SetPhases, or to serve it again). It stands apart from
// startProxy so that no helper filters the summary observations out.
type logRig struct {
	t     *testing.T
	p     *Proxy
	buf   bytes.Buffer
	log   *EventLog
	stops []func()
}

// newLogRig makes the proxy of cfg, with seed 1 and the rig's log.
func newLogRig(t *testing.T, cfg Config) *logRig {
	t.Helper()
	r := &logRig{t: t}
	r.log = NewEventLog(&r.buf)
	cfg.Events, cfg.Seed = r.log, 1
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.p = p
	return r
}

// newSeenRig is a logRig of mode http with no faults in front of a real
// upstream, not yet served.
func newSeenRig(t *testing.T) *logRig {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(hello))
	t.Cleanup(up.Close)
	return newLogRig(t, Config{Upstream: up.Listener.Addr().String()})
}

// newTallyRig is a logRig of cfg, served; it returns the proxy's address.
func newTallyRig(t *testing.T, cfg Config) (*logRig, string) {
	t.Helper()
	r := newLogRig(t, cfg)
	addr, _ := r.serve()
	return r, addr
}

// serve serves the proxy and returns its address and a function that
// stops it and waits for Serve to return; events and the test's end stop
// it too.
func (r *logRig) serve() (string, func()) {
	addr, stop := serve(r.t, r.p)
	var once sync.Once
	stopOnce := func() { once.Do(stop) }
	r.stops = append(r.stops, stopOnce)
	r.t.Cleanup(stopOnce)
	return addr, stopOnce
}

// events stops the proxy, closes the log and reads it back.
func (r *logRig) events() []Event {
	r.t.Helper()
	for _, stop := range r.stops {
		stop()
	}
	if err := r.log.Close(); err != nil {
		r.t.Fatal(err)
	}
	evs, err := ReadEvents(&r.buf)
	if err != nil {
		r.t.Fatal(err)
	}
	return evs
}

// onlyEvent checks that evs holds exactly one event when want is true and
// none otherwise, and returns the one (ok false when none was wanted).
func onlyEvent(t *testing.T, evs []Event, want bool) (e Event, ok bool) {
	t.Helper()
	if !want {
		if len(evs) != 0 {
			t.Errorf("got events %+v, want none", evs)
		}
		return Event{}, false
	}
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1: %+v", len(evs), evs)
	}
	return evs[0], true
}
