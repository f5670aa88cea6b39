package scenarios

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Patterns of the problems yaml.v3 reports in a *yaml.TypeError.
var (
	notFoundRE = regexp.MustCompile(`(?s)^field (.*) not found in type (\S+)$`)
	definedRE  = regexp.MustCompile(`(?s)^mapping key (.*) already defined at line (\d+)$`)
	alreadyRE  = regexp.MustCompile(`(?s)^field (.*) already set in type (\S+)$`)
	cannotRE   = regexp.MustCompile("(?s)^cannot unmarshal (\\S+)(?: `(.*)`)? into (\\S+)$")
)

// structTypes are the structs of a scenario, by the name yaml.v3 gives
// them in messages.
var structTypes = func() map[string]reflect.Type {
	m := make(map[string]reflect.Type)
	for _, t := range []reflect.Type{
		reflect.TypeFor[Scenario](), reflect.TypeFor[Target](), reflect.TypeFor[Upstream](),
		reflect.TypeFor[BuiltinUpstream](), reflect.TypeFor[Request](), reflect.TypeFor[Phase](),
		reflect.TypeFor[Fault](), reflect.TypeFor[Match](), reflect.TypeFor[Distribution](),
		reflect.TypeFor[ProxySpec](), reflect.TypeFor[FaultSet](), reflect.TypeFor[Client](),
		reflect.TypeFor[Retry](), reflect.TypeFor[Budget](), reflect.TypeFor[LLM](),
		reflect.TypeFor[ClientStream](),
	} {
		m[t.String()] = t
	}
	return m
}()

var (
	durationType = reflect.TypeFor[Duration]()
	rateType     = reflect.TypeFor[Rate]()
)

// typeError turns one problem from yaml.v3's *yaml.TypeError into an
// *Error, finding the field's path in the index.
func (c *checker) typeError(msg string) {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		c.errs = append(c.errs, &Error{File: c.file, Msg: msg + "; fix the value"})
		return
	}
	line, _ := strconv.Atoi(m[1])
	problem := m[2]
	if c.checkedLater(line, problem) {
		return
	}
	for _, t := range typeProblems {
		if sub := t.re.FindStringSubmatch(problem); sub != nil {
			field, text, col := t.explain(c, line, sub)
			c.errs = append(c.errs, &Error{File: c.file, Line: line, Field: field, Msg: text, col: col})
			return
		}
	}
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Msg: problem + "; fix the value on this line"})
}

// checkedLater reports whether problem, on line, is a bad duration, rate
// or expectation: the checks report it with its path.
func (c *checker) checkedLater(line int, problem string) bool {
	for _, v := range c.x.values[line] {
		var p string
		switch v.typ {
		case durationType:
			_, p = durationNode(v.node)
		case rateType:
			_, p = rateNode(v.node)
		case expectationType:
			_, ps := expectNode(v.node)
			for _, ep := range ps {
				if ep.msg == problem {
					return true
				}
			}
		}
		if p != "" && p == problem {
			return true
		}
	}
	return false
}

// typeProblems are the kinds of problem yaml.v3 reports, each with the
// function that finds the field and words the message: explain gets the
// submatches of re and returns the field, the message and the column.
var typeProblems = []struct {
	re      *regexp.Regexp
	explain func(c *checker, line int, m []string) (field, msg string, col int)
}{
	{notFoundRE, (*checker).notFound},
	{definedRE, (*checker).definedTwice},
	{alreadyRE, (*checker).setTwice},
	{cannotRE, (*checker).cannotDecode},
}

// notFound explains a key that is not a field of its struct (m[1]; m[2]
// is the struct's type).
func (c *checker) notFound(line int, m []string) (string, string, int) {
	name := m[1]
	if k := c.key(line, name, true); k != nil {
		known := k.known
		if k.owner == faultType {
			// Only the fields the fault's kind takes.
			known = c.faultFields(parent(k.path))
		}
		if near, ok := closest(name, known); ok {
			// A misspelt field: do not also report it missing.
			c.broken[join(parent(k.path), near)] = true
		}
		return k.path, unknownField(name, known), k.col
	}
	var known []string
	if t, ok := structTypes[m[2]]; ok {
		known = fieldNames(yamlFields(t))
	}
	return "", unknownField(name, known), 0
}

// definedTwice explains a mapping key written twice (m[1]), first on
// line m[2].
func (c *checker) definedTwice(line int, m []string) (string, string, int) {
	name := m[1]
	if s, err := strconv.Unquote(name); err == nil {
		name = s
	}
	first, _ := strconv.Atoi(m[2])
	field, col := "", 0
	if k := c.key(line, name, false); k != nil {
		// yaml.v3 leaves the whole mapping out.
		field, col = k.path, k.col
		c.broken[parent(k.path)] = true
	}
	return field, fmt.Sprintf("%s is written twice, first on line %d; keep one", name, first), col
}

// setTwice explains a field set twice (m[1]), through a merge.
func (c *checker) setTwice(line int, m []string) (string, string, int) {
	field, col := "", 0
	if k := c.key(line, m[1], false); k != nil {
		field, col = k.path, k.col
		c.broken[k.path] = true
	}
	return field, fmt.Sprintf("%s is written twice; keep one", m[1]), col
}

