package scenarios

import (
	"testing"
	"time"
)

// llmScenario is a valid scenario whose upstream.builtin.llm is the
// lines given, indented under llm: (line 4 is llm:, the first line given
// is line 5).
func llmScenario(lines string) string {
	return "name: demo\nupstream:\n  builtin:\n    llm:\n" + lines +
		"requests: [{method: POST, path: /v1/chat/completions}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n"
}

func TestDecodeLLMDefaults(t *testing.T) {
	s, err := Decode("demo.yaml", []byte(llmScenario("      {}\n")))
	if err != nil {
		t.Fatal(err)
	}
	l := s.Upstream.Builtin.LLM
	if l == nil {
		t.Fatal("got no llm, want the defaults")
	}
	runChecks(t, []fieldCheck{
		{"model", l.Model, DefaultLLMModel},
		{"tokens", l.Tokens, Tokens{DefaultLLMTokens, DefaultLLMTokens}},
		{"ttft", l.TTFT.D(), DefaultLLMTTFT},
		{"inter_token", l.InterToken.D(), DefaultLLMInterToken},
		{"jitter", l.Jitter, Duration(0)},
		{"max_concurrent", l.MaxConcurrent, 0},
		{"over_limit", l.OverLimit, ""},
		{"retry_after", l.RetryAfter, Duration(0)},
		{"body_bytes", s.Upstream.Builtin.BodyBytes, 0},
	})
	if want := llmWant(l); want != "" {
		t.Errorf("the defaults: llmWant says %s", want)
	}
}

