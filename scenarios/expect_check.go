package scenarios

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gatecrash/gatecrash/results/causes"
	"go.yaml.in/yaml/v3"
)

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
	n = unalias(n)
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return Expectation{}, problemAt(n, "", "an empty item; write "+entryExample+" here, or remove the lone -")
		}
		e, problem := parseExpr(n.Value)
		if problem != "" {
			return Expectation{}, problemAt(n, "", problem)
		}
		return e, nil
	case yaml.MappingNode:
		return expectMapping(n)
	}
	return Expectation{}, problemAt(n, "", describe(n)+" is not an expectation; write "+entryExample)
}

// problemAt is the one problem msg, written at m, with the field under
// the entry.
func problemAt(m *yaml.Node, field, msg string) []expectProblem {
	return []expectProblem{{line: m.Line, col: m.Column, field: field, msg: msg}}
}

// expectMapping parses an entry of expect: written as a mapping
// {expect: "...", abort: true}.
func expectMapping(n *yaml.Node) (Expectation, []expectProblem) {
	var problems []expectProblem
	var expr, abort *yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], unalias(n.Content[i+1])
		name := k.Value
		if first, dup := seen[name]; dup {
			problems = append(problems, problemAt(k, "."+name, fmt.Sprintf("%s is written twice, first on line %d; keep one", name, first))...)
			continue
		}
		seen[name] = k.Line
		switch name {
		case "expect":
			expr = v
		case "abort":
			abort = v
		default:
			problems = append(problems, problemAt(k, "."+name, unknownField(name, []string{"expect", "abort"}))...)
		}
	}
	var e Expectation
	switch {
	case expr == nil:
		problems = append(problems, problemAt(n, "", `expect is required in a mapping; write {expect: "first(status=502) > 10s", abort: true}`)...)
	case expr.Kind != yaml.ScalarNode || expr.ShortTag() == "!!null":
		problems = append(problems, problemAt(expr, ".expect", describe(expr)+` is not an expectation; write one such as expect: "first(status=502) > 10s"`)...)
	default:
		var problem string
		if e, problem = parseExpr(expr.Value); problem != "" {
			problems = append(problems, problemAt(expr, ".expect", problem)...)
		}
	}
	if abort != nil {
		problems = append(problems, e.abortEntry(abort, len(problems) == 0)...)
	}
	if len(problems) > 0 {
		return Expectation{}, problems
	}
	return e, nil
}

// abortEntry reads the abort of an entry, sets e.Abort when the rest of
// the entry is sound (ok), and returns the problems with it.
func (e *Expectation) abortEntry(abort *yaml.Node, ok bool) []expectProblem {
	switch {
	case abort.Kind != yaml.ScalarNode || abort.ShortTag() != "!!bool":
		return problemAt(abort, ".abort", describe(abort)+" is not true or false; write abort: true")
	case !ok:
		return nil
	}
	e.Abort = strings.ToLower(abort.Value) == "true"
	if e.Abort {
		if problem := e.abortProblem(); problem != "" {
			return problemAt(abort, ".abort", problem)
		}
	}
	return nil
}

// abortProblem says why the expectation cannot abort a run, and what to
// do; "" when it can.
func (e Expectation) abortProblem() string {
	const supported = "abort works with first(...) > or >=, count(...) < or <=, max(latency) < or <=, and rate, count and latency metrics in PHASE"
	less := e.Op == "<" || e.Op == "<="
	if e.Class == ClassUserFailure {
		return fmt.Sprintf("abort: true does not work with %s(user-failure), which is known only once every try of every request is in; remove abort: true", e.Metric)
	}
	if e.Class == ClassStreamCut || e.Class == ClassStreamStall {
		return fmt.Sprintf("abort: true does not work with %s(class=%s), which is known only once the run's streams are read; remove abort: true", e.Metric, e.Class)
	}
	if e.Metric == MetricTTFT || e.Metric == MetricITL {
		return fmt.Sprintf("abort: true does not work with %s(%s), which is known only once the run's streams are read; remove abort: true", e.Stat, e.Metric)
	}
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
	if name == MetricSustained || name == MetricShare || name == MetricRecovery || name == MetricAchievedRate || name == MetricMasked || name == MetricSendLag || name == MetricAmplification {
		return fmt.Sprintf("abort: true does not work with %s, which is known only at the end of the run; remove abort: true (%s)", name, supported)
	}
	return "abort: true does not work here; remove it (" + supported + ")"
}

