package lab_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	openaioption "github.com/openai/openai-go/v3/option"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/scenarios"
)

// The paths from a client to the LLM upstream that the SDK tests take:
// straight, or through a gateway and gatecrash's fault proxy.
const pathDirect = "direct"

var llmPaths = []string{pathDirect, scenarios.GatewayBuiltin, scenarios.GatewayNginx, scenarios.GatewayHAProxy, scenarios.GatewayCaddy}

// llmChain starts the LLM upstream with cfg and, unless path is direct,
// the path's gateway in front of it, with its default template or tmpl.
// With a fault, gatecrash's fault proxy sits between the gateway and the
// upstream and applies it to every request. It returns the base URL a
// client talks to; everything stops when the test ends.
func llmChain(t *testing.T, path string, cfg lab.LLMConfig, fault *scenarios.Fault, tmpl *lab.Template) string {
	t.Helper()
	up := startLLM(t, cfg)
	if path == pathDirect {
		return up.URL()
	}
	if fault == nil {
		return startGateway(t, path, up.Addr(), tmpl)
	}
	return startGateway(t, path, startProxy(t, up.Addr(), fault), tmpl)
}

// startProxy starts gatecrash's fault proxy in front of upstream,
// applying fault (if not nil) to every request, and returns its address.
func startProxy(t *testing.T, upstream string, fault *scenarios.Fault) string {
	t.Helper()
	phase := faults.Phase{Name: "p", Duration: time.Hour}
	if fault != nil {
		r, err := faults.NewRule(0, *fault)
		if err != nil {
			t.Fatal(err)
		}
		phase.Rules = []faults.Rule{r}
	}
	p, err := faults.New(faults.Config{Upstream: upstream, Phases: []faults.Phase{phase}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String()
}

// startGateway starts a kind gateway (builtin, or managed from its
// default template or tmpl) in front of upstream, and returns its URL.
func startGateway(t *testing.T, kind, upstream string, tmpl *lab.Template) string {
	t.Helper()
	if kind == scenarios.GatewayBuiltin {
		gw, err := lab.NewGateway("http://"+upstream, 5*time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := lab.Start(gw)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return srv.URL()
	}
	if tmpl == nil {
		tmpl = defaultTemplate(t, kind)
	}
	m, _ := startManaged(t, lab.ManagedConfig{Template: tmpl, Upstream: upstream, ConnectTimeout: time.Second, ReadTimeout: 5 * time.Second})
	if kind == scenarios.GatewayCaddy {
		// Caddy 2.6.2 sometimes ends the first streams after it started
		// after their first event (TestCaddyFirstStreams; on a loaded
		// machine more than one): streams go first until one comes
		// whole, at most 10, and whatever happens to them is not the
		// test's. One token: no inter-token wait, however long the
		// test's.
		warm := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
		for range 10 {
			resp, err := warm.Post(m.URL()+"/v1/chat/completions", "application/json", strings.NewReader(`{"stream": true, "max_tokens": 1}`))
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), "[DONE]") {
				break
			}
		}
		warm.CloseIdleConnections()
	}
	return m.URL()
}

// sdkHTTPClient is an HTTP client for an SDK whose idle connections close
// when the test ends.
func sdkHTTPClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// openAIStream is what the OpenAI SDK saw of one streamed chat completion.
type openAIStream struct {
	text   string
	tokens int
	finish string
	usage  int64 // completion_tokens of the usage chunk
	err    error
}

// streamOpenAISDK streams a chat completion from base with the official
// OpenAI SDK, without retries.
func streamOpenAISDK(t *testing.T, base string) openAIStream {
	t.Helper()
	client := openai.NewClient(openaioption.WithBaseURL(base+"/v1/"), openaioption.WithAPIKey("sk-test"),
		openaioption.WithMaxRetries(0), openaioption.WithHTTPClient(sdkHTTPClient(t)))
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:         "gatecrash-llm",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say something.")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	defer stream.Close()
	var s openAIStream
	var text strings.Builder
	for stream.Next() {
		c := stream.Current()
		if c.Usage.CompletionTokens > 0 {
			s.usage = c.Usage.CompletionTokens
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != "" {
				s.tokens++
				text.WriteString(ch.Delta.Content)
			}
			if ch.FinishReason != "" {
				s.finish = ch.FinishReason
			}
		}
	}
	s.text, s.err = text.String(), stream.Err()
	return s
}

// anthropicStream is what the Anthropic SDK saw of one streamed message.
type anthropicStream struct {
	text   string
	tokens int
	stop   string // stop_reason of message_delta
	ended  bool   // message_stop came
	err    error
}

// streamAnthropicSDK streams a message from base with the official
// Anthropic SDK, without retries.
func streamAnthropicSDK(t *testing.T, base string) anthropicStream {
	t.Helper()
	client := anthropic.NewClient(anthropicoption.WithBaseURL(base), anthropicoption.WithAPIKey("sk-ant-test"),
		anthropicoption.WithMaxRetries(0), anthropicoption.WithHTTPClient(sdkHTTPClient(t)))
	stream := client.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
		Model:     "gatecrash-llm",
		MaxTokens: 1000,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say something."))},
	})
	defer stream.Close()
	var s anthropicStream
	var text strings.Builder
	for stream.Next() {
		e := stream.Current()
		switch e.Type {
		case "content_block_delta":
			if e.Delta.Text != "" {
				s.tokens++
				text.WriteString(e.Delta.Text)
			}
		case "message_delta":
			s.stop = string(e.Delta.StopReason)
		case "message_stop":
			s.ended = true
		}
	}
	s.text, s.err = text.String(), stream.Err()
	return s
}

