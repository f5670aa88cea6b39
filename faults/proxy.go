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
	"maps"
	"math/bits"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// Headers the proxy reads from every request.
const (
	// HeaderAttack and HeaderSeq are set by vegeta's attacker.
	HeaderAttack = "X-Vegeta-Attack"
	HeaderSeq    = "X-Vegeta-Seq"
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
	// Mode is scenarios.ModeHTTP (the default) or scenarios.ModeTCP.
	Mode string
}

// Proxy is the fault proxy. Create it with New and run it with Serve,
// once. Every downstream connection gets its own upstream connection,
// dialled at its first request; heads and bodies are forwarded exactly as
// received, bodies streamed, never buffered whole.
type Proxy struct {
	cfg    Config
	start  time.Time
	phases atomic.Pointer[[]Phase]

	conns   atomic.Uint64
	counter atomic.Uint64 // seq for requests without a seq header

	mu       sync.Mutex
	attempts attempts
	seen     map[string]*seenSet // by attack; the seqs of this Serve, see recordSeen
	links    map[*link]struct{}  // the open downstream connections of mode http
}

// attempts counts how often each (attack, seq) reached the proxy. It keeps
// two generations of at most attemptsGeneration requests each, so that a
// long-running proxy's memory stays bounded while a retry, which comes
// within seconds, still finds its first attempt.
type attempts struct {
	cur, old map[seqID]int
}

// seqID identifies a request; it holds no pointer but the attack name's.
type seqID struct {
	attack string
	seq    uint64
}

const attemptsGeneration = 1 << 20

// next returns how often id was seen before, and counts this time.
func (a *attempts) next(id seqID) int {
	if a.cur == nil {
		a.cur = make(map[seqID]int)
	}
	n, ok := a.cur[id]
	if !ok {
		n = a.old[id]
		if len(a.cur) >= attemptsGeneration {
			a.old, a.cur = a.cur, make(map[seqID]int)
		}
	}
	a.cur[id] = n + 1
	return n
}

// seenSet is the set of seqs of one attack that reached the proxy: one bit
// per seq, grown on demand. Seqs at or above limit are only counted, so
// that its memory stays bounded (limit/8 bytes at most).
type seenSet struct {
	words  []uint64 // bit i of words[w] is seq 64*w+i
	limit  uint64   // SeenLimit, except in tests
	n      uint64   // distinct seqs tracked
	capped uint64   // requests with a seq at or above limit
}

// add puts seq in the set.
func (s *seenSet) add(seq uint64) {
	if seq >= s.limit {
		s.capped++
		return
	}
	w, bit := seq/64, uint64(1)<<(seq%64)
	if w >= uint64(len(s.words)) {
		// Amortized growth: append doubles the capacity as needed.
		s.words = append(s.words, make([]uint64, w+1-uint64(len(s.words)))...)
	}
	if s.words[w]&bit == 0 {
		s.words[w] |= bit
		s.n++
	}
}

// ranges returns the set as sorted, non-overlapping, non-adjacent
// half-open intervals [lo, hi); nil when it is empty.
func (s *seenSet) ranges() [][2]uint64 {
	var out [][2]uint64
	var lo uint64
	open := false // a run of set bits started at lo and goes on
	for i, w := range s.words {
		base := uint64(i) * 64
		for pos := uint(0); pos < 64; {
			if !open {
				rest := w >> pos // the bits from pos up; 0: no set bit left
				if rest == 0 {
					break
				}
				pos += uint(bits.TrailingZeros64(rest))
				lo, open = base+uint64(pos), true
				continue
			}
			rest := ^w >> pos // the clear bits from pos up; 0: the run goes past this word
			if rest == 0 {
				break
			}
			pos += uint(bits.TrailingZeros64(rest))
			out = append(out, [2]uint64{lo, base + uint64(pos)})
			open = false
		}
	}
	if open {
		out = append(out, [2]uint64{lo, uint64(len(s.words)) * 64})
	}
	return out
}

// seenRangesPerEvent bounds the ranges of one seen observation, so that a
// line of events.jsonl stays far below what ReadEvents accepts (about 1.5
// MB at 24 bytes a range); a longer list is split over several events.
const seenRangesPerEvent = 1 << 16

