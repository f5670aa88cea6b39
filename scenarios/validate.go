package scenarios

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults and limits applied by Decode.
const (
	DefaultTimeout         = 10 * time.Second // target.timeout
	DefaultUpstreamTimeout = 5 * time.Second  // target.upstream_timeout
	DefaultConnectTimeout  = time.Second      // target.connect_timeout
	DefaultBodyBytes       = 512              // upstream.builtin.body_bytes
	MaxBodyBytes           = 10 << 20         // upstream.builtin.body_bytes
)

// Bounds that keep the arithmetic of a run sane.
const (
	maxTotalDuration = 24 * time.Hour // all phases together
	maxRatePerSecond = 1_000_000      // rate and ramp_to
)

// checker collects the problems of one scenario file.
type checker struct {
	file   string
	x      *index
	errs   []*Error
	broken map[string]bool // paths whose value could not be decoded at all
	mode   string          // the proxy's mode, for the checks of faults: ModeHTTP or ModeTCP
	// modeFlag says the mode came from the command line (--mode), not
	// the file, for the messages that name it.
	modeFlag bool
}

// add records a problem with the field at path, unless that field or one
// holding it already has one.
func (c *checker) add(path, msg string) {
	for p := path; ; p = parent(p) {
		if c.broken[p] {
			return
		}
		if p == "" {
			break
		}
	}
	line, col := c.x.line(path)
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Field: path, Msg: msg, col: col})
}

// brokenUnder reports whether a value inside the field at path could not
// be decoded at all: yaml.v3 leaves such list items out, so the list may
// look empty.
func (c *checker) brokenUnder(path string) bool {
	for p := range c.broken {
		if strings.HasPrefix(p, path+"[") || strings.HasPrefix(p, path+".") {
			return true
		}
	}
	return false
}

// duration checks the duration the file writes at path. set says whether
// it writes one; ok whether that one is valid. The decoder has already
// stored a valid value.
func (c *checker) duration(path string) (set, ok bool) {
	if !c.x.has(path) {
		return false, true
	}
	if _, problem := durationNode(c.x.get(path)); problem != "" {
		c.add(path, problem)
		return true, false
	}
	return true, true
}

// rate is like duration, for a rate.
func (c *checker) rate(path string) (set, ok bool) {
	if !c.x.has(path) {
		return false, true
	}
	if _, problem := rateNode(c.x.get(path)); problem != "" {
		c.add(path, problem)
		return true, false
	}
	return true, true
}

// whole checks that the number at path, if any, is written as a whole
// number: yaml.v3 silently cuts 1.5 to 1.
func (c *checker) whole(path, example string) bool {
	if n := c.x.get(path); n != nil && n.ShortTag() == "!!float" {
		c.add(path, fmt.Sprintf("%q is not a whole number; write one such as %s", n.Value, example))
		return false
	}
	return true
}

func (c *checker) scenario(s *Scenario) {
	switch {
	case s.Name == "":
		c.add("name", "name is required; add a line such as name: my-scenario (it names the output folder)")
	default:
		if problem := nameProblem(s.Name); problem != "" {
			c.add("name", problem)
		}
	}
	c.whole("seed", "seed: 7")
	c.target(&s.Target)
	c.upstream(&s.Upstream)
	c.requests(s.Requests)
	c.proxy(&s.Proxy)
	c.phases(s.Phases)
	c.expectations(s)
}

// nameProblem says what is wrong with a scenario name, which names a
// folder.
func nameProblem(name string) string {
	ok := len(name) <= 100
	for i := 0; i < len(name) && ok; i++ {
		b := name[i]
		alnum := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
		ok = alnum || i > 0 && (b == '-' || b == '_' || b == '.')
	}
	if ok {
		return ""
	}
	if len(name) > 100 {
		return fmt.Sprintf("name is %d characters long; shorten it to 100 or fewer (it names the output folder)", len(name))
	}
	return fmt.Sprintf("name %q may hold only ASCII letters, digits, -, _ and ., starting with a letter or digit, as it names the output folder; write one such as %s",
		name, suggestName(name))
}

// suggestName makes a valid name out of name.
func suggestName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		switch {
		case r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		case (r == '_' || r == '.' || r == '-') && b.Len() > 0 && !dash:
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	s := strings.TrimRight(b.String(), "-_.")
	if s == "" {
		return "my-scenario"
	}
	return s
}

