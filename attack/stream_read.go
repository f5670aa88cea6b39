package attack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// IsStream reports whether h is the header of a streaming answer:
// Content-Type text/event-stream (its parameters aside), as the WHATWG
// HTML standard's server-sent events define it
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#text/event-stream).
func IsStream(h http.Header) bool {
	ct := h.Get("Content-Type")
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "text/event-stream"
}

// streamTransport reads every 2xx text/event-stream answer as it
// arrives: its body, read by vegeta (or by the retrier), parses the
// events, times the tokens, and ends with an error when the stream did
// not end properly (stream-cut, stream-stall). Each answer gives out one
// Stream when its body ends or is closed. Other answers pass untouched.
type streamTransport struct {
	base  http.RoundTripper
	stall time.Duration // no token for this long ends the stream; 0: never
	out   func(Stream)  // nil: discard
}

// RoundTrip implements http.RoundTripper.
func (t streamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	sent := time.Now()
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 || !IsStream(resp.Header) {
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil
	}
	s := Stream{
		Time:   sent,
		Attack: req.Header.Get("X-Vegeta-Attack"),
		Try:    1,
		Code:   resp.StatusCode,
	}
	s.Seq, _ = strconv.ParseUint(req.Header.Get("X-Vegeta-Seq"), 10, 64)
	if n, err := strconv.Atoi(req.Header.Get(scenarios.HeaderTry)); err == nil && n > 0 {
		s.Try = n
	}
	resp.Body = newStreamBody(resp.Body, s, t.stall, cancel, t.out)
	return resp, nil
}

// cancelBody cancels its request's context once closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// streamBody is a streaming answer's body, measuring the stream as it is
// read. Read and Close are for one goroutine (vegeta's worker); the stall
// timer runs on its own and only cancels the request.
type streamBody struct {
	rc     io.ReadCloser
	cancel context.CancelFunc // the request's: ends a stalled read
	out    func(Stream)

	parser  sseParser
	rec     Stream
	sent    time.Time
	first   time.Time // the first token's arrival; zero: none yet
	last    time.Time // the last token's arrival
	at      time.Time // when the bytes being parsed arrived
	ended   string    // the end marker's End, once seen
	final   error     // what Read returns once the stream has ended
	written bool
	c       chunk // decoded into again for each event: fewer allocations

	// The stall watch: lastNS is when the last token (or the headers)
	// came, in nanoseconds since sent; the timer checks it when due.
	stall   time.Duration
	lastNS  atomic.Int64
	stalled atomic.Bool
	timer   *time.Timer
	mu      sync.Mutex // guards timer against a fire racing Close
	closed  bool
}

func newStreamBody(rc io.ReadCloser, s Stream, stall time.Duration, cancel context.CancelFunc, out func(Stream)) *streamBody {
	b := &streamBody{rc: rc, cancel: cancel, out: out, rec: s, sent: s.Time, stall: stall}
	b.parser.dispatch = b.event
	b.lastNS.Store(int64(time.Since(b.sent)))
	if stall > 0 {
		b.mu.Lock() // checkStall reads b.timer
		b.timer = time.AfterFunc(stall, b.checkStall)
		b.mu.Unlock()
	}
	return b
}

// checkStall runs when the stall gap may have passed since the last
// token: it cancels the request (the pending Read then fails) or waits
// again for the rest of the gap.
func (b *streamBody) checkStall() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	idle := time.Duration(int64(time.Since(b.sent)) - b.lastNS.Load())
	if idle < b.stall {
		b.timer.Reset(b.stall - idle)
		return
	}
	b.stalled.Store(true)
	b.cancel()
}

// Read implements io.Reader: the answer's bytes, parsed on the way; at
// the end of a stream without its end marker, a stream-cut error instead
// of io.EOF, and a stream-stall error when the stall gap passed.
func (b *streamBody) Read(p []byte) (int, error) {
	if b.final != nil {
		return 0, b.final
	}
	n, err := b.rc.Read(p)
	if n > 0 && b.ended == "" {
		b.feed(p[:n], time.Now())
	}
	if err == nil {
		return n, nil
	}
	b.final = b.end(err)
	return n, b.final
}

