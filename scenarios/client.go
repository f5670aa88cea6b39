package scenarios

// Client is how the attacker behaves as a client of the gateway. Its zero
// value is vegeta's plain client: one try per request, no retry.
type Client struct {
	// Retry is the client's retry policy; nil means no retry, and nothing
	// changes from a scenario without client.
	Retry *Retry `yaml:"retry,omitempty"`
}

// Retry policy names: a file may name one (retry: {policy: NAME}) and
// override its fields. PolicyNone is the baseline every comparison of
// policies runs.
const (
	PolicyNone        = "none"        // one try, no retry
	PolicyNaive       = "naive"       // 3 tries, no backoff, no budget
	PolicyExponential = "exponential" // 3 tries, exponential backoff with full jitter, a 10% budget
)

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

// Retry is a client retry policy, as a real client library has one: each
// request the pacer sends is one logical request, whose tries go out with
// the same X-Vegeta-Seq and a try number (X-Gatecrash-Try), while the user
// sees only the last try's outcome and the whole latency.
type Retry struct {
	// Policy names a built-in policy whose values the other fields
	// override; empty means none but the fields written.
	Policy string `yaml:"policy,omitempty"`
	// MaxAttempts is the most tries of one request, the first included;
	// 1 means no retry.
	MaxAttempts int `yaml:"max_attempts,omitempty"`
	// Backoff is one of the Backoff constants.
	Backoff string `yaml:"backoff,omitempty"`
	// Base and Cap are the backoff's first wait and its most.
	Base Duration `yaml:"base,omitempty"`
	Cap  Duration `yaml:"cap,omitempty"`
	// Jitter is one of the Jitter constants.
	Jitter string `yaml:"jitter,omitempty"`
	// RetryOn lists what makes a try fail and be retried: status codes
	// ("502"), classes ("5xx"), RetryOnError, RetryOnTimeout.
	RetryOn []string `yaml:"retry_on,omitempty"`
	// RespectRetryAfter waits what a 429 or 503's Retry-After says
	// (seconds or an HTTP date) instead of the backoff, when longer.
	RespectRetryAfter bool `yaml:"respect_retry_after,omitempty"`
	// Deadline bounds a request's tries and waits together; zero means
	// none but target.timeout per try.
	Deadline Duration `yaml:"deadline,omitempty"`
	// Budget caps the retries; nil means no budget.
	Budget *Budget `yaml:"budget,omitempty"`
}

// Budget caps retries at a share of first tries, as gRPC's retry
// throttling, Finagle's RetryBudget and Envoy's retry_budget do: over any
// second, retries may be at most Ratio times the first tries of that
// second, or MinPerSecond, whichever is more. A retry beyond it is not
// sent, and the request ends with its last try's outcome.
type Budget struct {
	Ratio        float64 `yaml:"ratio"`
	MinPerSecond float64 `yaml:"min_per_second,omitempty"`
}
