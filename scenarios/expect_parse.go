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
	p := &exprParser{e: Expectation{Expr: text}, s: strings.TrimSpace(text)}
	if problem := textProblem(text, p.s); problem != "" {
		return p.e, problem
	}
	p.rest = p.s
	for _, step := range []func() string{p.metricName, p.filter, p.comparison, p.value, p.scope} {
		if problem := step(); problem != "" {
			return p.e, problem
		}
	}
	if problem := p.e.unit(p.name, p.number); problem != "" {
		return p.e, problem
	}
	return p.e, ""
}

// exprParser reads an expression from left to right, one part a step:
// METRIC, (FILTER), OP, VALUE[UNIT], [of offered] [in PHASE]. Each step
// returns what is wrong with its part, or "".
type exprParser struct {
	e      Expectation
	s      string // the expression, trimmed
	rest   string // what the steps so far left unread
	name   string // the metric as written
	head   string // the metric with its filter, as messages quote it
	number string // the value as written, without its unit
}

// textProblem says what is wrong with the expression as a whole: text as
// written, s trimmed.
func textProblem(text, s string) string {
	switch {
	case s == "":
		return "the expectation is empty; write one such as rate(status=502) < 1%"
	case len(s) > maxExprLen:
		return fmt.Sprintf("the expectation is %d bytes long; write one of at most %d, such as rate(status=502) < 1%%", len(s), maxExprLen)
	case !utf8.ValidString(text):
		return "the expectation is not UTF-8 text; save the file as UTF-8"
	case strings.ContainsFunc(text, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return "the expectation holds a line break, a tab or another control character; write it on one line, with spaces"
	}
	return ""
}

// metricName reads METRIC.
func (p *exprParser) metricName() string {
	s := p.s
	j := 0
	for j < len(s) && (isLower(s[j]) || isUpper(s[j]) || j > 0 && (s[j] >= '0' && s[j] <= '9' || s[j] == '_')) {
		j++
	}
	p.name = s[:j]
	if p.name == "" {
		return fmt.Sprintf("%s does not start with a metric; write one such as rate(status=502) < 1%% (metrics: %s)", shorten(s), strings.Join(metricNames, ", "))
	}
	if !slices.Contains(metricNames, p.name) {
		return unknownMetric(p.name)
	}
	p.head = p.name
	p.rest = strings.TrimLeft(s[j:], " \t")
	return ""
}

// filter reads the (FILTER), if any, and sets the metric and its filter.
func (p *exprParser) filter() string {
	var args []string
	parens := false
	if rest := p.rest; strings.HasPrefix(rest, "(") {
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return fmt.Sprintf("%s( is never closed with ); write %s", p.name, example(p.name))
		}
		parens = true
		inner := rest[1:end]
		p.head = p.name + "(" + strings.TrimSpace(inner) + ")"
		if strings.TrimSpace(inner) != "" {
			for _, a := range strings.Split(inner, ",") {
				args = append(args, strings.TrimSpace(a))
			}
		}
		p.rest = strings.TrimLeft(rest[end+1:], " \t")
	}
	return p.e.metric(p.name, args, parens)
}

// comparison reads OP.
func (p *exprParser) comparison() string {
	rest, name := p.rest, p.name
	for _, op := range ops {
		if strings.HasPrefix(rest, op) {
			p.e.Op = op
			break
		}
	}
	switch {
	case p.e.Op != "":
		p.rest = strings.TrimLeft(rest[len(p.e.Op):], " \t")
		return ""
	case rest == "":
		return fmt.Sprintf("%s has no comparison; write one of <, <=, >, >=, ==, != and a value, such as %s", p.head, example(name))
	case strings.HasPrefix(rest, "=<") || strings.HasPrefix(rest, "=>"):
		return fmt.Sprintf("%s is not a comparison; write %s", rest[:2], string(rest[1])+"=")
	case strings.HasPrefix(rest, "="):
		return fmt.Sprintf("= is not a comparison; write == to test equality, or <=, >=, such as %s", example(name))
	}
	return fmt.Sprintf("unexpected %s after %s; write a comparison (<, <=, >, >=, ==, !=) and a value, such as %s", shorten(firstWord(rest)), p.head, example(name))
}

// value reads VALUE[UNIT].
func (p *exprParser) value() string {
	rest, name := p.rest, p.name
	k := numberLen(rest)
	word := firstWord(rest)
	switch {
	case rest == "":
		return fmt.Sprintf("%s %s has no value; write one such as %s", p.head, p.e.Op, example(name))
	case strings.HasPrefix(rest, "-"):
		return fmt.Sprintf("%s is negative, and no metric is; write a value of 0 or more, such as %s", shorten(word), example(name))
	case k == 0:
		return fmt.Sprintf("%s is not a number; write a value such as %s", shorten(word), example(name))
	case len(word) > k && (word[k] == '.' || word[k] >= '0' && word[k] <= '9'):
		return fmt.Sprintf("%s is not a number; write a value such as %s", shorten(word), example(name))
	}
	v, err := strconv.ParseFloat(rest[:k], 64)
	if err != nil || math.IsInf(v, 0) {
		return fmt.Sprintf("%s is not a number; write a value such as %s", shorten(rest[:k]), example(name))
	}
	p.e.Value = v
	p.number = rest[:k]
	p.e.Unit = word[k:]
	p.rest = strings.TrimLeft(rest[len(word):], " \t")
	return ""
}

// numberLen returns the length of the decimal number that s starts with:
// digits, and a fraction after a dot ("5." is not a number).
func numberLen(s string) int {
	k := 0
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	if k > 0 && k < len(s) && s[k] == '.' {
		k++
		d := k
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k == d {
			k-- // "5." is not a number
		}
	}
	return k
}

// scope reads [of offered] [in PHASE], the end of the expression.
func (p *exprParser) scope() string {
	e, rest := &p.e, p.rest
	if w := firstWord(rest); w == "of" {
		rest = strings.TrimLeft(rest[2:], " \t")
		if firstWord(rest) != "offered" {
			return `"of" must be followed by offered, as in achieved_rate >= 99% of offered`
		}
		e.OfOffered = true
		rest = strings.TrimLeft(rest[len("offered"):], " \t")
	}
	switch w := firstWord(rest); {
	case w == "in" && e.Metric == MetricRecovery:
		return fmt.Sprintf("recovery names its phase in the filter, as in recovery(phase=%s); remove %s", e.Phase, shorten(strings.TrimSpace(rest)))
	case w == "in":
		e.Phase = strings.TrimSpace(rest[2:])
		if e.Phase == "" {
			return fmt.Sprintf(`"in" needs a phase's name after it, as in %s in baseline`, strings.TrimSpace(p.s[:len(p.s)-len(rest)]))
		}
	case w != "":
		if isUnitLike(w) && e.Unit == "" {
			return fmt.Sprintf("%s after %s: write the unit right after the number, as in %s%s", shorten(w), p.number, p.number, w)
		}
		return fmt.Sprintf(`unexpected %s after the value; an expectation may end with "of offered" (achieved_rate) and "in PHASE", as in %s`, shorten(w), example(p.name))
	}
	p.rest = ""
	return ""
}

// shorten quotes s for a message, cut to a readable length.
func shorten(s string) string {
	return Quote(s)
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
