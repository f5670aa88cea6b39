package faults

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatecrash/gatecrash/results/causes"
)

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
	if p.accepted(l) {
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

// onAccept returns how a rule ends a connection as soon as it is
// accepted, or "" when it does not act then.
func onAccept(r Rule) string {
	if a, ok := r.Fault.(Acceptor); ok {
		return a.OnAccept()
	}
	return ""
}

// accepted applies the faults that act as a connection is accepted (the
// Acceptors: reset or close at connect) and reports whether one ended
// the connection.
func (p *Proxy) accepted(l *link) bool {
	ph := p.phaseNow()
	if ph == nil {
		return false
	}
	for _, r := range ph.Rules {
		how := onAccept(r)
		if how == "" {
			continue
		}
		hit := p.connDraw(l.id, 0, r.Index).Hit(r.Probability)
		r.count(hit)
		if !hit {
			continue
		}
		endConn(l.down, how)
		p.recordConn(l, ph, r, Outcome{Cause: causes.Ended(how, causes.BeforeHeaders), Ended: true,
			Detail: how + " as soon as the connection was accepted, before any request"})
		return true
	}
	return false
}

// idleClose applies the Idlers (keepalive) while the connection waits for
// its next request: the first one drawn closes the connection once idle
// for its limit. It reports whether the connection ended.
func (p *Proxy) idleClose(l *link, n int) bool {
	ph := p.phaseNow()
	if ph == nil || l.br.Buffered() > 0 {
		return false
	}
	for _, r := range ph.Rules {
		idler, ok := r.Fault.(Idler)
		if !ok {
			continue
		}
		hit := p.connDraw(l.id, n, r.Index).Hit(r.Probability)
		r.count(false) // applied only once a connection is closed
		if !hit {
			return false
		}
		limit, out := idler.IdleClose()
		_ = l.down.SetReadDeadline(time.Now().Add(limit))
		_, err := l.br.Peek(1)
		_ = l.down.SetReadDeadline(time.Time{})
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return err != nil // a request came, or the peer went away
		}
		r.applied()
		endConn(l.down, causes.HowClose)
		p.recordConn(l, ph, r, out)
		return true
	}
	return false
}

// recordConn records the event of a fault that acted on a connection
// between requests.
func (p *Proxy) recordConn(l *link, ph *Phase, r Rule, out Outcome) {
	p.record(Event{Time: time.Now(), Type: TypeFault, Conn: l.id, Phase: ph.Name, Kind: r.Kind, Fault: r.Index,
		Cause: out.Cause, Ended: out.Ended, Detail: out.Detail})
}