// recordSeen records the seqs that reached the proxy: one seen observation
// per attack, attacks in sorted order (more than one for an attack whose
// ranges exceed seenRangesPerEvent). It then forgets them, so that a
// proxy served again reports each request once, in the seen events of
// the Serve that received it. The proxy of mode tcp reads no requests and
// records nothing.
func (p *Proxy) recordSeen() {
	p.mu.Lock()
	sets := p.seen
	p.seen = nil
	p.mu.Unlock()
	now := time.Now()
	for _, attack := range slices.Sorted(maps.Keys(sets)) {
		s := sets[attack]
		detail := fmt.Sprintf("received %d distinct seqs", s.n)
		if s.capped > 0 {
			detail += fmt.Sprintf("; capped: seqs above %d not tracked (untracked requests: %d)", s.limit-1, s.capped)
		}
		rs := s.ranges()
		parts := max(1, (len(rs)+seenRangesPerEvent-1)/seenRangesPerEvent)
		for i := range parts {
			e := Event{Time: now, Type: TypeObservation, Attack: attack, Kind: ObservedSeen, Fault: -1, Detail: detail}
			e.Ranges = rs[min(i*seenRangesPerEvent, len(rs)):min((i+1)*seenRangesPerEvent, len(rs))]
			if parts > 1 {
				e.Detail += fmt.Sprintf("; ranges part %d of %d", i+1, parts)
			}
			p.record(e)
		}
	}
}

// New returns a proxy for cfg.
func New(cfg Config) (*Proxy, error) {
	if cfg.Upstream == "" {
		return nil, errors.New("no upstream address")
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = scenarios.ModeHTTP
	case scenarios.ModeHTTP, scenarios.ModeTCP:
	default:
		return nil, fmt.Errorf("unknown proxy mode %q", cfg.Mode)
	}
	p := &Proxy{cfg: cfg}
	p.SetPhases(cfg.Phases)
	return p, nil
}

// SetPhases replaces the fault schedule; requests already past their
// decisions are not affected. It is safe to call while the proxy serves.
func (p *Proxy) SetPhases(phases []Phase) {
	cp := append([]Phase(nil), phases...)
	p.phases.Store(&cp)
}

// Phases returns the fault schedule in force. The caller must not change
// it.
func (p *Proxy) Phases() []Phase { return *p.phases.Load() }

// Serve accepts connections on ln until ctx is done, then closes ln and
// every connection and returns once all of them are finished. It returns
// nil when ctx ended it, and an error when accepting failed for good.
// Before it returns, however it ends, the proxy of mode http records the
// seen observations of the requests it received (see ObservedSeen).
//
// While a phase with a refuse fault runs, the listener is closed, so that
// connecting is refused for real, and (in mode http) the open connections
// end, as an upstream that died; the listener opens again on the same address when
// the phase ends.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	p.start = p.cfg.Start
	if p.start.IsZero() {
		p.start = time.Now()
	}
	// Deferred first, so run last: once every connection has ended, no
	// request can be received any more.
	defer p.recordSeen()
	var wg sync.WaitGroup
	defer wg.Wait()
	// The refuse loop ends with Serve, however Serve ends.
	loopCtx, endLoop := context.WithCancel(ctx)
	defer endLoop()
	lc := &listenerControl{ln: ln, addr: ln.Addr().String(), reopened: make(chan struct{})}
	defer lc.close()
	stop := context.AfterFunc(ctx, lc.close)
	defer stop()
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.refuseLoop(loopCtx, lc)
	}()
	var backoff time.Duration
	for {
		ln, reopened := lc.current()
		if ln == nil {
			select {
			case <-reopened:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				if cur, _ := lc.current(); cur != ln {
					continue // closed by a refuse fault, or reopened
				}
				return fmt.Errorf("accept: %w", err)
			}
			// Out of file descriptors and the like: back off and go on,
			// as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			if !sleep(ctx, backoff) {
				return nil
			}
			continue
		}
		backoff = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p.cfg.Mode == scenarios.ModeTCP {
				p.serveTCP(ctx, c)
				return
			}
			p.serveConn(ctx, c)
		}()
	}
}

