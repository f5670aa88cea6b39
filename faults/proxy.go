// Package faults is gatecrash's fault proxy: it sits where the gateway's
// upstream should be, forwards every request to the real upstream, and on
// a reproducible schedule makes the upstream misbehave (latency, resets,
// bad answers, hangs), logging one event per fault it applied.
package faults

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// Headers the proxy reads from every request.
const (
	// HeaderAttack and HeaderSeq are set by vegeta's attacker.
	HeaderAttack = "X-Vegeta-Attack"
	HeaderSeq    = "X-Vegeta-Seq"
	// HeaderPhase carries the index of the phase the attacker was in when
	// it sent the request, so that a request sent just before a phase
	// boundary meets that phase's faults even if it arrives after it.
	HeaderPhase = "X-Gatecrash-Phase"
)

// Phase is the proxy's rules for one phase of a run.
type Phase struct {
	// Name is reported in events.
	Name string
	// Duration is used to find the phase of a request that carries no
	// phase header, by time since Config.Start.
	Duration time.Duration
	// Rules apply in order; the first one that ends an exchange stops the
	// others.
	Rules []Rule
}

// PhasesFrom builds the proxy's phases from a validated scenario.
func PhasesFrom(s *scenarios.Scenario) ([]Phase, error) {
	phases := make([]Phase, len(s.Phases))
	for i, sp := range s.Phases {
		phases[i] = Phase{Name: sp.Name, Duration: sp.Duration.D()}
		for j, f := range sp.Faults {
			r, err := NewRule(j, f)
			if err != nil {
				return nil, fmt.Errorf("phase %s: %w", sp.Name, err)
			}
			phases[i].Rules = append(phases[i].Rules, r)
		}
	}
	return phases, nil
}

// Config configures a Proxy.
type Config struct {
	// Upstream is the host:port the proxy forwards to.
	Upstream string
	// Seed fixes every fault decision.
	Seed uint64
	// Phases are the fault schedule.
	Phases []Phase
	// Start is when the first phase began; a zero Start means the time
	// Serve was called. Only requests without a phase header use it.
	Start time.Time
	// Events receives one event per applied fault and per observation; nil
	// discards them.
	Events *EventLog
	// DialTimeout bounds connecting to the upstream; zero means 5s.
	DialTimeout time.Duration
}

// Proxy is the fault proxy. Create it with New and run it with Serve.
type Proxy struct {
	cfg Config

	conns   atomic.Uint64
	counter atomic.Uint64 // seq for requests without a seq header

	mu       sync.Mutex
	attempts map[string]int
}

// New returns a proxy for cfg.
func New(cfg Config) (*Proxy, error) {
	if cfg.Upstream == "" {
		return nil, errors.New("no upstream address")
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	return &Proxy{cfg: cfg, attempts: make(map[string]int)}, nil
}

// Serve accepts connections on ln until ctx is done, then closes ln and
// every connection and returns once all of them are finished. It returns
// nil when ctx ended it.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	if p.cfg.Start.IsZero() {
		p.cfg.Start = time.Now()
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.serveConn(ctx, c)
		}()
	}
}

// link is one downstream connection and its upstream connection.
type link struct {
	id   uint64
	down net.Conn
	br   *bufio.Reader

	mu   sync.Mutex
	up   net.Conn
	upbr *bufio.Reader
	done bool
}

func (l *link) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	l.down.Close()
	if l.up != nil {
		l.up.Close()
	}
}

func (p *Proxy) serveConn(ctx context.Context, c net.Conn) {
	l := &link{id: p.conns.Add(1), down: c, br: bufio.NewReader(c)}
	stop := context.AfterFunc(ctx, l.close)
	defer stop()
	defer l.close()
	for ctx.Err() == nil {
		req, err := http.ReadRequest(l.br)
		if err != nil {
			return
		}
		if !p.exchange(ctx, l, req) {
			return
		}
	}
}

// exchange handles one request and reports whether the connection may
// carry another.
func (p *Proxy) exchange(ctx context.Context, l *link, req *http.Request) bool {
	base := p.identify(l, req)
	if base.Attempt > 0 {
		e := base
		e.Time = time.Now()
		e.Type, e.Kind, e.Fault = TypeObservation, ObservedRetry, -1
		e.Detail = fmt.Sprintf("seen %d times before: the gateway or the client retried", base.Attempt)
		p.record(e)
	}
	phase := p.phaseOf(req)
	if phase != nil {
		base.Phase = phase.Name
		for _, r := range phase.Rules {
			if !r.Matches(req) {
				continue
			}
			d := NewDraw(p.cfg.Seed, base.Attack, *base.Seq, base.Attempt, r.Index)
			if !d.Hit(r.Probability) {
				continue
			}
			x := &Exchange{Conn: l.down, Request: req, Draw: d, reader: l.br}
			e := base
			e.Time = time.Now()
			out, err := r.Fault.Apply(ctx, x)
			e.Type, e.Kind, e.Fault, e.Cause, e.Detail, e.Ended = TypeFault, r.Kind, r.Index, out.Cause, out.Detail, out.Ended
			if err != nil {
				e.Detail += ": " + err.Error()
			}
			p.record(e)
			if out.Ended || err != nil {
				return !out.Close && err == nil
			}
		}
	}
	return p.forward(ctx, l, req, base)
}

