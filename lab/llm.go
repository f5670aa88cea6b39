package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// LLMConfig configures the built-in LLM upstream; see NewLLM.
type LLMConfig struct {
	// Model is the model name in GET /v1/models and in every answer.
	Model string
	// MinTokens and MaxTokens bound the output tokens of an answer,
	// drawn uniformly, both included; equal for a fixed count. A
	// request's max_tokens (max_completion_tokens) cuts it.
	MinTokens, MaxTokens int
	// TTFT is waited before the first token, from when the request has a
	// slot; InterToken ± a uniform Jitter between two tokens.
	TTFT, InterToken, Jitter time.Duration
	// MaxConcurrent caps the answers generated at once; 0 means no cap.
	MaxConcurrent int
	// Queue makes a request beyond the cap wait for a slot; without it
	// the request gets 429 Too Many Requests with RetryAfter.
	Queue bool
	// RetryAfter is sent, in whole seconds (rounded up, at least 1), in
	// the Retry-After header of a 429.
	RetryAfter time.Duration
}

// LLMConfigOf returns the LLMConfig of a scenario's upstream.builtin.llm,
// as Decode filled it in.
func LLMConfigOf(l scenarios.LLM) LLMConfig {
	return LLMConfig{
		Model: l.Model, MinTokens: l.Tokens.Min, MaxTokens: l.Tokens.Max,
		TTFT: l.TTFT.D(), InterToken: l.InterToken.D(), Jitter: l.Jitter.D(),
		MaxConcurrent: l.MaxConcurrent, Queue: l.OverLimit == scenarios.OverLimitQueue,
		RetryAfter: l.RetryAfter.D(),
	}
}

// LLM is the built-in LLM upstream: a model server that generates no
// text worth reading but answers with the wire formats and the timing of
// a real one. It serves
//
//   - POST /v1/chat/completions, OpenAI's chat completions: with
//     "stream": true a text/event-stream of chat.completion.chunk
//     objects, one per token, then a chunk with finish_reason, a usage
//     chunk when the request asks stream_options.include_usage, and
//     data: [DONE]; otherwise one chat.completion object once the whole
//     answer is generated;
//   - GET /v1/models, OpenAI's model list, with the one model;
//   - POST /v1/messages, Anthropic's messages: with "stream": true the
//     events message_start, content_block_start, ping, one
//     content_block_delta per token, content_block_stop, message_delta
//     and message_stop; otherwise one message object.
//
// Every event is flushed as it is written. Any model name is accepted;
// answers carry Model. The answers' ids are drawn from the request's
// X-Vegeta-Attack and X-Vegeta-Seq when it has them, and so are its
// token count and jitter, so that a run repeats. An LLM is safe for
// concurrent use.
type LLM struct {
	cfg   LLMConfig
	slots chan struct{} // nil without a cap
	n     atomic.Uint64 // requests without vegeta's headers, for their seeds
}

var _ http.Handler = (*LLM)(nil)

// NewLLM returns the LLM upstream configured by cfg.
func NewLLM(cfg LLMConfig) *LLM {
	l := &LLM{cfg: cfg}
	if cfg.MaxConcurrent > 0 {
		l.slots = make(chan struct{}, cfg.MaxConcurrent)
	}
	return l
}

// maxLLMRequest bounds the request body the LLM upstream reads.
const maxLLMRequest = 4 << 20

// The two APIs, for the error answers.
type api int

const (
	apiOpenAI api = iota
	apiAnthropic
)

// llmRequest is the part of a request body the upstream reads, in both
// APIs: OpenAI's chat completions (https://platform.openai.com/docs/api-reference/chat/create;
// ChatCompletionNewParams in github.com/openai/openai-go chatcompletion.go)
// and Anthropic's messages (https://docs.anthropic.com/en/api/messages;
// MessageNewParams in github.com/anthropics/anthropic-sdk-go message.go).
type llmRequest struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int `json:"max_tokens"`
	MaxCompletionTokens *int `json:"max_completion_tokens"`
}

