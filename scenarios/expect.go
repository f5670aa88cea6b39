package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

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
)

// Classes an Expectation filters on (Expectation.Class), beside status
// codes such as "502" and classes of them such as "5xx".
const (
	ClassError = "error" // requests that got no HTTP answer
)

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
//	                   kind K, or masked(reason=R) for one reason (gateway-retried,
//	                   absorbed, connection-unused, no-result); a whole number, or
//	                   % of the faults that broke an attempt (without kind)
//	send_lag(S)        how late the attacker sent, S is p50, p99 or max; ms, s or m
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

// Ops are the comparisons, longest first as the parser tries them.
var ops = []string{"<=", ">=", "==", "!=", "<", ">"}

// latencyStats and lagStats are the statistics of the latency metrics and
// of send_lag.
var (
	latencyStats = []string{"p50", "p90", "p99", "max", "mean"}
	lagStats     = []string{"p50", "p99", "max"}
)

// metricNames lists the metrics as written, in the order messages give
// them.
var metricNames = []string{"rate", "count", "p50", "p90", "p99", "max", "mean", "first", "sustained", "share", "recovery", "achieved_rate", "masked", "send_lag"}

// causeNames are the cause names a report uses (docs/report.md).
var causeNames = []string{
	"reset-before-headers", "closed-before-headers", "reset-after-headers", "closed-after-headers",
	"reset-mid-body", "closed-mid-body", "malformed-status-line", "malformed-header", "oversized-headers",
	"length-mismatch", "truncated-chunked", "malformed-response", "connection-refused", "upstream-timeout",
	"upstream-latency", "keepalive-race", "overload-rejected", "upstream-error", "upstream-5xx-passthrough",
	"upstream-status", "gateway-local", "unattributed",
}

// Causes returns the cause names share(cause=...) accepts: those a report
// gives failures.
func Causes() []string { return slices.Clone(causeNames) }

// maskedReasons are the reasons masked(reason=...) accepts.
var maskedReasons = []string{"gateway-retried", "absorbed", "connection-unused", "no-result"}

// MaskedReasons returns the reasons masked(reason=...) accepts.
func MaskedReasons() []string { return slices.Clone(maskedReasons) }

// maxExprLen bounds an expression.
const maxExprLen = 1000

// ParseExpect parses one expectation expression, such as
// "rate(status=502) < 0.5% in baseline". A problem is an *Error whose
// message says what is wrong and how to fix it; it names no file, and
// whether the phases named exist is for [Decode] to check.
func ParseExpect(text string) (Expectation, error) {
	e, problem := parseExpr(text)
	if problem != "" {
		return Expectation{}, &Error{Msg: problem}
	}
	return e, nil
}

// ParseExpectation is [ParseExpect] with abort set, which it checks the
// expectation supports.
func ParseExpectation(text string, abort bool) (Expectation, error) {
	e, err := ParseExpect(text)
	if err != nil {
		return e, err
	}
	if abort {
		if problem := e.abortProblem(); problem != "" {
			return Expectation{}, &Error{Msg: problem}
		}
		e.Abort = true
	}
	return e, nil
}

// String returns the expression as written.
func (e Expectation) String() string { return e.Expr }

// CanAbort reports whether the expectation can fail for good before the
// run ends, so that abort: true can stop the run then.
func (e Expectation) CanAbort() bool { return e.abortProblem() == "" }

