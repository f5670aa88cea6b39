package advice

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The gateway kinds a Config holds, as results.Run.Gateway names them.
const (
	Nginx   = "nginx"
	HAProxy = "haproxy"
	Caddy   = "caddy"
	Builtin = "builtin"
)

// Config is the configuration of the gateway the run used.
type Config struct {
	// Kind is the gateway kind (Nginx, HAProxy, Caddy, Builtin); no rule
	// applies to another kind.
	Kind string
	// Text is the configuration as the gateway read it: the run folder's
	// gateway.conf, rendered from gatecrash's template or the user's.
	// Empty when gatecrash does not know it (the built-in gateway, a
	// gateway it did not start): no rule of a managed gateway applies.
	Text string
}

// maxDepth bounds how deep the readers nest blocks: a configuration
// deeper than that is not one a gateway reads, and its blocks below are
// read as if they were at maxDepth.
const maxDepth = 32

// node is one directive of a configuration: its name, its arguments,
// and, for a block, the directives inside it.
type node struct {
	name     string
	args     []string
	block    bool
	children []*node
	parent   *node
}

// last returns the last directive of n named name: in nginx and Caddy a
// directive written twice in one scope counts as its last.
func (n *node) last(name string) *node {
	if n == nil {
		return nil
	}
	for i := len(n.children) - 1; i >= 0; i-- {
		if n.children[i].name == name {
			return n.children[i]
		}
	}
	return nil
}

// inherited returns the directive named name in n or, unset there, in
// the nearest enclosing block that sets it (nginx's location, server,
// http inheritance).
func (n *node) inherited(name string) *node {
	for b := n; b != nil; b = b.parent {
		if d := b.last(name); d != nil {
			return d
		}
	}
	return nil
}

// find returns, depth first, the first block for which ok holds.
func (n *node) find(ok func(*node) bool) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.block && ok(c) {
			return c
		}
		if f := c.find(ok); f != nil {
			return f
		}
	}
	return nil
}

// token is one word of a configuration, or one of "{", "}", ";" and, in
// a Caddyfile, "\n"; quoted words are never one of those.
type token struct {
	text   string
	quoted bool
}

// special says whether t is the punctuation s.
func (t token) special(s string) bool { return !t.quoted && t.text == s }

