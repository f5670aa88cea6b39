package results

import "testing"

// TestErrorKind classifies the errors vegeta and net/http write into a
// Result, as the report counts them.
func TestErrorKind(t *testing.T) {
	tests := []struct {
		msg  string
		want string
	}{
		{`Get "http://127.0.0.1:1/": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, ErrorTimeout},
		{`Get "http://127.0.0.1:1/": net/http: timeout awaiting response headers`, ErrorTimeout},
		{`Get "http://127.0.0.1:1/": context canceled`, ErrorCanceled},
		{`Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`, ErrorRefused},
		{`Get "http://127.0.0.1:1/": read tcp 127.0.0.1:2->127.0.0.1:1: read: connection reset by peer`, ErrorReset},
		{`Get "http://127.0.0.1:1/": EOF`, ErrorEOF},
		{`unexpected EOF`, ErrorEOF},
		{`net/http: HTTP/1.x transport connection broken: malformed HTTP response "\x00"`, ErrorOther},
	}
	for _, tt := range tests {
		if got := ErrorKind(tt.msg); got != tt.want {
			t.Errorf("ErrorKind(%q): got %q, want %q", tt.msg, got, tt.want)
		}
	}
}