// BaseUnit names the unit the metric is measured in before it is
// converted to Unit: "share" (a fraction), "count", "ms", "s" or "/s".
func (e Expectation) BaseUnit() string {
	switch e.Metric {
	case MetricRate, MetricShare:
		return "share"
	case MetricCount:
		return "count"
	case MetricLatency, MetricSendLag:
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

// expectProblem is one problem with an entry of expect:, where it is
// written and the field under the entry ("", ".expect" or ".abort").
type expectProblem struct {
	line, col int
	field     string
	msg       string
}

// expectationType is the type of an entry of expect:, for the decoder's
// messages.
var expectationType = reflect.TypeFor[Expectation]()

// entryExample is what an entry of expect: looks like.
const entryExample = `an expectation such as - rate(status=502) < 1%, or - {expect: "first(status=502) > 10s", abort: true}`

// expectNode parses the entry of expect: in n: a string or a mapping
// with expect and abort.
func expectNode(n *yaml.Node) (Expectation, []expectProblem) {
	for i := 0; i < 100 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	at := func(m *yaml.Node, field, msg string) []expectProblem {
		return []expectProblem{{line: m.Line, col: m.Column, field: field, msg: msg}}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return Expectation{}, at(n, "", "an empty item; write "+entryExample+" here, or remove the lone -")
		}
		e, problem := parseExpr(n.Value)
		if problem != "" {
			return Expectation{}, at(n, "", problem)
		}
		return e, nil
	case yaml.MappingNode:
	default:
		return Expectation{}, at(n, "", describe(n)+" is not an expectation; write "+entryExample)
	}

	var problems []expectProblem
	var expr, abort *yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		for j := 0; j < 100 && v.Kind == yaml.AliasNode && v.Alias != nil; j++ {
			v = v.Alias
		}
		name := k.Value
		if first, dup := seen[name]; dup {
			problems = append(problems, at(k, "."+name, fmt.Sprintf("%s is written twice, first on line %d; keep one", name, first))...)
			continue
		}
		seen[name] = k.Line
		switch name {
		case "expect":
			expr = v
		case "abort":
			abort = v
		default:
			problems = append(problems, at(k, "."+name, unknownField(name, []string{"expect", "abort"}))...)
		}
	}
	var e Expectation
	switch {
	case expr == nil:
		problems = append(problems, at(n, "", `expect is required in a mapping; write {expect: "first(status=502) > 10s", abort: true}`)...)
	case expr.Kind != yaml.ScalarNode || expr.ShortTag() == "!!null":
		problems = append(problems, at(expr, ".expect", describe(expr)+` is not an expectation; write one such as expect: "first(status=502) > 10s"`)...)
	default:
		var problem string
		if e, problem = parseExpr(expr.Value); problem != "" {
			problems = append(problems, at(expr, ".expect", problem)...)
		}
	}
	if abort != nil {
		switch {
		case abort.Kind != yaml.ScalarNode || abort.ShortTag() != "!!bool":
			problems = append(problems, at(abort, ".abort", describe(abort)+" is not true or false; write abort: true")...)
		case len(problems) == 0:
			e.Abort = strings.ToLower(abort.Value) == "true"
			if e.Abort {
				if problem := e.abortProblem(); problem != "" {
					problems = append(problems, at(abort, ".abort", problem)...)
				}
			}
		}
	}
	if len(problems) > 0 {
		return Expectation{}, problems
	}
	return e, nil
}

// abortProblem says why the expectation cannot abort a run, and what to
// do; "" when it can.
func (e Expectation) abortProblem() string {
	const supported = "abort works with first(...) > or >=, count(...) < or <=, max(latency) < or <=, and rate, count and latency metrics in PHASE"
	less := e.Op == "<" || e.Op == "<="
	switch e.Metric {
	case MetricFirst:
		if e.Op == ">" || e.Op == ">=" {
			return ""
		}
		return fmt.Sprintf("abort: true needs first(...) with > or >=, which fails for good at the first failure before the time; %s %s can only fail at the end: remove abort: true", e.Metric, e.Op)
	case MetricCount:
		if less || e.Phase != "" {
			return ""
		}
		return "abort: true needs count(...) with < or <= (it fails for good once the count goes past), or in PHASE (decided once that phase has ended); remove abort: true, or change the comparison"
	case MetricRate:
		if e.Phase != "" {
			return ""
		}
		return "abort: true needs a rate in a phase: a rate over the whole run is known only at its end; add in PHASE to abort once that phase has ended, or remove abort: true"
	case MetricLatency:
		if e.Phase != "" || e.Stat == "max" && less {
			return ""
		}
		return fmt.Sprintf("abort: true needs %s(latency) in a phase (decided once that phase has ended), or max(latency) with < or <=; add in PHASE, or remove abort: true", e.Stat)
	}
	name := e.Metric
	if name == MetricSustained || name == MetricShare || name == MetricRecovery || name == MetricAchievedRate || name == MetricMasked || name == MetricSendLag {
		return fmt.Sprintf("abort: true does not work with %s, which is known only at the end of the run; remove abort: true (%s)", name, supported)
	}
	return "abort: true does not work here; remove it (" + supported + ")"
}

// shorten quotes s for a message, cut to a readable length.
func shorten(s string) string {
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return strconv.Quote(s)
}

