package faults

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// getOn sends a GET with seq on c and reads its answer.
func getOn(c net.Conn, br *bufio.Reader, seq int, method string) (*http.Response, error) {
	body := ""
	if method == http.MethodPost {
		body = "Content-Length: 4\r\n\r\nbody"
	} else {
		body = "\r\n"
	}
	fmt.Fprintf(c, "%s / HTTP/1.1\r\nHost: x\r\nX-Vegeta-Attack: a\r\nX-Vegeta-Seq: %d\r\n%s", method, seq, body)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return resp, err
}

// TestKeepaliveCrossesTheNextRequest: with when: request (the default),
// a request that comes on a connection idle for at least idle is read and
// never answered: the connection ends as the fault's close says, and the
// event names the request. A request that comes sooner goes through.
func TestKeepaliveCrossesTheNextRequest(t *testing.T) {
	for _, tt := range []struct {
		close string
		want  func(error) bool
	}{
		{scenarios.CloseFIN, func(err error) bool { return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) }},
		{scenarios.CloseRST, func(err error) bool { return errors.Is(err, syscall.ECONNRESET) }},
	} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(tt.close+" "+method, func(t *testing.T) {
				addr, events := startProxy(t, http.HandlerFunc(body100), scenarios.Fault{Kind: "keepalive",
					Idle: scenarios.Duration(250 * time.Millisecond), When: scenarios.WhenRequest, Close: tt.close})
				c := dialProxy(t, addr)
				defer c.Close()
				br := bufio.NewReader(c)
				// The first request of a connection, and one that comes at
				// once after it, go through.
				for seq := range 2 {
					if _, err := getOn(c, br, seq, method); err != nil {
						t.Fatalf("request %d: %v, want an answer", seq, err)
					}
				}
				time.Sleep(300 * time.Millisecond) // idle past the fault's 250ms
				_, err := getOn(c, br, 2, method)
				if !tt.want(err) {
					t.Fatalf("request after 300ms idle: got %v, want the connection ended by %s", err, tt.close)
				}
				evs := events()
				if len(evs) != 1 {
					t.Fatalf("got %d events, want 1: %+v", len(evs), evs)
				}
				if e := evs[0]; e.Type != TypeFault || e.Cause != "keepalive-race" || e.Seq == nil || *e.Seq != 2 || !e.Ended {
					t.Errorf("got %+v, want the keepalive-race event of seq 2", e)
				}
			})
		}
	}
}

// TestKeepaliveWhenIdle: with when: idle, the proxy closes a connection
// once it has waited idle for its next request.
func TestKeepaliveWhenIdle(t *testing.T) {
	addr, events := startProxy(t, http.HandlerFunc(body100), scenarios.Fault{Kind: "keepalive",
		Idle: scenarios.Duration(50 * time.Millisecond), When: scenarios.WhenIdle, Close: scenarios.CloseFIN})
	c := dialProxy(t, addr)
	defer c.Close()
	br := keptAlive(t, c)
	start := time.Now()
	// The answer was complete and keep-alive; now the proxy must close.
	if n, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("got %v, %v; want EOF once idle", n, err)
	}
	if took := time.Since(start); took < 40*time.Millisecond {
		t.Errorf("closed after %s idle, want at least the 50ms idle", took)
	}
	evs := events()
	if len(evs) != 1 || evs[0].Cause != "keepalive-race" || evs[0].Seq != nil {
		t.Errorf("got %+v, want one keepalive event without seq", evs)
	}
}
