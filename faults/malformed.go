package faults

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Malformed answers with raw bytes that break HTTP, without asking the
// upstream, then closes the connection.
type Malformed struct {
	// Variant is one of the scenarios.Malformed constants; empty means
	// status-line.
	Variant string
	// Size is the head's size for oversized-headers.
	Size int
	// Bytes is how many bytes garbage sends.
	Bytes int
}

var _ Exchanger = Malformed{}

// Apply reads the request, sends the malformed answer and closes.
func (m Malformed) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	b, cause, err := m.bytes(x.Draw)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Detail: fmt.Sprintf("sent %s (%d bytes) and closed", m.describe(b), len(b)), Cause: cause, Ended: true, Close: true}
	if err := x.DrainRequest(); err != nil {
		return out, err
	}
	return out, x.Write(b)
}

func (m Malformed) describe(b []byte) string {
	if len(b) <= 80 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q...", b[:80])
}

// bytes returns what a variant sends, and the cause it leads to.
func (m Malformed) bytes(d *Draw) ([]byte, string, error) {
	switch m.Variant {
	case "", scenarios.MalformedStatusLine:
		return []byte("HTTP/1.1 abc Broken\r\nContent-Length: 0\r\n\r\n"), causes.MalformedStatusLine, nil
	case scenarios.MalformedHeader:
		return []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nthis header line has no colon\r\n\r\nok"), causes.MalformedHeader, nil
	case scenarios.MalformedOversizedHeaders:
		size := m.Size
		if size <= 0 {
			size = 64 << 10
		}
		var b bytes.Buffer
		b.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")
		for i := 0; b.Len() < size-4; i++ {
			line := fmt.Sprintf("X-Padding-%d: ", i)
			pad := min(1000, max(size-4-b.Len()-len(line)-2, 0))
			b.WriteString(line + strings.Repeat("p", pad) + "\r\n")
		}
		b.WriteString("\r\nok")
		return b.Bytes(), causes.OversizedHeaders, nil
	case scenarios.MalformedLengthMismatch:
		return []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly these 24 bytes come"), causes.LengthMismatch, nil
	case scenarios.MalformedBadChunked:
		return []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nnot hex\r\n"), causes.TruncatedChunked, nil
	case scenarios.MalformedGarbage:
		n := m.Bytes
		if n <= 0 {
			n = 64
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(d.next())
		}
		return b, causes.MalformedStatusLine, nil
	}
	return nil, "", fmt.Errorf("unknown malformed variant %q", m.Variant)
}
