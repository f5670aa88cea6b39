package faults

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gatecrash/gatecrash/scenarios"
)

// MaxHead is the largest request or response head the proxy reads.
const MaxHead = 64 << 10

// errHeadTooLarge reports a head over MaxHead.
var errHeadTooLarge = errors.New("message head larger than 64 KiB")

// head is one HTTP/1.x message head as it came off the wire: the raw bytes,
// forwarded unchanged, and the few fields the proxy needs, parsed from them.
type head struct {
	raw []byte
	// lines holds the start offset in raw of each header line.
	lines []int

	// Request line: method and target; response line: code.
	method, target string
	code           int
	http10         bool

	// Framing.
	length  int64 // -1 when the head declares no Content-Length
	chunked bool
	close   bool // the sender will close after this message

	// The request headers the proxy reads on every request, found in the
	// same pass as the framing; they point into raw.
	attack, seq, phase, try []byte
}

// readHead reads one message head (up to and including the empty line)
// from br. It returns io.EOF when br ends before the first byte.
func readHead(br *bufio.Reader, request bool) (*head, error) {
	h := &head{}
	return h, h.read(br, request)
}

// read reads one message head into h, reusing its buffers.
func (h *head) read(br *bufio.Reader, request bool) error {
	*h = head{raw: h.raw[:0], lines: h.lines[:0], length: -1}
	for {
		start := len(h.raw)
		var err error
		h.raw, err = appendLine(h.raw, br)
		if err != nil {
			if errors.Is(err, io.EOF) && start == 0 && len(h.raw) == 0 {
				return io.EOF
			}
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		line := h.raw[start:]
		if start == 0 && len(trimEOL(line)) == 0 {
			h.raw = h.raw[:0] // blank lines before a message are ignored (RFC 9112)
			continue
		}
		if start == 0 {
			if err := h.parseStart(trimEOL(line), request); err != nil {
				return err
			}
			continue
		}
		if len(trimEOL(line)) == 0 {
			break
		}
		h.lines = append(h.lines, start)
	}
	return h.parseFraming(request)
}

// appendLine appends one line, through its LF, from br to buf, keeping
// buf within MaxHead.
func appendLine(buf []byte, br *bufio.Reader) ([]byte, error) {
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > MaxHead {
			return buf, errHeadTooLarge
		}
		buf = append(buf, frag...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return buf, err
		}
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// parseStart parses a request line or a status line.
func (h *head) parseStart(line []byte, request bool) error {
	if request {
		method, rest, ok1 := bytes.Cut(line, []byte(" "))
		target, proto, ok2 := bytes.Cut(rest, []byte(" "))
		if !ok1 || !ok2 || len(method) == 0 || len(target) == 0 || !bytes.HasPrefix(proto, []byte("HTTP/1.")) {
			return fmt.Errorf("malformed request line %q", line)
		}
		h.method, h.target = string(method), string(target)
		h.http10 = string(proto) == "HTTP/1.0"
		return nil
	}
	proto, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || !bytes.HasPrefix(proto, []byte("HTTP/1.")) || len(rest) < 3 {
		return fmt.Errorf("malformed status line %q", line)
	}
	code, err := strconv.Atoi(string(rest[:3]))
	if err != nil || code < 100 || code > 999 || (len(rest) > 3 && rest[3] != ' ') {
		return fmt.Errorf("malformed status line %q", line)
	}
	h.code = code
	h.http10 = string(proto) == "HTTP/1.0"
	return nil
}

// header returns the i-th header line's name and value.
func (h *head) header(i int) (name, value []byte) {
	end := len(h.raw)
	if i+1 < len(h.lines) {
		end = h.lines[i+1]
	}
	line := trimEOL(h.raw[h.lines[i]:end])
	name, value, _ = bytes.Cut(line, []byte(":"))
	return name, bytes.TrimSpace(value)
}

// get returns the first value of the named header, or "".
func (h *head) get(name string) string {
	for i := range h.lines {
		n, v := h.header(i)
		if equalFold(n, name) {
			return string(v)
		}
	}
	return ""
}

// equalFold compares an ASCII header name without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if c|0x20 != d|0x20 {
			return false
		}
	}
	return true
}

