package lab

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Upstream is the built-in stub upstream: it reads the request, waits
// Latency, and answers 200 with a body of BodyBytes bytes.
type Upstream struct {
	// Latency is waited before every answer; zero answers at once.
	Latency time.Duration
	// BodyBytes is the size of every answer's body; zero sends none.
	BodyBytes int
}

// ServeHTTP implements http.Handler.
func (u Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if u.Latency > 0 {
		t := time.NewTimer(u.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(u.BodyBytes))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body(u.BodyBytes))
	}
}

// body returns n bytes of a JSON document (n >= 2), or n spaces below that.
func body(n int) []byte {
	if n < 2 {
		return bytes.Repeat([]byte(" "), n)
	}
	b := bytes.Repeat([]byte("x"), n)
	b[0], b[n-1] = '"', '"'
	return b
}
