package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

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

// maxExprLen bounds an expression.
const maxExprLen = 1000

// Ops are the comparisons, longest first as the parser tries them.
var ops = []string{"<=", ">=", "==", "!=", "<", ">"}

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

// shorten quotes s for a message, cut to a readable length.
func shorten(s string) string {
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return strconv.Quote(s)
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