// parseExpr parses an expression, or says what is wrong with it and how
// to fix it.
func parseExpr(text string) (Expectation, string) {
	e := Expectation{Expr: text}
	s := strings.TrimSpace(text)
	switch {
	case s == "":
		return e, "the expectation is empty; write one such as rate(status=502) < 1%"
	case len(s) > maxExprLen:
		return e, fmt.Sprintf("the expectation is %d bytes long; write one of at most %d, such as rate(status=502) < 1%%", len(s), maxExprLen)
	case !utf8.ValidString(text):
		return e, "the expectation is not UTF-8 text; save the file as UTF-8"
	case strings.ContainsFunc(text, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return e, "the expectation holds a line break, a tab or another control character; write it on one line, with spaces"
	}

	// METRIC
	j := 0
	for j < len(s) && (isLower(s[j]) || isUpper(s[j]) || j > 0 && (s[j] >= '0' && s[j] <= '9' || s[j] == '_')) {
		j++
	}
	name := s[:j]
	if name == "" {
		return e, fmt.Sprintf("%s does not start with a metric; write one such as rate(status=502) < 1%% (metrics: %s)", shorten(s), strings.Join(metricNames, ", "))
	}
	if !slices.Contains(metricNames, name) {
		return e, unknownMetric(name)
	}
	head := name
	rest := strings.TrimLeft(s[j:], " \t")

	// (FILTER)
	var args []string
	parens := false
	if strings.HasPrefix(rest, "(") {
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return e, fmt.Sprintf("%s( is never closed with ); write %s", name, example(name))
		}
		parens = true
		inner := rest[1:end]
		head = name + "(" + strings.TrimSpace(inner) + ")"
		if strings.TrimSpace(inner) != "" {
			for _, a := range strings.Split(inner, ",") {
				args = append(args, strings.TrimSpace(a))
			}
		}
		rest = strings.TrimLeft(rest[end+1:], " \t")
	}
	if problem := e.metric(name, args, parens); problem != "" {
		return e, problem
	}

	// OP
	for _, op := range ops {
		if strings.HasPrefix(rest, op) {
			e.Op = op
			break
		}
	}
	switch {
	case e.Op != "":
		rest = strings.TrimLeft(rest[len(e.Op):], " \t")
	case rest == "":
		return e, fmt.Sprintf("%s has no comparison; write one of <, <=, >, >=, ==, != and a value, such as %s", head, example(name))
	case strings.HasPrefix(rest, "=<") || strings.HasPrefix(rest, "=>"):
		return e, fmt.Sprintf("%s is not a comparison; write %s", rest[:2], string(rest[1])+"=")
	case strings.HasPrefix(rest, "="):
		return e, fmt.Sprintf("= is not a comparison; write == to test equality, or <=, >=, such as %s", example(name))
	default:
		return e, fmt.Sprintf("unexpected %s after %s; write a comparison (<, <=, >, >=, ==, !=) and a value, such as %s", shorten(firstWord(rest)), head, example(name))
	}

	// VALUE[UNIT]
	k := 0
	for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
		k++
	}
	if k > 0 && k < len(rest) && rest[k] == '.' {
		k++
		d := k
		for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
			k++
		}
		if k == d {
			k-- // "5." is not a number
		}
	}
	word := firstWord(rest)
	switch {
	case rest == "":
		return e, fmt.Sprintf("%s %s has no value; write one such as %s", head, e.Op, example(name))
	case strings.HasPrefix(rest, "-"):
		return e, fmt.Sprintf("%s is negative, and no metric is; write a value of 0 or more, such as %s", shorten(word), example(name))
	case k == 0:
		return e, fmt.Sprintf("%s is not a number; write a value such as %s", shorten(word), example(name))
	case len(word) > k && (word[k] == '.' || word[k] >= '0' && word[k] <= '9'):
		return e, fmt.Sprintf("%s is not a number; write a value such as %s", shorten(word), example(name))
	}
	v, err := strconv.ParseFloat(rest[:k], 64)
	if err != nil || math.IsInf(v, 0) {
		return e, fmt.Sprintf("%s is not a number; write a value such as %s", shorten(rest[:k]), example(name))
	}
	e.Value = v
	number := rest[:k]
	e.Unit = word[k:]
	rest = strings.TrimLeft(rest[len(word):], " \t")

	// [of offered] [in PHASE]
	if w := firstWord(rest); w == "of" {
		rest = strings.TrimLeft(rest[2:], " \t")
		if firstWord(rest) != "offered" {
			return e, `"of" must be followed by offered, as in achieved_rate >= 99% of offered`
		}
		e.OfOffered = true
		rest = strings.TrimLeft(rest[len("offered"):], " \t")
	}
	switch w := firstWord(rest); {
	case w == "in" && e.Metric == MetricRecovery:
		return e, fmt.Sprintf("recovery names its phase in the filter, as in recovery(phase=%s); remove %s", e.Phase, shorten(strings.TrimSpace(rest)))
	case w == "in":
		e.Phase = strings.TrimSpace(rest[2:])
		if e.Phase == "" {
			return e, fmt.Sprintf(`"in" needs a phase's name after it, as in %s in baseline`, strings.TrimSpace(s[:len(s)-len(rest)]))
		}
	case w != "":
		if isUnitLike(w) && e.Unit == "" {
			return e, fmt.Sprintf("%s after %s: write the unit right after the number, as in %s%s", shorten(w), number, number, w)
		}
		return e, fmt.Sprintf(`unexpected %s after the value; an expectation may end with "of offered" (achieved_rate) and "in PHASE", as in %s`, shorten(w), example(name))
	}
	if problem := e.unit(name, number); problem != "" {
		return e, problem
	}
	return e, ""
}

