package faults

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Exchange is one request on a downstream connection, as a Fault sees it.
type Exchange struct {
	// Conn is the downstream connection (the gateway's side).
	Conn net.Conn
	// Request has been read up to the end of its head; its body is unread.
	Request *http.Request
	// Draw gives the fault its own reproducible random numbers beyond the
	// decision itself (jitter, for example).
	Draw *Draw

	reader *bufio.Reader
}

// DrainRequest reads the rest of the request body, so that the fault acts
// after the whole request has arrived, as an upstream that read it would.
func (x *Exchange) DrainRequest() error {
	if x.Request.Body == nil {
		return nil
	}
	if _, err := io.Copy(io.Discard, x.Request.Body); err != nil {
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

// WaitPeer waits until the peer closes the connection, d passes (when d is
// positive), or ctx is done. It reports why it returned: "peer closed",
// "timer" or "stopped". The caller must close the connection afterwards.
func (x *Exchange) WaitPeer(ctx context.Context, d time.Duration) string {
	gone := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(gone)
		// Any byte or error ends the wait: a gateway that gave up closes.
		_, _ = x.reader.ReadByte()
	}()
	defer func() {
		close(stop)
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
