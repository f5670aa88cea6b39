package faults

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/gatecrash/gatecrash/results/causes"
)

// forward passes the request to the upstream and streams the answer back.
// It reports whether the connection may carry another request.
func (p *Proxy) forward(ctx context.Context, l *link, req *head, base Event, pl *plan) bool {
	if pl == nil {
		pl = noPlan
	} else {
		pl.ctx = ctx
	}
	resp, dropAfter, err := p.send(ctx, l, req)
	if err != nil {
		return p.fail(base, err)
	}
	if dropAfter {
		defer l.dropUpstream()
	}
	if err := pl.writeHead(l.bw, l.bw.Flush, resp.raw); err != nil {
		l.dropUpstream()
		return p.fail(base, fmt.Errorf("pass the answer's head down: %w: %v", errDownstream, err))
	}
	if pl.cutHead != "" {
		cutAfterHead(l, pl)
		return false
	}
	if !resp.bodyless(req.method) && !p.passBody(l, resp, pl, base) {
		return false
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

// fail records an upstream failure the proxy saw (or the gateway closing
// in the middle of the exchange) and reports that the connection cannot
// carry another request.
func (p *Proxy) fail(base Event, err error) bool {
	e := base
	e.Time, e.Type, e.Kind, e.Fault = time.Now(), TypeObservation, ObservedUpstreamError, -1
	e.Cause, e.Ended = upstreamCause(err), true
	if errors.Is(err, errDownstream) || errors.Is(err, errGatewayBody) {
		e.Kind, e.Cause, e.Ended = ObservedGatewayClosed, "", false
	}
	e.Detail = err.Error()
	p.record(e)
	return false
}

// send sends the request (head and body) upstream and reads the answer's
// head, passing informational answers down. A request without a body is
// sent again, once, on a new connection when a reused one turns out
// closed before any byte of the answer: the upstream closed it while
// idle, which is not the gateway's business. dropAfter says that the
// upstream connection cannot carry another request once this answer is
// through (it answered before the whole request body came). An error
// names the step that failed.
func (p *Proxy) send(ctx context.Context, l *link, req *head) (resp *head, dropAfter bool, err error) {
	hasBody := req.chunked || req.length > 0
	for try := 0; ; try++ {
		// A request without a body needs no check that a reused connection
		// is still open: it is sent again if it was not (below).
		reused, err := p.upstream(ctx, l, hasBody)
		if err != nil {
			return nil, false, fmt.Errorf("connect to upstream: %w", err)
		}
		if _, err := l.upbw.Write(req.raw); err != nil {
			return nil, false, fmt.Errorf("write request upstream: %w", err)
		}
		var bodyDone chan error
		if hasBody {
			bodyDone = sendBody(l, req)
		} else if err := l.upbw.Flush(); err != nil {
			l.dropUpstream()
			if reused && try == 0 {
				continue
			}
			return nil, false, fmt.Errorf("write request upstream: %w", err)
		}
		resp, err := p.responseHead(l)
		if err == nil {
			if err := waitBody(l, bodyDone); err != nil {
				req.close = true
				return resp, true, nil
			}
			return resp, false, nil
		}
		if errors.Is(err, errDownstream) {
			waitBody(l, bodyDone)
			l.dropUpstream()
			return nil, false, fmt.Errorf("pass an informational answer down: %w", err)
		}
		berr := waitBody(l, bodyDone)
		l.dropUpstream()
		if reused && try == 0 && !hasBody && errors.Is(err, errNoAnswer) {
			continue
		}
		if berr != nil && !errors.Is(err, errNoAnswer) {
			err = berr
		}
		return nil, false, fmt.Errorf("read upstream answer: %w", err)
	}
}

// sendBody copies the request body up while the answer comes down (an
// upstream may answer 100 Continue first, or answer early); the channel
// gets the copy's end.
func sendBody(l *link, req *head) chan error {
	done := make(chan error, 1)
	up := l.up
	go func() {
		_, err := copyBody(l.upbw, l.br, req, false, l.upbw.Flush)
		if err != nil && !errors.Is(err, errDownstream) && !errors.Is(err, os.ErrDeadlineExceeded) {
			// Reading from the gateway failed (writing up is errDownstream
			// here: the writer's side): the upstream will never get the
			// rest, so end its exchange too.
			err = fmt.Errorf("%w: %v", errGatewayBody, err)
			up.Close()
		}
		if err == nil {
			err = l.upbw.Flush()
		}
		done <- err
	}()
	return done
}

// cutAfterHead ends the connection right after the answer's head, as a
// reset or close after-headers planned.
func cutAfterHead(l *link, pl *plan) {
	_ = l.bw.Flush()
	pl.note(pl.cutHeadRule, pl.cutHead+" right after the response head", causes.Ended(pl.cutHead, causes.AfterHeaders), true)
	endConn(l.down, pl.cutHead)
	l.dropUpstream()
}

// passBody streams the answer's body down under the plan's body faults.
// It reports whether the exchange went through; when not, the connection
// ended and its event is recorded (or noted in the plan).
func (p *Proxy) passBody(l *link, resp *head, pl *plan, base Event) bool {
	w := io.Writer(l.bw)
	if pl.active() {
		w = pl.bodyWriter(l.bw, l.bw.Flush, isEventStream(resp))
	}
	_, err := copyBody(w, l.upbr, resp, true, l.bw.Flush)
	if err == nil {
		return true
	}
	l.dropUpstream()
	switch {
	case errors.Is(err, errCut):
		_ = l.bw.Flush()
		endConn(l.down, pl.cutNow)
		return false
	case errors.Is(err, errDownstream):
		return p.fail(base, fmt.Errorf("pass the answer's body down: %w", err))
	}
	return p.fail(base, fmt.Errorf("copy upstream body: %w", err))
}

// errGatewayBody marks a failure to read a request body from the gateway.
var errGatewayBody = errors.New("read request body from the gateway")

// errNoAnswer marks an upstream connection that ended before the first
// byte of an answer.
var errNoAnswer = errors.New("upstream closed the connection before answering")

// errDownstream marks a failure to write to the downstream connection (in
// copyBody: to its writer).
var errDownstream = errors.New("write downstream")

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
		return causes.ConnectionRefused
	case errors.Is(err, syscall.ECONNRESET):
		return causes.ResetBeforeHeaders
	case errors.Is(err, errNoAnswer), errors.Is(err, io.EOF):
		return causes.ClosedBeforeHeaders
	}
	return causes.UpstreamError
}
