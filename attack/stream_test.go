package attack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/scenarios"
)

// How a test stream ends.
const (
	endProper = "proper" // with its format's end marker
	endEOF    = "eof"    // the handler returns: a whole chunked body, no marker
	endReset  = "reset"  // the connection closes with an RST mid-body
	endStall  = "stall"  // no more bytes until the client gives up
)

// streamSpec is what a test server streams.
type streamSpec struct {
	format string        // attack.FormatOpenAI, FormatAnthropic or FormatSSE
	tokens int           // content deltas before the ending
	ttft   time.Duration // wait before the first token
	itl    time.Duration // wait between tokens
	ending string        // one of the end constants above
	finish string        // finish_reason or stop_reason sent with a proper end
}

// Events in each format, as the providers document them: OpenAI's
// chat.completion.chunk
// (https://platform.openai.com/docs/api-reference/chat-streaming/streaming)
// and Anthropic's messages streaming
// (https://docs.anthropic.com/en/api/messages-streaming).
const (
	openAIFirst = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n"
	openAIToken = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"tok"},"finish_reason":null}]}` + "\n\n"
	openAILast  = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"%s"}]}` + "\n\n"
	openAIUsage = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":%d,"total_tokens":%d}}` + "\n\n"
	openAIDone  = "data: [DONE]\n\n"

	anthropicStart = "event: message_start\n" + `data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"m","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}` + "\n\n" +
		"event: content_block_start\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
		"event: ping\n" + `data: {"type": "ping"}` + "\n\n"
	anthropicToken = "event: content_block_delta\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"tok"}}` + "\n\n"
	anthropicEnd   = "event: content_block_stop\n" + `data: {"type":"content_block_stop","index":0}` + "\n\n" +
		"event: message_delta\n" + `data: {"type":"message_delta","delta":{"stop_reason":"%s","stop_sequence":null},"usage":{"output_tokens":%d}}` + "\n\n" +
		"event: message_stop\n" + `data: {"type":"message_stop"}` + "\n\n"
)

// writeStream streams spec to w, flushing each event; stop ends a stall.
func writeStream(w http.ResponseWriter, r *http.Request, spec streamSpec, stop <-chan struct{}) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc.Flush() // the headers, before any token
	send := func(s string) {
		io.WriteString(w, s)
		rc.Flush()
	}
	switch spec.format {
	case attack.FormatOpenAI:
		send(openAIFirst)
	case attack.FormatAnthropic:
		send(anthropicStart)
	}
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-r.Context().Done():
			return false
		}
	}
	for i := 0; i < spec.tokens; i++ {
		d := spec.itl
		if i == 0 {
			d = spec.ttft
		}
		if !wait(d) {
			return
		}
		switch spec.format {
		case attack.FormatOpenAI:
			send(openAIToken)
		case attack.FormatAnthropic:
			send(anthropicToken)
		default:
			send("data: tok " + strconv.Itoa(i) + "\n\n")
		}
	}
	switch spec.ending {
	case endProper:
		switch spec.format {
		case attack.FormatOpenAI:
			send(fmt.Sprintf(openAILast, spec.finish))
			send(fmt.Sprintf(openAIUsage, spec.tokens, spec.tokens+3))
			send(openAIDone)
		case attack.FormatAnthropic:
			send(fmt.Sprintf(anthropicEnd, spec.finish, spec.tokens))
		}
	case endReset:
		reset(w)
	case endStall:
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}
}

// streamRun is what an attack on a streaming server gave.
type streamRun struct {
	results []*vegeta.Result
	streams []attack.Stream
	sidecar []attack.Stream // as StreamWriter wrote them, read back
	tries   []attack.Try
	created bool // the sidecar file was created
}

