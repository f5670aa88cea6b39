package scenarios

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (c *checker) target(t *Target) {
	switch t.Gateway {
	case "", GatewayBuiltin, GatewayNginx, GatewayHAProxy, GatewayCaddy:
		t.Gateway = cmp.Or(t.Gateway, GatewayBuiltin)
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
		msg := "unknown gateway " + Quote(t.Gateway) + "; "
		if near, ok := closest(t.Gateway, gateways); ok {
			msg += "did you mean " + near + "? "
		}
		c.add("target.gateway", msg+"use "+GatewayBuiltin+" (gatecrash's own), "+orList(managedGateways)+" (gatecrash starts the one installed), or "+GatewayNone+" with url (a gateway you run)")
	}
	if c.x.has("target.config") || t.Config != "" {
		switch {
		case t.Gateway == GatewayBuiltin || t.Gateway == GatewayNone:
			c.add("target.config", fmt.Sprintf("config applies only to gateway: %s (a template gatecrash renders and starts that gateway with); remove it, or set gateway to the one your template is for (gateway is %s)", orList(managedGateways), t.Gateway))
		case strings.TrimSpace(t.Config) == "":
			c.add("target.config", "config is empty; write the path of your template, relative to this file, such as config: nginx.conf.tmpl, or leave config out for gatecrash's own")
		case strings.ContainsFunc(t.Config, func(r rune) bool { return r < ' ' || r == 0x7f }):
			c.add("target.config", "config "+Quote(t.Config)+" holds a line break or control character; write the path of your template, such as config: nginx.conf.tmpl")
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
var gateways = slices.Concat([]string{GatewayBuiltin}, managedGateways, []string{GatewayNone})

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
func (c *checker) proxy(p *ProxySpec, gateway string) {
	c.proxyMode("proxy.mode", &p.Mode)
	if p.Listen != "" {
		c.listen("proxy.listen", p.Listen, gateway)
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
	msg := "unknown proxy mode " + Quote(mode) + "; "
	if near, ok := closest(mode, []string{ModeHTTP, ModeTCP}); ok {
		msg += "did you mean " + near + "? "
	}
	return msg + "write mode: http (the default: every fault kind) or mode: tcp (bytes only, for upstreams that do not speak plain HTTP)"
}

// listen checks an address the proxy listens on: host:port on loopback,
// or beyond it with the command line's consent; port 0 for a free one.
// Beyond loopback it serves only a gateway the user runs: gateway, the
// scenario's target.gateway, must be none.
func (c *checker) listen(path, addr, gateway string) {
	const example = "write one such as 127.0.0.1:9090 (port 0 picks a free one), or leave listen out for a free port on 127.0.0.1"
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.add(path, fmt.Sprintf("%s is not host:port; %s", Quote(addr), example))
		return
	}
	switch {
	case host == "":
		c.add(path, fmt.Sprintf("%s has %v", Quote(addr), ErrEmptyHost))
		return
	case !c.consent.Allows(host):
		c.add(path, fmt.Sprintf("%s is not a loopback address; the proxy listens only on 127.0.0.1, ::1 or localhost unless the command line consents: %s, or %s", Quote(addr), example, RefusedHost(host)))
		return
	case !LoopbackHost(host) && gateway != GatewayNone:
		c.add(path, fmt.Sprintf("%s is not on loopback, but gateway %s, which gatecrash starts, reaches the proxy on loopback: an address beyond loopback serves only a gateway you run (target.gateway: none); %s", Quote(addr), gateway, example))
		return
	}
	if n, err := strconv.Atoi(port); err != nil || !allDigits(port) || n > 65535 {
		c.add(path, fmt.Sprintf("%s has port %s; write a port from 0 to 65535, such as 127.0.0.1:9090", Quote(addr), Quote(port)))
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
	c.llm(b)
	switch {
	case b.LLM != nil:
		// Checked by llm.
	case !c.x.has("upstream.builtin.body_bytes"):
		b.BodyBytes = DefaultBodyBytes
	case !c.whole("upstream.builtin.body_bytes", "body_bytes: 512"):
	case b.BodyBytes < 0 || b.BodyBytes > MaxBodyBytes:
		c.add("upstream.builtin.body_bytes", fmt.Sprintf("body_bytes %d is out of range; write 0 to %d (10 MiB), such as 512", b.BodyBytes, MaxBodyBytes))
	}
	c.duration("upstream.builtin.latency")
}

// url checks the address of a server gatecrash sends traffic to: plain
// HTTP on loopback, or beyond it with the command line's consent.
func (c *checker) url(path, raw string) {
	const example = "http://127.0.0.1:8080"
	u, err := url.Parse(raw)
	if err != nil {
		c.add(path, fmt.Sprintf("%s is not a URL; write one such as %s", Quote(raw), example))
		return
	}
	if u.User != nil {
		// Not quoted: the value holds a password.
		c.add(path, fmt.Sprintf("the URL holds credentials (user:password@), which would be written into every record of the results; remove them, and send an Authorization header instead, in requests[].headers, such as headers: {Authorization: \"Basic ...\"}: gatecrash keeps it out of every output; write the URL as %s", redactedURL(u)))
		return
	}
	if u.Scheme != "http" {
		c.add(path, fmt.Sprintf("%s must start with http:// (gatecrash speaks plain HTTP); write one such as %s", Quote(raw), example))
		return
	}
	host := u.Hostname()
	if host == "" {
		c.add(path, fmt.Sprintf("%s has no host; write one such as %s", Quote(raw), example))
		return
	}
	if !c.consent.Allows(host) {
		c.add(path, fmt.Sprintf("%s is not a loopback address; gatecrash sends traffic only to 127.0.0.1, ::1 or localhost unless the command line consents: write one such as %s, or %s (a scenario file alone never aims traffic at another machine)", Quote(raw), example, RefusedHost(host)))
		return
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			c.add(path, fmt.Sprintf("%s has port %s; write a port from 1 to 65535, such as %s", Quote(raw), Cut(p), example))
		}
	}
}

// redactedURL returns u without its user information, cut for a message.
func redactedURL(u *url.URL) string {
	v := *u
	v.User = nil
	return Cut(v.String())
}