// listenerControl holds the proxy's listener, which refuse faults close
// and reopen.
type listenerControl struct {
	mu       sync.Mutex
	ln       net.Listener // nil while refusing
	addr     string
	reopened chan struct{} // closed when the listener is reopened
	closed   bool
}

// current returns the listener (nil while refusing) and a channel closed
// when it is next reopened.
func (lc *listenerControl) current() (net.Listener, <-chan struct{}) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.ln, lc.reopened
}

// refuse closes the listener; it reports whether it was open.
func (lc *listenerControl) refuse() bool {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.ln == nil || lc.closed {
		return false
	}
	lc.ln.Close()
	lc.ln = nil
	return true
}

// reopen listens again on the same address; it reports whether it did.
func (lc *listenerControl) reopen() (bool, error) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.ln != nil || lc.closed {
		return false, nil
	}
	ln, err := net.Listen("tcp", lc.addr)
	if err != nil {
		return false, err
	}
	lc.ln = ln
	close(lc.reopened)
	lc.reopened = make(chan struct{})
	return true, nil
}

// close closes the listener for good.
func (lc *listenerControl) close() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.closed = true
	if lc.ln != nil {
		lc.ln.Close()
	}
}

// refuseLoop closes the listener while the phase running has a refuse
// fault and reopens it after, checking every few milliseconds so that a
// schedule changed at runtime takes effect too.
func (p *Proxy) refuseLoop(ctx context.Context, lc *listenerControl) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	var since time.Time
	reopenFailed := false
	for {
		var rule *Rule
		if ph := p.phaseNow(); ph != nil {
			for i := range ph.Rules {
				if _, ok := ph.Rules[i].Fault.(Refuse); ok {
					rule = &ph.Rules[i]
					break
				}
			}
		}
		e := Event{Type: TypeFault, Kind: scenarios.KindRefuse, Fault: -1}
		if ph := p.phaseNow(); ph != nil {
			e.Phase = ph.Name
		}
		switch {
		case rule != nil && lc.refuse():
			since = time.Now()
			rule.count(true)
			n := p.dropConnections()
			e.Time, e.Fault, e.Cause, e.Ended = since, rule.Index, "connection-refused", true
			e.Detail = fmt.Sprintf("listener closed: connects are refused; %d open connections ended", n)
			p.record(e)
		case rule == nil:
			if ok, err := lc.reopen(); err != nil {
				if !reopenFailed { // once, not every tick
					reopenFailed = true
					e.Type, e.Kind, e.Time = TypeObservation, ObservedUpstreamError, time.Now()
					e.Detail = fmt.Sprintf("reopen the listener after refusing (retrying): %v", err)
					p.record(e)
				}
			} else if ok {
				reopenFailed = false
				e.Type, e.Kind, e.Time = TypeObservation, ObservedRefuseEnded, time.Now()
				e.Detail = fmt.Sprintf("listener open again after %s", time.Since(since).Round(time.Millisecond))
				p.record(e)
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// link is one downstream connection and its upstream connection.
type link struct {
	id   uint64
	down net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer

	mu   sync.Mutex
	up   net.Conn
	upbr *bufio.Reader
	upbw *bufio.Writer
	done bool

	// Reused for every request and answer of the connection.
	req, resp head
	attack    string

	// busy is set while an exchange runs; closeAfter asks the connection
	// to close once it ends (a refuse fault began meanwhile).
	busy, closeAfter atomic.Bool
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

// dropUpstream closes the upstream connection; the next request dials anew.
func (l *link) dropUpstream() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.up != nil {
		l.up.Close()
		l.up, l.upbr, l.upbw = nil, nil, nil
	}
}

func (p *Proxy) serveConn(ctx context.Context, c net.Conn) {
	l := &link{id: p.conns.Add(1), down: c, br: bufio.NewReader(c), bw: bufio.NewWriter(c)}
	stop := context.AfterFunc(ctx, l.close)
	defer stop()
	defer l.close()
	p.mu.Lock()
	if p.links == nil {
		p.links = map[*link]struct{}{}
	}
	p.links[l] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}()
	if p.atConnect(l) {
		return
	}
	for idle := 0; ctx.Err() == nil && !l.closeAfter.Load(); idle++ {
		if p.idleClose(l, idle) {
			return
		}
		h := &l.req
		if err := h.read(l.br, true); err != nil {
			return
		}
		l.busy.Store(true)
		keep := p.exchange(ctx, l, h)
		l.busy.Store(false)
		if !keep {
			return
		}
	}
}

// dropConnections ends every open downstream connection, as an upstream
// process that died would: idle ones at once (FIN), busy ones once their
// exchange ends. It returns how many it ended.
func (p *Proxy) dropConnections() int {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.closeAfter.Store(true)
		if !l.busy.Load() {
			l.close()
		}
	}
	return len(links)
}

// connDraw is the draw of a connection-level decision: the n-th on
// connection id for the rule at index i.
func (p *Proxy) connDraw(id uint64, n, i int) *Draw {
	return NewDraw(p.cfg.Seed, "conn", id, n, i)
}

// atConnect applies the faults that act as a connection is accepted (reset
// or close at connect) and reports whether one ended the connection.
func (p *Proxy) atConnect(l *link) bool {
	ph := p.phaseNow()
	if ph == nil {
		return false
	}
	for _, r := range ph.Rules {
		if !atConnect(r) {
			continue
		}
		hit := p.connDraw(l.id, 0, r.Index).Hit(r.Probability)
		r.count(hit)
		if !hit {
			continue
		}
		how, cause := howClose, "closed-before-headers"
		if _, ok := r.Fault.(Reset); ok {
			how, cause = howReset, "reset-before-headers"
		}
		endConn(l.down, how)
		p.record(Event{Time: time.Now(), Type: TypeFault, Conn: l.id, Phase: ph.Name, Kind: r.Kind, Fault: r.Index,
			Cause: cause, Ended: true, Detail: how + " as soon as the connection was accepted, before any request"})
		return true
	}
	return false
}

// idleClose applies a keepalive fault while the connection waits for its
// next request: it closes the connection once idle for the fault's Idle,
// and reports whether it did.
func (p *Proxy) idleClose(l *link, n int) bool {
	ph := p.phaseNow()
	if ph == nil || l.br.Buffered() > 0 {
		return false
	}
	for _, r := range ph.Rules {
		k, ok := r.Fault.(Keepalive)
		if !ok {
			continue
		}
		hit := p.connDraw(l.id, n, r.Index).Hit(r.Probability)
		r.count(false) // applied only once a connection is closed
		if !hit {
			return false
		}
		_ = l.down.SetReadDeadline(time.Now().Add(k.Idle))
		_, err := l.br.Peek(1)
		_ = l.down.SetReadDeadline(time.Time{})
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return err != nil // a request came, or the peer went away
		}
		r.applied()
		endConn(l.down, howClose)
		p.record(Event{Time: time.Now(), Type: TypeFault, Conn: l.id, Phase: ph.Name, Kind: r.Kind, Fault: r.Index,
			Cause: "keepalive-race", Ended: true, Detail: fmt.Sprintf("closed the keep-alive connection after %s idle, without warning", k.Idle)})
		return true
	}
	return false
}

