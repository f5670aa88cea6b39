package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Client is how the attacker behaves as a client of the gateway. Its zero
// value is vegeta's plain client: one try per request, no retry.
type Client struct {
	// Retry is the client's retry policy; nil means no retry, and nothing
	// changes from a scenario without client.
	Retry *Retry `yaml:"retry,omitempty"`
	// Stream is how the attacker reads streaming answers (Content-Type
	// text/event-stream); nil means the defaults (stall DefaultStreamStall).
	Stream *ClientStream `yaml:"stream,omitempty"`
}

// ClientStream is how the attacker reads a streaming answer: it times its
// tokens as they arrive, fails the request with a stream-cut error when
// the stream ends without its end marker, and with a stream-stall error
// when no token comes for Stall.
type ClientStream struct {
	// Stall is how long a stream may go without a token (after its
	// headers, or its last token) before the client gives up on it; 0
	// means never. Decode sets DefaultStreamStall when the file leaves
	// it out.
	Stall Duration `yaml:"stall"`
}

// Limits of client.stream.stall.
const (
	DefaultStreamStall = 5 * time.Second       // when the file leaves it out
	MinStreamStall     = 10 * time.Millisecond // shorter ones, but 0s, are mistakes
)

// StreamStall returns the stall gap of c: client.stream.stall, or
// DefaultStreamStall when the scenario has no client.stream; 0 means no
// stall detection.
func (c Client) StreamStall() time.Duration {
	if c.Stream == nil {
		return DefaultStreamStall
	}
	return c.Stream.Stall.D()
}

// Retry policy names: a file may name one (retry: {policy: NAME}) and
// override its fields. PolicyNone is the baseline every comparison of
// policies runs. Their values, which Decode fills in for the fields the
// file leaves out (retry_on is [DefaultRetryOn] in all three):
//
//	none:        max_attempts 1, backoff none, jitter none
//	naive:       max_attempts 3, backoff none, jitter none, no budget,
//	             respect_retry_after false, no deadline
//	exponential: max_attempts 3, backoff exponential, base 100ms, cap 10s,
//	             jitter full, respect_retry_after true, no deadline,
//	             budget {ratio: 0.1, min_per_second: 10}
//
// With policy none, max_attempts may only be 1; the other fields are
// accepted and have no effect, as in any policy of one attempt.
const (
	PolicyNone        = "none"        // one try, no retry
	PolicyNaive       = "naive"       // 3 tries, no backoff, no budget
	PolicyExponential = "exponential" // 3 tries, exponential backoff with full jitter, a 10% budget
)

// Defaults and limits of client.retry, applied by Decode to the fields
// that neither the file nor its policy sets.
const (
	MaxRetryAttempts    = 10                     // max_attempts, the first try included
	DefaultBase         = 100 * time.Millisecond // base, when backoff is not none
	DefaultCap          = 10 * time.Second       // cap, for backoff exponential (or base, when longer)
	DefaultMinPerSecond = 10                     // budget.min_per_second
	MaxBudgetRatio      = 10                     // budget.ratio
	maxWait             = maxTotalDuration       // base, cap and deadline
)

// DefaultRetryOn returns what a policy retries when the file leaves retry_on
// out: the answers a gateway gives for an upstream that failed (502, 503,
// 504), no answer at all, and no answer in time. A timeout is in it
// because a client library that retries errors usually retries its own
// timeouts too, which is how a latency spike becomes a retry storm.
func DefaultRetryOn() []string { return slices.Clone(defaultRetryOn) }

var defaultRetryOn = []string{"502", "503", "504", RetryOnError, RetryOnTimeout}

// policies are the built-in policies' values, without retry_on.
var policies = map[string]Retry{
	PolicyNone:  {Policy: PolicyNone, MaxAttempts: 1, Backoff: BackoffNone, Jitter: JitterNone},
	PolicyNaive: {Policy: PolicyNaive, MaxAttempts: 3, Backoff: BackoffNone, Jitter: JitterNone},
	PolicyExponential: {
		Policy: PolicyExponential, MaxAttempts: 3, Backoff: BackoffExponential,
		Base: Duration(DefaultBase), Cap: Duration(DefaultCap), Jitter: JitterFull,
		RespectRetryAfter: true, Budget: &Budget{Ratio: 0.1, MinPerSecond: DefaultMinPerSecond},
	},
}

// policyNames lists the built-in policies in the order messages list them.
var policyNames = []string{PolicyNone, PolicyNaive, PolicyExponential}

// Policies returns the names of the built-in retry policies, none first.
func Policies() []string { return slices.Clone(policyNames) }