// tokens splits a configuration into words: # starts a comment to the
// end of the line where a word may start, quotes (", ', and ` when
// backtick is set) group a word, a backslash escapes the next
// character. Without lines (nginx), { } ; are tokens of their own
// wherever they are; with lines (a Caddyfile), line ends are tokens, and
// a brace is one only as a word of its own (not in a placeholder such
// as {http.request.uri}).
func tokens(text string, lines, backtick bool) []token {
	var out []token
	var b strings.Builder
	inWord, quoted := false, false
	flush := func() {
		if inWord {
			out = append(out, token{b.String(), quoted})
		}
		b.Reset()
		inWord, quoted = false, false
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\n':
			flush()
			if lines {
				out = append(out, token{text: "\n"})
			}
		case c == ' ' || c == '\t' || c == '\r':
			flush()
		case c == '#' && !inWord:
			for i < len(text) && text[i] != '\n' {
				i++
			}
			i-- // the line end is a token of its own
		case !lines && (c == '{' || c == '}' || c == ';'):
			flush()
			out = append(out, token{text: string(c)})
		case c == '"' || c == '\'' || (backtick && c == '`'):
			q := c
			inWord, quoted = true, true
			for i++; i < len(text) && text[i] != q; i++ {
				if text[i] == '\\' && q != '`' && i+1 < len(text) {
					i++
				}
				b.WriteByte(text[i])
			}
		case c == '\\' && i+1 < len(text):
			i++
			b.WriteByte(text[i])
			inWord = true
		default:
			b.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return out
}

// readNginx reads an nginx configuration into its tree of directives: a
// directive ends with ";", a block is "name args { ... }". A "}" without
// its "{" is passed over, a block left open ends with the text.
func readNginx(text string) *node {
	root := &node{block: true}
	cur, depth := root, 0
	var words []string
	for _, t := range tokens(text, false, false) {
		switch {
		case t.special(";"):
			if len(words) > 0 {
				cur.children = append(cur.children, &node{name: words[0], args: words[1:], parent: cur})
			}
			words = nil
		case t.special("{"):
			name := ""
			if len(words) > 0 {
				name = words[0]
				words = words[1:]
			}
			b := &node{name: name, args: words, block: true, parent: cur}
			cur.children = append(cur.children, b)
			if depth < maxDepth {
				cur, depth = b, depth+1
			}
			words = nil
		case t.special("}"):
			words = nil
			if cur.parent != nil {
				cur, depth = cur.parent, depth-1
			}
		default:
			words = append(words, t.text)
		}
	}
	return root
}

// readCaddyfile reads a Caddyfile into its tree: one directive per line,
// a line ending with "{" opens the block of its first word, a line "}"
// closes it.
func readCaddyfile(text string) *node {
	root := &node{block: true}
	cur, depth := root, 0
	var words []string
	end := func(open bool) {
		if len(words) == 0 && !open {
			return
		}
		n := &node{parent: cur, block: open}
		if len(words) > 0 {
			n.name, n.args = words[0], words[1:]
		}
		cur.children = append(cur.children, n)
		if open && depth < maxDepth {
			cur, depth = n, depth+1
		}
		words = nil
	}
	for _, t := range tokens(text, true, true) {
		switch {
		case t.special("\n"):
			end(false)
		case t.special("{"):
			end(true)
		case t.special("}"):
			end(false)
			if cur.parent != nil {
				cur, depth = cur.parent, depth-1
			}
		default:
			words = append(words, t.text)
		}
	}
	end(false)
	return root
}

// haproxySections are the keywords that begin a section of an HAProxy
// configuration.
var haproxySections = map[string]bool{
	"global": true, "defaults": true, "frontend": true, "backend": true, "listen": true,
	"peers": true, "resolvers": true, "userlist": true, "mailers": true, "program": true,
	"http-errors": true, "cache": true, "ring": true, "log-forward": true,
}

// readHAProxy reads an HAProxy configuration into its sections, in
// order, each a block of its lines: one line a directive, its words
// split as the manual says (# to the end of the line is a comment,
// quotes and backslashes group a word). Lines before any section are
// passed over.
func readHAProxy(text string) *node {
	root := &node{block: true}
	var cur *node
	for _, line := range strings.Split(text, "\n") {
		var words []string
		for _, t := range tokens(line, false, false) {
			if !t.quoted && (t.text == "{" || t.text == "}" || t.text == ";") {
				// Not HAProxy's punctuation: part of a word.
				if n := len(words); n > 0 {
					words[n-1] += t.text
					continue
				}
			}
			words = append(words, t.text)
		}
		if len(words) == 0 {
			continue
		}
		if haproxySections[words[0]] {
			cur = &node{name: words[0], args: words[1:], block: true, parent: root}
			root.children = append(root.children, cur)
			continue
		}
		if cur != nil {
			cur.children = append(cur.children, &node{name: words[0], args: words[1:], parent: cur})
		}
	}
	return root
}

// nginxUnits are nginx's time units ("Syntax: time" in
// https://nginx.org/en/docs/syntax.html): ms, s, m, h, d, w, M (30 days)
// and y (365 days); a number without a unit is seconds.
var nginxUnits = map[string]time.Duration{
	"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
	"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "M": 30 * 24 * time.Hour, "y": 365 * 24 * time.Hour,
}

// nginxTime parses an nginx time such as 500ms, 60 or 1m30s.
func nginxTime(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("%q is not an nginx time", s)
	}
	if n, err := strconv.ParseUint(s, 10, 31); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	var total time.Duration
	for rest := s; rest != ""; {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		unit, ok := nginxUnits[rest[i:j]]
		if i == 0 || i > 9 || !ok {
			return 0, fmt.Errorf("%q is not an nginx time", s)
		}
		n, _ := strconv.Atoi(rest[:i])
		if time.Duration(n) > maxTime/unit || total > maxTime-time.Duration(n)*unit {
			return 0, fmt.Errorf("%q is too long a time", s)
		}
		total += time.Duration(n) * unit
		rest = rest[j:]
	}
	return total, nil
}

// haproxyUnits are HAProxy's time units (section 2.5 "Time format" of
// https://docs.haproxy.org/2.6/configuration.html): us, ms, s, m, h, d;
// a number without a unit is milliseconds.
var haproxyUnits = map[string]time.Duration{
	"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond, "s": time.Second,
	"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour,
}

// haproxyTime parses an HAProxy time such as 5000, 500ms or 5s.
func haproxyTime(s string) (time.Duration, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	unit, ok := haproxyUnits[s[i:]]
	if i == 0 || i > 9 || !ok {
		return 0, fmt.Errorf("%q is not an HAProxy time", s)
	}
	n, _ := strconv.Atoi(s[:i])
	if time.Duration(n) > maxTime/unit {
		return 0, fmt.Errorf("%q is too long a time", s)
	}
	return time.Duration(n) * unit, nil
}

// maxTime bounds the times the readers parse: far beyond any timeout,
// and far from time.Duration's overflow.
const maxTime = 100 * 365 * 24 * time.Hour

// caddyDuration parses a Caddyfile duration: Go's (250ms, 1m30s), plus
// whole days (2d) as https://caddyserver.com/docs/caddyfile/concepts
// ("Durations") says.
func caddyDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil || days < 0 || days > 1e4 {
			return 0, fmt.Errorf("%q is not a Caddy duration", s)
		}
		return time.Duration(days * 24 * float64(time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a Caddy duration", s)
	}
	return d, nil
}
