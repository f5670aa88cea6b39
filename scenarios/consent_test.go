package scenarios

import (
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
)

func TestParseConsent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		want   string // the hosts, as String gives them
	}{
		{"none", nil, ""},
		{"one name", []string{"staging-gw.internal"}, "staging-gw.internal"},
		{"lowercased", []string{"Staging-GW.Internal"}, "staging-gw.internal"},
		{"repeated and comma-separated", []string{"b.example", "a.example, 10.0.0.5"}, "10.0.0.5,a.example,b.example"},
		{"duplicates once", []string{"a.example", "A.EXAMPLE"}, "a.example"},
		{"ipv6 canonical", []string{"FD00:0::1"}, "fd00::1"},
		{"ipv6 in brackets", []string{"[fd00::1]"}, "fd00::1"},
		{"unspecified", []string{"0.0.0.0", "::0"}, "0.0.0.0,::"},
		{"container name with underscore", []string{"my_gateway"}, "my_gateway"},
		{"final dot", []string{"gw.example."}, "gw.example."},
		{"loopback is harmless", []string{"127.0.0.1"}, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConsent(tc.values...)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := c.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseConsentErrors(t *testing.T) {
	for _, tc := range []struct {
		name, value, want string
	}{
		{"empty", "", "an empty host; write a host name or an IP address, such as --allow-host staging-gw.internal or --allow-host 10.0.0.5 (separate several with commas)"},
		{"empty between commas", "a.example,,b.example", "an empty host"},
		{"trailing comma", "a.example,", "an empty host"},
		{"url", "http://staging-gw.internal:8080/v1", `"http://staging-gw.internal:8080/v1" is a URL; consent is per host, for every port and path: write --allow-host staging-gw.internal`},
		{"url with credentials", "http://u:secret@gw.example", "a URL with credentials (user:password@) is not a host; write its host alone, such as --allow-host staging-gw.internal"},
		{"ipv6 zone", "fe80::1%eth0", "is neither a host name nor an IP address"},
		{"port", "staging-gw.internal:8080", `"staging-gw.internal:8080" holds a port ("8080"); consent is per host, for every port: write --allow-host staging-gw.internal`},
		{"ipv6 with port", "[fd00::1]:9000", `holds a port ("9000"); consent is per host, for every port: write --allow-host fd00::1`},
		{"ipv4 with port", "0.0.0.0:9000", "write --allow-host 0.0.0.0"},
		{"wildcard", "*", `"*": a wildcard is not consent; name each host`},
		{"wildcard domain", "*.internal", "a wildcard is not consent"},
		{"space inside", "a b", `"a b" is neither a host name nor an IP address`},
		{"slash", "gw/v1", "is neither a host name nor an IP address"},
		{"at", "user@gw", "is neither a host name nor an IP address"},
		{"label starts with dash", "-gw.example", "is neither a host name nor an IP address"},
		{"empty label", "gw..example", "is neither a host name nor an IP address"},
		{"too long", strings.Repeat("a.", 127) + "a", "is neither a host name nor an IP address"},
		{"control", "gw\x00", `"gw\x00" is neither`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConsent("ok.example", tc.value)
			if err == nil {
				t.Fatalf("got consent %q and no error, want one containing %q", c, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("got %q, which repeats the credentials", err)
			}
			if len(c.Hosts()) != 0 {
				t.Errorf("got hosts %v with the error, want none", c.Hosts())
			}
		})
	}
}

func TestConsentAllows(t *testing.T) {
	c, err := ParseConsent("Staging-GW.internal,10.0.0.5,fd00::1,0.0.0.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true}, // loopback needs no consent
		{"localhost", true},
		{"::1", true},
		{"staging-gw.internal", true},
		{"STAGING-gw.INTERNAL", true},
		{"10.0.0.5", true},
		{"FD00:0:0::1", true},
		{"[fd00::1]", true},
		{"0.0.0.0", true},
		{"::", false}, // its own consent value
		{"", false},
		{"10.0.0.6", false},
		{"gw.internal", false}, // exact match: no suffix
		{"staging-gw.internal.evil.example", false},
		{"staging-gw.internal.", false},
		{"example.com", false},
	} {
		if got := c.Allows(tc.host); got != tc.want {
			t.Errorf("Allows(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
	var zero Consent
	for _, h := range []string{"10.0.0.5", "0.0.0.0", "::", "example.com"} {
		if zero.Allows(h) {
			t.Errorf("the zero Consent allows %q, want loopback only", h)
		}
	}
}

// TestDecodeConsentRefusals checks the messages of addresses beyond
// loopback that the command line did not consent to: each names the file,
// the line, the field and both fixes.
func TestDecodeConsentRefusals(t *testing.T) {
	other, err := ParseConsent("other.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		consent Consent
		src     string
		want    []want
	}{
		{"target url", Consent{}, withSection("target:\n  gateway: none\n  url: http://Staging-GW.internal:8080\n"),
			[]want{{4, "target.url", `"http://Staging-GW.internal:8080" is not a loopback address; gatecrash sends traffic only to 127.0.0.1, ::1 or localhost unless the command line consents: write one such as http://127.0.0.1:8080, or pass --allow-host staging-gw.internal to consent (a scenario file alone never aims traffic at another machine)`}}},
		{"target url, another host consented", other, withSection("target:\n  gateway: none\n  url: http://10.0.0.5/\n"),
			[]want{{4, "target.url", "or pass --allow-host 10.0.0.5 to consent"}}},
		{"upstream url", Consent{}, withSection("upstream:\n  url: http://10.0.0.7:9000\n"),
			[]want{{3, "upstream.url", `"http://10.0.0.7:9000" is not a loopback address; gatecrash sends traffic only to 127.0.0.1, ::1 or localhost unless the command line consents: write one such as http://127.0.0.1:8080, or pass --allow-host 10.0.0.7 to consent`}}},
		{"upstream url ipv6", Consent{}, withSection("upstream:\n  url: http://[FD00::1]:9000\n"),
			[]want{{3, "upstream.url", "or pass --allow-host fd00::1 to consent"}}},
		{"proxy listen every interface", Consent{}, withSection("target: {gateway: none, url: http://127.0.0.1:8080}\nproxy:\n  listen: 0.0.0.0:9090\n"),
			[]want{{4, "proxy.listen", `"0.0.0.0:9090" is not a loopback address; the proxy listens only on 127.0.0.1, ::1 or localhost unless the command line consents: write one such as 127.0.0.1:9090 (port 0 picks a free one), or leave listen out for a free port on 127.0.0.1, or pass --allow-host 0.0.0.0 to consent`}}},
		{"proxy listen ipv6 every interface", Consent{}, withSection("target: {gateway: none, url: http://127.0.0.1:8080}\nproxy: {listen: \"[::]:9090\"}\n"),
			[]want{{3, "proxy.listen", "or pass --allow-host :: to consent"}}},
		{"proxy listen consented, gateway started by gatecrash", mustConsent(t, "0.0.0.0"), withSection("target: {gateway: nginx}\nproxy: {listen: 0.0.0.0:9090}\n"),
			[]want{{3, "proxy.listen", `"0.0.0.0:9090" is not on loopback, but gateway nginx, which gatecrash starts, reaches the proxy on loopback: an address beyond loopback serves only a gateway you run (target.gateway: none)`}}},
		{"proxy listen consented, builtin gateway", mustConsent(t, "0.0.0.0"), withSection("proxy: {listen: 0.0.0.0:9090}\n"),
			[]want{{2, "proxy.listen", "but gateway builtin, which gatecrash starts, reaches the proxy on loopback"}}},
		{"host not a flag value", Consent{}, withSection("upstream:\n  url: http://bad_-.host*:9000\n"),
			[]want{{3, "upstream.url", "or pass --allow-host HOST to consent"}}},
		{"three at once", Consent{}, "name: demo\ntarget: {gateway: none, url: http://gw.example}\nupstream: {url: http://up.example}\nproxy: {listen: 0.0.0.0:0}\nrequests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n",
			[]want{
				{2, "target.url", "pass --allow-host gw.example to consent"},
				{3, "upstream.url", "pass --allow-host up.example to consent"},
				{4, "proxy.listen", "pass --allow-host 0.0.0.0 to consent"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.consent.Decode("staging.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("got scenario %+v and no error, want %d problems", s, len(tc.want))
			}
			checkProblems(t, err, "staging.yaml", tc.want)
		})
	}
}

// mustConsent parses hosts, or fails the test.
func mustConsent(t *testing.T, hosts ...string) Consent {
	t.Helper()
	c, err := ParseConsent(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDecodeConsentAccepts checks that consent lets a scenario aimed
// beyond loopback validate, and that it is the command line's only: the
// same file without it is refused. Nothing is sent anywhere.
func TestDecodeConsentAccepts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hosts []string
		src   string
	}{
		{"staging gateway", []string{"staging-gw.internal"}, withSection("target:\n  gateway: none\n  url: http://staging-gw.internal:8080\n")},
		{"case of the file differs", []string{"staging-gw.internal"}, withSection("target:\n  gateway: none\n  url: http://STAGING-GW.Internal\n")},
		{"upstream by ip", []string{"10.0.0.7"}, withSection("upstream:\n  url: http://10.0.0.7:9000\n")},
		{"upstream by ipv6", []string{"[fd00::1]"}, withSection("upstream:\n  url: http://[fd00:0::1]:9000\n")},
		{"everything remote", []string{"gw.example,up.example", "0.0.0.0"},
			"name: demo\ntarget: {gateway: none, url: http://gw.example}\nupstream: {url: http://up.example}\nproxy: {listen: 0.0.0.0:9090}\nrequests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n"},
		{"proxy for a gateway in a container", []string{"0.0.0.0"},
			withSection("target: {gateway: none, url: http://127.0.0.1:8080}\nproxy: {listen: 0.0.0.0:9090}\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustConsent(t, tc.hosts...)
			s, err := c.Decode("staging.yaml", []byte(tc.src))
			if err != nil {
				t.Fatalf("got %v, want the scenario", err)
			}
			if s.File != "staging.yaml" {
				t.Errorf("got file %q, want staging.yaml", s.File)
			}
			if _, err := Decode("staging.yaml", []byte(tc.src)); err == nil || !strings.Contains(err.Error(), "--allow-host") {
				t.Errorf("without consent: got %v, want a refusal naming --allow-host", err)
			}
		})
	}
}

// TestResolveConsent checks that Load and Resolve pass the consent on.
func TestResolveConsent(t *testing.T) {
	path := t.TempDir() + "/staging.yaml"
	if err := os.WriteFile(path, []byte(withSection("target:\n  gateway: none\n  url: http://staging-gw.internal:8080\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	c := mustConsent(t, "staging-gw.internal")
	if _, err := c.Resolve(path); err != nil {
		t.Errorf("Resolve with consent: got %v, want the scenario", err)
	}
	if _, err := c.Load(path); err != nil {
		t.Errorf("Load with consent: got %v, want the scenario", err)
	}
	if _, err := Resolve(path); err == nil {
		t.Error("Resolve without consent: got no error, want a refusal")
	}
	if _, err := c.Resolve(catalogName(t)); err != nil {
		t.Errorf("Resolve of a catalog scenario with consent: got %v", err)
	}
}

// catalogName is the name of a scenario of the catalog.
func catalogName(t *testing.T) string {
	t.Helper()
	cat := Catalog()
	if len(cat) == 0 {
		t.Fatal("the catalog is empty")
	}
	return cat[0].Name
}

func TestRefusedHost(t *testing.T) {
	for host, want := range map[string]string{
		"GW.example": "pass --allow-host gw.example to consent",
		"0.0.0.0":    "pass --allow-host 0.0.0.0 to consent",
		"::":         "pass --allow-host :: to consent",
		"a b":        "pass --allow-host HOST to consent",
		"":           "pass --allow-host HOST to consent",
	} {
		if got := RefusedHost(host); got != want {
			t.Errorf("RefusedHost(%q) = %q, want %q", host, got, want)
		}
	}
}

func FuzzParseConsent(f *testing.F) {
	for _, s := range []string{"", "a.example", "A.example,10.0.0.5", "[fd00::1]", "fd00::1%eth0", "0.0.0.0,::", "gw:80", "http://gw/", "*", "a,,b", " a , b ", "my_gw."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConsent(s)
		if err != nil {
			if len(c.Hosts()) != 0 {
				t.Fatalf("got hosts %v with error %v, want none", c.Hosts(), err)
			}
			return
		}
		for _, h := range c.Hosts() {
			// Every host consented to is allowed, and is a host alone:
			// no port, scheme, path or credentials.
			if !c.Allows(h) {
				t.Fatalf("ParseConsent(%q) holds %q but does not allow it", s, h)
			}
			if strings.ContainsAny(h, "/@*, \t\n") || h == "" {
				t.Fatalf("ParseConsent(%q) holds %q, not a host", s, h)
			}
			if _, _, err := net.SplitHostPort(h); err == nil {
				t.Fatalf("ParseConsent(%q) holds %q, with a port", s, h)
			}
			// The host as a URL's host comes back as itself.
			u, err := url.Parse("http://" + bracket(h) + "/")
			if err != nil {
				t.Fatalf("ParseConsent(%q) holds %q, not a URL's host: %v", s, h, err)
			}
			if !c.Allows(u.Hostname()) {
				t.Fatalf("ParseConsent(%q) holds %q, but not the URL host %q", s, h, u.Hostname())
			}
			// Parsing what String gives is the same consent.
			again, err := ParseConsent(c.String())
			if err != nil || again.String() != c.String() {
				t.Fatalf("ParseConsent(%q) = %q, which parses to %q, %v", s, c.String(), again.String(), err)
			}
		}
	})
}

// bracket puts an IPv6 address in brackets, as a URL holds it.
func bracket(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// checkLoopbackOnly fails the test unless every address of s, decoded
// without consent, is on loopback: a scenario file alone never aims
// traffic at another machine.
func checkLoopbackOnly(t *testing.T, s *Scenario) {
	t.Helper()
	for field, raw := range map[string]string{"target.url": s.Target.URL, "upstream.url": s.Upstream.URL} {
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || !LoopbackHost(u.Hostname()) {
			t.Fatalf("got %s %q with no consent, want a loopback address", field, raw)
		}
	}
	if s.Proxy.Listen != "" {
		host, _, err := net.SplitHostPort(s.Proxy.Listen)
		if err != nil || !LoopbackHost(host) {
			t.Fatalf("got proxy.listen %q with no consent, want a loopback address", s.Proxy.Listen)
		}
	}
}