// exchange handles one request and reports whether the connection may
// carry another.
func (p *Proxy) exchange(ctx context.Context, l *link, h *head) bool {
	base := p.identify(l, h)
	if base.Attempt > 0 {
		e := base
		e.Time = time.Now()
		e.Type, e.Kind, e.Fault = TypeObservation, ObservedRetry, -1
		e.Detail = fmt.Sprintf("seen %d times before: the gateway or the client retried", base.Attempt)
		p.record(e)
	}
	var x *Exchange // only for a phase with faults: the pass-through path allocates nothing
	defer func() {
		if x != nil {
			for _, f := range x.plan.done {
				f()
			}
		}
	}()
	if phase := p.phaseOf(h); phase != nil {
		base.Phase = phase.Name
		if len(phase.Rules) > 0 {
			x = &Exchange{Conn: l.down, req: h, reader: l.br, plan: newPlan()}
		}
		for _, r := range phase.Rules {
			if !r.Matches(x) || atConnect(r) || connectionLevel(r) {
				continue
			}
			x.Draw = NewDraw(p.cfg.Seed, base.Attack, *base.Seq, base.Attempt, r.Index)
			if !x.Draw.Hit(r.Probability) {
				r.count(false)
				continue
			}
			x.rule = r
			e := base
			e.Time = time.Now()
			r.count(true) // before the fault answers, so counters never lag it
			out, err := r.Fault.Apply(ctx, x)
			if out.Skip {
				r.uncount() // it did nothing after all
			}
			if out.Skip || (out.Pending && err == nil) {
				continue
			}
			e.Type, e.Kind, e.Fault, e.Cause, e.Detail, e.Ended = TypeFault, r.Kind, r.Index, out.Cause, out.Detail, out.Ended
			if err != nil {
				e.Detail += ": " + err.Error()
			}
			p.record(e)
			if out.Ended || err != nil {
				p.recordEffects(base, x.plan) // faults planned before this one
				return !out.Close && err == nil
			}
		}
	}
	if x == nil {
		return p.forward(ctx, l, h, base, nil)
	}
	keep := p.forward(ctx, l, h, base, x.plan)
	p.recordEffects(base, x.plan)
	return keep
}