func TestDecodeLLMValues(t *testing.T) {
	ms := func(n int) Duration { return Duration(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name  string
		lines string
		want  LLM
	}{
		{"fixed tokens", "      tokens: 7\n      ttft: 0s\n      inter_token: 0s\n",
			LLM{Model: DefaultLLMModel, Tokens: Tokens{7, 7}}},
		{"a range of tokens", "      tokens: {min: 5, max: 9}\n      model: m-1\n",
			LLM{Model: "m-1", Tokens: Tokens{5, 9}, TTFT: ms(100), InterToken: ms(10)}},
		{"a block range", "      tokens:\n        max: 9\n        min: 9\n",
			LLM{Model: DefaultLLMModel, Tokens: Tokens{9, 9}, TTFT: ms(100), InterToken: ms(10)}},
		{"reject with its default retry_after", "      max_concurrent: 2\n      jitter: 10ms\n",
			LLM{Model: DefaultLLMModel, Tokens: Tokens{100, 100}, TTFT: ms(100), InterToken: ms(10), Jitter: ms(10), MaxConcurrent: 2, OverLimit: OverLimitReject, RetryAfter: ms(1000)}},
		{"reject with retry_after", "      max_concurrent: 2\n      retry_after: 3s\n",
			LLM{Model: DefaultLLMModel, Tokens: Tokens{100, 100}, TTFT: ms(100), InterToken: ms(10), MaxConcurrent: 2, OverLimit: OverLimitReject, RetryAfter: ms(3000)}},
		{"queue", "      max_concurrent: 1\n      over_limit: queue\n",
			LLM{Model: DefaultLLMModel, Tokens: Tokens{100, 100}, TTFT: ms(100), InterToken: ms(10), MaxConcurrent: 1, OverLimit: OverLimitQueue}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode("demo.yaml", []byte(llmScenario(tt.lines)))
			if err != nil {
				t.Fatal(err)
			}
			if got := *s.Upstream.Builtin.LLM; got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeLLMErrors(t *testing.T) {
	const f = "upstream.builtin.llm."
	checkDecodeErrors(t, []decodeErrorTest{
		{"llm empty", "name: demo\nupstream:\n  builtin:\n    llm:\nrequests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n",
			[]want{{4, "upstream.builtin.llm", "llm is empty; write llm: {}"}}},
		{"llm not a mapping", llmScenario("      5\n"),
			[]want{{5, "upstream.builtin.llm", `"5" is not a mapping; write a mapping with the fields model, tokens`}}},
		{"unknown field", llmScenario("      tokenz: 5\n"),
			[]want{{5, f + "tokenz", "did you mean tokens?"}}},
		{"body_bytes with llm", "name: demo\nupstream:\n  builtin:\n    body_bytes: 100\n    llm: {}\nrequests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n",
			[]want{{4, "upstream.builtin.body_bytes", "llm replaces the stub; remove body_bytes"}}},
		{"latency with llm", "name: demo\nupstream:\n  builtin:\n    latency: 1s\n    llm: {}\nrequests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n",
			[]want{{4, "upstream.builtin.latency", "write llm.ttft"}}},
		{"empty model", llmScenario("      model: \" \"\n"),
			[]want{{5, f + "model", "not empty; write one such as model: gatecrash-llm"}}},
		{"model with a newline", llmScenario("      model: \"a\\nb\"\n"),
			[]want{{5, f + "model", "without control characters"}}},
		{"tokens zero", llmScenario("      tokens: 0\n"),
			[]want{{5, f + "tokens", "tokens 0 is out of range; write 1 to 100000"}}},
		{"tokens too many", llmScenario("      tokens: 100001\n"),
			[]want{{5, f + "tokens", "out of range"}}},
		{"tokens a word", llmScenario("      tokens: many\n"),
			[]want{{5, f + "tokens", `tokens "many" is not a whole number; write a whole number such as tokens: 100`}}},
		{"tokens a fraction", llmScenario("      tokens: 1.5\n"),
			[]want{{5, f + "tokens", `"1.5" is not a whole number`}}},
		{"tokens a list", llmScenario("      tokens: [1, 2]\n"),
			[]want{{5, f + "tokens", "tokens a list is not a number of tokens; write"}}},
		{"tokens min only", llmScenario("      tokens: {min: 3}\n"),
			[]want{{5, f + "tokens", "needs both min and max"}}},
		{"tokens min above max", llmScenario("      tokens: {min: 9, max: 3}\n"),
			[]want{{5, f + "tokens", "min 9 is more than max 3; swap them, such as {min: 3, max: 9}"}}},
		{"tokens typo", llmScenario("      tokens: {min: 3, maxx: 4}\n"),
			[]want{{5, f + "tokens", `tokens has no field "maxx" (did you mean max?)`}}},
		{"tokens max zero", llmScenario("      tokens: {min: 3, max: 0}\n"),
			[]want{{5, f + "tokens", "max 0 is out of range; write 1 to 100000, such as max: 200"}}},
		{"ttft no unit", llmScenario("      ttft: 150\n"),
			[]want{{5, f + "ttft", `"150" has no unit; write 150ms`}}},
		{"ttft negative", llmScenario("      ttft: -1s\n"),
			[]want{{5, f + "ttft", "negative"}}},
		{"inter_token too long", llmScenario("      inter_token: 2h\n"),
			[]want{{5, f + "inter_token", "inter_token 2h0m0s is more than 1h0m0s"}}},
		{"jitter above inter_token", llmScenario("      inter_token: 10ms\n      jitter: 20ms\n"),
			[]want{{6, f + "jitter", "jitter 20ms is more than inter_token 10ms, and a wait cannot be negative; write jitter: 10ms or less"}}},
		{"max_concurrent negative", llmScenario("      max_concurrent: -1\n"),
			[]want{{5, f + "max_concurrent", "max_concurrent -1 is out of range; write 0 (no cap)"}}},
		{"max_concurrent a word", llmScenario("      max_concurrent: some\n"),
			[]want{{5, f + "max_concurrent", "write one such as max_concurrent: 8"}}},
		{"max_concurrent a fraction", llmScenario("      max_concurrent: 1.5\n"),
			[]want{{5, f + "max_concurrent", "not a whole number"}}},
		{"over_limit without a cap", llmScenario("      over_limit: queue\n"),
			[]want{{5, f + "over_limit", "over_limit applies only with a cap, and max_concurrent is 0"}}},
		{"retry_after without a cap", llmScenario("      retry_after: 2s\n"),
			[]want{{5, f + "retry_after", "retry_after applies only with a cap"}}},
		{"over_limit unknown", llmScenario("      max_concurrent: 2\n      over_limit: rejct\n"),
			[]want{{6, f + "over_limit", `unknown over_limit "rejct"; did you mean reject? write reject (429 with Retry-After) or queue`}}},
		{"retry_after with queue", llmScenario("      max_concurrent: 2\n      over_limit: queue\n      retry_after: 1s\n"),
			[]want{{7, f + "retry_after", "over_limit is queue, which rejects none"}}},
		{"retry_after not whole seconds", llmScenario("      max_concurrent: 2\n      retry_after: 1500ms\n"),
			[]want{{6, f + "retry_after", "Retry-After counts seconds (RFC 9110, section 10.2.3); write 2s"}}},
		{"retry_after below a second", llmScenario("      max_concurrent: 2\n      retry_after: 0s\n"),
			[]want{{6, f + "retry_after", "less than a second; write 1s or more"}}},
		{"three mistakes at once", llmScenario("      tokens: 0\n      ttft: soon\n      max_concurrent: -2\n"),
			[]want{{5, f + "tokens", "out of range"}, {6, f + "ttft", `"soon" is not a duration`}, {7, f + "max_concurrent", "out of range"}}},
	})
}

func TestTokensYAML(t *testing.T) {
	tests := []struct {
		tokens Tokens
		text   string
	}{
		{Tokens{5, 5}, "5"},
		{Tokens{5, 9}, "{min: 5, max: 9}"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := tt.tokens.String(); got != tt.text {
				t.Errorf("got %q, want %q", got, tt.text)
			}
			s, err := Decode("demo.yaml", []byte(llmScenario("      tokens: "+tt.text+"\n")))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Upstream.Builtin.LLM.Tokens; got != tt.tokens {
				t.Errorf("got %+v, want %+v", got, tt.tokens)
			}
		})
	}
}