// LookupPolicy returns the built-in policy called name with all its
// values, as Decode fills them for retry: {policy: NAME}; false when there
// is no such policy. The caller owns the result.
func LookupPolicy(name string) (*Retry, bool) {
	p, ok := policies[name]
	if !ok {
		return nil, false
	}
	return p.clone(), true
}

// clone returns a deep copy of r, with retry_on [DefaultRetryOn] when r has none.
func (r Retry) clone() *Retry {
	c := r
	if c.RetryOn == nil {
		c.RetryOn = DefaultRetryOn()
	} else {
		c.RetryOn = slices.Clone(c.RetryOn)
	}
	if r.Budget != nil {
		b := *r.Budget
		c.Budget = &b
	}
	return &c
}

// Backoffs: how long a client waits before try n+1 (n from 1).
const (
	BackoffNone        = "none"        // no wait
	BackoffConstant    = "constant"    // Base
	BackoffExponential = "exponential" // min(Cap, Base·2^(n-1))
)

// Jitters, as in the AWS architecture blog's "Exponential Backoff And
// Jitter": how the backoff's wait w is drawn.
const (
	JitterNone         = "none"         // w
	JitterFull         = "full"         // uniform in [0, w]
	JitterEqual        = "equal"        // w/2 + uniform in [0, w/2]
	JitterDecorrelated = "decorrelated" // min(Cap, uniform in [Base, 3·previous wait])
)

// Retry-on words besides status codes and classes (502, 5xx).
const (
	RetryOnError   = "error"   // no answer: refused, reset, closed, cut
	RetryOnTimeout = "timeout" // no answer within target.timeout
)

// Retry-on classes: every status code from 400 to 499, or 500 to 599.
const (
	RetryOn4xx = "4xx"
	RetryOn5xx = "5xx"
)

// Retry is a client retry policy, as a real client library has one: each
// request the pacer sends is one logical request, whose tries go out with
// the same X-Vegeta-Seq and a try number (X-Gatecrash-Try), while the user
// sees only the last try's outcome and the whole latency.
type Retry struct {
	// Policy names a built-in policy whose values the other fields
	// override; empty means none but the fields written.
	Policy string `yaml:"policy,omitempty"`
	// MaxAttempts is the most tries of one request, the first included,
	// 1 to 10; 1 means no retry, the same as policy none.
	MaxAttempts int `yaml:"max_attempts,omitempty"`
	// Backoff is one of the Backoff constants.
	Backoff string `yaml:"backoff,omitempty"`
	// Base and Cap are the backoff's first wait and its most. With
	// backoff none both are zero; with constant, Cap is Base; with
	// exponential, Decode sets Base to 100ms and Cap to 10s (or Base,
	// when longer) when neither the file nor its policy sets them.
	Base Duration `yaml:"base,omitempty"`
	Cap  Duration `yaml:"cap,omitempty"`
	// Jitter is one of the Jitter constants; none when backoff is none.
	// JitterDecorrelated needs backoff exponential: it grows its own wait
	// from Base up to Cap.
	Jitter string `yaml:"jitter,omitempty"`
	// RetryOn lists what makes a try fail and be retried: status codes
	// from 400 to 599 ("502"), classes ("4xx", "5xx"), RetryOnError,
	// RetryOnTimeout. Decode sets [DefaultRetryOn] when the file leaves
	// it out.
	RetryOn []string `yaml:"retry_on,omitempty"`
	// RespectRetryAfter waits what a 429 or 503's Retry-After says
	// (seconds or an HTTP date) instead of the backoff, when longer. It
	// applies only to the answers RetryOn retries.
	RespectRetryAfter bool `yaml:"respect_retry_after,omitempty"`
	// Deadline bounds a request's tries and waits together, measured from
	// its first try; zero means none but target.timeout per try. It is
	// not bounded by the phases: a request may outlive its phase, and the
	// end of the run ends it anyway.
	Deadline Duration `yaml:"deadline,omitempty"`
	// Budget caps the retries; nil means no budget. A file that names a
	// policy with a budget and writes budget: null keeps the policy's:
	// write the fields out without policy for no budget.
	Budget *Budget `yaml:"budget,omitempty"`
}

// Budget caps retries at a share of first tries, as gRPC's retry
// throttling, Finagle's RetryBudget and Envoy's retry_budget do: over any
// second, retries may be at most Ratio times the first tries of that
// second, or MinPerSecond, whichever is more. A retry beyond it is not
// sent, and the request ends with its last try's outcome.
//
// This is Finagle's RetryBudget (a window of one second, a ratio and a
// floor), not gRPC's token bucket: a retry spends one token of a bucket
// that each first try of the last second refills by Ratio, with
// MinPerSecond free tokens per second on top, so that a quiet client can
// still retry.
type Budget struct {
	// Ratio is retries per first try, more than 0 and at most 10: 0.1
	// lets one request in ten be retried once.
	Ratio float64 `yaml:"ratio"`
	// MinPerSecond is the retries allowed per second whatever the first
	// tries, 0 or more; Decode sets 10 when the file leaves it out.
	MinPerSecond float64 `yaml:"min_per_second,omitempty"`
}

