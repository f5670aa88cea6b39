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