// feed parses the bytes that arrived at at.
func (b *streamBody) feed(p []byte, at time.Time) {
	b.at = at
	b.parser.feed(p)
}

// Close implements io.Closer; a stream closed before its end is
// recorded with End "error".
func (b *streamBody) Close() error {
	b.mu.Lock()
	b.closed = true
	if b.timer != nil {
		b.timer.Stop()
	}
	b.mu.Unlock()
	err := b.rc.Close()
	b.cancel()
	if b.final == nil {
		b.final = errors.New("the stream's body was closed before its end")
		b.record(EndError, b.final.Error())
	}
	return err
}

// event handles one server-sent event.
func (b *streamBody) event(typ, data []byte) {
	if b.ended != "" {
		return
	}
	if b.rec.Format == "" {
		b.rec.Format = detectFormat(typ, data)
	}
	switch b.rec.Format {
	case FormatOpenAI:
		b.openAI(data)
	case FormatAnthropic:
		b.anthropic(typ, data)
	default:
		b.token()
	}
}

// anthropicEvents are the event types of Anthropic's messages streaming
// (https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types).
var anthropicEvents = map[string]bool{
	"message_start": true, "content_block_start": true, "content_block_delta": true,
	"content_block_stop": true, "message_delta": true, "message_stop": true, "ping": true,
}

// detectFormat says which format a stream is in from its first event:
// an Anthropic event type, or an OpenAI chat.completion.chunk (or
// [DONE]); anything else is FormatSSE.
func detectFormat(typ, data []byte) string {
	if anthropicEvents[string(typ)] {
		return FormatAnthropic
	}
	if string(data) == "[DONE]" {
		return FormatOpenAI
	}
	if len(data) == 0 || data[0] != '{' {
		return FormatSSE
	}
	var c chunk
	if json.Unmarshal(data, &c) != nil {
		return FormatSSE
	}
	switch {
	case c.Object == "chat.completion.chunk" || c.Choices != nil:
		return FormatOpenAI
	case anthropicEvents[c.Type]:
		return FormatAnthropic
	}
	return FormatSSE
}

// chunk holds the few fields of a streamed event the attacker reads:
// of an OpenAI chat.completion.chunk
// (https://platform.openai.com/docs/api-reference/chat-streaming/streaming),
// object and choices[].delta.content and finish_reason; of an Anthropic
// event (https://docs.anthropic.com/en/api/messages-streaming), type and
// delta.text (content_block_delta) or delta.stop_reason (message_delta).
type chunk struct {
	Object  string `json:"object"`
	Type    string `json:"type"`
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Delta struct {
		Text       string `json:"text"`
		StopReason string `json:"stop_reason"`
	} `json:"delta"`
}

// openAI handles one data event of an OpenAI stream: a chunk whose
// choices[0].delta.content is not empty is a token (the first chunk
// carries the role with an empty content), and data: [DONE] its end.
func (b *streamBody) openAI(data []byte) {
	if bytes.Equal(data, []byte("[DONE]")) {
		b.ended = EndDone
		return
	}
	c := b.chunk()
	if json.Unmarshal(data, c) != nil || len(c.Choices) == 0 {
		return // not a chunk, or the usage chunk (choices: [])
	}
	if c.Choices[0].Delta.Content != "" {
		b.token()
	}
	if r := c.Choices[0].FinishReason; r != "" {
		b.rec.FinishReason = r
	}
}

// anthropic handles one event of an Anthropic stream: a
// content_block_delta with text is a token, message_delta carries the
// stop_reason, and message_stop is its end.
func (b *streamBody) anthropic(typ, data []byte) {
	t := string(typ)
	switch t {
	case "content_block_delta", "message_delta":
	case "message_stop":
		b.ended = EndMessageStop
		return
	case "":
		// No event: line; the type is in the data, as in every
		// Anthropic event.
	default:
		return
	}
	c := b.chunk()
	if json.Unmarshal(data, c) != nil {
		return
	}
	if t == "" {
		t = c.Type
	}
	switch t {
	case "content_block_delta":
		if c.Delta.Text != "" {
			b.token()
		}
	case "message_delta":
		if c.Delta.StopReason != "" {
			b.rec.FinishReason = c.Delta.StopReason
		}
	case "message_stop":
		b.ended = EndMessageStop
	}
}

