package scenarios

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Metrics an Expectation measures (Expectation.Metric).
const (
	MetricRate         = "rate"          // share of requests matching Class
	MetricCount        = "count"         // requests matching Class
	MetricLatency      = "latency"       // Stat of the request latencies
	MetricFirst        = "first"         // when Class first failed
	MetricSustained    = "sustained"     // when Class's failures took hold
	MetricShare        = "share"         // share of Class's failures with Cause
	MetricRecovery     = "recovery"      // recovery of Class after Phase
	MetricAchievedRate = "achieved_rate" // requests sent per second
	MetricMasked       = "masked"        // masked faults, of Kind or Reason
	MetricSendLag      = "send_lag"      // Stat of the attacker's send lag
	// MetricAmplification: arrivals at the upstream per request, with a
	// client retry policy.
	MetricAmplification = "amplification"
	// MetricTTFT and MetricITL are a Stat of the streaming answers' time
	// to first token (p50, p99) and of their mean inter-token latencies
	// (p99), from the run folder's streams.jsonl.
	MetricTTFT = "ttft"
	MetricITL  = "itl"
)

// Classes an Expectation filters on (Expectation.Class), beside status
// codes such as "502" and classes of them such as "5xx".
const (
	ClassError = "error" // requests that got no HTTP answer
	// ClassUserFailure: requests whose outcome, as the user saw it (the
	// last try's, with a client retry policy), was not a 2xx or 3xx
	// answered in full. Only rate and count take it, and neither can
	// abort with it.
	ClassUserFailure = "user-failure"
	// ClassStreamCut: a streaming answer (text/event-stream) that began
	// with its status but ended without its end marker (data: [DONE],
	// message_stop); ClassStreamStall: one the client gave up on after
	// no token came for client.stream.stall. vegeta records both as
	// errors (code 0, error "stream-cut: ..." or "stream-stall: ..."),
	// but neither belongs to ClassError: they had an answer. Only rate
	// and count take them.
	ClassStreamCut   = "stream-cut"
	ClassStreamStall = "stream-stall"
)

// StreamClass returns the stream class of a vegeta Result's error text
// (ClassStreamCut or ClassStreamStall, by its prefix "stream-cut: " or
// "stream-stall: ", as the attacker writes it), or "" for another error.
func StreamClass(err string) string {
	switch {
	case strings.HasPrefix(err, ClassStreamCut+": "):
		return ClassStreamCut
	case strings.HasPrefix(err, ClassStreamStall+": "):
		return ClassStreamStall
	}
	return ""
}

// Units as an expectation writes them (Expectation.Unit).
const (
	UnitNone      = ""   // counts
	UnitPercent   = "%"  // shares
	UnitMS        = "ms" // times
	UnitS         = "s"
	UnitM         = "m"
	UnitPerSecond = "/s" // rates
	UnitPerMinute = "/m"
)

