package scenarios

import (
	"path/filepath"
	"slices"
	"text/template"
	"time"
)

// Scenario is one run described by a scenario file. Decode fills it and
// applies defaults; a Scenario returned without error is valid.
type Scenario struct {
	// Name identifies the scenario in reports and output folder names.
	Name string `yaml:"name"`
	// Description says in one line what the scenario reproduces.
	Description string `yaml:"description,omitempty"`
	// Seed fixes every fault decision; nil means the run picks one and
	// reports it, so that the run can be repeated.
	Seed *uint64 `yaml:"seed,omitempty"`
	// Target is the gateway under test and how the attacker talks to it.
	Target Target `yaml:"target"`
	// Upstream is what the gateway forwards to, through the fault proxy.
	Upstream Upstream `yaml:"upstream"`
	// Requests are sent round robin; at least one.
	Requests []Request `yaml:"requests"`
	// Client is how the attacker behaves as a client: its retry policy.
	// The zero value, a file without client, is one try per request.
	Client Client `yaml:"client,omitempty"`
	// Proxy configures the fault proxy.
	Proxy ProxySpec `yaml:"proxy,omitempty"`
	// Phases run back to back as one attack; at least one.
	Phases []Phase `yaml:"phases"`
	// Expect lists what must hold for the run to pass, in the file's
	// order; nil when the file has none. See [Expectation].
	Expect []Expectation `yaml:"expect,omitempty"`

	// File is the name the scenario was read from, for messages.
	File string `yaml:"-"`

	// gatewayTemplate is target.config's template as Load parsed and
	// checked it; see GatewayTemplate.
	gatewayTemplate *template.Template
}

// Gateway kinds accepted in target.gateway.
const (
	GatewayBuiltin = "builtin" // Go's httputil.ReverseProxy, started by gatecrash
	GatewayNginx   = "nginx"   // nginx, started by gatecrash from a template
	GatewayHAProxy = "haproxy" // HAProxy, started by gatecrash from a template
	GatewayCaddy   = "caddy"   // Caddy, started by gatecrash from a template
	GatewayNone    = "none"    // a gateway the user runs, reached at target.url
)

// managedGateways are the real gateways gatecrash starts from a template,
// in the order messages list them.
var managedGateways = []string{GatewayNginx, GatewayHAProxy, GatewayCaddy}

// ManagedGateways returns the real gateways gatecrash starts from a
// template: nginx, haproxy and caddy, in the order messages list them.
func ManagedGateways() []string { return slices.Clone(managedGateways) }

// Managed reports whether gateway is a real gateway that gatecrash starts
// from a template: nginx, haproxy or caddy.
func Managed(gateway string) bool {
	return slices.Contains(managedGateways, gateway)
}

// Target describes the gateway under test.
type Target struct {
	// Gateway is builtin (the default, which Decode sets), nginx, haproxy,
	// caddy (a real gateway gatecrash starts, in front of its fault
	// proxy), or none (a gateway the user runs, at URL).
	Gateway string `yaml:"gateway,omitempty"`
	// URL is the gateway's base URL when Gateway is none, for example
	// http://127.0.0.1:8080. It must be a loopback address, unless the
	// command line consents to its host (see [Consent]).
	URL string `yaml:"url,omitempty"`
	// Config is the path of the user's own template for a managed gateway
	// (nginx, haproxy, caddy), relative to the scenario file; empty means
	// gatecrash's own template. See [Scenario.ConfigPath].
	Config string `yaml:"config,omitempty"`
	// Timeout is the attacker's per-request timeout; zero means 10s,
	// which Decode sets when the file leaves it out.
	Timeout Duration `yaml:"timeout,omitempty"`
	// ConnectTimeout is how long a managed gateway waits for a connect to
	// its upstream; zero means 1s, which Decode sets when the file leaves
	// it out.
	ConnectTimeout Duration `yaml:"connect_timeout,omitempty"`
	// UpstreamTimeout is how long the gateway gatecrash starts waits for
	// the upstream's response headers (and, for nginx and HAProxy, between
	// two reads of its answer) before it gives up, usually with a 504;
	// zero means 5s, which Decode sets when the file leaves it out.
	UpstreamTimeout Duration `yaml:"upstream_timeout,omitempty"`
}

// Upstream is the server behind the gateway: the built-in stub, or a
// server already running at URL. Exactly one is set; in a file, neither
// means the built-in stub with its defaults, and Decode sets Builtin.
type Upstream struct {
	// Builtin configures the stub upstream gatecrash starts.
	Builtin *BuiltinUpstream `yaml:"builtin,omitempty"`
	// URL of an upstream already running; it must be a loopback address,
	// unless the command line consents to its host (see [Consent]).
	URL string `yaml:"url,omitempty"`
}

// BuiltinUpstream configures the stub upstream.
type BuiltinUpstream struct {
	// Latency is added before every answer.
	Latency Duration `yaml:"latency,omitempty"`
	// BodyBytes is the size of every answer's body, 0 to 10 MiB. Decode
	// sets 512 when the file leaves it out; a body_bytes: 0 written in the
	// file stays 0 and means empty bodies. With LLM it stays 0.
	BodyBytes int `yaml:"body_bytes"`
	// LLM, when set, makes the upstream a model server streaming tokens
	// instead of the plain stub; Latency and BodyBytes are then 0. See
	// [LLM].
	LLM *LLM `yaml:"llm,omitempty"`
}

