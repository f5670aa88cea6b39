package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// LLM configures the built-in LLM upstream (upstream.builtin.llm): a
// model server that speaks the OpenAI chat completions API (POST
// /v1/chat/completions, streaming or not; GET /v1/models) and the
// Anthropic messages API (POST /v1/messages), and answers every request
// with Tokens tokens, the first after TTFT, the next ones InterToken ±
// Jitter apart. Decode fills in the defaults for the fields the file
// leaves out.
//
// In a file:
//
//	upstream:
//	  builtin:
//	    llm:
//	      model: gatecrash-llm
//	      tokens: {min: 50, max: 200}   # or tokens: 100
//	      ttft: 150ms
//	      inter_token: 20ms
//	      jitter: 5ms
//	      max_concurrent: 8
//	      over_limit: reject            # or queue
//	      retry_after: 1s
type LLM struct {
	// Model is the model name the upstream reports (GET /v1/models, and
	// the model field of every answer); Decode sets DefaultLLMModel.
	Model string `yaml:"model,omitempty"`
	// Tokens is how many output tokens an answer has; Decode sets
	// DefaultLLMTokens. A request's own max_tokens (or
	// max_completion_tokens) cuts it, and the answer then ends with
	// finish_reason length (stop_reason max_tokens), as a model's does.
	Tokens Tokens `yaml:"tokens,omitempty"`
	// TTFT is the time from the request to the first token; Decode sets
	// DefaultLLMTTFT when the file leaves it out. 0s sends it at once.
	TTFT Duration `yaml:"ttft"`
	// InterToken is the wait between two tokens; Decode sets
	// DefaultLLMInterToken when the file leaves it out. 0s sends them
	// back to back.
	InterToken Duration `yaml:"inter_token"`
	// Jitter spreads each inter-token wait uniformly over InterToken ±
	// Jitter; at most InterToken. Zero means none.
	Jitter Duration `yaml:"jitter,omitempty"`
	// MaxConcurrent caps the answers generated at once, as a model
	// server's batch size does; 0 means no cap.
	MaxConcurrent int `yaml:"max_concurrent,omitempty"`
	// OverLimit is what a request beyond MaxConcurrent gets: reject (429
	// Too Many Requests with Retry-After, the default) or queue (it waits
	// for a slot, as vLLM and TGI queue requests). Decode sets it only
	// when MaxConcurrent is above 0.
	OverLimit string `yaml:"over_limit,omitempty"`
	// RetryAfter is the Retry-After of a 429, whole seconds from 1s;
	// Decode sets DefaultLLMRetryAfter when OverLimit is reject, and
	// leaves it 0 otherwise.
	RetryAfter Duration `yaml:"retry_after,omitempty"`
}

// Over-limit behaviours of the built-in LLM upstream (LLM.OverLimit).
const (
	OverLimitReject = "reject" // 429 Too Many Requests with Retry-After
	OverLimitQueue  = "queue"  // wait for a slot
)

// Defaults and limits of upstream.builtin.llm, applied by Decode.
const (
	DefaultLLMModel      = "gatecrash-llm"
	DefaultLLMTokens     = 100
	DefaultLLMTTFT       = 100 * time.Millisecond
	DefaultLLMInterToken = 10 * time.Millisecond
	DefaultLLMRetryAfter = time.Second
	MaxLLMTokens         = 100_000   // tokens, min and max
	MaxLLMConcurrent     = 1_000_000 // max_concurrent
	maxLLMModel          = 256       // bytes of model
	maxLLMWait           = time.Hour // ttft, inter_token, retry_after
)

// Tokens is a number of output tokens per answer: fixed (Min = Max,
// written tokens: 100) or drawn uniformly from Min to Max, both included
// (written tokens: {min: 50, max: 200}). The zero Tokens is unset.
type Tokens struct {
	Min, Max int
}

// Fixed reports whether every answer has the same number of tokens.
func (t Tokens) Fixed() bool { return t.Min == t.Max }

// IsZero reports whether t is unset, for omitempty.
func (t Tokens) IsZero() bool { return t == Tokens{} }

// String formats t as it is written: "100" or "{min: 50, max: 200}".
func (t Tokens) String() string {
	if t.Fixed() {
		return strconv.Itoa(t.Min)
	}
	return fmt.Sprintf("{min: %d, max: %d}", t.Min, t.Max)
}

// MarshalYAML writes t as a number when it is fixed, else as {min, max}.
func (t Tokens) MarshalYAML() (any, error) {
	if t.Fixed() {
		return t.Min, nil
	}
	return struct {
		Min int `yaml:"min"`
		Max int `yaml:"max"`
	}{t.Min, t.Max}, nil
}

