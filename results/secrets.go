package results

import (
	"net/http"
	"strings"
)

// Redacted replaces the value of a secret header wherever gatecrash
// keeps one: in the records of results and in the gateway logs it copies
// into a run folder.
const Redacted = "REDACTED"

// secretNames are the header names that are secrets whole, lowercase.
var secretNames = map[string]bool{
	"authorization":       true,
	"proxy-authorization": true,
	"cookie":              true,
	"set-cookie":          true,
}

// secretWords are the words that make a header name a secret wherever
// they appear in it, lowercase: X-Api-Key, X-Session-Token,
// X-Client-Secret.
var secretWords = []string{"key", "token", "secret"}

// SecretHeader reports whether the header name (in any case) carries a
// secret: Authorization, Proxy-Authorization, Cookie, Set-Cookie, or a
// name that contains key, token or secret. This one list decides what
// every file of a run folder keeps out.
func SecretHeader(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	if secretNames[n] {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// MentionsSecret reports whether s holds, in any case, a word that a
// secret header's name (SecretHeader) contains: a text without one names
// no secret header, and a log line without one needs no closer look.
func MentionsSecret(s string) bool {
	l := strings.ToLower(s)
	for n := range secretNames {
		if strings.Contains(l, n) {
			return true
		}
	}
	for _, w := range secretWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// RedactHeader replaces, in place, every value of each secret header of h
// (SecretHeader) with Redacted, one per value, so that a reader still
// sees that the header was there and how many times. A nil h is left
// alone.
func RedactHeader(h http.Header) {
	for name, vs := range h {
		if !SecretHeader(name) {
			continue
		}
		for i := range vs {
			vs[i] = Redacted
		}
	}
}

// minSecret is the shortest header value SecretValues returns: a shorter
// one, replaced wherever it appears in a log, would cut through numbers
// and words that are no secret.
const minSecret = 6

// SecretValues returns the values of the header name: value that must
// not appear in a file gatecrash keeps, when name is a secret header
// (SecretHeader): the value itself and, for Authorization and
// Proxy-Authorization, the credentials after the scheme, for Cookie the
// value of each cookie. Values shorter than 6 bytes are left out; a
// header that is no secret has none.
func SecretValues(name, value string) []string {
	if !SecretHeader(name) {
		return nil
	}
	vs := []string{value}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "authorization", "proxy-authorization":
		if _, cred, ok := strings.Cut(strings.TrimSpace(value), " "); ok {
			vs = append(vs, strings.TrimSpace(cred))
		}
	case "cookie":
		for _, c := range strings.Split(value, ";") {
			if _, v, ok := strings.Cut(c, "="); ok {
				vs = append(vs, strings.TrimSpace(v))
			}
		}
	}
	out := vs[:0]
	for _, v := range vs {
		if len(v) >= minSecret {
			out = append(out, v)
		}
	}
	return out
}