// runStreams sends n requests (at 50/s) to srv with opt's policy and
// stall gap, collecting the results, the streams and the sidecar.
func runStreams(t testing.TB, url string, n int, retry *scenarios.Retry, stall time.Duration) streamRun {
	t.Helper()
	var (
		mu  sync.Mutex
		out streamRun
		buf bytes.Buffer
	)
	w := attack.NewStreamWriter(func() (io.WriteCloser, error) {
		out.created = true
		return nopCloser{&buf}, nil
	})
	opt := attack.Options{
		Name: "streams", BaseURL: url, Requests: []scenarios.Request{{Method: "POST", Path: "/v1/chat/completions", Body: `{"stream":true}`}},
		Timeout: 10 * time.Second, Retry: retry, Seed: 1, StreamStall: stall,
		Streams: func(s attack.Stream) {
			if err := w.Write(s); err != nil {
				t.Error(err)
			}
			mu.Lock()
			out.streams = append(out.streams, s)
			mu.Unlock()
		},
		Tries: func(tr attack.Try) {
			mu.Lock()
			out.tries = append(out.tries, tr)
			mu.Unlock()
		},
	}
	p := attack.NewSchedule([]attack.Step{{Duration: time.Duration(n) * 20 * time.Millisecond, Rate: 50, RampTo: 50}})
	_, err := attack.Run(context.Background(), p, opt, func(r *vegeta.Result) error {
		out.results = append(out.results, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var s attack.Stream
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("streams sidecar: %v", err)
		}
		out.sidecar = append(out.sidecar, s)
	}
	return out
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// TestStreams streams each format with each ending from a loopback server
// and checks the Result and the stream's line: tokens, end,
// finish_reason, TTFT not below the server's wait, the error of a cut or
// stalled stream (code 0 in the Result).
func TestStreams(t *testing.T) {
	const (
		ttft  = 40 * time.Millisecond
		itl   = 5 * time.Millisecond
		stall = 300 * time.Millisecond
	)
	tests := []struct {
		name     string
		spec     streamSpec
		code     uint16
		err      string // the Result's error, its start; "" none
		end      string
		tokens   int
		finish   string
		maxGapGE time.Duration // max_gap_ms at least this
	}{
		{"openai done", streamSpec{attack.FormatOpenAI, 5, ttft, itl, endProper, "stop"}, 200, "", attack.EndDone, 5, "stop", ttft},
		{"openai length", streamSpec{attack.FormatOpenAI, 1, ttft, itl, endProper, "length"}, 200, "", attack.EndDone, 1, "length", ttft},
		{"anthropic message_stop", streamSpec{attack.FormatAnthropic, 5, ttft, itl, endProper, "end_turn"}, 200, "", attack.EndMessageStop, 5, "end_turn", ttft},
		{"sse eof", streamSpec{attack.FormatSSE, 4, ttft, itl, endEOF, ""}, 200, "", attack.EndEOF, 4, "", ttft},
		{"openai cut at eof", streamSpec{attack.FormatOpenAI, 3, ttft, itl, endEOF, ""}, 0,
			"stream-cut: the stream ended after 3 tokens without its end marker (data: [DONE])", attack.EndCut, 3, "", ttft},
		{"anthropic cut at eof", streamSpec{attack.FormatAnthropic, 2, ttft, itl, endEOF, ""}, 0,
			"stream-cut: the stream ended after 2 tokens without its end marker (message_stop)", attack.EndCut, 2, "", ttft},
		{"openai reset", streamSpec{attack.FormatOpenAI, 3, ttft, itl, endReset, ""}, 0,
			"stream-cut: the stream ended after 3 tokens without its end marker (data: [DONE]): ", attack.EndCut, 3, "", ttft},
		{"anthropic reset", streamSpec{attack.FormatAnthropic, 4, ttft, itl, endReset, ""}, 0,
			"stream-cut: the stream ended after 4 tokens without its end marker (message_stop): ", attack.EndCut, 4, "", ttft},
		{"sse reset", streamSpec{attack.FormatSSE, 4, ttft, itl, endReset, ""}, 0,
			"stream-cut: the stream ended after 4 tokens without its end marker (the end of its body): ", attack.EndCut, 4, "", ttft},
		{"openai stall", streamSpec{attack.FormatOpenAI, 2, ttft, itl, endStall, ""}, 0,
			"stream-stall: no token for 300ms after 2 tokens", attack.EndStall, 2, "", stall},
		{"anthropic stall", streamSpec{attack.FormatAnthropic, 3, ttft, itl, endStall, ""}, 0,
			"stream-stall: no token for 300ms after 3 tokens", attack.EndStall, 3, "", stall},
		{"sse stall before any token", streamSpec{attack.FormatSSE, 0, ttft, itl, endStall, ""}, 0,
			"stream-stall: no token for 300ms after 0 tokens", attack.EndStall, 0, "", stall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stop := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				writeStream(w, r, tt.spec, stop)
			}))
			defer srv.Close()
			defer close(stop)
			run := runStreams(t, srv.URL, 1, nil, stall)
			if len(run.results) != 1 || len(run.streams) != 1 || len(run.sidecar) != 1 {
				t.Fatalf("got %d results, %d streams, %d sidecar lines, want 1 each", len(run.results), len(run.streams), len(run.sidecar))
			}
			r, s := run.results[0], run.streams[0]
			if r.Code != tt.code {
				t.Errorf("result code: got %d, want %d (error %q)", r.Code, tt.code, r.Error)
			}
			if tt.err == "" && r.Error != "" || !strings.HasPrefix(r.Error, tt.err) {
				t.Errorf("result error: got %q, want it to start with %q", r.Error, tt.err)
			}
			if s.Error != r.Error {
				t.Errorf("stream error: got %q, want the Result's, %q", s.Error, r.Error)
			}
			if s.Format != tt.spec.format || s.End != tt.end || s.Tokens != tt.tokens || s.FinishReason != tt.finish {
				t.Errorf("got format %q end %q tokens %d finish %q, want %q %q %d %q", s.Format, s.End, s.Tokens, s.FinishReason, tt.spec.format, tt.end, tt.tokens, tt.finish)
			}
			if s.Attack != "streams" || s.Seq != r.Seq || s.Try != 1 || s.Code != 200 {
				t.Errorf("got attack %q seq %d try %d code %d, want streams %d 1 200", s.Attack, s.Seq, s.Try, s.Code, r.Seq)
			}
			if tt.tokens > 0 && s.TTFT < ttft {
				t.Errorf("ttft: got %s, want at least the server's %s", s.TTFT, ttft)
			}
			if tt.tokens == 0 && s.TTFT != 0 {
				t.Errorf("ttft: got %s, want 0 without a token", s.TTFT)
			}
			if tt.tokens > 1 && s.ITL <= 0 || tt.tokens < 2 && s.ITL != 0 {
				t.Errorf("itl: got %s with %d tokens", s.ITL, tt.tokens)
			}
			if s.MaxGap < tt.maxGapGE || s.Duration < s.TTFT || s.Duration < s.MaxGap {
				t.Errorf("got max gap %s, ttft %s, duration %s; want max gap at least %s, duration at least both", s.MaxGap, s.TTFT, s.Duration, tt.maxGapGE)
			}
			// The sidecar's line is the stream, to the microsecond.
			got := run.sidecar[0]
			if got.Tokens != s.Tokens || got.End != s.End || got.Error != s.Error || got.Seq != s.Seq ||
				(got.TTFT-s.TTFT).Abs() > time.Microsecond || !got.Time.Equal(s.Time.Round(0)) {
				t.Errorf("sidecar: got %+v, want %+v", got, s)
			}
		})
	}
}