// UnmarshalYAML reads tokens: 100 or tokens: {min: 50, max: 200}. It
// leaves t zero for a bad value and returns no error: [Decode] reports
// the problem with the field's path.
func (t *Tokens) UnmarshalYAML(n *yaml.Node) error {
	*t, _ = tokensNode(n)
	return nil
}

const tokensFix = "write a whole number such as tokens: 100, or a range such as tokens: {min: 50, max: 200}"

// tokensNode parses the tokens in n, or says what is wrong with them.
func tokensNode(n *yaml.Node) (Tokens, string) {
	n = unalias(n)
	whole := func(v *yaml.Node, name string) (int, string) {
		v = unalias(v)
		i, err := strconv.Atoi(v.Value)
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || err != nil {
			return 0, fmt.Sprintf("%s %s is not a whole number; %s", name, describe(v), tokensFix)
		}
		if i < 1 || i > MaxLLMTokens {
			return 0, fmt.Sprintf("%s %d is out of range; write 1 to %d, such as %s", name, i, MaxLLMTokens, map[string]string{"tokens": "tokens: 100", "min": "min: 50", "max": "max: 200"}[name])
		}
		return i, ""
	}
	switch n.Kind {
	case yaml.ScalarNode:
		i, p := whole(n, "tokens")
		return Tokens{i, i}, p
	case yaml.MappingNode:
		var t Tokens
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := unalias(n.Content[i]), n.Content[i+1]
			if seen[k.Value] {
				return Tokens{}, fmt.Sprintf("%s is written twice in tokens; keep one", Quote(k.Value))
			}
			seen[k.Value] = true
			var p string
			switch k.Value {
			case "min":
				t.Min, p = whole(v, "min")
			case "max":
				t.Max, p = whole(v, "max")
			default:
				msg := "tokens has no field " + Quote(k.Value)
				if near, ok := closest(k.Value, []string{"min", "max"}); ok {
					msg += " (did you mean " + near + "?)"
				}
				p = msg + "; " + tokensFix
			}
			if p != "" {
				return Tokens{}, p
			}
		}
		switch {
		case !seen["min"] || !seen["max"]:
			return Tokens{}, "a range of tokens needs both min and max; " + tokensFix
		case t.Min > t.Max:
			return Tokens{}, fmt.Sprintf("tokens min %d is more than max %d; swap them, such as {min: %d, max: %d}", t.Min, t.Max, t.Max, t.Min)
		}
		return t, ""
	}
	return Tokens{}, fmt.Sprintf("tokens %s is not a number of tokens; %s", describe(n), tokensFix)
}

