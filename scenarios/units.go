package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Fixes shown with every bad duration or rate.
const (
	durationFix = "write a Go duration such as 150ms, 3s or 1m30s"
	rateFix     = "write 100/s or 6000/m"
)

// ParseDuration parses a duration as a scenario file writes it: a Go
// duration such as 150ms, 3s or 1m30s, zero or more. A bare number has no
// unit and is an error.
func ParseDuration(text string) (Duration, error) {
	d, problem := parseDuration(text)
	if problem != "" {
		return 0, &Error{Msg: problem}
	}
	return d, nil
}

// parseDuration returns the duration, or what is wrong with text and how
// to fix it.
func parseDuration(text string) (Duration, string) {
	negative := Quote(text) + " is negative; write a duration of 0s or more, such as 1s"
	if isNumber(text) {
		if strings.HasPrefix(text, "-") {
			return 0, negative
		}
		n := strings.TrimPrefix(text, "+")
		return 0, fmt.Sprintf("%s has no unit; write %sms for milliseconds or %ss for seconds", Quote(text), Cut(n), Cut(n))
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Sprintf("%s is not a duration; %s", Quote(text), durationFix)
	}
	if d < 0 {
		return 0, negative
	}
	return Duration(d), ""
}

// String formats d as a Go duration, "150ms" or "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes d as a Go duration, "150ms".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a Go duration such as 150ms. The error for a bad
// value is a *yaml.TypeError naming the line; [Decode] reports the same
// problem with the field's path.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	return decodeNode(n, d, durationNode)
}

// durationNode parses the duration in n, or says what is wrong with it.
func durationNode(n *yaml.Node) (Duration, string) {
	if n.Kind != yaml.ScalarNode {
		return 0, fmt.Sprintf("%s is not a duration; %s", describe(n), durationFix)
	}
	return parseDuration(n.Value)
}

// ParseRate parses a rate as a scenario file writes it: N/s or N/m, with N
// a whole number of requests, 0 or more.
func ParseRate(text string) (Rate, error) {
	r, problem := parseRate(text)
	if problem != "" {
		return Rate{}, &Error{Msg: problem}
	}
	return r, nil
}

// parseRate returns the rate, or what is wrong with text and how to fix
// it.
func parseRate(text string) (Rate, string) {
	if isNumber(text) {
		n := strings.TrimPrefix(text, "+")
		return Rate{}, fmt.Sprintf("%s has no period; write %s/s for per second or %s/m for per minute", Quote(text), Cut(n), Cut(n))
	}
	num, unit, ok := strings.Cut(text, "/")
	var per time.Duration
	switch unit {
	case "s":
		per = time.Second
	case "m":
		per = time.Minute
	default:
		ok = false
	}
	freq, err := strconv.Atoi(num)
	if !ok || err != nil || freq < 0 || !allDigits(num) {
		return Rate{}, fmt.Sprintf("%s is not a rate; %s", Quote(text), rateFix)
	}
	return Rate{Freq: freq, Per: per}, ""
}

// String formats r as "100/s" or "6000/m". A period other than a second
// or a minute is written as a Go duration, "5/2s", which [ParseRate] does
// not accept.
func (r Rate) String() string {
	switch r.Per {
	case 0, time.Second:
		return strconv.Itoa(r.Freq) + "/s"
	case time.Minute:
		return strconv.Itoa(r.Freq) + "/m"
	}
	return strconv.Itoa(r.Freq) + "/" + r.Per.String()
}

// MarshalYAML writes r as "100/s" or "6000/m".
func (r Rate) MarshalYAML() (any, error) { return r.String(), nil }

// UnmarshalYAML reads a rate such as 100/s or 6000/m. The error for a bad
// value is a *yaml.TypeError naming the line; [Decode] reports the same
// problem with the field's path.
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	return decodeNode(n, r, rateNode)
}

// rateNode parses the rate in n, or says what is wrong with it.
func rateNode(n *yaml.Node) (Rate, string) {
	if n.Kind != yaml.ScalarNode {
		return Rate{}, fmt.Sprintf("%s is not a rate; %s", describe(n), rateFix)
	}
	return parseRate(n.Value)
}

// describe names the value in n for a message: the quoted text of a
// scalar, or "a list" or "a mapping".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		if n.Alias != nil && n.Alias.Kind != yaml.AliasNode {
			return describe(n.Alias)
		}
		return "an alias"
	}
	return Quote(n.Value)
}

// isNumber reports whether s is a plain decimal number such as 150, +3 or
// 1.5.
func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "+")
	s = strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return false
	}
	return (whole == "" || allDigits(whole)) && (!dot || frac == "" || allDigits(frac))
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// decodeNode stores in dst the value parse reads from n, or returns what
// is wrong with it as a *yaml.TypeError naming n's line.
func decodeNode[T any](n *yaml.Node, dst *T, parse func(*yaml.Node) (T, string)) error {
	v, problem := parse(n)
	if problem != "" {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, problem)}}
	}
	*dst = v
	return nil
}
