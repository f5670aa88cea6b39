package lab_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/scenarios"
)

// quickLLM answers at once: n tokens, no waits.
func quickLLM(n int) lab.LLMConfig {
	return lab.LLMConfig{Model: "m", MinTokens: n, MaxTokens: n}
}

// startLLM starts an LLM upstream on loopback and stops it when the test
// ends.
func startLLM(t *testing.T, cfg lab.LLMConfig) *lab.Server {
	t.Helper()
	srv, err := lab.Start(lab.NewLLM(cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// sseEvent is one server-sent event as read off the wire.
type sseEvent struct {
	name, data string
}

// readEvents reads the events of a text/event-stream body.
func readEvents(t *testing.T, r io.Reader) []sseEvent {
	t.Helper()
	var events []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			events = append(events, cur)
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		default:
			t.Errorf("got line %q, want event: or data:", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}

// post sends body to url+path with headers (name, value pairs), on a
// connection of its own.
func post(t *testing.T, url, path, body string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 20 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestLLMOpenAIStream checks the wire format of a chat completions
// stream, event by event.
func TestLLMOpenAIStream(t *testing.T) {
	srv := startLLM(t, quickLLM(3))
	tests := []struct {
		name   string
		body   string
		tokens int
		finish string
		usage  bool
	}{
		{"plain", `{"model": "x", "stream": true, "messages": [{"role": "user", "content": "hi"}]}`, 3, "stop", false},
		{"with usage", `{"model": "x", "stream": true, "stream_options": {"include_usage": true}}`, 3, "stop", true},
		{"cut by max_tokens", `{"stream": true, "max_tokens": 2}`, 2, "length", false},
		{"cut by max_completion_tokens", `{"stream": true, "max_tokens": 3, "max_completion_tokens": 1}`, 1, "length", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, srv.URL(), "/v1/chat/completions", tt.body)
			if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
				t.Fatalf("got %d %q, want 200 text/event-stream", resp.StatusCode, ct)
			}
			events := readEvents(t, resp.Body)
			want := 1 + tt.tokens + 1 + 1 // role, tokens, finish, [DONE]
			if tt.usage {
				want++
			}
			if len(events) != want {
				t.Fatalf("got %d events, want %d: %v", len(events), want, events)
			}
			if last := events[len(events)-1]; last.data != "[DONE]" || last.name != "" {
				t.Errorf("got last event %+v, want data: [DONE]", last)
			}
			type chunk struct {
				ID      string `json:"id"`
				Object  string `json:"object"`
				Created int64  `json:"created"`
				Model   string `json:"model"`
				Choices []struct {
					Index        int                `json:"index"`
					Delta        map[string]*string `json:"delta"`
					FinishReason *string            `json:"finish_reason"`
				} `json:"choices"`
				Usage *struct {
					Prompt     int `json:"prompt_tokens"`
					Completion int `json:"completion_tokens"`
					Total      int `json:"total_tokens"`
				} `json:"usage"`
			}
			var text strings.Builder
			var id string
			for i, e := range events[:len(events)-1] {
				var c chunk
				if err := json.Unmarshal([]byte(e.data), &c); err != nil {
					t.Fatalf("event %d: %v: %s", i, err, e.data)
				}
				if c.Object != "chat.completion.chunk" || c.Model != "m" || !strings.HasPrefix(c.ID, "chatcmpl-") || c.Created == 0 {
					t.Errorf("event %d: got %s, want a chat.completion.chunk of model m", i, e.data)
				}
				if id == "" {
					id = c.ID
				} else if c.ID != id {
					t.Errorf("event %d: got id %s, want %s as every chunk", i, c.ID, id)
				}
				if hasUsage := strings.Contains(e.data, `"usage"`); hasUsage != tt.usage {
					t.Errorf("event %d: got usage %v, want %v: %s", i, hasUsage, tt.usage, e.data)
				}
				switch {
				case i == 0:
					if len(c.Choices) != 1 || *c.Choices[0].Delta["role"] != "assistant" || c.Choices[0].FinishReason != nil {
						t.Errorf("event 0: got %s, want the role", e.data)
					}
				case i <= tt.tokens:
					if len(c.Choices) != 1 || c.Choices[0].Delta["content"] == nil || c.Choices[0].FinishReason != nil {
						t.Fatalf("event %d: got %s, want a token", i, e.data)
					}
					text.WriteString(*c.Choices[0].Delta["content"])
				case i == tt.tokens+1:
					if len(c.Choices) != 1 || len(c.Choices[0].Delta) != 0 || c.Choices[0].FinishReason == nil || *c.Choices[0].FinishReason != tt.finish {
						t.Errorf("event %d: got %s, want an empty delta and finish_reason %s", i, e.data, tt.finish)
					}
				default:
					if len(c.Choices) != 0 || c.Usage == nil || c.Usage.Completion != tt.tokens || c.Usage.Total != c.Usage.Prompt+tt.tokens || c.Usage.Prompt < 1 {
						t.Errorf("event %d: got %s, want no choices and the usage", i, e.data)
					}
				}
			}
			if got, want := text.String(), strings.Join(strings.Fields("gatecrash streams tokens")[:tt.tokens], " "); got != want {
				t.Errorf("got text %q, want %q", got, want)
			}
		})
	}
}

// TestLLMAnthropicStream checks the wire format of a messages stream,
// event by event.
func TestLLMAnthropicStream(t *testing.T) {
	srv := startLLM(t, quickLLM(2))
	tests := []struct {
		name   string
		body   string
		tokens int
		stop   string
	}{
		{"end_turn", `{"model": "x", "max_tokens": 100, "stream": true, "messages": [{"role": "user", "content": "hi"}]}`, 2, "end_turn"},
		{"max_tokens", `{"max_tokens": 1, "stream": true}`, 1, "max_tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, srv.URL(), "/v1/messages", tt.body)
			if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
				t.Fatalf("got %d %q, want 200 text/event-stream", resp.StatusCode, ct)
			}
			events := readEvents(t, resp.Body)
			var names []string
			for _, e := range events {
				names = append(names, e.name)
				var typ struct {
					Type string `json:"type"`
				}
				if err := json.Unmarshal([]byte(e.data), &typ); err != nil || typ.Type != e.name {
					t.Errorf("event %s: got data %s, want its type %s", e.name, e.data, e.name)
				}
			}
			want := []string{"message_start", "content_block_start", "ping"}
			for range tt.tokens {
				want = append(want, "content_block_delta")
			}
			want = append(want, "content_block_stop", "message_delta", "message_stop")
			if strings.Join(names, " ") != strings.Join(want, " ") {
				t.Fatalf("got events %v, want %v", names, want)
			}
			var delta struct {
				Index int `json:"index"`
				Delta struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"delta"`
			}
			if err := json.Unmarshal([]byte(events[3].data), &delta); err != nil || delta.Delta.Type != "text_delta" || delta.Delta.Text != "gatecrash" {
				t.Errorf("got first delta %s, want a text_delta of gatecrash", events[3].data)
			}
			var md struct {
				Delta struct {
					StopReason string `json:"stop_reason"`
				} `json:"delta"`
				Usage struct {
					OutputTokens int `json:"output_tokens"`
				} `json:"usage"`
			}
			if err := json.Unmarshal([]byte(events[len(events)-2].data), &md); err != nil || md.Delta.StopReason != tt.stop || md.Usage.OutputTokens != tt.tokens {
				t.Errorf("got message_delta %s, want stop_reason %s and %d output tokens", events[len(events)-2].data, tt.stop, tt.tokens)
			}
		})
	}
}

// TestLLMAnswers checks the answers that are not streams: whole
// answers, the model list, and the errors, in each API's format.
func TestLLMAnswers(t *testing.T) {
	srv := startLLM(t, quickLLM(3))
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     []string // substrings of the body
	}{
		{"openai whole", "POST", "/v1/chat/completions", `{"model": "x", "messages": []}`, 200,
			[]string{`"object":"chat.completion"`, `"content":"gatecrash streams tokens"`, `"finish_reason":"stop"`, `"completion_tokens":3`, `"model":"m"`, `"role":"assistant"`}},
		{"openai whole cut", "POST", "/v1/chat/completions", `{"max_tokens": 1}`, 200,
			[]string{`"content":"gatecrash"`, `"finish_reason":"length"`}},
		{"anthropic whole", "POST", "/v1/messages", `{"max_tokens": 10}`, 200,
			[]string{`"type":"message"`, `"content":[{"text":"gatecrash streams tokens","type":"text"}]`, `"stop_reason":"end_turn"`, `"output_tokens":3`}},
		{"models", "GET", "/v1/models", "", 200,
			[]string{`"object":"list"`, `"id":"m"`, `"object":"model"`, `"owned_by":"gatecrash"`}},
		{"models by POST", "POST", "/v1/models", "", 405, []string{`"type":"invalid_request_error"`}},
		{"completions by GET", "GET", "/v1/chat/completions", "", 405, []string{`takes POST`}},
		{"unknown path", "GET", "/", "", 404, []string{`"error":{`, `serves POST /v1/chat/completions`}},
		{"unknown anthropic path", "POST", "/v1/messages/count_tokens", "{}", 404, []string{`"type":"error"`, `"type":"not_found_error"`}},
		{"openai bad JSON", "POST", "/v1/chat/completions", `{"stream": tru`, 400, []string{`"type":"invalid_request_error"`, `not a JSON object`}},
		{"openai stream not a bool", "POST", "/v1/chat/completions", `{"stream": "yes"}`, 400, []string{`not a JSON object`}},
		{"openai max_tokens 0", "POST", "/v1/chat/completions", `{"max_tokens": 0}`, 400, []string{`max_tokens must be at least 1`}},
		{"anthropic without max_tokens", "POST", "/v1/messages", `{"stream": true}`, 400, []string{`"type":"error"`, `"type":"invalid_request_error"`, `max_tokens: Field required`}},
		{"anthropic bad JSON", "POST", "/v1/messages", `[]`, 400, []string{`"type":"error"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL()+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code || resp.Header.Get("Content-Type") != "application/json" || !json.Valid(body) {
				t.Errorf("got %d %s %s, want %d with a JSON body", resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.code)
			}
			for _, w := range tt.want {
				if !bytes.Contains(body, []byte(w)) {
					t.Errorf("got %s, want it to hold %s", body, w)
				}
			}
		})
	}
}

// TestLLMTokensDrawn: a range of tokens is drawn per request, the same
// for the same attack and seq.
func TestLLMTokensDrawn(t *testing.T) {
	srv := startLLM(t, lab.LLMConfig{Model: "m", MinTokens: 1, MaxTokens: 40})
	count := func(seq string) int {
		resp := post(t, srv.URL(), "/v1/chat/completions", `{}`, "X-Vegeta-Attack", "a", "X-Vegeta-Seq", seq)
		var c struct {
			Usage struct {
				Completion int `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
			t.Fatal(err)
		}
		return c.Usage.Completion
	}
	seen := map[int]bool{}
	for seq := range 20 {
		n := count(string(rune('0' + seq%10)))
		if n < 1 || n > 40 {
			t.Fatalf("got %d tokens, want 1 to 40", n)
		}
		seen[n] = true
	}
	if again, first := count("3"), count("3"); again != first {
		t.Errorf("seq 3: got %d then %d tokens, want the same", first, again)
	}
	if len(seen) < 3 {
		t.Errorf("got %d distinct counts over 10 seqs, want them spread", len(seen))
	}
}

// TestLLMLimitReject: beyond max_concurrent, 429 with Retry-After in
// each API's format, while the slots are held.
func TestLLMLimitReject(t *testing.T) {
	srv := startLLM(t, lab.LLMConfig{Model: "m", MinTokens: 1, MaxTokens: 1, TTFT: time.Minute, MaxConcurrent: 2, RetryAfter: 1500 * time.Millisecond})
	// Two streams hold both slots: their heads came, so each has one.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.Transport.(*http.Transport).CloseIdleConnections()
	for range 2 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL()+"/v1/chat/completions", strings.NewReader(`{"stream": true}`))
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("got %v, %v; want 200", resp, err)
		}
		defer resp.Body.Close()
	}
	tests := []struct {
		path, body, want string
	}{
		{"/v1/chat/completions", `{"stream": true}`, `"code":"rate_limit_exceeded"`},
		{"/v1/messages", `{"stream": true, "max_tokens": 5}`, `"type":"rate_limit_error"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp := post(t, srv.URL(), tt.path, tt.body)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || !bytes.Contains(body, []byte(tt.want)) {
				t.Errorf("got %d, Retry-After %q, %s; want 429, 2 (1.5s rounded up) and %s", resp.StatusCode, resp.Header.Get("Retry-After"), body, tt.want)
			}
		})
	}
	// The model list is not generation: no slot needed.
	models, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(srv.URL() + "/v1/models")
	if err != nil || models.StatusCode != 200 {
		t.Errorf("GET /v1/models at the limit: got %v, %v; want 200", models, err)
	} else {
		models.Body.Close()
	}
}

// TestLLMLimitQueue: beyond max_concurrent, a request waits for the slot
// and then has its whole time to first token: its first token cannot
// come before the first request's answer ended plus a TTFT.
func TestLLMLimitQueue(t *testing.T) {
	const ttft = 200 * time.Millisecond
	srv := startLLM(t, lab.LLMConfig{Model: "m", MinTokens: 1, MaxTokens: 1, TTFT: ttft, MaxConcurrent: 1, Queue: true})
	client := &http.Client{Transport: &http.Transport{}}
	defer client.Transport.(*http.Transport).CloseIdleConnections()
	start := time.Now()
	first, err := client.Post(srv.URL()+"/v1/chat/completions", "application/json", strings.NewReader(`{"stream": true}`))
	if err != nil || first.StatusCode != 200 {
		t.Fatalf("got %v, %v; want 200", first, err)
	}
	defer first.Body.Close()
	// The first holds the slot now; the second queues.
	var wg sync.WaitGroup
	var second *http.Response
	var secondErr error
	var secondBody []byte
	wg.Go(func() {
		second, secondErr = client.Post(srv.URL()+"/v1/chat/completions", "application/json", strings.NewReader(`{"stream": false}`))
		if secondErr == nil {
			secondBody, secondErr = io.ReadAll(second.Body)
			second.Body.Close()
		}
	})
	io.Copy(io.Discard, first.Body)
	wg.Wait()
	took := time.Since(start)
	if secondErr != nil || second.StatusCode != 200 || !bytes.Contains(secondBody, []byte(`"finish_reason":"stop"`)) {
		t.Fatalf("queued request: got %v, %v %s; want 200 and its answer", second, secondErr, secondBody)
	}
	if took < 2*ttft {
		t.Errorf("got both answers in %s, want at least 2 TTFTs (%s): the second waited for the slot", took, 2*ttft)
	}
	t.Logf("two answers of TTFT %s through one slot took %s", ttft, took)
}

// TestLLMTiming measures the time to first token and between tokens
// against the configuration: never before it, and the figures logged.
func TestLLMTiming(t *testing.T) {
	tests := []struct {
		name              string
		ttft, inter, jitt time.Duration
		tokens            int
	}{
		{"ttft 150ms, 10ms apart", 150 * time.Millisecond, 10 * time.Millisecond, 0, 20},
		{"no ttft, 20ms ± 10ms apart", 0, 20 * time.Millisecond, 10 * time.Millisecond, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startLLM(t, lab.LLMConfig{Model: "m", MinTokens: tt.tokens, MaxTokens: tt.tokens, TTFT: tt.ttft, InterToken: tt.inter, Jitter: tt.jitt})
			m := measureStream(t, srv.URL(), tt.tokens)
			if m.ttft < tt.ttft {
				t.Errorf("got TTFT %s, want at least %s", m.ttft, tt.ttft)
			}
			// Each wait is at least inter - jitter.
			if min := tt.ttft + time.Duration(tt.tokens-1)*(tt.inter-tt.jitt); m.total < min {
				t.Errorf("got the last token after %s, want at least %s", m.total, min)
			}
			t.Logf("TTFT %s (configured %s), mean inter-token %s (configured %s ± %s)", m.ttft, tt.ttft, m.itl, tt.inter, tt.jitt)
		})
	}
}

// streamTimes is what a client measured of one stream.
type streamTimes struct {
	ttft, total, itl time.Duration
}

// measureStream streams a chat completion of n tokens from url and
// measures when its tokens came.
func measureStream(t *testing.T, url string, n int) streamTimes {
	t.Helper()
	start := time.Now()
	resp := post(t, url, "/v1/chat/completions", `{"stream": true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("got %d, want 200", resp.StatusCode)
	}
	var first, last time.Time
	tokens := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, `"content":"`) && !strings.Contains(line, `"content":""`) {
			tokens++
			last = time.Now()
			if first.IsZero() {
				first = last
			}
		}
	}
	if tokens != n {
		t.Fatalf("got %d tokens (%v), want %d", tokens, sc.Err(), n)
	}
	m := streamTimes{ttft: first.Sub(start), total: last.Sub(start)}
	if n > 1 {
		m.itl = last.Sub(first) / time.Duration(n-1)
	}
	return m
}

// TestLLMConfigOf: the scenario's field maps onto the upstream's.
func TestLLMConfigOf(t *testing.T) {
	s, err := scenarios.Decode("s.yaml", []byte("name: s\nupstream: {builtin: {llm: {tokens: {min: 2, max: 5}, ttft: 1s, inter_token: 3ms, jitter: 1ms, max_concurrent: 4, over_limit: queue, model: q}}}\nrequests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := lab.LLMConfigOf(*s.Upstream.Builtin.LLM)
	want := lab.LLMConfig{Model: "q", MinTokens: 2, MaxTokens: 5, TTFT: time.Second, InterToken: 3 * time.Millisecond, Jitter: time.Millisecond, MaxConcurrent: 4, Queue: true}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// FuzzLLMRequest: whatever the body, the upstream answers 200 with its
// format or 4xx with a JSON error, and never panics.
func FuzzLLMRequest(f *testing.F) {
	for _, s := range []string{`{"stream": true}`, `{"stream": true, "stream_options": {"include_usage": true}, "max_tokens": 2}`,
		`{"max_completion_tokens": 1}`, `{"max_tokens": -1}`, `[]`, `null`, ``, `{"stream": false, "model": 7}`} {
		f.Add("/v1/chat/completions", s)
		f.Add("/v1/messages", s)
	}
	h := lab.NewLLM(quickLLM(2))
	f.Fuzz(func(t *testing.T, path, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req := httptest.NewRequest(http.MethodPost, "http://llm"+"/", strings.NewReader(body))
		req.URL.Path = path
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch ct := w.Header().Get("Content-Type"); {
		case w.Code == 200 && ct == "text/event-stream":
			events := readEvents(t, w.Body)
			last := events[len(events)-1]
			if last.data != "[DONE]" && last.name != "message_stop" {
				t.Fatalf("got a stream ending with %+v, want its end marker", last)
			}
		case ct == "application/json":
			if !json.Valid(w.Body.Bytes()) || w.Code != 200 && (w.Code < 400 || w.Code > 499) {
				t.Fatalf("got %d %s, want 200 or 4xx with JSON", w.Code, w.Body)
			}
		default:
			t.Fatalf("got %d %q, want a stream or JSON", w.Code, ct)
		}
	})
}
