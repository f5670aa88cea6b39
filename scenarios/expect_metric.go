package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gatecrash/gatecrash/results/causes"
)

// latencyStats and lagStats are the statistics of the latency metrics and
// of send_lag.
var (
	latencyStats = []string{"p50", "p90", "p99", "max", "mean"}
	lagStats     = []string{"p50", "p99", "max"}
)

// metricNames lists the metrics as written, in the order messages give
// them.
var metricNames = []string{"rate", "count", "p50", "p90", "p99", "max", "mean", "first", "sustained", "share", "recovery", "achieved_rate", "masked", "send_lag", "amplification"}

// Masked reasons: why a fault that broke an attempt did not fail the
// request. Reports give them and masked(reason=...) accepts them.
const (
	MaskedRetried    = "gateway-retried"
	MaskedAbsorbed   = "absorbed"
	MaskedConnUnused = "connection-unused"
	MaskedNoResult   = "no-result"
	// MaskedClientRetried: a later try of the client's (client.retry)
	// reached the proxy and the request went well.
	MaskedClientRetried = "client-retried"
)

// maskedReasons are the reasons masked(reason=...) accepts.
var maskedReasons = []string{MaskedRetried, MaskedClientRetried, MaskedAbsorbed, MaskedConnUnused, MaskedNoResult}

// MaskedReasons returns the reasons masked(reason=...) accepts.
func MaskedReasons() []string { return slices.Clone(maskedReasons) }

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
		if len(args) == 1 && (args[0] == MetricTTFT || args[0] == MetricITL) {
			return e.streamFilter(name, args[0])
		}
		return e.latencyFilter(name, args, parens)
	case "send_lag":
		return e.lagFilter(args, parens)
	case "achieved_rate":
		if parens {
			return "achieved_rate takes no filter; write achieved_rate >= 99% of offered, or achieved_rate >= 100/s"
		}
		return ""
	case "masked":
		return e.maskedFilter(args)
	case "amplification":
		if parens {
			return "amplification takes no filter; write amplification < 1.5, or amplification < 1.5 in PHASE"
		}
		return ""
	case "share":
		return e.shareFilter(args)
	case "recovery":
		return e.recoveryFilter(args)
	}
	return unknownMetric(name)
}

// latencyFilter reads the filter of p50, p90, p99, max and mean: latency.
func (e *Expectation) latencyFilter(name string, args []string, parens bool) string {
	e.Metric, e.Stat = MetricLatency, name
	switch {
	case len(args) == 1 && args[0] == "latency":
		return ""
	case !parens || len(args) == 0:
		return fmt.Sprintf("%s needs what it measures; write %s(latency)", name, name)
	}
	return fmt.Sprintf("%s measures latency; write %s(latency), not %s(%s)", name, name, name, strings.Join(args, ", "))
}

// streamStats are the statistics the report gives of ttft and itl.
var streamStats = map[string][]string{MetricTTFT: {"p50", "p99"}, MetricITL: {"p99"}}

// streamFilter reads p50(ttft), p99(ttft) and p99(itl).
func (e *Expectation) streamFilter(name, what string) string {
	if !slices.Contains(streamStats[what], name) {
		if what == MetricTTFT {
			return fmt.Sprintf("the report gives p50 and p99 of ttft; write p50(ttft) or p99(ttft), not %s(ttft)", name)
		}
		return fmt.Sprintf("the report gives p99 of itl (the streams' mean inter-token latency); write p99(itl), not %s(itl)", name)
	}
	e.Metric, e.Stat = what, name
	return ""
}

// lagFilter reads the filter of send_lag: a statistic.
func (e *Expectation) lagFilter(args []string, parens bool) string {
	if len(args) == 1 && slices.Contains(lagStats, args[0]) {
		e.Stat = args[0]
		return ""
	}
	if !parens || len(args) == 0 {
		return "send_lag needs a statistic; write send_lag(p99), send_lag(p50) or send_lag(max)"
	}
	return fmt.Sprintf("send_lag(%s): write send_lag(p50), send_lag(p99) or send_lag(max)", strings.Join(args, ", "))
}