// ServeHTTP implements http.Handler.
func (l *LLM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	which := apiOpenAI
	if strings.HasPrefix(r.URL.Path, "/v1/messages") {
		which = apiAnthropic
	}
	switch r.URL.Path {
	case "/v1/models":
		if r.Method != http.MethodGet {
			llmError(w, which, http.StatusMethodNotAllowed, "GET /v1/models lists the models; send GET")
			return
		}
		l.models(w)
		return
	case "/v1/chat/completions", "/v1/messages":
		if r.Method != http.MethodPost {
			llmError(w, which, http.StatusMethodNotAllowed, r.URL.Path+" takes POST")
			return
		}
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxLLMRequest))
		llmError(w, which, http.StatusNotFound, "gatecrash's LLM upstream serves POST /v1/chat/completions, GET /v1/models and POST /v1/messages, not "+r.Method+" "+r.URL.Path)
		return
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, maxLLMRequest+1))
	if err != nil {
		return // the client went away
	}
	var req llmRequest
	switch {
	case len(body) > maxLLMRequest:
		llmError(w, which, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is more than %d bytes", maxLLMRequest))
		return
	case json.Unmarshal(body, &req) != nil:
		llmError(w, which, http.StatusBadRequest, "the request body is not a JSON object of the API")
		return
	}
	limit := req.MaxCompletionTokens
	if limit == nil {
		limit = req.MaxTokens
	}
	switch {
	case which == apiAnthropic && limit == nil:
		// The messages API requires max_tokens.
		llmError(w, which, http.StatusBadRequest, "max_tokens: Field required")
		return
	case limit != nil && *limit < 1:
		llmError(w, which, http.StatusBadRequest, "max_tokens must be at least 1")
		return
	}

	if !l.acquire(w, r, which) {
		return
	}
	defer l.release()

	rng := l.rng(r)
	n := l.cfg.MinTokens
	if l.cfg.MaxTokens > n {
		n += rng.IntN(l.cfg.MaxTokens - n + 1)
	}
	n = max(n, 1)
	a := answer{
		id:      strconv.FormatUint(rng.Uint64(), 36),
		model:   l.cfg.Model,
		created: time.Now().Unix(),
		tokens:  n,
		prompt:  max(1, len(body)/4), // a rough count: about 4 bytes a token
		usage:   req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
	}
	if limit != nil && *limit < n {
		a.tokens, a.cut = *limit, true
	}
	g := &generator{cfg: l.cfg, rng: rng, start: time.Now()}
	switch {
	case !req.Stream:
		if g.waitAll(r.Context(), a.tokens) {
			writeJSON(w, http.StatusOK, a.whole(which))
		}
	case which == apiAnthropic:
		streamAnthropic(r.Context(), w, a, g)
	default:
		streamOpenAI(r.Context(), w, a, g)
	}
}

// acquire takes a generation slot: at once, after a wait in the queue, or
// not at all, having answered 429 (or the client having gone).
func (l *LLM) acquire(w http.ResponseWriter, r *http.Request, which api) bool {
	if l.slots == nil {
		return true
	}
	select {
	case l.slots <- struct{}{}:
		return true
	default:
	}
	if !l.cfg.Queue {
		secs := int64(max(1, (l.cfg.RetryAfter+time.Second-1)/time.Second))
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		llmError(w, which, http.StatusTooManyRequests, fmt.Sprintf("the model is serving %d requests, its limit; retry after %d s", l.cfg.MaxConcurrent, secs))
		return false
	}
	select {
	case l.slots <- struct{}{}:
		return true
	case <-r.Context().Done():
		return false
	}
}

// release gives a slot back.
func (l *LLM) release() {
	if l.slots != nil {
		<-l.slots
	}
}

// rng returns the random source of one request: seeded from its
// X-Vegeta-Attack and X-Vegeta-Seq when it has them.
func (l *LLM) rng(r *http.Request) *rand.Rand {
	h := fnv.New64a()
	if seq := r.Header.Get("X-Vegeta-Seq"); seq != "" {
		io.WriteString(h, r.Header.Get("X-Vegeta-Attack"))
		io.WriteString(h, "\x00"+seq+"\x00"+r.Header.Get(scenarios.HeaderTry))
	} else {
		io.WriteString(h, "\x01"+strconv.FormatUint(l.n.Add(1), 10))
	}
	return rand.New(rand.NewPCG(h.Sum64(), 0x9e3779b97f4a7c15))
}

// models answers GET /v1/models with OpenAI's list of models
// (https://platform.openai.com/docs/api-reference/models/list; Model in
// github.com/openai/openai-go model.go: id, object, created, owned_by).
func (l *LLM) models(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data": []any{map[string]any{
			"id": l.cfg.Model, "object": "model", "created": 0, "owned_by": "gatecrash",
		}},
	})
}

// generator paces the tokens of one answer: token k (from 0) is due at
// start + TTFT + k inter-token waits, each InterToken ± Jitter. Due times
// are absolute, so a slow write does not push the later tokens back.
type generator struct {
	cfg   LLMConfig
	rng   *rand.Rand
	start time.Time
	next  time.Time // when the next token is due; zero before the first
	timer *time.Timer
}

