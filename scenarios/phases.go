package scenarios

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// list returns the paths of the n items of the list at path, which must
// have one (see items): none is the problem when it has none, unless an
// item could not be decoded at all.
func (c *checker) list(path string, n int, example, none string) []string {
	paths := c.items(path, n, example)
	if n == 0 && !c.brokenUnder(path) {
		c.add(path, none)
	}
	return paths
}

func (c *checker) requests(rs []Request) {
	paths := c.list("requests", len(rs), "a request such as - {path: /}",
		"no requests: add at least one, such as requests: [{method: GET, path: /}]")
	if len(rs) == 0 {
		return
	}
	for i := range rs {
		r := &rs[i]
		p := paths[i]
		if r.Method == "" {
			r.Method = "GET"
		} else {
			c.method(p+".method", r.Method)
		}
		switch {
		case r.Path == "":
			c.add(p+".path", "path is required; write one such as path: /v1/items")
		default:
			c.path(p+".path", r.Path)
		}
		c.headers(p+".headers", r.Headers)
		r.Headers = nilIfEmpty(r.Headers)
	}
}

// method checks an HTTP method: a token in upper case.
func (c *checker) method(path, m string) {
	switch {
	case !isToken(m):
		c.add(path, Quote(m)+" is not an HTTP method; write GET, POST, PUT, DELETE, PATCH, HEAD or OPTIONS")
	case strings.ToUpper(m) != m:
		c.add(path, fmt.Sprintf("method %s must be upper case; write %s", Quote(m), Cut(strings.ToUpper(m))))
	}
}

// path checks a request path or path prefix.
func (c *checker) path(path, p string) {
	switch {
	case !strings.HasPrefix(p, "/"):
		c.add(path, fmt.Sprintf("%s %s must start with /; write /%s", leaf(path), Quote(p), Cut(p)))
	case strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		c.add(path, fmt.Sprintf("%s %s holds a space or control character; encode it, such as %%20 for a space", leaf(path), Quote(p)))
	}
}

// headers checks header names and values.
func (c *checker) headers(path string, h map[string]string) {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := join(path, name)
		if !isToken(name) {
			c.add(p, Quote(name)+" is not a header name: it may hold letters, digits and - but no spaces, colons or quotes; write one such as X-Request-Id")
			continue
		}
		if strings.ContainsFunc(h[name], func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			c.add(p, fmt.Sprintf("the value of header %s holds a line break or control character; remove it", name))
		}
	}
}

func (c *checker) phases(ps []Phase) {
	paths := c.list("phases", len(ps), "a phase such as - {name: baseline, duration: 5s, rate: 50/s}",
		"no phases: add at least one, e.g. - {name: baseline, duration: 5s, rate: 50/s}")
	if len(ps) == 0 {
		return
	}
	if len(ps) > MaxPhases {
		c.add("phases", fmt.Sprintf("%d phases, more than %d: every phase is a section of each report, which would grow with them; merge neighbouring phases, or write one with ramp_to for a rate that climbs", len(ps), MaxPhases))
		return
	}
	seen := make(map[string]string)
	var total time.Duration
	over := false
	for i := range ps {
		p := &ps[i]
		path := paths[i]
		switch first, dup := seen[p.Name]; {
		case p.Name == "":
			c.add(path+".name", "name is required; give the phase one such as name: baseline")
		case dup:
			c.add(path+".name", fmt.Sprintf("phase name %s is already used by %s on line %d; give each phase its own name",
				Quote(p.Name), first, c.x.lineOnly(first+".name")))
		default:
			seen[p.Name] = path
		}

		switch set, ok := c.duration(path + ".duration"); {
		case !set:
			c.add(path+".duration", "duration is required; write one such as duration: 5s")
		case !ok:
		case p.Duration <= 0:
			c.add(path+".duration", "duration must be more than 0; write one such as duration: 5s")
		case p.Duration.D() > maxTotalDuration-total:
			over = true
		default:
			total += p.Duration.D()
		}

		switch set, ok := c.rate(path + ".rate"); {
		case !set:
			c.add(path+".rate", "rate is required; write one such as rate: 50/s")
		case !ok:
		case p.Rate.Freq == 0:
			c.add(path+".rate", "rate must be more than 0; write one such as rate: 50/s (only ramp_to may be 0/s)")
		default:
			c.maxRate(path+".rate", p.Rate)
		}

		if set, ok := c.rate(path + ".ramp_to"); set && ok && p.RampTo != nil {
			c.maxRate(path+".ramp_to", *p.RampTo)
		}

		c.faults(path+".faults", p.Faults)
		if len(p.Faults) == 0 {
			// As when the file leaves faults out.
			p.Faults = nil
		}
	}
	if over {
		c.add("phases", "the phases add up to more than 24h; shorten them")
	}
}

// faults checks the list of faults at path, and sets their lines.
func (c *checker) faults(path string, fs []Fault) {
	paths := c.items(path, len(fs), "a fault such as - {kind: reset, probability: 0.1}")
	for i := range fs {
		fs[i].Line, _ = c.x.line(paths[i])
		c.fault(paths[i], &fs[i])
	}
}

// maxRate checks that r is a rate one attacker can offer.
func (c *checker) maxRate(path string, r Rate) {
	if r.PerSecond() > maxRatePerSecond {
		c.add(path, fmt.Sprintf("%s is more than %d/s, more than one attacker can offer; write a lower rate", r, maxRatePerSecond))
	}
}

// isToken reports whether s is an HTTP token (RFC 9110, section 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0:
		default:
			return false
		}
	}
	return true
}
