package faults

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/scenarios"
)

func TestReadHead(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		request bool
		want    head // raw and lines are not compared
		wantErr string
	}{
		{name: "get", in: "GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n", request: true,
			want: head{method: "GET", target: "/a?b", length: -1}},
		{name: "post with length", in: "POST / HTTP/1.1\r\ncontent-length: 12\r\n\r\n", request: true,
			want: head{method: "POST", target: "/", length: 12}},
		{name: "chunked wins over length", in: "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", request: true,
			want: head{method: "POST", target: "/", length: -1, chunked: true}},
		{name: "connection close", in: "GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n", request: true,
			want: head{method: "GET", target: "/", length: -1, close: true}},
		{name: "http/1.0 closes", in: "GET / HTTP/1.0\r\n\r\n", request: true,
			want: head{method: "GET", target: "/", length: -1, http10: true, close: true}},
		{name: "http/1.0 keep-alive", in: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", request: true,
			want: head{method: "GET", target: "/", length: -1, http10: true}},
		{name: "leading blank line, LF only", in: "\r\nGET / HTTP/1.1\nHost: x\n\n", request: true,
			want: head{method: "GET", target: "/", length: -1}},
		{name: "response", in: "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
			want: head{code: 502, length: 0}},
		{name: "response without reason", in: "HTTP/1.1 204\r\n\r\n",
			want: head{code: 204, length: -1}},
		{name: "bad status line", in: "HTTP/1.1 abc Broken\r\n\r\n", wantErr: "malformed status line"},
		{name: "bad request line", in: "GARBAGE\r\n\r\n", request: true, wantErr: "malformed request line"},
		{name: "two lengths", in: "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", request: true, wantErr: "bad Content-Length"},
		{name: "negative length", in: "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", request: true, wantErr: "bad Content-Length"},
		{name: "cut short", in: "GET / HTTP/1.1\r\nHost:", request: true, wantErr: "unexpected EOF"},
		{name: "too large", in: "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", MaxHead) + "\r\n\r\n", request: true, wantErr: "larger than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := readHead(bufio.NewReader(strings.NewReader(tt.in)), tt.request)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := *h
			got.raw, got.lines = nil, nil
			want := tt.want
			if got.method != want.method || got.target != want.target || got.code != want.code || got.length != want.length ||
				got.chunked != want.chunked || got.close != want.close || got.http10 != want.http10 {
				t.Errorf("got %+v, want %+v", got, want)
			}
			if !strings.HasSuffix(tt.in, string(h.raw)) {
				t.Errorf("raw %q is not the message as sent", h.raw)
			}
		})
	}
	if _, err := readHead(bufio.NewReader(strings.NewReader("")), true); !errors.Is(err, io.EOF) {
		t.Errorf("empty input: got %v, want io.EOF", err)
	}
}

func TestHeaderLookup(t *testing.T) {
	h, err := readHead(bufio.NewReader(strings.NewReader("GET / HTTP/1.1\r\nX-Vegeta-Seq:  42 \r\nx-vegeta-attack: a\r\n\r\n")), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.get("X-Vegeta-Seq"); got != "42" {
		t.Errorf("seq: got %q, want 42", got)
	}
	if got := h.get("X-Vegeta-Attack"); got != "a" {
		t.Errorf("attack: got %q, want a", got)
	}
	if got := h.get("Missing"); got != "" {
		t.Errorf("missing: got %q, want empty", got)
	}
}

func TestCopyBody(t *testing.T) {
	tests := []struct {
		name  string
		head  head
		toEOF bool
		in    string
		want  string // what is copied; the rest must stay in the reader
		rest  string
		err   string
	}{
		{name: "length", head: head{length: 5}, in: "hello next", want: "hello", rest: " next"},
		{name: "no framing, request", head: head{length: -1}, in: "next", want: "", rest: "next"},
		{name: "no framing, response to EOF", head: head{length: -1}, toEOF: true, in: "all of it", want: "all of it"},
		{name: "chunked with trailer", head: head{length: -1, chunked: true},
			in:   "5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\nnext",
			want: "5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n", rest: "next"},
		{name: "length cut short", head: head{length: 10}, in: "abc", want: "abc", err: "unexpected EOF"},
		{name: "bad chunk size", head: head{length: -1, chunked: true}, in: "zz\r\n", want: "zz\r\n", err: "bad chunk size"},
		{name: "chunk without CRLF", head: head{length: -1, chunked: true}, in: "1\r\naXX\r\n", want: "1\r\naXX\r\n", err: "not followed by CRLF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tt.in), 16)
			var out bytes.Buffer
			h := tt.head
			n, err := copyBody(&out, br, &h, tt.toEOF, nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got error %v, want %q", err, tt.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want || n != int64(len(tt.want)) {
				t.Errorf("copied %q (%d bytes), want %q", out.String(), n, tt.want)
			}
			if tt.err == "" {
				rest, _ := io.ReadAll(br)
				if string(rest) != tt.rest {
					t.Errorf("left %q, want %q", rest, tt.rest)
				}
			}
		})
	}
}

// FuzzReadHead checks the request-head parser against net/http's: it
// never panics, and where both accept a request they agree on its method,
// target, body framing and try number (the last X-Gatecrash-Try header,
// read as parseTry reads it: junk is no try).
func FuzzReadHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-Vegeta-Seq: 4\r\nX-Gatecrash-Try: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nx-gatecrash-try:  3 \r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-Gatecrash-Try: 1\r\nX-Gatecrash-Try: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-Gatecrash-Try: -1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-Gatecrash-Try: 99999999999999999999\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := readHead(bufio.NewReader(bytes.NewReader(data)), true)
		req, rerr := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil || rerr != nil {
			return
		}
		if !bytes.Contains(data, h.raw) {
			t.Fatalf("raw head %q is not in the input", h.raw)
		}
		if h.method != req.Method || h.target != req.RequestURI {
			t.Errorf("got %s %s, net/http read %s %s", h.method, h.target, req.Method, req.RequestURI)
		}
		chunked := len(req.TransferEncoding) > 0 && req.TransferEncoding[0] == "chunked"
		if h.chunked != chunked {
			t.Errorf("chunked: got %v, net/http %v", h.chunked, chunked)
		}
		if !h.chunked && req.ContentLength >= 0 && h.length != req.ContentLength && !(h.length == -1 && req.ContentLength == 0) {
			t.Errorf("length: got %d, net/http %d", h.length, req.ContentLength)
		}
		var want int
		if vs := req.Header.Values(scenarios.HeaderTry); len(vs) > 0 {
			want = parseTry(bytes.TrimSpace([]byte(vs[len(vs)-1])))
		}
		if got := parseTry(h.try); got != want {
			t.Errorf("try: got %d (%q), net/http's header %q reads %d", got, h.try, req.Header.Values(scenarios.HeaderTry), want)
		}
	})
}
