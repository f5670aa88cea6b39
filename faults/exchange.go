package faults

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Exchange is one request on a downstream connection, as an Exchanger
// sees it.
type Exchange struct {
	// Conn is the downstream connection (the gateway's side).
	Conn net.Conn
	// Draw gives the fault its own reproducible random numbers beyond the
	// decision itself (jitter, for example).
	Draw *Draw

	req    *head
	reader *bufio.Reader
	idle   time.Duration // how long the connection waited for the request
	reused bool          // the connection carried a request before
	plan   *plan
	rule   Rule // the rule being applied
}

// Idle returns how long the connection waited for this request since the
// previous answer ended, and whether there was one (false for a
// connection's first request).
func (x *Exchange) Idle() (time.Duration, bool) { return x.idle, x.reused }

// The methods below let a fault act on the upstream's answer: they plan
// what forwarding does, and the proxy logs the fault's event once it took
// effect. A fault that uses them returns an Outcome with Pending set.

// DribbleHead spreads the answer's head over d.
func (x *Exchange) DribbleHead(d time.Duration) {
	x.plan.dribble, x.plan.dribbleRule = d, x.rule
	x.pending()
}

// CutAfterHead ends the connection (how: causes.HowReset or HowClose)
// right after the answer's head went down.
func (x *Exchange) CutAfterHead(how string) {
	x.plan.cutHead, x.plan.cutHeadRule = how, x.rule
	x.pending()
}

// CutAfterBytes ends the connection (how: causes.HowReset or HowClose)
// after n bytes of the answer's body, as framed on the wire.
func (x *Exchange) CutAfterBytes(n int64, how string) {
	x.plan.cutBytes, x.plan.cutBytesHow, x.plan.cutBytesRule = n, how, x.rule
	x.pending()
}

// ThrottleBody paces the answer's body to bps bytes per second.
func (x *Exchange) ThrottleBody(bps int) {
	x.plan.rate, x.plan.rateRule = bps, x.rule
	x.pending()
}

// CutStream ends a text/event-stream answer (how: causes.HowReset or
// HowClose) after events events.
func (x *Exchange) CutStream(events int, how string) {
	x.plan.sseCut, x.plan.sseCutHow, x.plan.sseCutRule = events, how, x.rule
	x.pending()
}

// StallStream pauses a text/event-stream answer for d after events events.
func (x *Exchange) StallStream(events int, d time.Duration) {
	x.plan.sseStall, x.plan.sseStallFor, x.plan.sseStallRule = events, d, x.rule
	x.pending()
}

// OnDone runs f once the exchange is over, whatever happened.
func (x *Exchange) OnDone(f func()) { x.plan.done = append(x.plan.done, f) }

// finish runs the OnDone functions, once the exchange is over.
func (x *Exchange) finish() {
	for _, f := range x.plan.done {
		f()
	}
}

func (x *Exchange) pending() { x.plan.pending = append(x.plan.pending, x.rule) }

// Method returns the request method.
func (x *Exchange) Method() string { return x.req.method }

// Path returns the request target without its query.
func (x *Exchange) Path() string {
	p, _, _ := strings.Cut(x.req.target, "?")
	return p
}

// Header returns the first value of the named request header, or "".
func (x *Exchange) Header(name string) string { return x.req.get(name) }

// WantsClose reports whether the request asked to close the connection
// after its answer.
func (x *Exchange) WantsClose() bool { return x.req.close }

// DrainRequest reads the rest of the request body, so that the fault acts
// after the whole request has arrived, as an upstream that read it would.
func (x *Exchange) DrainRequest() error {
	if _, err := copyBody(io.Discard, x.reader, x.req, false, nil); err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	return nil
}

// Reset ends the connection with a TCP RST: SO_LINGER 0, then close.
func (x *Exchange) Reset() error {
	if tc, ok := x.Conn.(*net.TCPConn); ok {
		if err := tc.SetLinger(0); err != nil {
			return fmt.Errorf("set linger: %w", err)
		}
	}
	return x.Conn.Close()
}

// Write sends raw bytes to the downstream connection.
func (x *Exchange) Write(b []byte) error {
	if _, err := x.Conn.Write(b); err != nil {
		return fmt.Errorf("write downstream: %w", err)
	}
	return nil
}

// WaitPeer waits until the peer closes the connection (or sends anything
// more), d passes (when d is positive), or ctx is done. It reports why it
// returned: "peer closed", "timer" or "stopped". The caller must close the
// connection afterwards.
func (x *Exchange) WaitPeer(ctx context.Context, d time.Duration) string {
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		_, _ = x.reader.ReadByte()
	}()
	defer func() {
		// Unblock the reader goroutine and wait for it to end.
		_ = x.Conn.SetReadDeadline(time.Now())
		<-gone
	}()
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-gone:
		return "peer closed"
	case <-timer:
		return "timer"
	case <-ctx.Done():
		return "stopped"
	}
}