func (c *checker) target(t *Target) {
	switch t.Gateway {
	case "", GatewayBuiltin, GatewayNginx, GatewayHAProxy, GatewayCaddy:
		if t.Gateway == "" {
			t.Gateway = GatewayBuiltin
		}
		if t.URL != "" {
			c.add("target.url", fmt.Sprintf("url applies only to gateway: none; remove it, or set gateway: none to attack a gateway you run yourself (gateway %s is started by gatecrash)", t.Gateway))
		}
	case GatewayNone:
		if t.URL == "" {
			c.add("target.url", "gateway: none needs url, the address of the gateway you run; add one such as url: http://127.0.0.1:8080")
		} else {
			c.url("target.url", t.URL)
		}
	default:
		msg := fmt.Sprintf("unknown gateway %q; ", t.Gateway)
		if near, ok := closest(t.Gateway, gateways); ok {
			msg += "did you mean " + near + "? "
		}
		c.add("target.gateway", msg+"use builtin (gatecrash's own), nginx, haproxy or caddy (gatecrash starts the one installed), or none with url (a gateway you run)")
	}
	if c.x.has("target.config") || t.Config != "" {
		switch {
		case t.Gateway == GatewayBuiltin || t.Gateway == GatewayNone:
			c.add("target.config", fmt.Sprintf("config applies only to gateway: nginx, haproxy or caddy (a template gatecrash renders and starts that gateway with); remove it, or set gateway to the one your template is for (gateway is %s)", t.Gateway))
		case strings.TrimSpace(t.Config) == "":
			c.add("target.config", "config is empty; write the path of your template, relative to this file, such as config: nginx.conf.tmpl, or leave config out for gatecrash's own")
		case strings.ContainsFunc(t.Config, func(r rune) bool { return r < ' ' || r == 0x7f }):
			c.add("target.config", fmt.Sprintf("config %q holds a line break or control character; write the path of your template, such as config: nginx.conf.tmpl", t.Config))
		}
	} else if c.x.get("target.config") != nil {
		// config: with no value.
		c.add("target.config", "config is empty; write the path of your template, relative to this file, such as config: nginx.conf.tmpl, or leave config out for gatecrash's own")
	}
	c.positive("target.timeout", &t.Timeout, DefaultTimeout)
	c.positive("target.connect_timeout", &t.ConnectTimeout, DefaultConnectTimeout)
	c.positive("target.upstream_timeout", &t.UpstreamTimeout, DefaultUpstreamTimeout)
}

// gateways lists the values of target.gateway.
var gateways = []string{GatewayBuiltin, GatewayNginx, GatewayHAProxy, GatewayCaddy, GatewayNone}

// positive checks an optional duration that must be more than zero, and
// sets d to def when the file leaves it out.
func (c *checker) positive(path string, d *Duration, def time.Duration) {
	set, ok := c.duration(path)
	switch {
	case !set:
		*d = Duration(def)
	case ok && *d <= 0:
		c.add(path, fmt.Sprintf("%s must be more than 0; write one such as %s, or leave it out for %s", leaf(path), def, def))
	}
}

// proxy checks the proxy section and sets the mode the faults are
// checked for.
func (c *checker) proxy(p *ProxySpec) {
	c.proxyMode("proxy.mode", &p.Mode)
	if p.Listen != "" {
		c.listen("proxy.listen", p.Listen)
	}
}

// proxyMode checks the proxy mode at path, sets the default, and sets the
// mode the faults are checked for. It reports whether the mode is known.
func (c *checker) proxyMode(path string, mode *string) bool {
	switch *mode {
	case "":
		*mode = ModeHTTP
	case ModeHTTP, ModeTCP:
	default:
		c.add(path, modeProblem(*mode))
		return false
	}
	c.mode = *mode
	return true
}

// modeProblem is the message for an unknown proxy mode.
func modeProblem(mode string) string {
	msg := fmt.Sprintf("unknown proxy mode %q; ", mode)
	if near, ok := closest(mode, []string{ModeHTTP, ModeTCP}); ok {
		msg += "did you mean " + near + "? "
	}
	return msg + "write mode: http (the default: every fault kind) or mode: tcp (bytes only, for upstreams that do not speak plain HTTP)"
}

// listen checks an address the proxy listens on: host:port on loopback,
// port 0 for a free one.
func (c *checker) listen(path, addr string) {
	const example = "write one such as 127.0.0.1:9090 (port 0 picks a free one), or leave listen out for a free port on 127.0.0.1"
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.add(path, fmt.Sprintf("%q is not host:port; %s", addr, example))
		return
	}
	if !LoopbackHost(host) {
		c.add(path, fmt.Sprintf("%q is not a loopback address; the proxy listens only on 127.0.0.1, ::1 or localhost: %s", addr, example))
		return
	}
	if n, err := strconv.Atoi(port); err != nil || !allDigits(port) || n > 65535 {
		c.add(path, fmt.Sprintf("%q has port %q; write a port from 0 to 65535, such as 127.0.0.1:9090", addr, port))
	}
}