// expectations checks the expect: list, with the phases it names, and
// sets s.Expect from it.
func (c *checker) expectations(s *Scenario) {
	s.Expect = nil
	n := c.x.get("expect")
	if n == nil || c.broken["expect"] || n.ShortTag() == "!!null" {
		return
	}
	n = unalias(n)
	if n.Kind != yaml.SequenceNode {
		return // the decoder reported it
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
		if problem := phaseProblem(e, s.Phases); problem != "" {
			field, node := expressionNode(item, path)
			c.errs = append(c.errs, &Error{File: c.file, Line: node.Line, Field: field, Msg: problem, col: node.Column})
			continue
		}
		out = append(out, e)
	}
	if len(out) == len(n.Content) && len(out) > 0 {
		s.Expect = out
	}
}

// lastNamed returns the index of the last phase called name, as a map of
// the phases by name holds it when two share a name (a problem Decode
// reports too); -1 when none is.
func lastNamed(phases []Phase, name string) int {
	last := -1
	for i := range phases {
		if phases[i].Name == name {
			last = i
		}
	}
	return last
}

// expressionNode returns the expression's own node in the entry item of
// expect: at path, and its field, for the line of a problem.
func expressionNode(item *yaml.Node, path string) (string, *yaml.Node) {
	field, node := path, unalias(item)
	if node.Kind == yaml.MappingNode {
		for k := 0; k+1 < len(node.Content); k += 2 {
			if node.Content[k].Value == "expect" {
				field, node = path+".expect", node.Content[k+1]
			}
		}
	}
	return field, node
}

// phaseProblem says what is wrong with the phase e names, if any, among
// phases: it must be one of them, and the one recovery is measured after
// must have faults and be followed by a phase without.
func phaseProblem(e Expectation, phases []Phase) string {
	if e.Phase == "" || len(phases) == 0 {
		return ""
	}
	k := slices.IndexFunc(phases, func(q Phase) bool { return q.Name == e.Phase })
	switch {
	case k < 0:
		names := make([]string, len(phases))
		for i := range phases {
			names[i] = phases[i].Name
		}
		msg := fmt.Sprintf("no phase is named %s", shorten(e.Phase))
		if near, close := closest(e.Phase, names); close {
			msg += " (did you mean " + near + "?)"
		}
		return msg + "; the phases are " + strings.Join(names, ", ")
	case e.Metric != MetricRecovery:
		return ""
	case len(phases[lastNamed(phases, e.Phase)].Faults) == 0:
		return fmt.Sprintf("phase %s has no faults, so there is nothing to recover from; name a phase with faults", e.Phase)
	case k == len(phases)-1:
		return fmt.Sprintf("phase %s is the last one, and recovery is measured in the phases without faults that follow it; add one after it, such as - {name: recover, duration: 5s, rate: 50/s}", e.Phase)
	case len(phases[k+1].Faults) > 0:
		return fmt.Sprintf("the phase after %s, %s, has faults too, so recovery from %s is never measured; name the last phase with faults before a phase without, or add a phase without faults after %s", e.Phase, phases[k+1].Name, e.Phase, e.Phase)
	}
	return ""
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
		return "share(cause=" + causes.ResetBeforeHeaders + ") >= 99%"
	case "recovery":
		return "recovery(phase=resets) < 5s"
	case "achieved_rate":
		return "achieved_rate >= 99% of offered"
	case "masked":
		return "masked(kind=reset) > 0"
	case "send_lag":
		return "send_lag(p99) < 10ms"
	case "amplification":
		return "amplification < 1.5"
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
