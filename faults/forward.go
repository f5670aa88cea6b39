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
		return p.fail(l, base, err)
	}
	if dropAfter {
		defer l.dropUpstream()
	}
	if err := pl.writeHead(l.bw, l.bw.Flush, resp.raw); err != nil {
		return p.fail(l, base, fmt.Errorf("pass the answer's head down: %w: %v", errDownstream, err))
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
// carry another request. The gateway's connection ends as the upstream's
// did: a RST for a reset or a refused connect, a FIN otherwise (when the
// caller closes it).
func (p *Proxy) fail(l *link, base Event, err error) bool {
	e := base
	e.Time, e.Type, e.Kind, e.Fault = time.Now(), TypeObservation, ObservedUpstreamError, -1
	e.Cause, e.Ended = upstreamCause(err), true
	if errors.Is(err, errDownstream) || errors.Is(err, errGatewayBody) {
		e.Kind, e.Cause, e.Ended = ObservedGatewayClosed, "", false
	}
	e.Detail = err.Error()
	if e.Kind == ObservedUpstreamError {
		var ue *upstreamEnded
		if errors.As(err, &ue) && ue.how == causes.HowReset || errors.Is(err, syscall.ECONNREFUSED) {
			e.Detail += "; reset the gateway's connection the same way"
			endConn(l.down, causes.HowReset)
		} else {
			e.Detail += "; closed the gateway's connection the same way"
		}
	}
	l.dropUpstream()
	p.record(e)
	return false
}

// send sends the request (head and body) upstream and reads the answer's
// head, passing informational answers down. The proxy never dials again
// behind the gateway's back: when the upstream ended a reused connection
// (while it was idle, or as this request came), the error is an
// *upstreamEnded and the gateway's connection ends the same way (see
// fail). dropAfter says that the upstream connection cannot carry
// another request once this answer is through (it answered before the
// whole request body came). An error names the step that failed.
func (p *Proxy) send(ctx context.Context, l *link, req *head) (resp *head, dropAfter bool, err error) {
	hasBody := req.chunked || req.length > 0
	reused, err := p.upstream(ctx, l)
	watch := l.claim()
	if watch != nil && (err != nil || !reused) {
		<-watch // the watch of a connection that ended
		watch = nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("connect to upstream: %w", err)
	}
	// The watcher's end, once the request went: the first byte of the
	// answer, or the upstream ending the connection (maybe before the
	// request came: then the gateway's connection has ended too).
	first := func() error {
		if watch == nil {
			return nil
		}
		err := <-watch
		watch = nil
		return err
	}
	// A write that failed on a connection the upstream ended: its end
	// says how.
	writeErr := func(err error) error {
		if w := first(); w != nil {
			return p.ended(fmt.Errorf("read upstream answer: %w", w), reused, l.idle)
		}
		return p.ended(fmt.Errorf("write request upstream: %w", err), reused, l.idle)
	}
	if _, err := l.upbw.Write(req.raw); err != nil {
		return nil, false, writeErr(err)
	}
	var bodyDone chan error
	if hasBody {
		bodyDone = sendBody(l, req)
	} else if err := l.upbw.Flush(); err != nil {
		return nil, false, writeErr(err)
	}
	if err := first(); err != nil {
		waitBody(l, bodyDone)
		return nil, false, p.ended(fmt.Errorf("read upstream answer: %w", err), reused, l.idle)
	}
	resp, err = p.responseHead(l)
	if err == nil {
		if err := waitBody(l, bodyDone); err != nil {
			req.close = true
			return resp, true, nil
		}
		return resp, false, nil
	}
	if errors.Is(err, errDownstream) {
		waitBody(l, bodyDone)
		return nil, false, fmt.Errorf("pass an informational answer down: %w", err)
	}
	berr := waitBody(l, bodyDone)
	if _, end := endHow(err); !end && berr != nil {
		err = berr
	}
	return nil, false, p.ended(fmt.Errorf("read upstream answer: %w", err), reused, l.idle)
}

// ended returns err as an *upstreamEnded before the headers when it is
// the upstream ending the connection (a FIN or a RST), else err.
func (p *Proxy) ended(err error, reused bool, idle time.Duration) error {
	if how, ok := endHow(err); ok {
		return &upstreamEnded{how: how, at: causes.BeforeHeaders, reused: reused, idle: idle, err: err}
	}
	return err
}

// upstreamEnded is the upstream ending its connection on its own, with no
// fault: how (causes.HowClose for a FIN, HowReset for a RST), at which
// point of the exchange, and whether the connection had carried a request
// before (a reused keep-alive connection, idle for idle).
type upstreamEnded struct {
	how    string
	at     causes.Point
	reused bool
	idle   time.Duration
	err    error
}

func (e *upstreamEnded) Error() string {
	what := map[string]string{causes.HowClose: "closed (FIN)", causes.HowReset: "reset (RST)"}[e.how]
	switch {
	case e.at != causes.BeforeHeaders:
		return fmt.Sprintf("the upstream %s the connection %s: %v", what, e.at, e.err)
	case e.reused:
		return fmt.Sprintf("the upstream %s the keep-alive connection, idle %s, as the request came: %v", what, e.idle.Round(time.Millisecond), e.err)
	}
	return fmt.Sprintf("the upstream %s the connection before answering: %v", what, e.err)
}

func (e *upstreamEnded) Unwrap() error { return e.err }

// cause names the upstream's own failure.
func (e *upstreamEnded) cause() string { return causes.Own(e.how, e.at, e.reused) }

// endHow reports whether err is a peer ending a connection, and how: a
// RST (ECONNRESET, EPIPE) or a FIN (EOF, an unexpected EOF).
func endHow(err error) (how string, ok bool) {
	switch {
	case err == nil:
		return "", false
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return causes.HowReset, true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return causes.HowClose, true
	}
	return "", false
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
		return p.fail(l, base, fmt.Errorf("pass the answer's body down: %w", err))
	}
	if how, ok := endHow(err); ok {
		err = &upstreamEnded{how: how, at: causes.MidBody, err: err}
	}
	return p.fail(l, base, fmt.Errorf("copy upstream body: %w", err))
}