func (c *checker) upstream(u *Upstream) {
	if u.URL != "" {
		if u.Builtin != nil {
			c.add("upstream.url", "upstream sets both builtin and url; keep builtin for the stub gatecrash starts, or url for a server you run")
		}
		c.url("upstream.url", u.URL)
		return
	}
	if u.Builtin == nil {
		u.Builtin = &BuiltinUpstream{}
	}
	b := u.Builtin
	switch {
	case !c.x.has("upstream.builtin.body_bytes"):
		b.BodyBytes = DefaultBodyBytes
	case !c.whole("upstream.builtin.body_bytes", "body_bytes: 512"):
	case b.BodyBytes < 0 || b.BodyBytes > MaxBodyBytes:
		c.add("upstream.builtin.body_bytes", fmt.Sprintf("body_bytes %d is out of range; write 0 to %d (10 MiB), such as 512", b.BodyBytes, MaxBodyBytes))
	}
	c.duration("upstream.builtin.latency")
}

// url checks the address of a server gatecrash sends traffic to: plain
// HTTP on loopback.
func (c *checker) url(path, raw string) {
	const example = "http://127.0.0.1:8080"
	u, err := url.Parse(raw)
	if err != nil {
		c.add(path, fmt.Sprintf("%q is not a URL; write one such as %s", raw, example))
		return
	}
	if u.Scheme != "http" {
		c.add(path, fmt.Sprintf("%q must start with http:// (gatecrash speaks plain HTTP to servers on this machine); write one such as %s", raw, example))
		return
	}
	host := u.Hostname()
	if host == "" {
		c.add(path, fmt.Sprintf("%q has no host; write one such as %s", raw, example))
		return
	}
	if !LoopbackHost(host) {
		c.add(path, fmt.Sprintf("%q is not a loopback address; gatecrash sends traffic only to 127.0.0.1, ::1 or localhost, such as %s", raw, example))
		return
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			c.add(path, fmt.Sprintf("%q has port %s; write a port from 1 to 65535, such as %s", raw, p, example))
		}
	}
}

// items returns the paths of the n values that the decoder made of the
// list at path. yaml.v3 leaves out the items it cannot decode and the
// empty ones, so the i-th value is not always the file's i-th item. An
// empty item is a problem: example says what to write instead.
func (c *checker) items(path string, n int, example string) []string {
	paths := make([]string, 0, n)
	if list := c.x.get(path); list != nil && list.Kind == yaml.SequenceNode {
		for i, item := range list.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			for j := 0; j < 100 && item.Kind == yaml.AliasNode && item.Alias != nil; j++ {
				item = item.Alias
			}
			if item.Kind == yaml.ScalarNode && item.ShortTag() == "!!null" {
				c.add(p, "an empty item; write "+example+" here, or remove the lone -")
				c.broken[p] = true
				continue
			}
			if !c.broken[p] {
				paths = append(paths, p)
			}
		}
	}
	if len(paths) != n {
		paths = paths[:0]
		for i := range n {
			paths = append(paths, path+"["+strconv.Itoa(i)+"]")
		}
	}
	return paths
}

func (c *checker) requests(rs []Request) {
	paths := c.items("requests", len(rs), "a request such as - {path: /}")
	if len(rs) == 0 {
		if c.brokenUnder("requests") {
			return
		}
		c.add("requests", "no requests: add at least one, such as requests: [{method: GET, path: /}]")
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
		c.add(path, fmt.Sprintf("%q is not an HTTP method; write GET, POST, PUT, DELETE, PATCH, HEAD or OPTIONS", m))
	case strings.ToUpper(m) != m:
		c.add(path, fmt.Sprintf("method %q must be upper case; write %s", m, strings.ToUpper(m)))
	}
}

// path checks a request path or path prefix.
func (c *checker) path(path, p string) {
	switch {
	case !strings.HasPrefix(p, "/"):
		c.add(path, fmt.Sprintf("%s %q must start with /; write /%s", leaf(path), p, p))
	case strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		c.add(path, fmt.Sprintf("%s %q holds a space or control character; encode it, such as %%20 for a space", leaf(path), p))
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
			c.add(p, fmt.Sprintf("%q is not a header name: it may hold letters, digits and - but no spaces, colons or quotes; write one such as X-Request-Id", name))
			continue
		}
		if strings.ContainsFunc(h[name], func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			c.add(p, fmt.Sprintf("the value of header %s holds a line break or control character; remove it", name))
		}
	}
}

func (c *checker) phases(ps []Phase) {
	paths := c.items("phases", len(ps), "a phase such as - {name: baseline, duration: 5s, rate: 50/s}")
	if len(ps) == 0 {
		if c.brokenUnder("phases") {
			return
		}
		c.add("phases", "no phases: add at least one, e.g. - {name: baseline, duration: 5s, rate: 50/s}")
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
			c.add(path+".name", fmt.Sprintf("phase name %q is already used by %s on line %d; give each phase its own name",
				p.Name, first, c.x.lineOnly(first+".name")))
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

// nilIfEmpty returns nil for an empty map, which a file written back
// leaves out, so that it reads the same.
func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// leaf returns the last field name in path.
func leaf(path string) string {
	return path[strings.LastIndex(path, ".")+1:]
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
