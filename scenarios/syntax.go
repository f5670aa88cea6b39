package scenarios

import (
	"bytes"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var lineRE = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)

// syntaxError turns a YAML syntax error into an *Error. yaml.v3 leaves the
// line out on the first line and counts from 0 for some errors, so the
// line is the first one at which the file, cut there, fails the same way.
func syntaxError(file string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if l := failingLine(data, msg, line); l > 0 {
		line = l
	}
	text := ""
	if lines := bytes.Split(data, []byte("\n")); line > 0 && line <= len(lines) {
		text = string(lines[line-1])
	}
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + msg + "; " + syntaxFix(msg, text)}
}

// failingLine returns the first line n, from near hint on, such that the
// first n lines of data fail to parse with msg; 0 if there is none within
// a bounded amount of parsing.
func failingLine(data []byte, msg string, hint int) int {
	const budget = 4 << 20 // bytes parsed in all
	lines := bytes.SplitAfter(data, []byte("\n"))
	start := 1
	if hint > 2 {
		start = hint - 1
	}
	size, parsed := 0, 0
	for _, l := range lines[:min(start-1, len(lines))] {
		size += len(l)
	}
	for n := start; n <= len(lines); n++ {
		size += len(lines[n-1])
		if parsed += size; parsed > budget {
			return 0
		}
		if parseMessage(data[:size]) == msg {
			return n
		}
	}
	return 0
}

// parseMessage returns the syntax error in the first two documents of
// data, without "yaml: " and the line, or "" if they parse.
func parseMessage(data []byte) string {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for range 2 {
		var n yaml.Node
		err := decodeSafely(dec, &n)
		if err == io.EOF {
			return ""
		}
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			if m := lineRE.FindStringSubmatch(msg); m != nil {
				msg = m[2]
			}
			return msg
		}
	}
	return ""
}

// syntaxFixes are the fixes for YAML syntax errors, each for the
// messages that hold one of its phrases, tried in order.
var syntaxFixes = []struct {
	phrases []string
	fix     string
}{
	{[]string{"mapping values are not allowed"}, `a value holds ": "; put it in quotes, or check the indentation`},
	{[]string{"did not find expected key"}, "check the indentation: the fields of one mapping start in the same column"},
	{[]string{"expected '-' indicator"}, "check the indentation: the items of one list start in the same column"},
	{[]string{"cannot start any token"}, "put the value in quotes: a plain value cannot start with characters such as @ or `"},
	{[]string{"expected ',' or ']'"}, "close the list with ] and separate its items with commas"},
	{[]string{"expected ',' or '}'"}, "close the mapping with } and separate its fields with commas"},
	{[]string{"unknown anchor"}, "define the anchor with &name before using it as *name"},
	{[]string{"control characters", "UTF-8", "Unicode"}, "save the file as UTF-8 text without control characters"},
	{[]string{"end of stream", "quoted scalar"}, "close the quote or bracket opened here"},
}

// syntaxFix suggests a fix for the YAML syntax error msg on a line that
// reads text.
func syntaxFix(msg, text string) string {
	if strings.Contains(text, "\t") && (strings.Contains(msg, "tab") || strings.Contains(msg, "cannot start any token")) {
		return "indent with spaces, not tabs"
	}
	for _, f := range syntaxFixes {
		for _, phrase := range f.phrases {
			if strings.Contains(msg, phrase) {
				return f.fix
			}
		}
	}
	return "check the indentation and quoting on this line and the one before"
}
