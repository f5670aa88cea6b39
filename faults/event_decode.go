package faults

import (
	"bytes"
	"strconv"
	"time"
	"unicode/utf8"
)

// eventDecoder decodes the lines EventLog writes without encoding/json:
// their keys, with no spaces, strings without escapes, numbers and
// booleans as Go's encoder writes them. decode declines (returns false)
// any line outside that layout: a key it does not know or spelled in
// another case, a tally's or a seen observation's own fields, an escape,
// a number with a fraction or an exponent, whitespace. The caller then
// decodes the line with encoding/json, so that every line means exactly
// what encoding/json makes of it (FuzzEventDecode holds the two to the
// same Event). It interns the short strings that repeat from line to
// line (types, attacks, phases, kinds, causes, details), so that a
// million events share a few of each. An eventDecoder is not safe for
// concurrent use.
type eventDecoder struct {
	strs map[string]string
	// last holds each string field's value on the line before, which
	// the next line most often repeats: a comparison, cheaper than a
	// lookup in strs.
	last [7]string
}

// maxInterned bounds how many distinct strings an eventDecoder keeps, and
// maxInternLen how long one may be: a log whose details all differ
// interns none past the bound.
const (
	maxInterned  = 4096
	maxInternLen = 64
)

// field returns b, the value of string field f (an index in last), as a
// string: the one of the line before when it is the same, or interned.
func (d *eventDecoder) field(f int, b []byte) string {
	if string(b) == d.last[f] {
		return d.last[f]
	}
	s := d.str(b)
	d.last[f] = s
	return s
}

// str returns b as a string, interned when short.
func (d *eventDecoder) str(b []byte) string {
	if len(b) > maxInternLen {
		return string(b)
	}
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.strs == nil {
		d.strs = map[string]string{}
	}
	if len(d.strs) < maxInterned {
		d.strs[s] = s
	}
	return s
}

// decode decodes line into e, which must be the zero Event, and reports
// whether it could; on false, e holds garbage and the caller decodes line
// again, from a zero Event, with encoding/json.
func (d *eventDecoder) decode(line []byte, e *Event) bool {
	p := line
	if len(p) < 2 || p[0] != '{' || p[len(p)-1] != '}' {
		return false
	}
	p = p[1 : len(p)-1]
	for len(p) > 0 {
		key, rest, ok := quoted(p)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return false
		}
		p = rest[1:]
		switch string(key) {
		case "time":
			// time.Time decodes the quoted string itself, as
			// encoding/json calls its UnmarshalJSON.
			s, rest, ok := quoted(p)
			if !ok || !parseTime(s, &e.Time) {
				return false
			}
			p = rest
		case "type", "attack", "phase", "kind", "cause", "detail", "fault_kind":
			s, rest, ok := quoted(p)
			if !ok {
				return false
			}
			p = rest
			switch string(key) {
			case "type":
				e.Type = d.field(0, s)
			case "attack":
				e.Attack = d.field(1, s)
			case "phase":
				e.Phase = d.field(2, s)
			case "kind":
				e.Kind = d.field(3, s)
			case "cause":
				e.Cause = d.field(4, s)
			case "detail":
				e.Detail = d.field(5, s)
			case "fault_kind":
				e.FaultKind = d.field(6, s)
			}
		case "seq":
			if bytes.HasPrefix(p, []byte("null")) {
				e.Seq, p = nil, p[4:]
				break
			}
			n, rest, ok := uintLit(p)
			if !ok {
				return false
			}
			p = rest
			seq := n
			e.Seq = &seq
		case "conn", "matched", "applied":
			n, rest, ok := uintLit(p)
			if !ok {
				return false
			}
			p = rest
			switch string(key) {
			case "conn":
				e.Conn = n
			case "matched":
				e.Matched = n
			case "applied":
				e.Applied = n
			}
		case "attempt", "try", "fault", "status":
			n, rest, ok := intLit(p)
			if !ok {
				return false
			}
			p = rest
			switch string(key) {
			case "attempt":
				e.Attempt = n
			case "try":
				e.Try = n
			case "fault":
				e.Fault = n
			case "status":
				e.Status = n
			}
		case "ended", "conditional":
			var b bool
			switch {
			case bytes.HasPrefix(p, []byte("true")):
				b, p = true, p[4:]
			case bytes.HasPrefix(p, []byte("false")):
				p = p[5:]
			default:
				return false
			}
			if string(key) == "ended" {
				e.Ended = b
			} else {
				e.Conditional = b
			}
		default:
			// p and ranges (floats, arrays), keys in another case,
			// unknown keys: encoding/json's.
			return false
		}
		if len(p) == 0 {
			break
		}
		if p[0] != ',' || len(p) == 1 {
			return false
		}
		p = p[1:]
	}
	return true
}