// recordEffects logs one event for each fault that planned something on
// the answer: what it did, or that it had no effect.
func (p *Proxy) recordEffects(base Event, pl *plan) {
	for _, r := range pl.pending {
		e := base
		e.Type, e.Kind, e.Fault = TypeFault, r.Kind, r.Index
		found := false
		for _, ef := range pl.effects {
			if ef.rule.Index == r.Index {
				found = true
				e.Time, e.Detail, e.Cause, e.Ended = ef.time, ef.detail, ef.cause, ef.ended
				break
			}
		}
		if !found {
			e.Time, e.Detail = time.Now(), "no effect: the answer ended first"
		}
		p.record(e)
	}
}

// identify reads the request's attack and seq, counts its attempt and, for
// a seq from the request, marks it seen.
func (p *Proxy) identify(l *link, h *head) Event {
	// The attack name is the same on every request of a run: keep the
	// link's last one rather than allocate it anew.
	if string(h.attack) != l.attack {
		l.attack = string(h.attack)
	}
	e := Event{Attack: l.attack, Conn: l.id}
	seq, ok := parseSeq(h.seq)
	if !ok {
		// No usable seq: number the request ourselves, in a space apart.
		e.Attack = "gatecrash-proxy-counter"
		seq = p.counter.Add(1) - 1
	}
	e.Seq = &seq
	p.mu.Lock()
	e.Attempt = p.attempts.next(seqID{e.Attack, seq})
	if ok { // the seen events tell of vegeta's seqs, not of the counter's
		s := p.seen[e.Attack]
		if s == nil {
			if p.seen == nil {
				p.seen = make(map[string]*seenSet)
			}
			s = &seenSet{limit: SeenLimit}
			p.seen[e.Attack] = s
		}
		s.add(seq)
	}
	p.mu.Unlock()
	return e
}

