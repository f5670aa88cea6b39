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

// Exchange is one request on a downstream connection, as a Fault sees it.
type Exchange struct {
	// Conn is the downstream connection (the gateway's side).
	Conn net.Conn
	// Draw gives the fault its own reproducible random numbers beyond the
	// decision itself (jitter, for example).
	Draw *Draw

	req    *head
	reader *bufio.Reader
}

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