// Enabled reports whether r retries at all: false for a nil policy and
// for one of a single attempt (policy none). Safe on a nil *Retry.
func (r *Retry) Enabled() bool {
	return r != nil && r.MaxAttempts > 1
}

// RetryOnStatus reports whether a try answered with code is retried: it
// is in RetryOn, or in a class (4xx, 5xx) RetryOn lists. False when r is
// nil or not Enabled.
func (r *Retry) RetryOnStatus(code int) bool {
	if !r.Enabled() {
		return false
	}
	for _, w := range r.RetryOn {
		switch {
		case w == RetryOn4xx && code >= 400 && code <= 499,
			w == RetryOn5xx && code >= 500 && code <= 599,
			w == strconv.Itoa(code):
			return true
		}
	}
	return false
}

// RetryOnError reports whether a try that got no answer (refused, reset,
// closed, cut) is retried. False when r is nil or not Enabled.
func (r *Retry) RetryOnError() bool {
	return r.Enabled() && slices.Contains(r.RetryOn, RetryOnError)
}

// RetryOnTimeout reports whether a try that got no answer within
// target.timeout is retried. False when r is nil or not Enabled.
func (r *Retry) RetryOnTimeout() bool {
	return r.Enabled() && slices.Contains(r.RetryOn, RetryOnTimeout)
}

// String summarises the policy in one line, as gatecrash validate prints
// it, for example:
//
//	exponential: 3 attempts, exponential backoff 100ms to 10s, full jitter, on 502, 503, 504, error, timeout, Retry-After respected, budget 10% of first tries (at least 10/s)
func (r *Retry) String() string {
	if r == nil {
		return "no retry"
	}
	name := r.Policy
	if name == "" {
		name = "custom"
	}
	if !r.Enabled() {
		return name + ": 1 attempt, no retry"
	}
	parts := []string{fmt.Sprintf("%d attempts", r.MaxAttempts)}
	switch r.Backoff {
	case BackoffConstant:
		parts = append(parts, "constant backoff "+r.Base.String())
	case BackoffExponential:
		parts = append(parts, fmt.Sprintf("exponential backoff %s to %s", r.Base, r.Cap))
	default:
		parts = append(parts, "no backoff")
	}
	if r.Jitter != "" && r.Jitter != JitterNone {
		parts = append(parts, r.Jitter+" jitter")
	}
	parts = append(parts, "on "+strings.Join(r.RetryOn, ", "))
	if r.RespectRetryAfter {
		parts = append(parts, "Retry-After respected")
	}
	if r.Deadline > 0 {
		parts = append(parts, "deadline "+r.Deadline.String())
	}
	if b := r.Budget; b != nil {
		parts = append(parts, fmt.Sprintf("budget %s%% of first tries (at least %s/s)",
			strconv.FormatFloat(b.Ratio*100, 'g', 4, 64), strconv.FormatFloat(b.MinPerSecond, 'g', -1, 64)))
	} else {
		parts = append(parts, "no budget")
	}
	return name + ": " + strings.Join(parts, ", ")
}

// policyList describes the built-in policies for messages.
const policyList = PolicyNone + " (one try), " + PolicyNaive + " (3 tries, no backoff, no budget) or " +
	PolicyExponential + " (3 tries, exponential backoff with full jitter, a 10% budget)"

// retryDoc is a client retry policy on its own, as gatecrash policies
// --policy takes it.
var retryDoc = docType{
	empty:  "the policy is empty; give a name (" + policyList + ") or a mapping such as {policy: exponential, max_attempts: 5}",
	shape:  "the policy holds %s; give a name (" + strings.ReplaceAll(policyList, "%", "%%") + ") or a mapping such as {policy: exponential, max_attempts: 5}",
	second: "a second YAML document starts here; give one policy",
}

// DecodeRetry reads one client retry policy, a YAML mapping with the
// fields of a scenario's client.retry, strictly, checks it as [Decode]
// checks client.retry, and fills in its named policy's values and the
// defaults. file names data in messages; fields are named without a
// prefix, such as max_attempts. Every problem is an *Error.
func DecodeRetry(file string, data []byte) (*Retry, error) {
	var r Retry
	c, err := decodeStrict(file, data, retryDoc, &r)
	if c == nil {
		return nil, err
	}
	c.retry("", &r)
	if len(c.errs) > 0 {
		return nil, joinErrors(c.errs)
	}
	return &r, nil
}