// TestStreamsNotStreams: an answer that is not text/event-stream, or not
// 2xx, writes no line, and the streams file is never created.
func TestStreamsNotStreams(t *testing.T) {
	tests := []struct {
		name string
		ct   string
		code int
		body string
	}{
		{"json", "application/json", 200, `{"object":"chat.completion"}`},
		{"plain text with data lines", "text/plain", 200, "data: [DONE]\n\n"},
		{"event-stream 502", "text/event-stream", 502, "data: x\n\n"},
		{"no content type", "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.ct != "" {
					w.Header().Set("Content-Type", tt.ct)
				}
				w.WriteHeader(tt.code)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			run := runStreams(t, srv.URL, 2, nil, time.Second)
			if len(run.results) != 2 || len(run.streams) != 0 || run.created {
				t.Fatalf("got %d results, %d streams, file created %v; want 2, 0, false", len(run.results), len(run.streams), run.created)
			}
			for _, r := range run.results {
				if int(r.Code) != tt.code || string(r.Body) != tt.body {
					t.Errorf("got %d %q, want %d %q", r.Code, r.Body, tt.code, tt.body)
				}
			}
		})
	}
}

// TestStreamsRetried: with a retry policy retrying errors, a cut or
// stalled stream is a failed try that is retried, each try's stream is
// one line with its try number, and the user sees the last try's
// answer; a policy that does not retry errors hands the cut on.
func TestStreamsRetried(t *testing.T) {
	policy := func(on ...string) *scenarios.Retry {
		return &scenarios.Retry{MaxAttempts: 3, Backoff: scenarios.BackoffNone, Jitter: scenarios.JitterNone, RetryOn: on}
	}
	tests := []struct {
		name    string
		policy  *scenarios.Retry
		endings []string // the server's ending for try 1, 2, 3
		code    uint16
		err     string
		ends    []string // the streams' ends, by try
	}{
		{"cut then done", policy(scenarios.RetryOnError), []string{endEOF, endProper}, 200, "",
			[]string{attack.EndCut, attack.EndDone}},
		{"reset, stall, done", policy(scenarios.RetryOnError), []string{endReset, endStall, endProper}, 200, "",
			[]string{attack.EndCut, attack.EndStall, attack.EndDone}},
		{"cut three times", policy(scenarios.RetryOnError), []string{endEOF, endReset, endEOF}, 0, "stream-cut: ",
			[]string{attack.EndCut, attack.EndCut, attack.EndCut}},
		{"stalled to the last", policy(scenarios.RetryOnError), []string{endStall, endStall, endStall}, 0, "stream-stall: ",
			[]string{attack.EndStall, attack.EndStall, attack.EndStall}},
		{"errors not retried", policy("502"), []string{endEOF, endProper}, 0, "stream-cut: ",
			[]string{attack.EndCut}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stop := make(chan struct{})
			srv := newTryServer(t, func(_ uint64, try int, w http.ResponseWriter, r *http.Request) {
				writeStream(w, r, streamSpec{attack.FormatOpenAI, 3, time.Millisecond, time.Millisecond, tt.endings[try-1], "stop"}, stop)
			})
			defer close(stop)
			run := runStreams(t, srv.URL, 1, tt.policy, 200*time.Millisecond)
			if len(run.results) != 1 {
				t.Fatalf("got %d results, want 1", len(run.results))
			}
			r := run.results[0]
			if r.Code != tt.code || !strings.HasPrefix(r.Error, tt.err) || tt.err == "" && r.Error != "" {
				t.Errorf("result: got %d %q, want %d %q...", r.Code, r.Error, tt.code, tt.err)
			}
			if len(run.streams) != len(tt.ends) || len(run.tries) != len(tt.ends) {
				t.Fatalf("got %d streams and %d tries, want %d", len(run.streams), len(run.tries), len(tt.ends))
			}
			for _, s := range run.streams {
				if s.End != tt.ends[s.Try-1] || s.Tokens != 3 {
					t.Errorf("try %d: got end %q with %d tokens, want %q with 3", s.Try, s.End, s.Tokens, tt.ends[s.Try-1])
				}
			}
			for _, tr := range run.tries {
				s := run.streams[0]
				for _, x := range run.streams {
					if x.Try == tr.Try {
						s = x
					}
				}
				if tr.Error != s.Error {
					t.Errorf("try %d: got error %q in tries, %q in streams; want the same", tr.Try, tr.Error, s.Error)
				}
			}
		})
	}
}
