package attack

import (
	"encoding/json"
	"time"
)

// Formats of a streaming answer (Stream.Format).
const (
	// FormatOpenAI is OpenAI's chat completions streaming: data: lines of
	// chat.completion.chunk objects, then data: [DONE].
	FormatOpenAI = "openai"
	// FormatAnthropic is Anthropic's messages streaming: message_start
	// ... content_block_delta ... message_stop events.
	FormatAnthropic = "anthropic"
	// FormatSSE is any other server-sent-events answer: each data event
	// counts as a token, and the end of the body as its end.
	FormatSSE = "sse"
)

// How a stream ended (Stream.End).
const (
	EndDone        = "done"         // data: [DONE]
	EndMessageStop = "message_stop" // Anthropic's message_stop event
	EndEOF         = "eof"          // a FormatSSE stream's body ended
	EndCut         = "cut"          // the body ended without its end marker
	EndStall       = "stall"        // no token for the stall gap: the client gave up
	EndError       = "error"        // another read error
)

// Prefixes of the errors a stream that did not end properly gives
// vegeta's Result (its code 0, as any body read error).
const (
	ErrStreamCut   = "stream-cut: "
	ErrStreamStall = "stream-stall: "
)

// Stream is one streaming answer (Content-Type text/event-stream), one
// try's with a client retry policy: a line of the run folder's
// streams.jsonl. In JSON the durations are in milliseconds (ttft_ms,
// itl_ms, max_gap_ms, duration_ms) and Time in RFC 3339 with nanoseconds.
type Stream struct {
	// Time is when the request (the try) was sent.
	Time time.Time `json:"time"`
	// Attack, Seq and Try identify the request and its try (1 without a
	// retry policy).
	Attack string `json:"attack"`
	Seq    uint64 `json:"seq"`
	Try    int    `json:"try"`
	// Format is FormatOpenAI, FormatAnthropic or FormatSSE.
	Format string `json:"format"`
	// Code is the answer's status code.
	Code int `json:"code"`
	// TTFT runs from sending the request to the first token; 0 when none
	// came.
	TTFT time.Duration `json:"-"`
	// Tokens counts the content deltas received.
	Tokens int `json:"tokens"`
	// ITL is the mean inter-token latency, (last token - first token) /
	// (Tokens - 1), as NVIDIA GenAI-Perf defines it; 0 below 2 tokens.
	ITL time.Duration `json:"-"`
	// MaxGap is the longest wait between two tokens, or before the first.
	MaxGap time.Duration `json:"-"`
	// Duration runs from sending the request to the end of the stream.
	Duration time.Duration `json:"-"`
	// End says how the stream ended: one of the End constants.
	End string `json:"end"`
	// FinishReason is the finish_reason (OpenAI) or stop_reason
	// (Anthropic) the stream carried; empty when none came.
	FinishReason string `json:"finish_reason"`
	// Error is the error the Result got; empty when the stream ended
	// properly.
	Error string `json:"error"`
}

// streamJSON is Stream as JSON, with its durations in milliseconds.
type streamJSON struct {
	plainStream
	TTFTMS     float64 `json:"ttft_ms"`
	ITLMS      float64 `json:"itl_ms"`
	MaxGapMS   float64 `json:"max_gap_ms"`
	DurationMS float64 `json:"duration_ms"`
}

type plainStream Stream // without the methods, so no recursion

// MarshalJSON writes s with its durations in milliseconds.
func (s Stream) MarshalJSON() ([]byte, error) {
	return json.Marshal(streamJSON{plainStream(s), ms(s.TTFT), ms(s.ITL), ms(s.MaxGap), ms(s.Duration)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Stream) UnmarshalJSON(b []byte) error {
	var v streamJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Stream(v.plainStream)
	d := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
	s.TTFT, s.ITL, s.MaxGap, s.Duration = d(v.TTFTMS), d(v.ITLMS), d(v.MaxGapMS), d(v.DurationMS)
	return nil
}