// wait waits until the next token is due; false when ctx ended first.
func (g *generator) wait(ctx context.Context) bool {
	if g.next.IsZero() {
		g.next = g.start.Add(g.cfg.TTFT)
	} else {
		d := g.cfg.InterToken
		if g.cfg.Jitter > 0 {
			d += time.Duration(g.rng.Int64N(int64(2*g.cfg.Jitter)+1)) - g.cfg.Jitter
		}
		g.next = g.next.Add(d)
	}
	d := time.Until(g.next)
	if d <= 0 {
		return ctx.Err() == nil
	}
	if g.timer == nil {
		g.timer = time.NewTimer(d)
	} else {
		g.timer.Reset(d)
	}
	select {
	case <-g.timer.C:
		return true
	case <-ctx.Done():
		g.timer.Stop()
		return false
	}
}

// waitAll waits until all n tokens are due, for an answer sent whole.
func (g *generator) waitAll(ctx context.Context, n int) bool {
	for range n {
		if !g.wait(ctx) {
			return false
		}
	}
	return true
}

// token returns the text of token k: a word, with a space before all but
// the first.
func token(k int) string {
	w := words[k%len(words)]
	if k == 0 {
		return w
	}
	return " " + w
}

var words = strings.Fields("gatecrash streams tokens through the gateway under test to see when and why a stream breaks")

// text returns the whole text of n tokens.
func text(n int) string {
	var b strings.Builder
	for k := range n {
		b.WriteString(token(k))
	}
	return b.String()
}

// answer is what one request is answered with.
type answer struct {
	id      string
	model   string
	created int64
	tokens  int  // output tokens
	prompt  int  // input tokens reported in the usage
	cut     bool // ended by the request's max_tokens
	usage   bool // OpenAI: stream_options.include_usage
}

// finish returns the finish reason (OpenAI) or stop reason (Anthropic).
func (a answer) finish(which api) string {
	switch {
	case which == apiAnthropic && a.cut:
		return "max_tokens"
	case which == apiAnthropic:
		return "end_turn"
	case a.cut:
		return "length"
	}
	return "stop"
}

// whole returns the answer of a request without stream.
//
// OpenAI's chat.completion object
// (https://platform.openai.com/docs/api-reference/chat/object;
// ChatCompletion, ChatCompletionChoice, ChatCompletionMessage and
// CompletionUsage in github.com/openai/openai-go chatcompletion.go and
// completion.go). Anthropic's message object
// (https://docs.anthropic.com/en/api/messages; Message, TextBlock and
// Usage in github.com/anthropics/anthropic-sdk-go message.go).
func (a answer) whole(which api) any {
	if which == apiAnthropic {
		return map[string]any{
			"id": "msg_" + a.id, "type": "message", "role": "assistant", "model": a.model,
			"content":     []any{map[string]any{"type": "text", "text": text(a.tokens)}},
			"stop_reason": a.finish(which), "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": a.prompt, "output_tokens": a.tokens},
		}
	}
	return map[string]any{
		"id": "chatcmpl-" + a.id, "object": "chat.completion", "created": a.created, "model": a.model,
		"choices": []any{map[string]any{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": text(a.tokens), "refusal": nil},
			"logprobs":      nil,
			"finish_reason": a.finish(which),
		}},
		"usage": a.openAIUsage(),
	}
}

// openAIUsage is OpenAI's usage object (CompletionUsage).
func (a answer) openAIUsage() map[string]any {
	return map[string]any{"prompt_tokens": a.prompt, "completion_tokens": a.tokens, "total_tokens": a.prompt + a.tokens}
}

// sse writes server-sent events, flushing each one.
type sse struct {
	w   io.Writer
	rc  *http.ResponseController
	err error
}

// startSSE sends the head of a text/event-stream answer.
func startSSE(w http.ResponseWriter) *sse {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: http.NewResponseController(w)}
	s.err = s.rc.Flush()
	return s
}

// send writes one event: an event: line when name is not empty, then
// data (JSON-encoded unless it is a string), and flushes it. After a
// failed write it does nothing; ok says whether all writes went out.
func (s *sse) send(name string, data any) (ok bool) {
	if s.err != nil {
		return false
	}
	raw, isString := data.(string)
	if !isString {
		b, err := json.Marshal(data)
		if err != nil {
			s.err = err
			return false
		}
		raw = string(b)
	}
	var b strings.Builder
	if name != "" {
		b.WriteString("event: " + name + "\n")
	}
	b.WriteString("data: " + raw + "\n\n")
	if _, err := io.WriteString(s.w, b.String()); err != nil {
		s.err = err
		return false
	}
	s.err = s.rc.Flush()
	return s.err == nil
}