// llm checks upstream.builtin.llm and fills in its defaults. b is the
// built-in upstream it belongs to: with llm, its stub settings do not
// apply.
func (c *checker) llm(b *BuiltinUpstream) {
	const path = "upstream.builtin.llm"
	at := func(name string) string { return join(path, name) }
	if b.LLM == nil {
		if n := c.x.get(path); n != nil && n.ShortTag() == "!!null" {
			c.add(path, "llm is empty; write llm: {} for the LLM upstream with its defaults, or remove llm for the plain stub")
		}
		return
	}
	l := b.LLM
	if c.x.has("upstream.builtin.body_bytes") && b.BodyBytes != 0 {
		c.add("upstream.builtin.body_bytes", "body_bytes sets the plain stub's answers, and llm replaces the stub; remove body_bytes, and set the answers' length with llm.tokens")
	}
	if b.Latency != 0 {
		c.add("upstream.builtin.latency", "latency delays the plain stub's answers, and llm replaces the stub; remove latency, and write llm.ttft (time to first token) instead")
	}

	switch {
	case !c.x.has(at("model")):
		l.Model = DefaultLLMModel
	case len(l.Model) > maxLLMModel:
		c.add(at("model"), fmt.Sprintf("model is %d bytes long; write a name of at most %d, such as model: %s", len(l.Model), maxLLMModel, DefaultLLMModel))
	case strings.TrimSpace(l.Model) == "" || strings.ContainsFunc(l.Model, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		c.add(at("model"), fmt.Sprintf("model %s must be a name without control characters, not empty; write one such as model: %s", Quote(l.Model), DefaultLLMModel))
	}

	if set, _ := c.checkValue(at("tokens"), func(n *yaml.Node) string {
		_, p := tokensNode(n)
		return p
	}); !set {
		l.Tokens = Tokens{DefaultLLMTokens, DefaultLLMTokens}
	}

	wait := func(name string, d *Duration, def time.Duration) bool {
		set, ok := c.duration(at(name))
		switch {
		case !set:
			*d = Duration(def)
		case !ok:
			return false
		case d.D() > maxLLMWait:
			c.add(at(name), fmt.Sprintf("%s %s is more than %s; write a shorter one such as %s: %s", name, *d, maxLLMWait, name, def))
			return false
		}
		return true
	}
	wait("ttft", &l.TTFT, DefaultLLMTTFT)
	interOK := wait("inter_token", &l.InterToken, DefaultLLMInterToken)
	if _, ok := c.duration(at("jitter")); ok && interOK && l.Jitter > l.InterToken {
		c.add(at("jitter"), fmt.Sprintf("jitter %s is more than inter_token %s, and a wait cannot be negative; write jitter: %s or less", l.Jitter, l.InterToken, l.InterToken))
	}

	if c.whole(at("max_concurrent"), "max_concurrent: 8") && (l.MaxConcurrent < 0 || l.MaxConcurrent > MaxLLMConcurrent) {
		c.add(at("max_concurrent"), fmt.Sprintf("max_concurrent %d is out of range; write 0 (no cap) to %d, such as max_concurrent: 8", l.MaxConcurrent, MaxLLMConcurrent))
	}
	c.overLimit(l)
}

// overLimit checks over_limit and retry_after, which apply only with a
// cap, and fills them in.
func (c *checker) overLimit(l *LLM) {
	const path = "upstream.builtin.llm"
	at := func(name string) string { return join(path, name) }
	set, ok := c.duration(at("retry_after"))
	if l.MaxConcurrent <= 0 {
		for _, name := range []string{"over_limit", "retry_after"} {
			if c.x.has(at(name)) {
				c.add(at(name), name+" applies only with a cap, and max_concurrent is 0 (no cap); write max_concurrent: 8, or remove "+name)
			}
		}
		l.OverLimit, l.RetryAfter = "", 0
		return
	}
	switch l.OverLimit {
	case "":
		l.OverLimit = OverLimitReject
	case OverLimitReject, OverLimitQueue:
	default:
		msg := "unknown over_limit " + Quote(l.OverLimit) + "; "
		if near, ok := closest(l.OverLimit, []string{OverLimitReject, OverLimitQueue}); ok {
			msg += "did you mean " + near + "? "
		}
		c.add(at("over_limit"), msg+"write reject (429 with Retry-After) or queue (wait for a slot)")
		return
	}
	if l.OverLimit == OverLimitQueue {
		if set {
			c.add(at("retry_after"), "retry_after is the Retry-After of a rejected request, and over_limit is queue, which rejects none; remove retry_after, or write over_limit: reject")
		}
		l.RetryAfter = 0
		return
	}
	switch {
	case !set:
		l.RetryAfter = Duration(DefaultLLMRetryAfter)
	case !ok:
	case l.RetryAfter.D() < time.Second:
		c.add(at("retry_after"), fmt.Sprintf("retry_after %s is less than a second; write 1s or more, such as retry_after: 1s", l.RetryAfter))
	case l.RetryAfter.D() > maxLLMWait:
		c.add(at("retry_after"), fmt.Sprintf("retry_after %s is more than %s; write a shorter one such as retry_after: 1s", l.RetryAfter, maxLLMWait))
	case l.RetryAfter.D()%time.Second != 0:
		c.add(at("retry_after"), fmt.Sprintf("retry_after %s is not a whole number of seconds, and Retry-After counts seconds (RFC 9110, section 10.2.3); write %s", l.RetryAfter, (l.RetryAfter.D()+time.Second-1).Truncate(time.Second)))
	}
}

// llmWant checks an LLM that Decode accepted and says what it should have
// been; "" when it is valid. A nil LLM is valid.
func llmWant(l *LLM) string {
	switch {
	case l == nil:
		return ""
	case l.Model == "" || len(l.Model) > maxLLMModel:
		return "a model name"
	case l.Tokens.Min < 1 || l.Tokens.Max < l.Tokens.Min || l.Tokens.Max > MaxLLMTokens:
		return "1 <= tokens min <= max <= 100000"
	case l.TTFT < 0 || l.TTFT.D() > maxLLMWait || l.InterToken < 0 || l.InterToken.D() > maxLLMWait || l.Jitter < 0 || l.Jitter > l.InterToken:
		return "ttft and inter_token of 0 to 1h, and 0 <= jitter <= inter_token"
	case l.MaxConcurrent < 0 || l.MaxConcurrent > MaxLLMConcurrent:
		return "max_concurrent in range"
	case l.MaxConcurrent == 0 && (l.OverLimit != "" || l.RetryAfter != 0):
		return "no over_limit or retry_after without a cap"
	case l.MaxConcurrent > 0 && !slices.Contains([]string{OverLimitReject, OverLimitQueue}, l.OverLimit):
		return "over_limit reject or queue with a cap"
	case l.OverLimit == OverLimitReject && (l.RetryAfter.D() < time.Second || l.RetryAfter.D()%time.Second != 0 || l.RetryAfter.D() > maxLLMWait):
		return "a retry_after of whole seconds from 1s with over_limit reject"
	case l.OverLimit == OverLimitQueue && l.RetryAfter != 0:
		return "no retry_after with over_limit queue"
	}
	return ""
}
