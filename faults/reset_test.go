package faults

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// TestResetOnTheWire: what a client meets at each point of a reset.
func TestResetOnTheWire(t *testing.T) {
	onTheWire(t, []wireCase{
		// The RST can meet the client's write of its request first, which
		// takes the ECONNRESET; the read after it sees EOF.
		{name: "reset at connect: no byte", fault: scenarios.Fault{Kind: "reset", At: "connect"},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if len(got) != 0 || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
					t.Errorf("got %q, %v; want no byte, then ECONNRESET (or EOF after a failed write)", got, err)
				}
			}, cause: "reset-before-headers", ended: true},
		{name: "reset after headers: the head, then ECONNRESET", fault: scenarios.Fault{Kind: "reset", At: "after-headers"},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if !bytes.HasPrefix(got, []byte(head100)) || !bytes.HasSuffix(got, []byte("\r\n\r\n")) || !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("got %q, %v; want the head only, then ECONNRESET", got, err)
				}
			}, cause: "reset-after-headers", ended: true},
		{name: "reset mid-body", fault: scenarios.Fault{Kind: "reset", At: "mid-body", AfterBytes: 3},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				_, body, _ := bytes.Cut(got, []byte("\r\n\r\n"))
				if string(body) != "bbb" || !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("got body %q, %v; want 3 bytes then ECONNRESET", body, err)
				}
			}, cause: "reset-mid-body", ended: true},
	})
}

// TestResetAtConnectIsAnRST reads without writing, so the RST itself
// (not a failed write) is what the client meets.
func TestResetAtConnectIsAnRST(t *testing.T) {
	addr, _ := startProxy(t, http.HandlerFunc(body100), scenarios.Fault{Kind: "reset", At: "connect"})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.ECONNRESET) {
			return // the RST beat connect's return
		}
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("got %v, want ECONNRESET", err)
	}
}

// TestResetInModeTCP: a reset at connect, before headers and mid-body, on raw bytes.
func TestResetInModeTCP(t *testing.T) {
	inModeTCP(t, []tcpCase{
		{
			name:     "reset at connect",
			faults:   []scenarios.Fault{{Kind: "reset", At: scenarios.AtConnect}},
			upstream: sendThenWait(tcpPayload),
			wantErr:  syscall.ECONNRESET,
			kind:     "reset", cause: "reset-before-headers", ended: true, detail: "as soon as the connection was accepted",
		},
		{
			name:     "reset before headers",
			faults:   []scenarios.Fault{{Kind: "reset"}},
			upstream: sendThenWait(tcpPayload),
			send:     "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
			wantErr:  syscall.ECONNRESET,
			kind:     "reset", cause: "reset-before-headers", ended: true, detail: "first bytes of the request",
		},
		{
			name:     "reset mid-body",
			faults:   []scenarios.Fault{{Kind: "reset", At: scenarios.AtMidBody, AfterBytes: 12_345}},
			upstream: answer(tcpPayload),
			send:     "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
			want:     tcpPayload[:12_345],
			wantErr:  syscall.ECONNRESET,
			dialled:  true,
			kind:     "reset", cause: "reset-mid-body", ended: true, detail: "after 12345 bytes",
		},
	})
}