// metric sets the metric and its filter from the name and arguments as
// written, or says what is wrong.
func (e *Expectation) metric(name string, args []string, parens bool) string {
	e.Metric = name
	switch name {
	case "rate", "count":
		return e.classFilter(name, args, parens, false)
	case "first", "sustained":
		return e.classFilter(name, args, parens, true)
	case "p50", "p90", "p99", "max", "mean":
		e.Metric, e.Stat = MetricLatency, name
		switch {
		case len(args) == 1 && args[0] == "latency":
			return ""
		case !parens || len(args) == 0:
			return fmt.Sprintf("%s needs what it measures; write %s(latency)", name, name)
		}
		return fmt.Sprintf("%s measures latency; write %s(latency), not %s(%s)", name, name, name, strings.Join(args, ", "))
	case "send_lag":
		if len(args) == 1 && slices.Contains(lagStats, args[0]) {
			e.Stat = args[0]
			return ""
		}
		if !parens || len(args) == 0 {
			return "send_lag needs a statistic; write send_lag(p99), send_lag(p50) or send_lag(max)"
		}
		return fmt.Sprintf("send_lag(%s): write send_lag(p50), send_lag(p99) or send_lag(max)", strings.Join(args, ", "))
	case "achieved_rate":
		if parens {
			return "achieved_rate takes no filter; write achieved_rate >= 99% of offered, or achieved_rate >= 100/s"
		}
		return ""
	case "masked":
		if len(args) == 0 {
			return ""
		}
		if len(args) > 1 {
			return fmt.Sprintf("masked takes one filter, got %d; write masked(kind=reset) or masked(reason=gateway-retried)", len(args))
		}
		key, val, ok := strings.Cut(args[0], "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch {
		case ok && key == "kind":
			if _, known := kindSpecs[val]; !known {
				return unknownName("fault kind", val, kinds)
			}
			e.Kind = val
			return ""
		case ok && key == "reason":
			if !slices.Contains(maskedReasons, val) {
				return unknownName("masked reason", val, maskedReasons)
			}
			e.Reason = val
			return ""
		}
		return fmt.Sprintf("masked(%s): write masked(kind=KIND), such as masked(kind=reset), or masked(reason=REASON), such as masked(reason=gateway-retried)", args[0])
	case "share":
		e.Class = "502"
		for _, a := range args {
			key, val, ok := strings.Cut(a, "=")
			key, val = strings.TrimSpace(key), strings.TrimSpace(val)
			switch {
			case ok && key == "cause":
				if e.Cause != "" {
					return "share names one cause; write share(cause=reset-before-headers)"
				}
				if !slices.Contains(causeNames, val) {
					return unknownName("cause", val, causeNames)
				}
				e.Cause = val
			default:
				if problem := e.failureClass("share", a); problem != "" {
					return problem
				}
			}
		}
		if e.Cause == "" {
			return "share needs a cause; write share(cause=reset-before-headers), or share(cause=upstream-timeout, status=504) for another class"
		}
		return ""
	case "recovery":
		e.Class = "502"
		for _, a := range args {
			key, val, ok := strings.Cut(a, "=")
			key, val = strings.TrimSpace(key), strings.TrimSpace(val)
			switch {
			case ok && key == "phase":
				if e.Phase != "" {
					return "recovery names one phase; write recovery(phase=resets)"
				}
				if val == "" {
					return "recovery(phase=) names no phase; write the name of a phase with faults, such as recovery(phase=resets)"
				}
				e.Phase = val
			default:
				if problem := e.failureClass("recovery", a); problem != "" {
					return problem
				}
			}
		}
		if e.Phase == "" {
			return "recovery needs the phase it recovers from; write recovery(phase=resets)"
		}
		return ""
	}
	return unknownMetric(name)
}