// Request is one request template.
type Request struct {
	// Method is an upper-case HTTP method; Decode sets GET when the file
	// leaves it out.
	Method string `yaml:"method,omitempty"`
	// Path starts with a slash and may carry a query.
	Path string `yaml:"path"`
	// Headers are sent with every request made from this template.
	Headers map[string]string `yaml:"headers,omitempty"`
	// Body is sent as is.
	Body string `yaml:"body,omitempty"`
}

// Phase is one stretch of the attack with its own rate and faults.
type Phase struct {
	// Name is unique among the scenario's phases.
	Name string `yaml:"name"`
	// Duration is positive.
	Duration Duration `yaml:"duration"`
	// Rate is the offered rate at the start of the phase; more than 0.
	Rate Rate `yaml:"rate"`
	// RampTo, when set, makes the rate move linearly from Rate at the
	// start of the phase to RampTo at its end. It may be 0/s.
	RampTo *Rate `yaml:"ramp_to,omitempty"`
	// Faults are the fault proxy's rules while this phase runs.
	Faults []Fault `yaml:"faults,omitempty"`
}

// Fault kinds known to this version.
const (
	KindLatency     = "latency"
	KindSlowBody    = "slow-body"
	KindSlowHeaders = "slow-headers"
	KindHang        = "hang"
	KindReset       = "reset"
	KindClose       = "close"
	KindStatus      = "status"
	KindMalformed   = "malformed"
	KindRefuse      = "refuse"
	KindBlackhole   = "blackhole"
	KindKeepalive   = "keepalive"
	KindOverload    = "overload"
	KindSSECut      = "sse-cut"
	KindSSEStall    = "sse-stall"
)

// Points on an exchange where reset and close act (Fault.At).
const (
	AtConnect       = "connect"        // as soon as the connection is accepted
	AtBeforeHeaders = "before-headers" // after reading the request, before any answer byte
	AtAfterHeaders  = "after-headers"  // after the upstream's response head went down
	AtMidBody       = "mid-body"       // after AfterBytes bytes of the response body
)

// Malformed variants (Fault.Variant).
const (
	MalformedStatusLine       = "status-line"       // a status line whose code is not a number
	MalformedHeader           = "header"            // a header line without a colon
	MalformedOversizedHeaders = "oversized-headers" // Size bytes of headers
	MalformedLengthMismatch   = "length-mismatch"   // Content-Length larger than the body sent, then close
	MalformedBadChunked       = "bad-chunked"       // a chunk size that is not hex
	MalformedGarbage          = "garbage"           // Bytes random bytes instead of an answer
)

// Proxy modes (ProxySpec.Mode).
const (
	ModeHTTP = "http" // reads every request and answer head; every fault kind
	ModeTCP  = "tcp"  // bytes only; connection-level kinds only
)

// ProxySpec configures the fault proxy of a run.
type ProxySpec struct {
	// Mode is http (the default) or tcp.
	Mode string `yaml:"mode,omitempty"`
	// Listen is the proxy's loopback address; empty means a free port on
	// 127.0.0.1. Point a gateway you run yourself (target.gateway: none)
	// at it. Beyond loopback (0.0.0.0 for every interface) it needs the
	// command line's consent (see [Consent]), and target.gateway none.
	Listen string `yaml:"listen,omitempty"`
}

// Distribution is a latency distribution given by two quantiles.
type Distribution struct {
	// Type is lognormal, normal or uniform.
	Type string `yaml:"type"`
	// P50 and P99 are the median and the 99th percentile; P99 >= P50 > 0.
	P50 Duration `yaml:"p50"`
	P99 Duration `yaml:"p99"`
}