// maskedFilter reads the filter of masked, if any: kind=K or reason=R.
func (e *Expectation) maskedFilter(args []string) string {
	if len(args) == 0 {
		return ""
	}
	if len(args) > 1 {
		return fmt.Sprintf("masked takes one filter, got %d; write masked(kind=reset) or masked(reason=gateway-retried)", len(args))
	}
	key, val := cutFilter(args[0])
	switch key {
	case "kind":
		if _, known := kindSpecs[val]; !known {
			return unknownName("fault kind", val, kinds)
		}
		e.Kind = val
		return ""
	case "reason":
		if !slices.Contains(maskedReasons, val) {
			return unknownName("masked reason", val, maskedReasons)
		}
		e.Reason = val
		return ""
	}
	return fmt.Sprintf("masked(%s): write masked(kind=KIND), such as masked(kind=reset), or masked(reason=REASON), such as masked(reason=gateway-retried)", args[0])
}

// cutFilter splits a filter key=value, both trimmed; key is "" without an
// equals sign.
func cutFilter(a string) (key, val string) {
	key, val, ok := strings.Cut(a, "=")
	if !ok {
		return "", ""
	}
	return strings.TrimSpace(key), strings.TrimSpace(val)
}

// keyedFilter reads the filters of share and recovery: key=value, which
// set takes, and the failure class, 502 unless a filter says otherwise.
func (e *Expectation) keyedFilter(name string, args []string, key string, set func(val string) string) string {
	e.Class = "502"
	for _, a := range args {
		var problem string
		if k, val := cutFilter(a); k == key {
			problem = set(val)
		} else {
			problem = e.failureClass(name, a)
		}
		if problem != "" {
			return problem
		}
	}
	return ""
}

// shareFilter reads the filters of share: cause=C, and the class.
func (e *Expectation) shareFilter(args []string) string {
	problem := e.keyedFilter("share", args, "cause", func(val string) string {
		switch {
		case e.Cause != "":
			return "share names one cause; write share(cause=" + causes.ResetBeforeHeaders + ")"
		case !causes.Known(val):
			return unknownName("cause", val, causes.Names())
		}
		e.Cause = val
		return ""
	})
	if problem == "" && e.Cause == "" {
		return "share needs a cause; write share(cause=" + causes.ResetBeforeHeaders + "), or share(cause=" + causes.UpstreamTimeout + ", status=504) for another class"
	}
	return problem
}

// recoveryFilter reads the filters of recovery: phase=P, and the class.
func (e *Expectation) recoveryFilter(args []string) string {
	problem := e.keyedFilter("recovery", args, "phase", func(val string) string {
		switch {
		case e.Phase != "":
			return "recovery names one phase; write recovery(phase=resets)"
		case val == "":
			return "recovery(phase=) names no phase; write the name of a phase with faults, such as recovery(phase=resets)"
		}
		e.Phase = val
		return ""
	})
	if problem == "" && e.Phase == "" {
		return "recovery needs the phase it recovers from; write recovery(phase=resets)"
	}
	return problem
}

