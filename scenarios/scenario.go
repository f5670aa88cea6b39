// Package scenarios reads gatecrash scenario files: the types, strict YAML
// decoding with the file and line in every error, validation, defaults, and
// the embedded catalog of ready scenarios.
package scenarios

import (
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
	// Phases run back to back as one attack; at least one.
	Phases []Phase `yaml:"phases"`

	// File is the name the scenario was read from, for messages.
	File string `yaml:"-"`
}

// Gateway kinds accepted in target.gateway.
const (
	GatewayBuiltin = "builtin" // Go's httputil.ReverseProxy, started by gatecrash
	GatewayNone    = "none"    // a gateway the user runs, reached at target.url
)

// Target describes the gateway under test.
type Target struct {
	// Gateway is builtin (the default, which Decode sets) or none; nginx,
	// haproxy and caddy are reserved for managed gateways.
	Gateway string `yaml:"gateway,omitempty"`
	// URL is the gateway's base URL when Gateway is none, for example
	// http://127.0.0.1:8080. It must be a loopback address.
	URL string `yaml:"url,omitempty"`
	// Timeout is the attacker's per-request timeout; zero means 10s,
	// which Decode sets when the file leaves it out.
	Timeout Duration `yaml:"timeout,omitempty"`
	// UpstreamTimeout is how long the built-in gateway waits for the
	// upstream's response headers before it answers 504; zero means 5s,
	// which Decode sets when the file leaves it out.
	UpstreamTimeout Duration `yaml:"upstream_timeout,omitempty"`
}

// Upstream is the server behind the gateway: the built-in stub, or a
// server already running at URL. Exactly one is set; in a file, neither
// means the built-in stub with its defaults, and Decode sets Builtin.
type Upstream struct {
	// Builtin configures the stub upstream gatecrash starts.
	Builtin *BuiltinUpstream `yaml:"builtin,omitempty"`
	// URL of an upstream already running; it must be a loopback address.
	URL string `yaml:"url,omitempty"`
}

// BuiltinUpstream configures the stub upstream.
type BuiltinUpstream struct {
	// Latency is added before every answer.
	Latency Duration `yaml:"latency,omitempty"`
	// BodyBytes is the size of every answer's body, 0 to 10 MiB. Decode
	// sets 512 when the file leaves it out; a body_bytes: 0 written in the
	// file stays 0 and means empty bodies.
	BodyBytes int `yaml:"body_bytes"`
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
	KindLatency   = "latency"
	KindReset     = "reset"
	KindStatus    = "status"
	KindMalformed = "malformed"
	KindHang      = "hang"
)

// Fault is one rule of the fault proxy: the envelope every kind shares
// (kind, probability, match) and the kind's own settings beside it. Only
// the settings of its kind may be set.
type Fault struct {
	// Kind names the misbehaviour: latency, reset, status, malformed, hang.
	Kind string `yaml:"kind"`
	// Probability that the fault applies to a matching request, in [0, 1];
	// nil means 1.
	Probability *float64 `yaml:"probability,omitempty"`
	// Match limits the fault to some requests; empty matches all.
	Match Match `yaml:"match,omitempty"`

	// Delay and Jitter (latency): wait Delay ± a uniform Jitter before the
	// response headers. Delay is more than 0; Jitter is at most Delay.
	Delay  Duration `yaml:"delay,omitempty"`
	Jitter Duration `yaml:"jitter,omitempty"`
	// At (reset): where on the exchange the connection is reset; only
	// before-headers for now, which Decode sets by default.
	At string `yaml:"at,omitempty"`
	// Code, Body and Headers (status): the answer sent instead of asking
	// the upstream. Code is 100-599.
	Code    int               `yaml:"code,omitempty"`
	Body    string            `yaml:"body,omitempty"`
	Headers map[string]string `yaml:"headers,omitempty"`
	// Variant (malformed): which malformation to send; only status-line
	// for now, which Decode sets by default.
	Variant string `yaml:"variant,omitempty"`
	// For (hang): close the connection after this long; zero means hang
	// until the gateway gives up or the run ends.
	For Duration `yaml:"for,omitempty"`

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
