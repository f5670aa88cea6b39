package faults

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// TestCloseOnTheWire: what a client meets at each point of a close.
func TestCloseOnTheWire(t *testing.T) {
	onTheWire(t, []wireCase{
		{name: "close before headers: EOF, no byte", fault: scenarios.Fault{Kind: "close"},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if len(got) != 0 || err != nil {
					t.Errorf("got %q, %v; want nothing then EOF", got, err)
				}
			}, cause: "closed-before-headers", ended: true},
		// A FIN before the request arrives: reading gives EOF, or ECONNRESET
		// when the request reached the closed socket first.
		{name: "close at connect: no byte", fault: scenarios.Fault{Kind: "close", At: "connect"},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if len(got) != 0 || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
					t.Errorf("got %q, %v; want no byte, then EOF or ECONNRESET", got, err)
				}
			}, cause: "closed-before-headers", ended: true},
		{name: "close mid-body: exactly after_bytes, then EOF", fault: scenarios.Fault{Kind: "close", At: "mid-body", AfterBytes: 7},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				_, body, _ := bytes.Cut(got, []byte("\r\n\r\n"))
				if string(body) != "bbbbbbb" || err != nil {
					t.Errorf("got body %q, %v; want 7 bytes then EOF", body, err)
				}
			}, cause: "closed-mid-body", ended: true},
	})
}

// TestCloseInModeTCP: a close at connect, before headers and mid-body, on raw bytes.
func TestCloseInModeTCP(t *testing.T) {
	inModeTCP(t, []tcpCase{
		{
			name:     "close at connect",
			faults:   []scenarios.Fault{{Kind: "close", At: scenarios.AtConnect}},
			upstream: sendThenWait(tcpPayload),
			kind:     "close", cause: "closed-before-headers", ended: true, detail: "as soon as the connection was accepted",
		},
		{
			name:     "close before headers",
			faults:   []scenarios.Fault{{Kind: "close", At: scenarios.AtBeforeHeaders}},
			upstream: sendThenWait(tcpPayload),
			send:     "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
			kind:     "close", cause: "closed-before-headers", ended: true, detail: "first bytes of the request",
		},
		{
			name:     "close mid-body",
			faults:   []scenarios.Fault{{Kind: "close", At: scenarios.AtMidBody, AfterBytes: 54_321}},
			upstream: answer(tcpPayload),
			send:     "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
			want:     tcpPayload[:54_321],
			dialled:  true,
			kind:     "close", cause: "closed-mid-body", ended: true, detail: "after 54321 bytes",
		},
	})
}