// classFilter reads the one filter of rate, count, first and sustained.
// failure restricts it to the failure classes: 5xx codes and error.
func (e *Expectation) classFilter(name string, args []string, parens, failure bool) string {
	forms := "status=502, class=5xx, error or user-failure"
	if failure {
		forms = "status=502, class=5xx or error"
	}
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
	if a == ClassUserFailure {
		if failure {
			return fmt.Sprintf("%s measures when a failure class began, and user-failure is a share of requests; write rate(user-failure) < 0.1%% or count(user-failure) < 10", name)
		}
		e.Class = ClassUserFailure
		return ""
	}
	key, val, ok := strings.Cut(a, "=")
	key, val = strings.TrimSpace(key), strings.TrimSpace(val)
	switch {
	case !ok && (a == ClassStreamCut || a == ClassStreamStall):
		return fmt.Sprintf("%s is a class; write %s(class=%s)", a, name, a)
	case !ok:
		if near, close := closest(a, []string{"error", ClassUserFailure}); close {
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
	case key == "class" && (val == ClassStreamCut || val == ClassStreamStall):
		if failure {
			return fmt.Sprintf("%s takes a class of answers, and %s is counted, not timed; write rate(class=%s) < 0.1%% or count(class=%s) < 10", name, val, val, val)
		}
		e.Class = val
		return ""
	case key == "class":
		if len(val) != 3 || val[0] < '1' || val[0] > '5' || strings.ToLower(val[1:]) != "xx" {
			if near, close := closest(val, []string{ClassStreamCut, ClassStreamStall}); close && !failure {
				return fmt.Sprintf("%s is not a class (did you mean %s?); write class=5xx (1xx to 5xx), class=stream-cut or class=stream-stall", shorten(val), near)
			}
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
	if a == ClassError || a == ClassUserFailure && name == "recovery" {
		e.Class = a
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
	first := "cause=" + causes.ResetBeforeHeaders
	if name == "recovery" {
		first = "phase=resets"
	}
	others := "status=504 or error"
	if name == "recovery" {
		others = "status=504, error or user-failure"
	}
	return fmt.Sprintf("unknown filter %s; write %s(%s), and optionally %s for a class other than 502", shorten(a), name, first, others)
}

// unit checks the unit, the value, "of offered" and the scope against the
// metric.
func (e *Expectation) unit(name, number string) string {
	if e.Unit == "pp" {
		return fmt.Sprintf("pp (percentage points) is for comparing two reports; write %s%%", number)
	}
	if e.OfOffered && e.Metric != MetricAchievedRate {
		return `"of offered" only follows achieved_rate; remove it`
	}
	switch e.Metric {
	case MetricRecovery:
		// Phase comes from the filter.
	case MetricRate, MetricCount, MetricLatency, MetricAchievedRate, MetricAmplification, MetricTTFT, MetricITL:
	default:
		if e.Phase != "" {
			return fmt.Sprintf("%s is measured over the whole run; remove %s", name, shorten("in "+e.Phase))
		}
	}
	switch e.Metric {
	case MetricRate, MetricShare:
		return e.shareUnit(name, number)
	case MetricCount:
		return e.countUnit(number)
	case MetricMasked:
		return e.maskedUnit(number)
	case MetricLatency, MetricSendLag, MetricFirst, MetricSustained, MetricRecovery, MetricTTFT, MetricITL:
		return e.timeUnit(name, number)
	case MetricAchievedRate:
		return e.rateUnit(number)
	case MetricAmplification:
		if e.Unit != "" {
			return fmt.Sprintf("amplification is arrivals at the upstream per request, a plain number; write amplification %s %s, without %s", e.Op, number, shorten(e.Unit))
		}
	}
	return ""
}

// shareUnit checks the unit of a share: %, up to 100.
func (e *Expectation) shareUnit(name, number string) string {
	switch e.Unit {
	case UnitPercent:
		if e.Value > 100 {
			return fmt.Sprintf("%s%% is more than all; write a share from 0%% to 100%%", number)
		}
		return ""
	case "":
		return fmt.Sprintf("%s is a share; write the value with %%, such as %s%%", name, number)
	}
	return fmt.Sprintf("unknown unit %s for %s, a share; write %%, such as %s", shorten(e.Unit), name, example(name))
}

// countUnit checks a count: a whole number, no unit.
func (e *Expectation) countUnit(number string) string {
	if e.Unit != "" {
		return fmt.Sprintf("count takes no unit; write a whole number, such as count(%s) < 10", e.filterText())
	}
	if strings.Contains(number, ".") {
		return fmt.Sprintf("%s is not a whole number; a count is one, such as 10", number)
	}
	return ""
}

// maskedUnit checks the value of masked: a count, or a share without kind.
func (e *Expectation) maskedUnit(number string) string {
	switch e.Unit {
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
	return fmt.Sprintf("unknown unit %s for masked; write a count such as masked(kind=reset) > 0, or a share of the faults that broke an attempt such as masked >= 90%%", shorten(e.Unit))
}

// timeUnit checks the unit of a time: ms, s or m.
func (e *Expectation) timeUnit(name, number string) string {
	switch e.Unit {
	case UnitMS, UnitS, UnitM:
		return ""
	case "":
		return fmt.Sprintf("%s has no unit; write %sms or %ss", number, number, number)
	}
	return fmt.Sprintf("unknown unit %s for %s; write ms, s or m, such as %s", shorten(e.Unit), name, example(name))
}

// rateUnit checks the unit of achieved_rate: /s, /m, or % of offered.
func (e *Expectation) rateUnit(number string) string {
	u := e.Unit
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

// filterText writes the filter back, for examples.
func (e *Expectation) filterText() string {
	switch {
	case e.Class == ClassError, e.Class == ClassUserFailure:
		return e.Class
	case e.Class == ClassStreamCut, e.Class == ClassStreamStall:
		return "class=" + e.Class
	case strings.HasSuffix(e.Class, "xx"):
		return "class=" + e.Class
	}
	return "status=" + e.Class
}
