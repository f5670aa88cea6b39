package scenarios

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// AllowHostFlag is the command-line flag that gives consent: the fix every
// refusal of an address beyond loopback names.
const AllowHostFlag = "--allow-host"

// maxHostLen bounds a host name, as DNS does.
const maxHostLen = 253

// Consent is the set of hosts beyond loopback that the command line allows
// gatecrash to send traffic to or listen on (--allow-host). A scenario
// file can never grant it: only the person running gatecrash can. The zero
// Consent allows loopback only. A Consent is not changed after
// [ParseConsent] returns it, so it is safe for concurrent use.
//
// A host matches when it equals one consented to after lowercasing; an IP
// address matches itself, however it is written (::0 is ::). The
// unspecified addresses 0.0.0.0 and ::, which a server listens on to take
// connections from every interface, are consent values of their own.
type Consent struct {
	hosts map[string]bool // normalized by normHost
}

// ParseConsent parses the values of --allow-host: each value is one host
// or several separated by commas; spaces around a host are ignored. A host
// is a name (staging-gw.internal) or an IP address (10.0.0.5, fd00::1 or
// [fd00::1]), with neither scheme nor port: consent holds for every port.
// The error of a bad value says how to write it, and is the only one: the
// first bad value ends the parse.
func ParseConsent(values ...string) (Consent, error) {
	var c Consent
	for _, v := range values {
		for _, h := range strings.Split(v, ",") {
			h = strings.TrimSpace(h)
			if err := hostProblem(h); err != nil {
				return Consent{}, err
			}
			if c.hosts == nil {
				c.hosts = make(map[string]bool)
			}
			c.hosts[normHost(h)] = true
		}
	}
	return c, nil
}

// hostProblem says what is wrong with h as a value of --allow-host.
func hostProblem(h string) error {
	const example = AllowHostFlag + " staging-gw.internal or " + AllowHostFlag + " 10.0.0.5"
	q := Quote(h)
	switch {
	case h == "":
		return fmt.Errorf("an empty host; write a host name or an IP address, such as %s (separate several with commas)", example)
	case strings.Contains(h, "://") && strings.Contains(h, "@"):
		// Not quoted: the value holds a password.
		return fmt.Errorf("a URL with credentials (user:password@) is not a host; write its host alone, such as %s", example)
	case strings.Contains(h, "://"):
		if host, ok := urlHost(h); ok {
			return fmt.Errorf("%s is a URL; consent is per host, for every port and path: write %s %s", q, AllowHostFlag, host)
		}
		return fmt.Errorf("%s is a URL; write its host alone, such as %s", q, example)
	case h == "*" || strings.Contains(h, "*"):
		return fmt.Errorf("%s: a wildcard is not consent; name each host, such as %s, and %s 0.0.0.0 for a server to listen on every interface", q, example, AllowHostFlag)
	}
	if _, ok := ipHost(h); ok {
		return nil
	}
	if host, port, err := net.SplitHostPort(h); err == nil {
		if _, ok := ipHost(host); ok || nameOK(host) {
			return fmt.Errorf("%s holds a port (%s); consent is per host, for every port: write %s %s", q, Quote(port), AllowHostFlag, normHost(host))
		}
	}
	if !nameOK(h) {
		return fmt.Errorf("%s is neither a host name nor an IP address; write one such as %s", q, example)
	}
	return nil
}

// urlHost returns the host of a URL written as a value of --allow-host.
func urlHost(s string) (string, bool) {
	_, rest, _ := strings.Cut(s, "://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	host := rest
	if h, _, err := net.SplitHostPort(rest); err == nil {
		host = h
	}
	if _, ok := ipHost(host); ok || nameOK(host) {
		return normHost(host), true
	}
	return "", false
}

// ipHost parses h as an IP address, bare or in brackets, without a zone.
func ipHost(h string) (netip.Addr, bool) {
	bracketed := strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]")
	if bracketed {
		h = h[1 : len(h)-1]
	}
	ip, err := netip.ParseAddr(h)
	return ip, err == nil && ip.Zone() == "" && (!bracketed || ip.Is6())
}

// nameOK reports whether h is a host name: labels of ASCII letters,
// digits, - and _ (container networks use it), separated by dots, with an
// optional final dot.
func nameOK(h string) bool {
	if h == "" || len(h) > maxHostLen {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
				return false
			}
		}
	}
	return true
}

// normHost is the form in which hosts are compared: an IP address in its
// canonical form, without brackets; a name in lower case.
func normHost(h string) string {
	if ip, ok := ipHost(h); ok {
		return ip.String()
	}
	return strings.ToLower(h)
}

// Allows reports whether gatecrash may send traffic to host, or listen on
// it: a host on loopback always, any other only with consent. host is a
// name or an IP address, without a port; an empty host is never allowed
// (as a listen address it means every interface: write 0.0.0.0 or ::).
func (c Consent) Allows(host string) bool {
	if host == "" {
		return false
	}
	return LoopbackHost(host) || c.hosts[normHost(host)]
}

// Hosts returns the hosts consented to, normalized and sorted.
func (c Consent) Hosts() []string {
	out := make([]string, 0, len(c.hosts))
	for h := range c.hosts {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}

// String returns the hosts as --allow-host takes them: separated by
// commas.
func (c Consent) String() string { return strings.Join(c.Hosts(), ",") }

// Decode is [Decode], allowing the hosts of c beyond loopback in
// target.url, upstream.url and proxy.listen.
func (c Consent) Decode(file string, data []byte) (*Scenario, error) {
	return decode(file, data, false, c)
}

// Load is [Load], allowing the hosts of c beyond loopback.
func (c Consent) Load(path string) (*Scenario, error) {
	return load(path, c)
}

// Resolve is [Resolve], allowing the hosts of c beyond loopback.
func (c Consent) Resolve(arg string) (*Scenario, error) {
	return resolve(arg, c)
}

// RefusedHost is the fix for a host that c does not allow, for messages:
// "pass --allow-host HOST to consent", with the host as the flag takes it,
// or HOST when it is not one the flag takes.
func RefusedHost(host string) string {
	arg := "HOST"
	if hostProblem(host) == nil {
		arg = normHost(host)
	}
	return "pass " + AllowHostFlag + " " + arg + " to consent"
}

// ErrEmptyHost is the problem of a listen address without a host, which
// would listen on every interface.
var ErrEmptyHost = errors.New("no host, which listens on every interface; write 0.0.0.0:PORT (every IPv4 interface) or [::]:PORT with " + AllowHostFlag + " 0.0.0.0 or " + AllowHostFlag + " ::, or 127.0.0.1:PORT for loopback")
