package faults

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// TestMalformedOnTheWire: the bytes of each variant, and its cause.
func TestMalformedOnTheWire(t *testing.T) {
	onTheWire(t, []wireCase{
		{name: "malformed header", fault: scenarios.Fault{Kind: "malformed", Variant: "header"},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if string(got) != "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nthis header line has no colon\r\n\r\nok" {
					t.Errorf("got %q", got)
				}
			}, cause: "malformed-header", ended: true},
		{name: "length mismatch", fault: scenarios.Fault{Kind: "malformed", Variant: "length-mismatch"},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if !bytes.HasPrefix(got, []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n")) || err != nil {
					t.Errorf("got %q, %v", got, err)
				}
			}, cause: "length-mismatch", ended: true},
		{name: "bad chunked", fault: scenarios.Fault{Kind: "malformed", Variant: "bad-chunked"},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if !bytes.Contains(got, []byte("\r\n\r\n5\r\nhello\r\nzz\r\n")) {
					t.Errorf("got %q", got)
				}
			}, cause: "truncated-chunked", ended: true},
		{name: "oversized headers", fault: scenarios.Fault{Kind: "malformed", Variant: "oversized-headers", Size: 70000},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				h, body, _ := bytes.Cut(got, []byte("\r\n\r\n"))
				if len(h) < 69000 || len(h) > 70000 || string(body) != "ok" {
					t.Errorf("got a %d-byte head and body %q; want about 70000 and ok", len(h), body)
				}
			}, cause: "oversized-headers", ended: true},
		{name: "garbage", fault: scenarios.Fault{Kind: "malformed", Variant: "garbage", Bytes: 33},
			check: func(t *testing.T, got []byte, err error, _ time.Duration) {
				if len(got) != 33 {
					t.Errorf("got %d bytes, want 33", len(got))
				}
			}, cause: "malformed-status-line", ended: true},
	})
}

// TestMalformedAsGoSeesIt: what a Go-based gateway's client makes of each
// malformed answer.
func TestMalformedAsGoSeesIt(t *testing.T) {
	for _, tt := range []struct {
		variant string
		want    string // in the client's error
	}{
		{"status-line", "malformed HTTP status code"},
		{"header", "malformed MIME header"},
		{"length-mismatch", "unexpected EOF"},
		{"bad-chunked", "invalid byte in chunk length"},
		{"oversized-headers", ""}, // Go reads 1 MB of headers: it passes
	} {
		t.Run(tt.variant, func(t *testing.T) {
			addr, _ := startProxy(t, http.HandlerFunc(body100), scenarios.Fault{Kind: "malformed", Variant: tt.variant})
			_, _, err := goClient(t, addr)
			if tt.want == "" {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}