// quoted cuts a JSON string without escapes off the front of p and
// returns its contents. It declines an escape, a control character and
// invalid UTF-8, which encoding/json rejects or rewrites.
func quoted(p []byte) (s, rest []byte, ok bool) {
	if len(p) == 0 || p[0] != '"' {
		return nil, nil, false
	}
	i := 1
	for i < len(p) && plain[p[i]] {
		i++
	}
	ascii := true
	for ; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '"':
			s = p[1:i]
			if !ascii && !utf8.Valid(s) {
				return nil, nil, false
			}
			return s, p[i+1:], true
		case c == '\\' || c < 0x20:
			return nil, nil, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, nil, false
}

// plain holds the bytes a JSON string holds as they are: printable ASCII
// but the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// uintLit cuts a JSON integer that fits a uint64 off the front of p: no
// sign, no leading zero, no fraction or exponent.
func uintLit(p []byte) (uint64, []byte, bool) {
	n := 0
	for n < len(p) && p[n] >= '0' && p[n] <= '9' {
		n++
	}
	if n == 0 || n > 1 && p[0] == '0' || n < len(p) && (p[n] == '.' || p[n] == 'e' || p[n] == 'E') {
		return 0, nil, false
	}
	if n <= 19 {
		var v uint64
		for _, c := range p[:n] {
			v = v*10 + uint64(c-'0')
		}
		return v, p[n:], true
	}
	v, err := strconv.ParseUint(string(p[:n]), 10, 64)
	if err != nil {
		return 0, nil, false
	}
	return v, p[n:], true
}

// intLit cuts a JSON integer that fits an int off the front of p.
func intLit(p []byte) (int, []byte, bool) {
	neg := len(p) > 0 && p[0] == '-'
	q := p
	if neg {
		q = p[1:]
	}
	u, rest, ok := uintLit(q)
	if !ok || u > 1<<62 {
		return 0, nil, false
	}
	if neg {
		return -int(u), rest, true
	}
	return int(u), rest, true
}

// parseTime parses what the event log writes of a time, RFC 3339 in UTC
// ("2026-01-01T00:00:00.001219999Z"), as time.Time's UnmarshalJSON does;
// anything else goes to UnmarshalJSON itself.
func parseTime(s []byte, t *time.Time) bool {
	// YYYY-MM-DDTHH:MM:SS[.frac]Z
	if len(s) < 20 || len(s) > 30 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return slowTime(s, t)
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return slowTime(s, t)
	}
	nsec := 0
	frac := s[19 : len(s)-1]
	if len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return slowTime(s, t)
		}
		v, ok := digits(frac[1:])
		if !ok {
			return slowTime(s, t)
		}
		for range 10 - len(frac) {
			v *= 10
		}
		nsec = v
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 59 {
		return slowTime(s, t)
	}
	*t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return true
}

// digits returns the number b spells in decimal digits; false when b
// holds anything else.
func digits(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// daysIn returns the number of days of month in year.
func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return int(30 + (m+m/8)%2)
}

// slowTime is parseTime by time.Time's own UnmarshalJSON.
func slowTime(s []byte, t *time.Time) bool {
	q := make([]byte, 0, len(s)+2)
	q = append(append(append(q, '"'), s...), '"')
	return t.UnmarshalJSON(q) == nil
}