// cannotDecode explains a value (tag m[1], text m[2]) that does not
// decode into its Go type m[3].
func (c *checker) cannotDecode(line int, m []string) (string, string, int) {
	tag, value, goType := m[1], m[2], m[3]
	v := c.value(line, value, goType)
	field, what, col := "", describeTag(tag, value), 0
	if v != nil {
		field, col = v.path, v.col
		what = describe(v.node)
		c.broken[v.path] = true
	}
	want, fix := typeHint(goType, field)
	return field, fmt.Sprintf("%s is not %s; %s", what, want, fix), col
}

// key finds the unclaimed mapping key called name on line; unknown asks
// for a key that is not a field of its struct. When no key has that name
// (yaml.v3 names some keys differently), a lone candidate on the line
// will do.
func (c *checker) key(line int, name string, unknown bool) *keyRef {
	var lone *keyRef
	n := 0
	for _, k := range c.x.keys[line] {
		if k.used || (unknown && (k.field || k.known == nil)) {
			continue
		}
		if k.name == name {
			k.used = true
			return k
		}
		lone = k
		n++
	}
	if n == 1 && unknown {
		lone.used = true
		return lone
	}
	return nil
}

// value finds the value on line that yaml.v3 quotes as text (cut to 7
// bytes and "..." past 10) and could not decode into goType.
func (c *checker) value(line int, text, goType string) *entry {
	var fallback *entry
	for _, v := range c.x.values[line] {
		if c.broken[v.path] {
			continue
		}
		n := v.node
		switch {
		case n.Kind == yaml.ScalarNode:
			want := n.Value
			if len(want) > 10 {
				want = want[:7] + "..."
			}
			if want != text {
				continue
			}
		case text != "":
			continue
		}
		if v.typ.String() == goType {
			return v
		}
		if fallback == nil {
			fallback = v
		}
	}
	return fallback
}

// describeTag names a value yaml.v3 quotes as tag and text, when the
// value itself is not found.
func describeTag(tag, text string) string {
	switch tag {
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	}
	return Quote(text)
}

// unknownField is the message for a key that is not a field, with the
// fields known there.
func unknownField(name string, known []string) string {
	msg := "unknown field " + Quote(name)
	if near, ok := closest(name, known); ok {
		msg += fmt.Sprintf(" (did you mean %s?)", near)
	}
	if len(known) > 0 {
		msg += "; known fields here: " + strings.Join(known, ", ")
	} else {
		msg += "; remove it"
	}
	return msg
}

// typeHint says what a value decoded into goType must be, and how to
// write one, for the field at path.
func typeHint(goType, path string) (want, fix string) {
	leaf := path[strings.LastIndex(path, ".")+1:]
	switch goType {
	case "int":
		example := map[string]string{
			"code": "code: 503", "body_bytes": "body_bytes: 512", "bytes_per_second": "bytes_per_second: 1024",
			"after_bytes": "after_bytes: 1024", "size": "size: 65536", "bytes": "bytes: 64",
			"max_inflight": "max_inflight: 10", "queue": "queue: 20", "events": "events: 3",
			"max_attempts": "max_attempts: 3", "max_concurrent": "max_concurrent: 8",
		}[leaf]
		if example == "" {
			example = "10"
		}
		return "a whole number", "write one such as " + example
	case "uint64":
		return "a whole number from 0 to 18446744073709551615", "write one such as seed: 7"
	case "float64":
		switch leaf {
		case "ratio":
			return "a number", "write one more than 0 and at most 10, such as ratio: 0.1"
		case "min_per_second":
			return "a number", "write one of 0 or more, such as min_per_second: 10"
		}
		return "a number", "write a number between 0 and 1, such as probability: 0.1"
	case "bool":
		return "true or false", "write " + leaf + ": true or " + leaf + ": false"
	case "[]string":
		if leaf == "retry_on" {
			return "a list", "write one such as retry_on: [502, 503, error]"
		}
		return "a list", "write one such as [a, b]"
	case "string":
		return "a single value", "write one value, in quotes if it holds special characters"
	case "map[string]string":
		return "a mapping of names to values", "write one such as {Accept: application/json}"
	case "[]scenarios.Request":
		return "a list of requests", "write one such as [{method: GET, path: /}]"
	case "[]scenarios.Phase":
		return "a list of phases", "write one such as [{name: baseline, duration: 5s, rate: 50/s}]"
	case "[]scenarios.Fault":
		return "a list of faults", "write one such as [{kind: reset, probability: 0.1}]"
	case "[]scenarios.Expectation":
		return "a list of expectations", "write one per line under expect:, each after a -, such as - rate(status=502) < 1%"
	}
	if goType == "scenarios.Retry" {
		return "a mapping", "write one such as retry: {policy: exponential}, or retry: {max_attempts: 3, backoff: exponential, jitter: full}; policies: " + policyList
	}
	if t, ok := structTypes[goType]; ok {
		return "a mapping", "write a mapping with the fields " + strings.Join(fieldNames(yamlFields(t)), ", ")
	}
	return "a " + goType, "check the value"
}
