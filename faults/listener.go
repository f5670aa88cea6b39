package faults

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"
)

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

// refuseLoop closes the listener while the phase running has a Refuser
// (a refuse fault) and reopens it after, checking every few milliseconds
// so that a schedule changed at runtime takes effect too.
func (p *Proxy) refuseLoop(ctx context.Context, lc *listenerControl) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	rs := refuseState{}
	for {
		p.refuseTick(lc, &rs)
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// refuseState is what the refuse loop keeps between its ticks.
type refuseState struct {
	since        time.Time // when the listener was last closed
	reopenFailed bool      // reopening failed, and was logged once
}

// refuseTick closes the listener when the phase running now has a
// Refuser and it is open, or reopens it when the phase has none.
func (p *Proxy) refuseTick(lc *listenerControl, rs *refuseState) {
	ph := p.phaseNow()
	e := Event{Fault: -1}
	if ph != nil {
		e.Phase = ph.Name
	}
	r, refuser := refuserOf(ph)
	if refuser != nil {
		if !lc.refuse() {
			return
		}
		rs.since = time.Now()
		r.count(true)
		out := refuser.Refused(p.dropConnections())
		e.Time, e.Type, e.Kind, e.Fault = rs.since, TypeFault, r.Kind, r.Index
		e.Cause, e.Ended, e.Detail = out.Cause, out.Ended, out.Detail
		p.record(e)
		return
	}
	ok, err := lc.reopen()
	switch {
	case err != nil && !rs.reopenFailed: // once, not every tick
		rs.reopenFailed = true
		e.Type, e.Kind, e.Time = TypeObservation, ObservedUpstreamError, time.Now()
		e.Detail = fmt.Sprintf("reopen the listener after refusing (retrying): %v", err)
		p.record(e)
	case err == nil && ok:
		rs.reopenFailed = false
		e.Type, e.Kind, e.Time = TypeObservation, ObservedRefuseEnded, time.Now()
		e.Detail = fmt.Sprintf("listener open again after %s", time.Since(rs.since).Round(time.Millisecond))
		p.record(e)
	}
}

// refuserOf returns the first rule of ph whose fault is a Refuser, and
// that Refuser; a nil Refuser when there is none.
func refuserOf(ph *Phase) (Rule, Refuser) {
	if ph == nil {
		return Rule{}, nil
	}
	for _, r := range ph.Rules {
		if f, ok := r.Fault.(Refuser); ok {
			return r, f
		}
	}
	return Rule{}, nil
}
