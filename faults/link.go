package faults

import (
	"bufio"
	"context"
	"errors"
	"fmt"
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

	// The watch of the upstream connection while no request is in
	// flight on it (see watch): claimed (under mu) tells the watcher that
	// a request was sent, and watched gets the watcher's end (nil when
	// none runs).
	claimed bool
	watched chan error
	// lastEnd is when the previous exchange ended (zero before the first),
	// idle how long the connection then waited for the current request.
	lastEnd time.Time
	idle    time.Duration
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
	defer func() {
		l.close()
		if l.watched != nil {
			<-l.watched // the watcher ends with the upstream connection
		}
	}()
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
	for n := 0; ctx.Err() == nil && !l.closeAfter.Load(); n++ {
		if p.idleClose(l, n) {
			return
		}
		h := &l.req
		if err := h.read(l.br, true); err != nil {
			return
		}
		if n > 0 {
			l.idle = time.Since(l.lastEnd)
		}
		l.busy.Store(true)
		keep := p.exchange(ctx, l, h)
		l.busy.Store(false)
		if !keep {
			return
		}
		l.lastEnd = time.Now()
		if l.watched == nil {
			p.watch(l)
		}
	}
}

// watch watches the upstream connection while no request is in flight
// on it, as a gateway's pool watches its idle connections: when the
// upstream ends it on its own (its keep-alive timeout: a FIN, or a RST),
// the gateway's connection ends the same way at once, and bytes the
// upstream sends unasked (a 408 before the close) go down as they are.
// The proxy so hides none of the upstream's own closes. The next request
// sent on the connection claims the watch (see send): the watcher's end
// is then the first byte of the answer (nil) or the upstream's end.
func (p *Proxy) watch(l *link) {
	l.mu.Lock()
	l.claimed = false
	up, br, done := l.up, l.upbr, l.done
	l.mu.Unlock()
	if up == nil || done {
		return
	}
	end := make(chan error, 1)
	l.watched = end
	since := time.Now()
	go func() {
		for {
			_, err := br.Peek(1)
			l.mu.Lock()
			if l.claimed || l.done {
				l.mu.Unlock()
				end <- err
				return
			}
			if err == nil {
				// Under mu, so that no answer interleaves; bounded, so that
				// close (which takes mu) never waits on a gateway that
				// does not read.
				b, _ := br.Peek(br.Buffered())
				_ = l.down.SetWriteDeadline(time.Now().Add(time.Second))
				_, werr := l.down.Write(b)
				_ = l.down.SetWriteDeadline(time.Time{})
				_, _ = br.Discard(len(b))
				l.mu.Unlock()
				if werr != nil {
					end <- werr
					return
				}
				continue
			}
			l.mu.Unlock()
			if _, ok := endHow(err); ok {
				// The gateway's connection ends first and the event is
				// recorded after: every microsecond between the two is
				// one more in which the gateway may still reuse the
				// connection, which widens the upstream's keep-alive race
				// behind the proxy.
				at := time.Now()
				p.mirrorIdleEnd(l, err)
				p.record(Event{Time: at, Type: TypeObservation, Attack: l.attack, Conn: l.id, Kind: ObservedUpstreamError, Fault: -1,
					Cause: causes.UpstreamClosedIdle,
					Detail: fmt.Sprintf("the upstream ended the idle keep-alive connection after %s (%v); ended the gateway's connection the same way",
						at.Sub(since).Round(time.Millisecond), err)})
			} // else closed by the proxy itself
			end <- err
			return
		}
	}()
}

// claim takes the watch of the upstream connection over for a request
// about to be sent on it, and returns the watcher's end channel; nil when
// no watch runs.
func (l *link) claim() chan error {
	end := l.watched
	if end == nil {
		return nil
	}
	l.watched = nil
	l.mu.Lock()
	l.claimed = true
	l.mu.Unlock()
	return end
}

// mirrorIdleEnd ends the gateway's connection the way the upstream ended
// its own: a RST for a reset, a FIN (a plain close) otherwise.
//
// A FIN is only the gateway's side's write half: a request that crosses
// it (the gateway sent it before the FIN came) is still read, so that its
// failure is tied to it exactly (see send), until the gateway closes too
// or lingerFIN passes.
func (p *Proxy) mirrorIdleEnd(l *link, err error) {
	if how, _ := endHow(err); how == causes.HowClose {
		if cw, ok := l.down.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			_ = l.down.SetReadDeadline(time.Now().Add(lingerFIN))
			return
		}
	} else {
		endConn(l.down, causes.HowReset)
	}
	l.close()
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
		limit, how, out, ok := idler.IdleClose()
		if !ok {
			continue
		}
		hit := p.connDraw(l.id, n, r.Index).Hit(r.Probability)
		r.count(false) // applied only once a connection is closed
		if !hit {
			return false
		}
		_ = l.down.SetReadDeadline(time.Now().Add(limit))
		_, err := l.br.Peek(1)
		_ = l.down.SetReadDeadline(time.Time{})
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return err != nil // a request came, or the peer went away
		}
		r.applied()
		endConn(l.down, how)
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