// classFilter reads the one filter of rate, count, first and sustained.
// failure restricts it to the failure classes: 5xx codes and error.
func (e *Expectation) classFilter(name string, args []string, parens, failure bool) string {
	forms := "status=502, class=5xx or error"
	if len(args) != 1 {
		if !parens || len(args) == 0 {
			return fmt.Sprintf("%s needs a filter; write %s(status=502), %s(class=5xx) or %s(error)", name, name, name, name)
		}
		return fmt.Sprintf("%s takes one filter, got %d; write %s(status=502), %s(class=5xx) or %s(error)", name, len(args), name, name, name)
	}
	a := args[0]
	if a == ClassError {
		e.Class = ClassError
		return ""
	}
	key, val, ok := strings.Cut(a, "=")
	key, val = strings.TrimSpace(key), strings.TrimSpace(val)
	switch {
	case !ok:
		if near, close := closest(a, []string{"error"}); close {
			return fmt.Sprintf("unknown filter %s (did you mean %s?); write %s", shorten(a), near, forms)
		}
		return fmt.Sprintf("unknown filter %s; write %s", shorten(a), forms)
	case key == "status":
		if len(val) == 3 && val[1:] == "xx" || len(val) == 3 && val[1:] == "XX" {
			return fmt.Sprintf("status=%s is a class; write class=%sxx", val, val[:1])
		}
		code, err := strconv.Atoi(val)
		if err != nil || !allDigits(val) || code < 100 || code > 599 {
			return fmt.Sprintf("%s is not a status code; write one from 100 to 599, such as status=502", shorten(val))
		}
		if failure && code < 500 {
			return fmt.Sprintf("%s measures when a failure class began, and status=%d is not one; give a 5xx code such as status=502, class=5xx, or error", name, code)
		}
		e.Class = strconv.Itoa(code)
		return ""
	case key == "class":
		if len(val) != 3 || val[0] < '1' || val[0] > '5' || strings.ToLower(val[1:]) != "xx" {
			return fmt.Sprintf("%s is not a status class; write one such as class=5xx (1xx to 5xx)", shorten(val))
		}
		if failure && val[0] != '5' {
			return fmt.Sprintf("%s measures when a failure class began, and class=%s is not one; write class=5xx, a 5xx code such as status=502, or error", name, val)
		}
		e.Class = val[:1] + "xx"
		return ""
	}
	msg := "unknown filter " + shorten(key)
	if near, close := closest(key, []string{"status", "class"}); close {
		msg += " (did you mean " + near + "?)"
	}
	return msg + "; write " + forms
}

// failureClass reads the class filter of share and recovery: status=N
// with a 5xx code, or error.
func (e *Expectation) failureClass(name, a string) string {
	if a == ClassError {
		e.Class = ClassError
		return ""
	}
	key, val, ok := strings.Cut(a, "=")
	key, val = strings.TrimSpace(key), strings.TrimSpace(val)
	if ok && key == "status" {
		code, err := strconv.Atoi(val)
		if err != nil || !allDigits(val) || code < 500 || code > 599 {
			return fmt.Sprintf("%s: %s is not a failure class; write a 5xx code such as status=504, or error", name, shorten(a))
		}
		e.Class = strconv.Itoa(code) // status=0502 is 502
		return ""
	}
	first := "cause=reset-before-headers"
	if name == "recovery" {
		first = "phase=resets"
	}
	return fmt.Sprintf("unknown filter %s; write %s(%s), and optionally status=504 or error for a class other than 502", shorten(a), name, first)
}