// chunk returns b's chunk, emptied, its choices' room kept (zeroed:
// json.Unmarshal decodes into a slice's old elements, and keeps their
// fields that the new JSON leaves out or sets to null).
func (b *streamBody) chunk() *chunk {
	room := b.c.Choices[:cap(b.c.Choices)]
	clear(room)
	b.c = chunk{Choices: room[:0]}
	return &b.c
}

// token counts a token arrived at b.at.
func (b *streamBody) token() {
	at := b.at
	prev := b.last
	if b.rec.Tokens == 0 {
		b.first, prev = at, b.sent
	}
	b.rec.MaxGap = max(b.rec.MaxGap, at.Sub(prev))
	b.last = at
	b.rec.Tokens++
	b.lastNS.Store(int64(at.Sub(b.sent)))
}

// end records the stream once its body's read failed with err (io.EOF
// at its end) and returns what Read returns from then on.
func (b *streamBody) end(err error) error {
	now := time.Now()
	switch {
	case b.stalled.Load() && b.ended == "":
		b.rec.MaxGap = max(b.rec.MaxGap, now.Sub(b.lastArrival()))
		e := fmt.Errorf("%sno token for %s after %d tokens", ErrStreamStall, b.stall, b.rec.Tokens)
		b.record(EndStall, e.Error())
		return e
	case err == io.EOF && b.ended != "":
		b.record(b.ended, "")
		return io.EOF
	case err == io.EOF && (b.rec.Format == FormatSSE || b.rec.Format == ""):
		b.rec.Format = FormatSSE
		b.record(EndEOF, "")
		return io.EOF
	case err == io.EOF:
		e := fmt.Errorf("%sthe stream ended after %d tokens without its end marker (%s)", ErrStreamCut, b.rec.Tokens, b.marker())
		b.record(EndCut, e.Error())
		return e
	case b.ended == "" && isCut(err):
		if b.rec.Format == "" {
			b.rec.Format = FormatSSE
		}
		e := fmt.Errorf("%sthe stream ended after %d tokens without its end marker (%s): %w", ErrStreamCut, b.rec.Tokens, b.marker(), err)
		b.record(EndCut, e.Error())
		return e
	}
	// Another error (the request's timeout, the run's end), or an error
	// after the end marker: passed on as it is.
	end := b.ended
	if end == "" {
		end = EndError
	}
	b.record(end, err.Error())
	return err
}

// lastArrival is when the last token came, or the headers when none did.
func (b *streamBody) lastArrival() time.Time {
	return b.sent.Add(time.Duration(b.lastNS.Load()))
}

// marker names the end marker the stream's format has.
func (b *streamBody) marker() string {
	switch b.rec.Format {
	case FormatOpenAI:
		return "data: [DONE]"
	case FormatAnthropic:
		return "message_stop"
	}
	return "the end of its body"
}

// isCut reports whether err is the connection ending under the stream:
// its body cut short (a chunked body without its last chunk, a
// Content-Length not reached), or the connection reset or broken.
func isCut(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}

// record gives out the stream's line, once, ended as end.
func (b *streamBody) record(end, errText string) {
	if b.written {
		return
	}
	b.written = true
	b.mu.Lock()
	b.closed = true
	if b.timer != nil {
		b.timer.Stop()
	}
	b.mu.Unlock()
	if b.rec.Format == "" {
		b.rec.Format = FormatSSE
	}
	b.rec.End, b.rec.Error = end, errText
	b.rec.Duration = time.Since(b.sent)
	if b.rec.Tokens > 0 {
		b.rec.TTFT = b.first.Sub(b.sent)
	}
	if b.rec.Tokens > 1 {
		b.rec.ITL = b.last.Sub(b.first) / time.Duration(b.rec.Tokens-1)
	}
	if b.out != nil {
		b.out(b.rec)
	}
}
