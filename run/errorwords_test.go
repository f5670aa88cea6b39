package run

import "testing"

// TestErrorWords: the matrix tells an answer cut after its headers from
// a connection that ended before them.
func TestErrorWords(t *testing.T) {
	tests := []struct {
		msg  string
		want string
	}{
		{`unexpected EOF`, "cut (unexpected EOF)"},
		{`stream-cut: the stream ended after 5 tokens without its end marker (data: [DONE]): unexpected EOF`, "stream cut"},
		{`stream-stall: no token for 5s after 5 tokens`, "stream stalled"},
		{`Post "http://127.0.0.1:1/": EOF`, "EOF"},
		{`Get "http://127.0.0.1:1/": read: connection reset by peer`, "reset"},
		{`Get "http://127.0.0.1:1/": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, "client timeout"},
		{`Get "http://127.0.0.1:1/": dial tcp: connect: connection refused`, "error"},
	}
	for _, tt := range tests {
		if got := errorWords(tt.msg); got != tt.want {
			t.Errorf("errorWords(%q): got %q, want %q", tt.msg, got, tt.want)
		}
	}
}