// unit checks the unit, the value, "of offered" and the scope against the
// metric.
func (e *Expectation) unit(name, number string) string {
	u := e.Unit
	if u == "pp" {
		return fmt.Sprintf("pp (percentage points) is for comparing two reports; write %s%%", number)
	}
	if e.OfOffered && e.Metric != MetricAchievedRate {
		return `"of offered" only follows achieved_rate; remove it`
	}
	switch e.Metric {
	case MetricRecovery:
		// Phase comes from the filter.
	case MetricRate, MetricCount, MetricLatency, MetricAchievedRate:
	default:
		if e.Phase != "" {
			return fmt.Sprintf("%s is measured over the whole run; remove %s", name, shorten("in "+e.Phase))
		}
	}
	times := func() string {
		switch u {
		case UnitMS, UnitS, UnitM:
			return ""
		case "":
			return fmt.Sprintf("%s has no unit; write %sms or %ss", number, number, number)
		}
		return fmt.Sprintf("unknown unit %s for %s; write ms, s or m, such as %s", shorten(u), name, example(name))
	}
	switch e.Metric {
	case MetricRate, MetricShare:
		switch u {
		case UnitPercent:
			if e.Value > 100 {
				return fmt.Sprintf("%s%% is more than all; write a share from 0%% to 100%%", number)
			}
			return ""
		case "":
			return fmt.Sprintf("%s is a share; write the value with %%, such as %s%%", name, number)
		}
		return fmt.Sprintf("unknown unit %s for %s, a share; write %%, such as %s", shorten(u), name, example(name))
	case MetricCount:
		if u != "" {
			return fmt.Sprintf("count takes no unit; write a whole number, such as count(%s) < 10", e.filterText())
		}
		if strings.Contains(number, ".") {
			return fmt.Sprintf("%s is not a whole number; a count is one, such as 10", number)
		}
		return ""
	case MetricMasked:
		switch u {
		case "":
			if strings.Contains(number, ".") {
				return fmt.Sprintf("%s is not a whole number; write a count such as masked(kind=reset) > 0, or a share such as masked >= 90%%", number)
			}
			return ""
		case UnitPercent:
			if e.Kind != "" {
				return "the report does not count the faults of each kind that broke an attempt, so masked(kind=...) takes no %; compare a count, such as masked(kind=reset) > 0"
			}
			if e.Value > 100 {
				return fmt.Sprintf("%s%% is more than all; write a share from 0%% to 100%%", number)
			}
			return ""
		}
		return fmt.Sprintf("unknown unit %s for masked; write a count such as masked(kind=reset) > 0, or a share of the faults that broke an attempt such as masked >= 90%%", shorten(u))
	case MetricLatency, MetricSendLag, MetricFirst, MetricSustained, MetricRecovery:
		return times()
	case MetricAchievedRate:
		switch {
		case e.OfOffered && u != UnitPercent:
			return fmt.Sprintf("of offered needs a %%: write achieved_rate %s %s%% of offered", e.Op, number)
		case u == UnitPercent && !e.OfOffered:
			return fmt.Sprintf("a %% of achieved_rate is a share of the offered rate; write achieved_rate %s %s%% of offered", e.Op, number)
		case u == UnitPercent, u == UnitPerSecond, u == UnitPerMinute:
			return ""
		case u == "":
			return fmt.Sprintf("achieved_rate is requests per second; write %s/s, or a share such as 99%% of offered", number)
		}
		return fmt.Sprintf("unknown unit %s for achieved_rate; write /s or /m, such as achieved_rate >= 100/s, or %% of offered", shorten(u))
	}
	return ""
}

// filterText writes the filter back, for examples.
func (e *Expectation) filterText() string {
	switch {
	case e.Class == ClassError:
		return "error"
	case strings.HasSuffix(e.Class, "xx"):
		return "class=" + e.Class
	}
	return "status=" + e.Class
}

// example gives a valid expectation with the metric name.
func example(name string) string {
	switch name {
	case "rate":
		return "rate(status=502) < 1%"
	case "count":
		return "count(status=502) < 10"
	case "p50", "p90", "p99", "max", "mean":
		return name + "(latency) < 250ms"
	case "first":
		return "first(status=502) > 10s"
	case "sustained":
		return "sustained(status=502) > 10s"
	case "share":
		return "share(cause=reset-before-headers) >= 99%"
	case "recovery":
		return "recovery(phase=resets) < 5s"
	case "achieved_rate":
		return "achieved_rate >= 99% of offered"
	case "masked":
		return "masked(kind=reset) > 0"
	case "send_lag":
		return "send_lag(p99) < 10ms"
	}
	return "rate(status=502) < 1%"
}