// identify reads the request's attack and seq and counts its attempt.
func (p *Proxy) identify(l *link, req *http.Request) Event {
	e := Event{Attack: req.Header.Get(HeaderAttack), Conn: l.id}
	seq, err := strconv.ParseUint(req.Header.Get(HeaderSeq), 10, 64)
	if err != nil {
		// No usable seq: number the request ourselves, in a space apart.
		e.Attack = "gatecrash-proxy-counter"
		seq = p.counter.Add(1) - 1
	}
	e.Seq = &seq
	key := seqKey(e.Attack, seq)
	p.mu.Lock()
	e.Attempt = p.attempts[key]
	p.attempts[key]++
	p.mu.Unlock()
	return e
}

// phaseOf returns the phase of req: the one its phase header names, else
// the one running now; nil after the last phase.
func (p *Proxy) phaseOf(req *http.Request) *Phase {
	if v := req.Header.Get(HeaderPhase); v != "" {
		if i, err := strconv.Atoi(v); err == nil && i >= 0 && i < len(p.cfg.Phases) {
			return &p.cfg.Phases[i]
		}
	}
	elapsed := time.Since(p.cfg.Start)
	for i := range p.cfg.Phases {
		if elapsed < p.cfg.Phases[i].Duration {
			return &p.cfg.Phases[i]
		}
		elapsed -= p.cfg.Phases[i].Duration
	}
	return nil
}

func (p *Proxy) record(e Event) {
	if p.cfg.Events != nil {
		p.cfg.Events.Record(e)
	}
}

// forward passes the request to the upstream and streams the answer back.
// It reports whether the connection may carry another request.
func (p *Proxy) forward(ctx context.Context, l *link, req *http.Request, base Event) bool {
	fail := func(what string, err error) bool {
		e := base
		e.Time, e.Type, e.Kind, e.Fault = time.Now(), TypeObservation, ObservedUpstreamError, -1
		e.Detail = fmt.Sprintf("%s: %v", what, err)
		p.record(e)
		return false
	}
	if err := p.dialUpstream(ctx, l); err != nil {
		return fail("dial upstream", err)
	}
	if err := req.Write(l.up); err != nil {
		return fail("write request upstream", err)
	}
	resp, err := http.ReadResponse(l.upbr, req)
	if err != nil {
		return fail("read upstream response head", err)
	}
	defer resp.Body.Close()
	bw := bufio.NewWriter(l.down)
	// Flush what is buffered before every read of the upstream body, so a
	// streamed body (chunks, server-sent events) goes out as it arrives.
	resp.Body = flushBeforeRead{ReadCloser: resp.Body, w: bw}
	// Hide bw's ReadFrom: it would read into its own buffer while the body
	// reader flushes that buffer.
	if err := resp.Write(struct{ io.Writer }{bw}); err != nil {
		if errors.Is(err, errDownstream) {
			return false
		}
		return fail("copy upstream response", err)
	}
	if err := bw.Flush(); err != nil {
		return false
	}
	return !resp.Close && !req.Close
}

func (p *Proxy) dialUpstream(ctx context.Context, l *link) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.up != nil {
		return nil
	}
	if l.done {
		return net.ErrClosed
	}
	d := net.Dialer{Timeout: p.cfg.DialTimeout}
	c, err := d.DialContext(ctx, "tcp", p.cfg.Upstream)
	if err != nil {
		return err
	}
	l.up, l.upbr = c, bufio.NewReader(c)
	return nil
}

// errDownstream marks a failure to write to the downstream connection.
var errDownstream = errors.New("write downstream")

type flushBeforeRead struct {
	io.ReadCloser
	w *bufio.Writer
}

func (f flushBeforeRead) Read(b []byte) (int, error) {
	if f.w.Buffered() > 0 {
		if err := f.w.Flush(); err != nil {
			return 0, fmt.Errorf("%w: %v", errDownstream, err)
		}
	}
	return f.ReadCloser.Read(b)
}
