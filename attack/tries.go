package attack

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// Why a request's tries ended, the Stop of its last Try.
const (
	StopSuccess      = "success"       // a 2xx or 3xx answer not in retry_on
	StopNotRetryable = "not-retryable" // another outcome not in retry_on
	StopAttempts     = "attempts"      // max_attempts reached
	StopDeadline     = "deadline"      // the request's deadline would pass before the next try
	StopBudget       = "budget"        // the retry budget refused the next try
	StopInterrupted  = "interrupted"   // the run was stopped (Ctrl-C, abort) before the next try
)

// Try is one try of one request, a line of the run folder's tries.jsonl.
// In JSON, Latency and Backoff are written in milliseconds (latency_ms,
// backoff_ms), Time in RFC 3339 with nanoseconds.
type Try struct {
	// Time is when the try was sent.
	Time time.Time `json:"time"`
	// Attack and Seq are the request's X-Vegeta-Attack and X-Vegeta-Seq.
	Attack string `json:"attack"`
	Seq    uint64 `json:"seq"`
	// Try is the try's number, from 1.
	Try int `json:"try"`
	// Code is the answer's status code; 0: no answer.
	Code int `json:"code"`
	// Error is why there was no answer, or why its body could not be
	// read; empty when answered in full.
	Error string `json:"error"`
	// Latency is the try's own, from sending it to its body read (or,
	// for a try followed by another, drained) and closed.
	Latency time.Duration `json:"-"`
	// Backoff is the wait before this try; 0 for the first.
	Backoff time.Duration `json:"-"`
	// RetryAfter says that Backoff is what the previous try's
	// Retry-After asked for, longer than the backoff drawn.
	RetryAfter bool `json:"retry_after,omitempty"`
	// Stop is empty on a try followed by another, else why the request
	// ended: one of the Stop constants.
	Stop string `json:"stop"`
}

// MarshalJSON writes t with latency_ms and backoff_ms.
func (t Try) MarshalJSON() ([]byte, error) {
	type plain Try // without the methods, so no recursion
	return json.Marshal(struct {
		plain
		LatencyMS float64 `json:"latency_ms"`
		BackoffMS float64 `json:"backoff_ms"`
	}{plain(t), ms(t.Latency), ms(t.Backoff)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Try) UnmarshalJSON(b []byte) error {
	type plain Try
	var v struct {
		plain
		LatencyMS float64 `json:"latency_ms"`
		BackoffMS float64 `json:"backoff_ms"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*t = Try(v.plain)
	t.Latency = time.Duration(v.LatencyMS * float64(time.Millisecond))
	t.Backoff = time.Duration(v.BackoffMS * float64(time.Millisecond))
	return nil
}

// ms returns d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}

// TryWriter writes tries as JSON lines, buffered. It is safe for
// concurrent use; the caller must Flush it before closing what it writes to.
type TryWriter struct {
	mu  sync.Mutex
	buf *bufio.Writer
	enc *json.Encoder
}

// NewTryWriter returns a writer of tries to w.
func NewTryWriter(w io.Writer) *TryWriter {
	buf := bufio.NewWriterSize(w, 64<<10)
	return &TryWriter{buf: buf, enc: json.NewEncoder(buf)}
}

// Write writes one try as one line.
func (w *TryWriter) Write(t Try) error {
	t.Time = t.Time.UTC()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.enc.Encode(t); err != nil {
		return fmt.Errorf("write try: %w", err)
	}
	return nil
}

// Flush writes out what is buffered.
func (w *TryWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("flush tries: %w", err)
	}
	return nil
}