// unknownMetric says a metric is unknown and lists those that are.
func unknownMetric(name string) string {
	if len(name) >= 2 && (name[0] == 'p' || name[0] == 'P') && allDigits(name[1:]) {
		return fmt.Sprintf("unknown metric %s; use p50, p90, p99, max, mean", shorten(name))
	}
	msg := "unknown metric " + shorten(name)
	if near, ok := closest(name, metricNames); ok {
		msg += " (did you mean " + near + "?)"
	}
	return msg + "; use " + strings.Join(metricNames, ", ")
}

// unknownName says a name is not one of known.
func unknownName(what, name string, known []string) string {
	msg := fmt.Sprintf("unknown %s %s", what, shorten(name))
	if near, ok := closest(name, known); ok {
		msg += " (did you mean " + near + "?)"
	}
	return msg + "; use one of " + strings.Join(known, ", ")
}

// firstWord returns s up to its first space.
func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

// isUnitLike reports whether w looks like a unit written apart from its
// number.
func isUnitLike(w string) bool {
	switch w {
	case "%", "pp", "ms", "s", "m", "/s", "/m":
		return true
	}
	return false
}

func isLower(b byte) bool { return b >= 'a' && b <= 'z' }
func isUpper(b byte) bool { return b >= 'A' && b <= 'Z' }

// expectations checks the expect: list, with the phases it names, and
// sets s.Expect from it.
func (c *checker) expectations(s *Scenario) {
	s.Expect = nil
	n := c.x.get("expect")
	if n == nil || c.broken["expect"] || n.ShortTag() == "!!null" {
		return
	}
	for i := 0; i < 100 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	if n.Kind != yaml.SequenceNode {
		return // the decoder reported it
	}
	phases := make(map[string]*Phase, len(s.Phases))
	var names []string
	for i := range s.Phases {
		phases[s.Phases[i].Name] = &s.Phases[i]
		names = append(names, s.Phases[i].Name)
	}
	var out []Expectation
	for i, item := range n.Content {
		path := "expect[" + strconv.Itoa(i) + "]"
		e, problems := expectNode(item)
		for _, p := range problems {
			c.errs = append(c.errs, &Error{File: c.file, Line: p.line, Field: path + p.field, Msg: p.msg, col: p.col})
		}
		if len(problems) > 0 {
			continue
		}
		// The expression's own node, for the line of a problem.
		field, node := path, item
		for j := 0; j < 100 && node.Kind == yaml.AliasNode && node.Alias != nil; j++ {
			node = node.Alias
		}
		if node.Kind == yaml.MappingNode {
			for k := 0; k+1 < len(node.Content); k += 2 {
				if node.Content[k].Value == "expect" {
					field, node = path+".expect", node.Content[k+1]
				}
			}
		}
		fail := func(msg string) {
			c.errs = append(c.errs, &Error{File: c.file, Line: node.Line, Field: field, Msg: msg, col: node.Column})
		}
		if e.Phase != "" && len(s.Phases) > 0 {
			p, ok := phases[e.Phase]
			switch {
			case !ok:
				msg := fmt.Sprintf("no phase is named %s", shorten(e.Phase))
				if near, close := closest(e.Phase, names); close {
					msg += " (did you mean " + near + "?)"
				}
				fail(msg + "; the phases are " + strings.Join(names, ", "))
				continue
			case e.Metric == MetricRecovery && len(p.Faults) == 0:
				fail(fmt.Sprintf("phase %s has no faults, so there is nothing to recover from; name a phase with faults", e.Phase))
				continue
			case e.Metric == MetricRecovery:
				k := slices.IndexFunc(s.Phases, func(q Phase) bool { return q.Name == e.Phase })
				if k == len(s.Phases)-1 {
					fail(fmt.Sprintf("phase %s is the last one, and recovery is measured in the phases without faults that follow it; add one after it, such as - {name: recover, duration: 5s, rate: 50/s}", e.Phase))
					continue
				}
				if len(s.Phases[k+1].Faults) > 0 {
					fail(fmt.Sprintf("the phase after %s, %s, has faults too, so recovery from %s is never measured; name the last phase with faults before a phase without, or add a phase without faults after %s", e.Phase, s.Phases[k+1].Name, e.Phase, e.Phase))
					continue
				}
			}
		}
		out = append(out, e)
	}
	if len(out) == len(n.Content) && len(out) > 0 {
		s.Expect = out
	}
}