// Fault is one rule of the fault proxy: the envelope every kind shares
// (kind, probability, match) and the kind's own settings beside it. Only
// the settings of its kind may be set.
type Fault struct {
	// Kind names the misbehaviour, one of the Kind constants.
	Kind string `yaml:"kind"`
	// Probability that the fault applies to a matching request (in tcp
	// mode, connection), in [0, 1]; nil means 1.
	Probability *float64 `yaml:"probability,omitempty"`
	// Match limits the fault to some requests; empty matches all. Not in
	// tcp mode.
	Match Match `yaml:"match,omitempty"`

	// Delay and Jitter (latency): wait Delay ± a uniform Jitter before the
	// response headers. Delay is more than 0; Jitter is at most Delay.
	// Distribution replaces both: a wait drawn from it.
	Delay        Duration      `yaml:"delay,omitempty"`
	Jitter       Duration      `yaml:"jitter,omitempty"`
	Distribution *Distribution `yaml:"distribution,omitempty"`
	// BytesPerSecond (slow-body): the response body's pace.
	BytesPerSecond int `yaml:"bytes_per_second,omitempty"`
	// Duration (slow-headers): the time over which the response head is
	// dribbled out.
	Duration Duration `yaml:"duration,omitempty"`
	// At (reset, close): where on the exchange the connection ends, one
	// of the At constants; Decode sets before-headers by default.
	// AfterBytes (mid-body): how many body bytes go down first.
	At         string `yaml:"at,omitempty"`
	AfterBytes int    `yaml:"after_bytes,omitempty"`
	// Code, Body and Headers (status): the answer sent instead of asking
	// the upstream. Code is 200-599.
	Code    int               `yaml:"code,omitempty"`
	Body    string            `yaml:"body,omitempty"`
	Headers map[string]string `yaml:"headers,omitempty"`
	// Variant (malformed): which malformation to send, one of the
	// Malformed constants; Decode sets status-line by default. Size
	// (oversized-headers) is the head's size in bytes, default 65536;
	// Bytes (garbage) how many bytes to send, default 64.
	Variant string `yaml:"variant,omitempty"`
	Size    int    `yaml:"size,omitempty"`
	Bytes   int    `yaml:"bytes,omitempty"`
	// For (hang, sse-stall): how long; for hang zero means until the
	// gateway gives up or the run ends.
	For Duration `yaml:"for,omitempty"`
	// Idle, When and Close (keepalive): the upstream closes a keep-alive
	// connection that has been idle for Idle. With When request (the
	// default) it does so as the next request comes, so that the close
	// crosses the request, as the real race happens: the request is read
	// and never answered. With When idle it closes the connection while
	// it waits, which a gateway watching its pool notices. Close is how:
	// fin (the default, what Node.js and Go servers send) or rst.
	Idle  Duration `yaml:"idle,omitempty"`
	When  string   `yaml:"when,omitempty"`
	Close string   `yaml:"close,omitempty"`
	// MaxInflight, Queue, QueueTimeout and Reject (overload): at most
	// MaxInflight requests at once; up to Queue more wait up to
	// QueueTimeout for a slot; the rest, and those that waited too long,
	// are rejected with Reject: reset or 503 (the default).
	MaxInflight  int      `yaml:"max_inflight,omitempty"`
	Queue        int      `yaml:"queue,omitempty"`
	QueueTimeout Duration `yaml:"queue_timeout,omitempty"`
	Reject       string   `yaml:"reject,omitempty"`
	// Events (sse-cut, sse-stall): how many server-sent events go down
	// first. Cut (sse-cut) is how the stream ends: close (the default) or
	// reset.
	Events int    `yaml:"events,omitempty"`
	Cut    string `yaml:"cut,omitempty"`

	// Line is the line of the fault in its file, for messages; Decode
	// sets it.
	Line int `yaml:"-"`
}

// P returns the fault's probability, 1 when unset.
func (f Fault) P() float64 {
	if f.Probability == nil {
		return 1
	}
	return *f.Probability
}

// Match selects requests. Every field set must match.
type Match struct {
	// Method matches the request method exactly.
	Method string `yaml:"method,omitempty"`
	// PathPrefix matches the start of the request path.
	PathPrefix string `yaml:"path_prefix,omitempty"`
	// Header matches when every named header has exactly the given value.
	Header map[string]string `yaml:"header,omitempty"`
}

// Duration is a time.Duration written in YAML as a Go duration, "150ms".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Rate is a number of requests per period, written "100/s" or "6000/m".
// The zero Rate is no requests.
type Rate struct {
	Freq int           // requests per period
	Per  time.Duration // the period; Decode gives time.Second or time.Minute
}

// PerSecond returns the rate in requests per second.
func (r Rate) PerSecond() float64 {
	if r.Per <= 0 {
		return 0
	}
	return float64(r.Freq) / r.Per.Seconds()
}

// ConfigPath returns the path of the gateway template that target.config
// names: as written if absolute, else relative to the folder of the
// scenario file. It returns "" when the scenario has none.
func (s *Scenario) ConfigPath() string {
	if s.Target.Config == "" {
		return ""
	}
	if filepath.IsAbs(s.Target.Config) {
		return s.Target.Config
	}
	return filepath.Join(filepath.Dir(s.File), s.Target.Config)
}

// Duration returns the total length of all phases.
func (s *Scenario) Duration() time.Duration {
	var total time.Duration
	for _, p := range s.Phases {
		total += p.Duration.D()
	}
	return total
}

// HeaderPhase is the request header in which the attacker sends the index
// of the phase it was in when it sent the request; the fault proxy applies
// that phase's faults, so a request sent just before a phase boundary
// meets its own phase's faults even if it arrives after the boundary.
const HeaderPhase = "X-Gatecrash-Phase"

// HeaderTry is the request header in which the attacker, when the
// scenario has a client retry policy, sends the try number of a request,
// from 1 (the first try), on every try; the tries of one request share
// its X-Vegeta-Attack and X-Vegeta-Seq. Without a policy it is not sent.
// The fault proxy reads it into each event, to tell a client's retry (a
// new try number) from a gateway's (the same try again); a value that is
// not a whole number from 1 counts as no header.
const HeaderTry = "X-Gatecrash-Try"