// TestLLMSDKs: the official SDKs stream from the LLM upstream, straight
// and through each gateway, and see every token and the end.
func TestLLMSDKs(t *testing.T) {
	const n = 30
	cfg := lab.LLMConfig{Model: "gatecrash-llm", MinTokens: n, MaxTokens: n, TTFT: 20 * time.Millisecond, InterToken: 2 * time.Millisecond}
	wantText := strings.Join(strings.Fields(strings.Repeat("gatecrash streams tokens through the gateway under test to see when and why a stream breaks ", 3))[:n], " ")
	for _, path := range llmPaths {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			base := llmChain(t, path, cfg, nil, nil)
			t.Run("openai", func(t *testing.T) {
				s := streamOpenAISDK(t, base)
				if s.err != nil || s.tokens != n || s.text != wantText || s.finish != "stop" || s.usage != n {
					t.Errorf("got %d tokens %q, finish_reason %q, usage %d, error %v; want %d tokens, stop, usage %d, no error", s.tokens, s.text, s.finish, s.usage, s.err, n, n)
				}
			})
			t.Run("anthropic", func(t *testing.T) {
				s := streamAnthropicSDK(t, base)
				if s.err != nil || s.tokens != n || s.text != wantText || s.stop != "end_turn" || !s.ended {
					t.Errorf("got %d tokens %q, stop_reason %q, message_stop %v, error %v; want %d tokens, end_turn, message_stop, no error", s.tokens, s.text, s.stop, s.ended, s.err, n)
				}
			})
			t.Run("openai whole", func(t *testing.T) {
				client := openai.NewClient(openaioption.WithBaseURL(base+"/v1/"), openaioption.WithAPIKey("sk-test"),
					openaioption.WithMaxRetries(0), openaioption.WithHTTPClient(sdkHTTPClient(t)))
				c, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model: "gatecrash-llm", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
				})
				if err != nil || len(c.Choices) != 1 || c.Choices[0].Message.Content != wantText || c.Choices[0].FinishReason != "stop" || c.Usage.CompletionTokens != n {
					t.Errorf("got %+v, %v; want the whole answer", c, err)
				}
				models, err := client.Models.List(context.Background())
				if err != nil || len(models.Data) != 1 || models.Data[0].ID != "gatecrash-llm" {
					t.Errorf("models: got %+v, %v; want gatecrash-llm", models, err)
				}
			})
			t.Run("anthropic whole", func(t *testing.T) {
				client := anthropic.NewClient(anthropicoption.WithBaseURL(base), anthropicoption.WithAPIKey("sk-ant-test"),
					anthropicoption.WithMaxRetries(0), anthropicoption.WithHTTPClient(sdkHTTPClient(t)))
				m, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
					Model: "gatecrash-llm", MaxTokens: 5,
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
				})
				if err != nil || len(m.Content) != 1 || m.Content[0].Text != "gatecrash streams tokens through the" || m.StopReason != "max_tokens" || m.Usage.OutputTokens != 5 {
					t.Errorf("got %+v, %v; want 5 tokens and stop_reason max_tokens", m, err)
				}
			})
		})
	}
}

// TestLLMSDKsStreamCut: with an sse-cut fault in the fault proxy, the
// stream ends early through every gateway, without its end marker
// (finish_reason, message_stop). The SDKs report an error where the
// gateway passes the cut on (an HTTP/1.1 chunked body without its last
// chunk); Caddy 2.6 instead ends its answer to the client properly, so
// the SDKs see a stream that simply stops: only the missing end marker
// tells the truncation, which is what gatecrash's stream-cut class is
// for.
func TestLLMSDKsStreamCut(t *testing.T) {
	const n, events = 30, 6
	cfg := lab.LLMConfig{Model: "gatecrash-llm", MinTokens: n, MaxTokens: n, InterToken: 2 * time.Millisecond}
	tests := []struct {
		path   string
		sdkErr bool // the SDKs report an error
	}{
		{scenarios.GatewayBuiltin, true},
		{scenarios.GatewayNginx, true},
		{scenarios.GatewayHAProxy, true},
		{scenarios.GatewayCaddy, false},
	}
	for _, tt := range tests {
		for _, cut := range []string{"close", "reset"} {
			t.Run(tt.path+"/"+cut, func(t *testing.T) {
				t.Parallel()
				base := llmChain(t, tt.path, cfg, &scenarios.Fault{Kind: scenarios.KindSSECut, Events: events, Cut: cut}, nil)
				o := streamOpenAISDK(t, base)
				// The role chunk is the first event: at most events-1 tokens
				// came (fewer when the gateway's abrupt close makes the
				// client's kernel drop what it had not read yet).
				if (o.err != nil) != tt.sdkErr || o.tokens > events-1 || o.finish != "" {
					t.Errorf("openai: got %d tokens, finish_reason %q, error %v; want at most %d tokens, none, and an error: %v", o.tokens, o.finish, o.err, events-1, tt.sdkErr)
				}
				a := streamAnthropicSDK(t, base)
				// message_start, content_block_start and ping come first.
				if (a.err != nil) != tt.sdkErr || a.tokens > events-3 || a.ended || a.stop != "" {
					t.Errorf("anthropic: got %d tokens, stop_reason %q, message_stop %v, error %v; want at most %d tokens, no end, and an error: %v", a.tokens, a.stop, a.ended, a.err, events-3, tt.sdkErr)
				}
				t.Logf("openai: %d tokens, error %v; anthropic: %d tokens, error %v", o.tokens, o.err, a.tokens, a.err)
			})
		}
	}
}