// errGatewayBody marks a failure to read a request body from the gateway.
var errGatewayBody = errors.New("read request body from the gateway")

// errMalformedAnswer marks an answer head the proxy could not read.
var errMalformedAnswer = errors.New("the upstream's answer is not HTTP the proxy can read")

// errDownstream marks a failure to write to the downstream connection (in
// copyBody: to its writer).
var errDownstream = errors.New("write downstream")

// responseHead reads the upstream's answer head, passing informational
// (1xx) answers down as they come, and returns the final head unwritten.
func (p *Proxy) responseHead(l *link) (*head, error) {
	h := &l.resp
	for {
		err := h.read(l.upbr, false)
		if err != nil {
			var ne net.Error
			if _, end := endHow(err); !end && !errors.As(err, &ne) && !errors.Is(err, net.ErrClosed) {
				err = fmt.Errorf("%w: %v", errMalformedAnswer, err)
			}
			return nil, err
		}
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

// upstream returns the link's upstream connection, dialling one at the
// link's first forwarded request, and reports whether it was reused.
// Bytes the upstream sent unasked stay buffered: they are the answer the
// gateway would read.
func (p *Proxy) upstream(ctx context.Context, l *link) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return false, net.ErrClosed
	}
	if l.up != nil {
		return true, nil
	}
	c, err := dialUpstream(ctx, p.cfg.Upstream, p.cfg.DialTimeout)
	if err != nil {
		return false, err
	}
	l.up, l.upbr, l.upbw = c, bufio.NewReader(c), bufio.NewWriter(c)
	return false, nil
}

// upstreamCause names the cause of a gateway error that an upstream
// failure the proxy saw (not caused) leads to.
func upstreamCause(err error) string {
	var ue *upstreamEnded
	switch {
	case errors.As(err, &ue):
		return ue.cause()
	case errors.Is(err, syscall.ECONNREFUSED):
		return causes.UpstreamRefused
	case errors.Is(err, errMalformedAnswer):
		return causes.UpstreamMalformed
	}
	if how, ok := endHow(err); ok {
		return (&upstreamEnded{how: how, at: causes.BeforeHeaders}).cause()
	}
	return causes.UpstreamError
}