// Expectation is one entry of a scenario's expect: list, parsed. Only
// Expr and Abort are written back to a file; the other fields follow
// from Expr.
//
// A scenario's expect: list says what must hold for the run to pass; the
// run exits 1 when one fails. Each entry is a string, or a mapping
// {expect: "...", abort: true} to end the run early once that expectation
// has failed for good. An expectation is
//
//	METRIC[(FILTER)] OP VALUE[UNIT] [of offered] [in PHASE]
//
// for example
//
//	rate(status=502) < 0.5% in baseline
//	p99(latency) < 250ms in recover
//	first(status=502) > 10s
//	share(cause=reset-before-headers) >= 99%
//	recovery(phase=resets) < 5s
//	achieved_rate >= 99% of offered
//
// OP is one of <, <=, >, >=, == and !=. VALUE is a decimal number, 0 or
// more (250, 0.5), with its UNIT written right after it (250ms, 0.5%).
// "in PHASE" measures the metric over the requests sent in that phase
// instead of the whole run; PHASE is a phase's name, to the end of the
// text. Spaces between the parts are optional, but a unit follows its
// number at once.
//
// The metrics, with their filters and units:
//
//	rate(F)            share of the requests matching F: status=N (a code, 100-599),
//	                   class=Nxx (1xx-5xx) or error (no HTTP answer); unit %; in PHASE
//	count(F)           number of requests matching F; a whole number, no unit; in PHASE
//	p50(latency), p90(latency), p99(latency), max(latency), mean(latency)
//	                   request latency; ms, s or m; in PHASE (over the whole run the
//	                   percentiles come from the merged phase histograms: within 1.6%)
//	first(F)           when the first failure of a class was sent; F is status=N
//	                   with a 5xx code, class=5xx or error; ms, s or m; a class that
//	                   never occurred is +inf, so first(status=502) > 10s holds then
//	sustained(F)       when that class's share first held at the threshold for
//	                   the sustain buckets in a row (see the report); as first
//	share(cause=C)     share of the 502s (share(cause=C, status=504), or error:
//	                   of that class) with cause C, a report cause name; unit %
//	recovery(phase=P)  how long after phase P ended the 502 share (or that of
//	                   status=N or error, as a second filter) fell back under the
//	                   threshold for good; ms, s or m; not recovered is +inf
//	achieved_rate      requests sent per second; /s or /m, or % of offered
//	                   (achieved_rate >= 99% of offered); in PHASE
//	masked[(kind=K)]   faults that broke an attempt but not the request, of fault
//	                   kind K, or masked(reason=R) for one reason (gateway-retried, client-retried,
//	                   absorbed, connection-unused, no-result); a whole number, or
//	                   % of the faults that broke an attempt (without kind)
//	send_lag(S)        how late the attacker sent, S is p50, p99 or max; ms, s or m
//	rate(user-failure), count(user-failure)
//	                   the requests whose outcome as the user saw it (the last try's,
//	                   with client.retry) was not a 2xx or 3xx; % or a count; in PHASE
//	amplification      arrivals at the upstream per request (client retries times
//	                   the gateway's own), with client.retry; a plain number, such
//	                   as amplification < 1.5; in PHASE
//	p50(ttft), p99(ttft), p99(itl)
//	                   the streaming answers' time to first token, and their mean
//	                   inter-token latency; ms, s or m; in PHASE; undefined (the
//	                   expectation fails) in a run without streams
//	rate(class=stream-cut), rate(class=stream-stall), count(...) of them
//	                   streaming answers that ended without their end marker, or
//	                   that stalled (no token for client.stream.stall); % or a
//	                   count; in PHASE; undefined in a run without streams
//
// A value the run cannot measure (a phase without requests, a share of no
// 502s, a recovery the report could not measure) fails the expectation.
//
// abort: true ends the run as soon as the expectation has failed for good,
// which only some can do before the end: first(F) with > or >= (a failure
// sent before the time), count(F) with < or <= (the count went past), and
// max(latency) with < or <= (a slower request), over the whole run or in
// a phase; and rate, count and the latency metrics in PHASE, with any
// comparison, once every request sent in that phase has its result.
// abort: true on any other expectation is an error.
type Expectation struct {
	// Expr is the expression as written.
	Expr string
	// Abort ends the run early once the expectation has failed for good;
	// only some expectations can (see [Expectation.CanAbort]).
	Abort bool

	// Metric is one of the Metric constants.
	Metric string
	// Stat is what MetricLatency (p50, p90, p99, max, mean) and
	// MetricSendLag (p50, p99, max) take of their values; "" otherwise.
	Stat string
	// Class selects requests: a status code ("502"), a class of them
	// ("5xx"), or ClassError. For MetricShare and MetricRecovery it is the
	// failure class, "502" unless the filter says otherwise; "" for the
	// metrics without one.
	Class string
	// Cause is the cause name of MetricShare.
	Cause string
	// Kind and Reason narrow MetricMasked to a fault kind or a reason.
	Kind   string
	Reason string
	// Op is one of <, <=, >, >=, ==, !=.
	Op string
	// Value is the number as written, in Unit.
	Value float64
	// Unit is as written: one of the Unit constants.
	Unit string
	// OfOffered says the value is a share of the offered rate
	// (MetricAchievedRate with %).
	OfOffered bool
	// Phase is the phase the metric is measured in ("in PHASE", or the
	// phase of MetricRecovery); "" means the whole run.
	Phase string
}