// streamOpenAI streams a chat completion as OpenAI does
// (https://platform.openai.com/docs/api-reference/chat-streaming;
// ChatCompletionChunk, ChatCompletionChunkChoice and
// ChatCompletionChunkChoiceDelta in github.com/openai/openai-go
// chatcompletion.go; the end marker data: [DONE] in
// packages/ssestream/ssestream.go): a first chunk with the role, one
// chunk per token with its content, a chunk with an empty delta and the
// finish_reason, with include_usage a chunk with no choices and the
// usage (every other chunk then has "usage": null), and data: [DONE].
func streamOpenAI(ctx context.Context, w http.ResponseWriter, a answer, g *generator) {
	s := startSSE(w)
	chunk := func(delta map[string]any, finish any) map[string]any {
		c := map[string]any{
			"id": "chatcmpl-" + a.id, "object": "chat.completion.chunk", "created": a.created, "model": a.model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
		}
		if a.usage {
			c["usage"] = nil
		}
		return c
	}
	if !s.send("", chunk(map[string]any{"role": "assistant", "content": ""}, nil)) {
		return
	}
	for k := range a.tokens {
		if !g.wait(ctx) || !s.send("", chunk(map[string]any{"content": token(k)}, nil)) {
			return
		}
	}
	if !s.send("", chunk(map[string]any{}, a.finish(apiOpenAI))) {
		return
	}
	if a.usage {
		u := chunk(nil, nil)
		u["choices"] = []any{}
		u["usage"] = a.openAIUsage()
		if !s.send("", u) {
			return
		}
	}
	s.send("", "[DONE]")
}

// streamAnthropic streams a message as Anthropic does
// (https://docs.anthropic.com/en/docs/build-with-claude/streaming; the
// events of MessageStreamEventUnion in github.com/anthropics/anthropic-sdk-go
// message.go, and ping, which packages/ssestream/ssestream.go skips):
// message_start with the message and no content, content_block_start of
// a text block, a ping, one content_block_delta with a text_delta per
// token, content_block_stop, message_delta with the stop_reason and the
// output tokens, and message_stop.
func streamAnthropic(ctx context.Context, w http.ResponseWriter, a answer, g *generator) {
	s := startSSE(w)
	ok := s.send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": "msg_" + a.id, "type": "message", "role": "assistant", "model": a.model,
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": a.prompt, "output_tokens": 1},
	}}) &&
		s.send("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}}) &&
		s.send("ping", map[string]any{"type": "ping"})
	if !ok {
		return
	}
	for k := range a.tokens {
		if !g.wait(ctx) || !s.send("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": token(k)}}) {
			return
		}
	}
	_ = s.send("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}) &&
		s.send("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": a.finish(apiAnthropic), "stop_sequence": nil}, "usage": map[string]any{"output_tokens": a.tokens}}) &&
		s.send("message_stop", map[string]any{"type": "message_stop"})
}

// llmError answers an error in the API's own format. OpenAI's
// (https://platform.openai.com/docs/guides/error-codes; Error in
// github.com/openai/openai-go internal/apierror/apierror.go: message,
// type, param, code) and Anthropic's
// (https://docs.anthropic.com/en/api/errors; ErrorResponse in
// github.com/anthropics/anthropic-sdk-go shared/shared.go: type "error"
// and an error with its type and message).
func llmError(w http.ResponseWriter, which api, code int, msg string) {
	if which == apiAnthropic {
		kind := map[int]string{
			http.StatusBadRequest: "invalid_request_error", http.StatusNotFound: "not_found_error",
			http.StatusRequestEntityTooLarge: "request_too_large", http.StatusTooManyRequests: "rate_limit_error",
		}[code]
		if kind == "" {
			kind = "invalid_request_error"
		}
		writeJSON(w, code, map[string]any{"type": "error", "error": map[string]any{"type": kind, "message": msg}})
		return
	}
	kind, errCode := "invalid_request_error", any(nil)
	if code == http.StatusTooManyRequests {
		kind, errCode = "requests", "rate_limit_exceeded"
	}
	writeJSON(w, code, map[string]any{"error": map[string]any{"message": msg, "type": kind, "param": nil, "code": errCode}})
}

// writeJSON answers code with v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