// parseFraming reads how the message's body is delimited and whether the
// connection closes after it.
func (h *head) parseFraming(request bool) error {
	keepAlive := false
	for i := range h.lines {
		n, v := h.header(i)
		switch {
		case equalFold(n, "Content-Length"):
			l, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || l < 0 || (h.length >= 0 && l != h.length) {
				return fmt.Errorf("bad Content-Length %q", v)
			}
			h.length = l
		case equalFold(n, "Transfer-Encoding"):
			// Chunked must be the last coding; anything else is not ours
			// to frame.
			if bytes.HasSuffix(bytes.ToLower(v), []byte("chunked")) {
				h.chunked = true
			} else if request {
				return fmt.Errorf("unsupported Transfer-Encoding %q", v)
			}
		case request && equalFold(n, HeaderAttack):
			h.attack = v
		case request && equalFold(n, HeaderSeq):
			h.seq = v
		case request && equalFold(n, scenarios.HeaderTry):
			h.try = v
		case request && equalFold(n, scenarios.HeaderPhase):
			h.phase = v
		case equalFold(n, "Connection"):
			for _, tok := range bytes.Split(v, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				if equalFold(tok, "close") {
					h.close = true
				}
				if equalFold(tok, "keep-alive") {
					keepAlive = true
				}
			}
		}
	}
	if h.chunked {
		h.length = -1 // Transfer-Encoding overrides Content-Length
	}
	if h.http10 && !keepAlive {
		h.close = true
	}
	return nil
}

// bodyless reports whether a response to a request with method has no
// body whatever its head says.
func (h *head) bodyless(method string) bool {
	return method == "HEAD" || h.code/100 == 1 || h.code == 204 || h.code == 304
}

// readsToEOF reports whether a response body runs until the connection
// closes.
func (h *head) readsToEOF() bool { return !h.chunked && h.length < 0 }

// copyBody copies one message body from br to w, exactly as framed. A
// request without framing has no body; a response without framing runs
// to EOF (the caller decides which by calling with toEOF). flush, if not
// nil, is called whenever br has nothing buffered, before it blocks.
func copyBody(w io.Writer, br *bufio.Reader, h *head, toEOF bool, flush func() error) (int64, error) {
	c := &bodyCopier{w: w, br: br, flush: flush}
	switch {
	case h.chunked:
		return c.n, c.chunked()
	case h.length >= 0:
		return c.n, c.exactly(h.length)
	case toEOF:
		err := c.exactly(-1)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = nil
		}
		return c.n, err
	}
	return 0, nil
}

// bodyCopier copies framed bytes, counting them.
type bodyCopier struct {
	w     io.Writer
	br    *bufio.Reader
	flush func() error
	n     int64
}

// exactly copies n bytes, or until EOF when n < 0.
func (c *bodyCopier) exactly(n int64) error {
	for n != 0 {
		if c.br.Buffered() == 0 && c.flush != nil {
			if err := c.flush(); err != nil {
				return downstreamErr(err) // the flush writes down
			}
		}
		// Peek fills the buffer at most once and hands out what is there.
		b, err := c.br.Peek(1)
		if len(b) == 0 {
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		avail := c.br.Buffered()
		if n > 0 && int64(avail) > n {
			avail = int(n)
		}
		b, _ = c.br.Peek(avail)
		m, werr := c.w.Write(b)
		c.n += int64(m)
		c.br.Discard(m)
		if werr != nil {
			return downstreamErr(werr)
		}
		if n > 0 {
			n -= int64(m)
		}
	}
	return nil
}

// line copies one line (a chunk size line or a trailer line). A writer
// that cares (the SSE counter) is told these bytes are framing.
func (c *bodyCopier) line() ([]byte, error) {
	if f, ok := c.w.(interface{ setFraming(bool) }); ok {
		f.setFraming(true)
		defer f.setFraming(false)
	}
	if c.br.Buffered() == 0 && c.flush != nil {
		if err := c.flush(); err != nil {
			return nil, downstreamErr(err) // the flush writes down
		}
	}
	l, err := c.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			err = errors.New("chunk line too long")
		}
		return nil, err
	}
	m, werr := c.w.Write(l)
	c.n += int64(m)
	if werr != nil {
		return nil, downstreamErr(werr)
	}
	return trimEOL(l), nil
}

// downstreamErr marks a write error as the downstream's, unless a fault
// cut the copy on purpose.
func downstreamErr(err error) error {
	if errors.Is(err, errCut) {
		return err
	}
	return fmt.Errorf("%w: %v", errDownstream, err)
}

// chunked copies a chunked body through its last chunk and trailers.
func (c *bodyCopier) chunked() error {
	for {
		l, err := c.line()
		if err != nil {
			return err
		}
		sz, _, _ := bytes.Cut(l, []byte(";"))
		size, err := strconv.ParseUint(string(bytes.TrimSpace(sz)), 16, 63)
		if err != nil {
			return fmt.Errorf("bad chunk size %q", l)
		}
		if size == 0 {
			for { // trailers, then the final empty line
				t, err := c.line()
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		if err := c.exactly(int64(size)); err != nil {
			return err
		}
		if l, err := c.line(); err != nil || len(l) != 0 {
			if err == nil {
				err = fmt.Errorf("chunk not followed by CRLF")
			}
			return err
		}
	}
}