// String returns the expression as written.
func (e Expectation) String() string { return e.Expr }

// CanAbort reports whether the expectation can fail for good before the
// run ends, so that abort: true can stop the run then.
func (e Expectation) CanAbort() bool { return e.abortProblem() == "" }

// BaseUnit names the unit the metric is measured in before it is
// converted to Unit: "share" (a fraction), "count", "ms", "s", "/s" or
// "ratio" (a plain number, amplification).
func (e Expectation) BaseUnit() string {
	switch e.Metric {
	case MetricRate, MetricShare:
		return "share"
	case MetricCount:
		return "count"
	case MetricLatency, MetricSendLag, MetricTTFT, MetricITL:
		return "ms"
	case MetricFirst, MetricSustained, MetricRecovery:
		return "s"
	case MetricAchievedRate:
		if e.OfOffered {
			return "share"
		}
		return "/s"
	case MetricMasked:
		if e.Unit == UnitPercent {
			return "share"
		}
		return "count"
	case MetricAmplification:
		return "ratio"
	}
	return ""
}

// Scale is what a measure in BaseUnit is multiplied by to be in Unit.
func (e Expectation) Scale() float64 {
	base := e.BaseUnit()
	switch e.Unit {
	case UnitPercent:
		return 100
	case UnitMS:
		if base == "s" {
			return 1000
		}
	case UnitS:
		if base == "ms" {
			return 1.0 / 1000
		}
	case UnitM:
		if base == "ms" {
			return 1.0 / 60000
		}
		return 1.0 / 60
	case UnitPerMinute:
		return 60
	}
	return 1
}

// Holds reports whether a measure v, in Unit, satisfies the
// expectation. An undefined measure (NaN) never does; +Inf compares as
// the largest value.
func (e Expectation) Holds(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	// Forgive the last bits of float arithmetic: 7/100 in % is
	// 7.000000000000001.
	if math.Abs(v) < 1e9 {
		v = math.Round(v*1e9) / 1e9
	}
	x := e.Value
	switch e.Op {
	case "<":
		return v < x
	case "<=":
		return v <= x
	case ">":
		return v > x
	case ">=":
		return v >= x
	case "==":
		return v == x
	case "!=":
		return v != x
	}
	return false
}

// MatchesCode reports whether a result with this code (0: no HTTP answer)
// is of the expectation's Class.
func (e Expectation) MatchesCode(code uint16) bool {
	return matchClass(e.Class, code)
}

// matchClass reports whether a result with this code (0: no HTTP answer)
// is of class: a code such as "502", a class such as "5xx", or "error".
func matchClass(class string, code uint16) bool {
	switch {
	case class == ClassError:
		return code == 0
	case class == ClassStreamCut || class == ClassStreamStall:
		return false // told by the error, not the code: see StreamClass
	case code == 0 || class == "":
		return false
	case len(class) == 3 && class[1:] == "xx":
		return int(code)/100 == int(class[0]-'0')
	}
	return class == strconv.Itoa(int(code))
}

// MarshalYAML writes the expression, or {expect, abort} with abort.
func (e Expectation) MarshalYAML() (any, error) {
	if !e.Abort {
		return e.Expr, nil
	}
	return struct {
		Expect string `yaml:"expect"`
		Abort  bool   `yaml:"abort"`
	}{e.Expr, true}, nil
}

// UnmarshalYAML reads an expectation: a string, or a mapping with expect
// and abort. The error for a bad one is a *yaml.TypeError naming the
// line of the entry; [Decode] reports the same problems with their own
// lines and the field's path.
func (e *Expectation) UnmarshalYAML(n *yaml.Node) error {
	v, problems := expectNode(n)
	if len(problems) > 0 {
		te := &yaml.TypeError{}
		for _, p := range problems {
			te.Errors = append(te.Errors, fmt.Sprintf("line %d: %s", n.Line, p.msg))
		}
		return te
	}
	*e = v
	return nil
}