// parseSeq parses a decimal seq without allocating.
func parseSeq(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// phaseOf returns the phase of a request: the one its phase header names,
// else the one running now; nil after the last phase.
func (p *Proxy) phaseOf(h *head) *Phase {
	phases := p.Phases()
	if i, ok := parseSeq(h.phase); ok && i < uint64(len(phases)) {
		return &phases[i]
	}
	return p.phaseNow()
}

// phaseNow returns the phase running now by the proxy's clock; nil after
// the last phase. A phase with a zero Duration never ends.
func (p *Proxy) phaseNow() *Phase {
	phases := p.Phases()
	elapsed := time.Since(p.start)
	for i := range phases {
		if phases[i].Duration <= 0 || elapsed < phases[i].Duration {
			return &phases[i]
		}
		elapsed -= phases[i].Duration
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
func (p *Proxy) forward(ctx context.Context, l *link, req *head, base Event, pl *plan) bool {
	if pl == nil {
		pl = noPlan
	} else {
		pl.ctx = ctx
	}
	fail := func(what string, err error) bool {
		e := base
		e.Time, e.Type, e.Kind, e.Fault = time.Now(), TypeObservation, ObservedUpstreamError, -1
		e.Cause, e.Ended = upstreamCause(err), true
		if errors.Is(err, errDownstream) || errors.Is(err, errGatewayBody) {
			e.Kind, e.Cause, e.Ended = ObservedGatewayClosed, "", false
		}
		e.Detail = fmt.Sprintf("%s: %v", what, err)
		p.record(e)
		return false
	}
	hasBody := req.chunked || req.length > 0
	var resp *head
	// A request without a body is sent again, once, on a new connection
	// when a reused one turns out closed before any byte of the answer: the
	// upstream closed it while idle, which is not the gateway's business.
	for try := 0; ; try++ {
		// A request without a body needs no check that a reused connection
		// is still open: it is sent again if it was not (below).
		reused, err := p.upstream(ctx, l, hasBody)
		if err != nil {
			return fail("connect to upstream", err)
		}
		if _, err := l.upbw.Write(req.raw); err != nil {
			return fail("write request upstream", err)
		}
		var bodyDone chan error
		if hasBody {
			bodyDone = make(chan error, 1)
			// The body goes up while the answer comes down: an upstream may
			// answer 100 Continue first, or answer early.
			up := l.up
			go func() {
				_, err := copyBody(l.upbw, l.br, req, false, l.upbw.Flush)
				if err != nil && !errors.Is(err, errDownstream) && !errors.Is(err, os.ErrDeadlineExceeded) {
					// Reading from the gateway failed (writing up is
					// errDownstream here: the writer's side): the upstream
					// will never get the rest, so end its exchange too.
					err = fmt.Errorf("%w: %v", errGatewayBody, err)
					up.Close()
				}
				if err == nil {
					err = l.upbw.Flush()
				}
				bodyDone <- err
			}()
		} else if err := l.upbw.Flush(); err != nil {
			l.dropUpstream()
			if reused && try == 0 {
				continue
			}
			return fail("write request upstream", err)
		}
		resp, err = p.responseHead(l)
		if err == nil {
			if err := waitBody(l, bodyDone); err != nil {
				// The upstream answered before the whole body came: the
				// connection cannot carry another request.
				defer l.dropUpstream()
				req.close = true
			}
			break
		}
		if errors.Is(err, errDownstream) {
			waitBody(l, bodyDone)
			l.dropUpstream()
			return fail("pass an informational answer down", err)
		}
		berr := waitBody(l, bodyDone)
		l.dropUpstream()
		if reused && try == 0 && !hasBody && errors.Is(err, errNoAnswer) {
			continue
		}
		if berr != nil && !errors.Is(err, errNoAnswer) {
			err = berr
		}
		return fail("read upstream answer", err)
	}
	if err := pl.writeHead(l.bw, l.bw.Flush, resp.raw); err != nil {
		l.dropUpstream()
		return fail("pass the answer's head down", fmt.Errorf("%w: %v", errDownstream, err))
	}
	if pl.cutHead != "" {
		_ = l.bw.Flush()
		cause := "closed-after-headers"
		if pl.cutHead == howReset {
			cause = "reset-after-headers"
		}
		pl.note(pl.cutHeadRule, pl.cutHead+" right after the response head", cause, true)
		endConn(l.down, pl.cutHead)
		l.dropUpstream()
		return false
	}
	if !resp.bodyless(req.method) {
		w := io.Writer(l.bw)
		if pl.active() {
			w = pl.bodyWriter(l.bw, l.bw.Flush, isEventStream(resp))
		}
		if _, err := copyBody(w, l.upbr, resp, true, l.bw.Flush); err != nil {
			l.dropUpstream()
			if errors.Is(err, errCut) {
				_ = l.bw.Flush()
				endConn(l.down, pl.cutNow)
				return false
			}
			if errors.Is(err, errDownstream) {
				return fail("pass the answer's body down", err)
			}
			return fail("copy upstream body", err)
		}
	}
	if err := l.bw.Flush(); err != nil {
		return false
	}
	if resp.close || (resp.readsToEOF() && !resp.bodyless(req.method)) {
		// The upstream closes after this answer; its Connection header went
		// down as received, so the downstream expects the close too.
		l.dropUpstream()
		return false
	}
	return !req.close
}

// endConn ends a connection: how is "reset" (RST) or "close" (FIN). A
// reset waits (up to a second) until the peer has every byte already
// written, which an RST would otherwise throw away; a close sends its FIN
// and reads until the peer closes too (up to lingerFIN), since closing
// with unread bytes would send an RST instead.
func endConn(c net.Conn, how string) {
	if how == howReset {
		waitSent(context.Background(), c, time.Second)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		_ = c.SetReadDeadline(time.Now().Add(lingerFIN))
		_, _ = io.Copy(io.Discard, c)
	}
	_ = c.Close()
}

// connectionLevel reports whether a rule acts on connections or the
// listener rather than on requests (keepalive, refuse).
func connectionLevel(r Rule) bool {
	switch r.Fault.(type) {
	case Keepalive, Refuse:
		return true
	}
	return false
}

// atConnect reports whether a rule acts when a connection is accepted
// rather than on a request.
func atConnect(r Rule) bool {
	c, ok := r.Fault.(interface{ AtConnect() bool })
	return ok && c.AtConnect()
}

// errGatewayBody marks a failure to read a request body from the gateway.
var errGatewayBody = errors.New("read request body from the gateway")

// errNoAnswer marks an upstream connection that ended before the first
// byte of an answer.
var errNoAnswer = errors.New("upstream closed the connection before answering")

// responseHead reads the upstream's answer head, passing informational
// (1xx) answers down as they come, and returns the final head unwritten.
func (p *Proxy) responseHead(l *link) (*head, error) {
	first := true
	h := &l.resp
	for {
		err := h.read(l.upbr, false)
		if err != nil {
			if first && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
				return nil, fmt.Errorf("%w: %v", errNoAnswer, err)
			}
			return nil, err
		}
		first = false
		if h.code >= 200 || h.code == 101 {
			if h.code == 101 {
				h.close = true // no protocol switch through the fault proxy
			}
			return h, nil
		}
		if _, err := l.bw.Write(h.raw); err != nil {
			return nil, fmt.Errorf("%w: %v", errDownstream, err)
		}
		if err := l.bw.Flush(); err != nil {
			return nil, fmt.Errorf("%w: %v", errDownstream, err)
		}
	}
}

// waitBody waits for the request body copy to end (nil done: there was
// no body). A copy still waiting for downstream bytes once the answer is
// in is cut short.
func waitBody(l *link, done chan error) error {
	if done == nil {
		return nil
	}
	select {
	case err := <-done:
		return err
	default:
	}
	_ = l.down.SetReadDeadline(time.Now())
	err := <-done
	_ = l.down.SetReadDeadline(time.Time{})
	return err
}

// upstream returns the link's upstream connection, dialling one when
// there is none or (with check) the old one was closed by the upstream
// while idle, and reports whether it was reused.
func (p *Proxy) upstream(ctx context.Context, l *link, check bool) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return false, net.ErrClosed
	}
	if l.up != nil {
		if l.upbr.Buffered() == 0 && (!check || alive(l.up)) {
			return true, nil
		}
		l.up.Close()
		l.up = nil
	}
	d := net.Dialer{Timeout: p.cfg.DialTimeout}
	c, err := d.DialContext(ctx, "tcp", p.cfg.Upstream)
	if err != nil {
		return false, err
	}
	l.up, l.upbr, l.upbw = c, bufio.NewReader(c), bufio.NewWriter(c)
	return false, nil
}

// alive reports whether an idle connection is still open: a peek that
// finds neither bytes nor EOF. (A read deadline cannot tell: Go fails a
// read past its deadline before asking the socket.)
func alive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	ok = false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		ok = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && ok
}

// upstreamCause names the cause of a gateway error that an upstream
// failure the proxy saw (not caused) leads to.
func upstreamCause(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection-refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset-before-headers"
	case errors.Is(err, errNoAnswer), errors.Is(err, io.EOF):
		return "closed-before-headers"
	}
	return "upstream-error"
}

// errDownstream marks a failure to write to the downstream connection (in
// copyBody: to its writer).
var errDownstream = errors.New("write downstream")
