package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/scenarios"
)

// consentToken is the admin token of these tests.
const consentToken = "0123456789abcdef-consent-TOKEN"

// remoteScenario aims target.url at a host beyond loopback; no test sends
// it anything.
const remoteScenario = `name: staging
target:
  gateway: none
  url: http://staging-gw.internal:8080
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`

// TestConsentRefusals checks every refusal of an address beyond loopback,
// and of an admin API beyond it without a token: exit 2, a message naming
// the file and line or the flag, and the flag that allows it. Nothing is
// sent and nothing listens: each refusal comes first.
func TestConsentRefusals(t *testing.T) {
	t.Setenv(faults.TokenEnv, "")
	remote := writeFile(t, "staging.yaml", remoteScenario)
	upstream := writeFile(t, "up.yaml", "name: up\nupstream: {url: http://10.0.0.7:9000}\nrequests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n")
	listen := writeFile(t, "listen.yaml", "name: listen\ntarget: {gateway: none, url: http://127.0.0.1:8080}\nproxy: {listen: 0.0.0.0:0}\nrequests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n")
	out := t.TempDir() + "/out"
	const up = "127.0.0.1:1"
	tests := []struct {
		name string
		env  string // GATECRASH_ADMIN_TOKEN
		args []string
		want []string // parts of stderr
	}{
		// scenario fields, with file:line:field
		{"validate target.url", "", []string{"validate", remote},
			[]string{remote + `:4: target.url: "http://staging-gw.internal:8080" is not a loopback address`, "or pass --allow-host staging-gw.internal to consent"}},
		{"validate, another host consented", "", []string{"validate", "--allow-host", "other.internal", remote},
			[]string{remote + ":4: target.url:", "pass --allow-host staging-gw.internal to consent"}},
		{"validate upstream.url", "", []string{"validate", upstream},
			[]string{upstream + ":2: upstream.url:", "pass --allow-host 10.0.0.7 to consent"}},
		{"validate proxy.listen", "", []string{"validate", listen},
			[]string{listen + ":3: proxy.listen:", "pass --allow-host 0.0.0.0 to consent"}},
		{"run target.url", "", []string{"run", "--out", out, remote},
			[]string{remote + ":4: target.url:", "pass --allow-host staging-gw.internal to consent"}},
		{"policies target.url", "", []string{"policies", "--out", out, remote},
			[]string{remote + ":4: target.url:", "pass --allow-host staging-gw.internal to consent"}},
		{"run --proxy-listen", "", []string{"run", "--out", out, "--proxy-listen", "0.0.0.0:0", "upstream-resets"},
			[]string{`--proxy-listen: "0.0.0.0:0" is not a loopback address; use 127.0.0.1:PORT or [::1]:PORT, or pass --allow-host 0.0.0.0 to consent`}},
		{"run --proxy-listen without host", "", []string{"run", "--out", out, "--proxy-listen", ":0", "upstream-resets"},
			[]string{`--proxy-listen: ":0" has no host, which listens on every interface; write 0.0.0.0:PORT`}},
		{"run --proxy-listen for gatecrash's gateway", "", []string{"run", "--out", out, "--allow-host", "0.0.0.0", "--proxy-listen", "0.0.0.0:0", "upstream-resets"},
			[]string{`--proxy-listen: "0.0.0.0:0" is not on loopback, but gateway builtin, which gatecrash starts, reaches the proxy on loopback`}},
		// --allow-host itself
		{"allow-host with a port", "", []string{"validate", "--allow-host", "staging-gw.internal:8080", remote},
			[]string{`--allow-host: "staging-gw.internal:8080" holds a port ("8080"); consent is per host, for every port: write --allow-host staging-gw.internal`}},
		{"allow-host a URL with a password", "", []string{"run", "--out", out, "--allow-host", "http://u:PASS@gw.internal", remote},
			[]string{"--allow-host: a URL with credentials (user:password@) is not a host"}},
		{"allow-host empty", "", []string{"proxy", "--allow-host", "", "--listen", "127.0.0.1:0", "--upstream", up},
			[]string{"--allow-host: an empty host"}},
		{"allow-host wildcard", "", []string{"policies", "--out", out, "--allow-host", "*", remote},
			[]string{`--allow-host: "*": a wildcard is not consent`}},
		// proxy flags
		{"proxy --listen", "", []string{"proxy", "--listen", "0.0.0.0:9000", "--upstream", up},
			[]string{`--listen: "0.0.0.0:9000" is not a loopback address; use 127.0.0.1:PORT or [::1]:PORT, or pass --allow-host 0.0.0.0 to consent`}},
		{"proxy --listen ipv6", "", []string{"proxy", "--listen", "[::]:9000", "--upstream", up},
			[]string{"--listen:", "pass --allow-host :: to consent"}},
		{"proxy --upstream", "", []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", "http://Staging-Up.internal:8080"},
			[]string{`--upstream: "http://Staging-Up.internal:8080" is not on loopback; gatecrash sends traffic to loopback only unless the command line consents: run the upstream on 127.0.0.1 or [::1], or pass --allow-host staging-up.internal to consent`}},
		{"proxy --upstream host:port", "", []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", "10.1.2.3:80", "--allow-host", "10.1.2.4"},
			[]string{"--upstream:", "pass --allow-host 10.1.2.3 to consent"}},
		{"proxy --admin", "", []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", up, "--admin", "0.0.0.0:9001", "--admin-token", consentToken},
			[]string{`--admin: "0.0.0.0:9001" is not a loopback address; use 127.0.0.1:PORT or [::1]:PORT, or pass --allow-host 0.0.0.0 to consent`}},
		{"admin beyond loopback without a token", "", []string{"proxy", "--allow-host", "0.0.0.0", "--listen", "127.0.0.1:0", "--upstream", up, "--admin", "0.0.0.0:9001"},
			[]string{`--admin "0.0.0.0:9001": the admin API beyond loopback needs a bearer token, which every request must then send (Authorization: Bearer TOKEN): give it with --admin-token TOKEN or the environment variable GATECRASH_ADMIN_TOKEN`}},
		{"admin token too short", "", []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", up, "--admin-token", "hunter2"},
			[]string{"--admin-token: the token has 7 characters, fewer than 16, and could be guessed"}},
		{"admin token empty", "", []string{"proxy", "--allow-host", "0.0.0.0", "--listen", "127.0.0.1:0", "--upstream", up, "--admin", "0.0.0.0:9001", "--admin-token", ""},
			[]string{"--admin-token: the token is empty"}},
		{"admin token from the environment too short", "hunter2", []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", up},
			[]string{"GATECRASH_ADMIN_TOKEN: the token has 7 characters"}},
		{"admin token with a space", "", []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", up, "--admin-token", "hunter2 hunter2 hunter2"},
			[]string{"--admin-token: the token holds a space"}},
		{"every problem at once", "", []string{"proxy", "--listen", "0.0.0.0:1", "--upstream", "10.0.0.1:80", "--admin", "10.0.0.2:1"},
			[]string{"--listen:", "--upstream:", "--admin:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(faults.TokenEnv, tt.env)
			code, stdout, stderr := gatecrash(t, tt.args...)
			if code != exitInput {
				t.Errorf("exit %d, want 2; stdout: %s stderr: %s", code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, secret := range []string{"PASS", "hunter2", consentToken} {
				if strings.Contains(stdout+stderr, secret) {
					t.Errorf("the output repeats the secret %q:\n%s%s", secret, stdout, stderr)
				}
			}
		})
	}
}

// TestConsentAccepts checks that the command line's consent lets the
// same addresses through, without sending anything or listening:
// validate, run's and policies' checks before a run, and the proxy's
// flags.
func TestConsentAccepts(t *testing.T) {
	remote := writeFile(t, "staging.yaml", remoteScenario)
	both := writeFile(t, "both.yaml", "name: both\ntarget: {gateway: none, url: http://gw.example}\nupstream: {url: http://10.0.0.7:9000}\nproxy: {listen: 0.0.0.0:0}\nrequests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n")

	t.Run("validate", func(t *testing.T) {
		code, stdout, stderr := gatecrash(t, "validate", "--allow-host", "STAGING-gw.internal", "--allow-host", "gw.example,10.0.0.7", "--allow-host=0.0.0.0", remote, both)
		if code != exitOK {
			t.Fatalf("exit %d, want 0; stderr: %s", code, stderr)
		}
		for _, w := range []string{
			remote + ": ok (staging, 1 phases, 1s; beyond loopback, by consent: target.url staging-gw.internal)",
			both + ": ok (both, 1 phases, 1s; beyond loopback, by consent: target.url gw.example, upstream.url 10.0.0.7, proxy.listen 0.0.0.0)",
		} {
			if !strings.Contains(stdout, w) {
				t.Errorf("stdout lacks %q:\n%s", w, stdout)
			}
		}
	})
	t.Run("validate loopback says nothing of consent", func(t *testing.T) {
		code, stdout, stderr := gatecrash(t, "validate", "upstream-resets")
		if code != exitOK || strings.Contains(stdout, "consent") {
			t.Errorf("exit %d, stdout %q, stderr %q; want 0 and no word of consent", code, stdout, stderr)
		}
	})
	for _, cmd := range []string{"run", "policies"} {
		t.Run(cmd, func(t *testing.T) {
			args := []string{"--allow-host", "gw.example,10.0.0.7,0.0.0.0", "--proxy-listen", "0.0.0.0:0", both}
			var err error
			if cmd == "run" {
				rf, perr := parseRunFlags(args, io.Discard)
				if perr != nil {
					t.Fatal(perr)
				}
				opt := rf.opt
				_, err = runScenario(rf.fs, rf.gateway, rf.seed, &opt)
			} else {
				pf, perr := parsePoliciesFlags(args, io.Discard)
				if perr != nil {
					t.Fatal(perr)
				}
				opt := pf.opt
				_, err = runScenario(pf.fs, pf.gateway, pf.seed, &opt)
			}
			if err != nil {
				t.Errorf("got %v, want the scenario", err)
			}
		})
	}
	t.Run("proxy", func(t *testing.T) {
		for _, opt := range []proxyOptions{
			{listen: "0.0.0.0:9000", upstream: "http://staging-up.internal:8080", admin: "127.0.0.1:0"},
			{listen: "[::]:9000", upstream: "[fd00::7]:8080", admin: "127.0.0.1:0"},
			{listen: "127.0.0.1:9000", upstream: "10.0.0.7:80", admin: "0.0.0.0:9001", adminToken: consentToken},
			{listen: "10.0.0.5:9000", upstream: "127.0.0.1:8080", admin: "10.0.0.5:9001", adminToken: consentToken},
		} {
			var err error
			opt.consent, err = consentFor("0.0.0.0,::,staging-up.internal,fd00::7,10.0.0.7,10.0.0.5")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := checkProxyFlags(&opt, opt.adminToken != ""); err != nil {
				t.Errorf("%+v: got %v, want none", opt, err)
			}
		}
	})
}

// consentFor parses hosts as --allow-host does.
func consentFor(hosts string) (scenarios.Consent, error) {
	return scenarios.ParseConsent(hosts)
}

// TestProxyEveryInterfaceWithToken runs gatecrash proxy listening on
// 0.0.0.0 with its admin API there too, by consent and with a token, and
// reaches both through 127.0.0.1 only: the admin API refuses every request
// without the token (401), serves those with it, and prints no token.
func TestProxyEveryInterfaceWithToken(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  string
	}{
		{"token by flag", []string{"--admin-token", consentToken}, "not-this-one-0123456789"},
		{"token by environment", nil, consentToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(faults.TokenEnv, tc.env)
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "from upstream")
			}))
			defer up.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			args := append([]string{"--allow-host", "0.0.0.0", "--listen", "0.0.0.0:0", "--admin", "0.0.0.0:0", "--upstream", up.URL}, tc.args...)
			p := startProxyCommand(t, ctx, args...)
			proxy := "http://" + viaLoopback(t, p.proxy)
			admin := "http://" + viaLoopback(t, strings.TrimPrefix(p.admin, "http://"))

			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
			for _, st := range []struct {
				url, auth string
				code      int
				want      string
			}{
				{proxy + "/", "", 200, "from upstream"},
				{admin + "/faults", "", 401, `{"error":"the admin API needs a bearer token`},
				{admin + "/healthz", "", 401, "needs a bearer token"},
				{admin + "/faults", "Bearer " + strings.ToUpper(consentToken), 401, "is not the admin API's"},
				{admin + "/faults", "Bearer " + consentToken, 200, "[]"},
				{admin + "/healthz", "Bearer " + consentToken, 200, "ok"},
			} {
				req, err := http.NewRequest(http.MethodGet, st.url, nil)
				if err != nil {
					t.Fatal(err)
				}
				if st.auth != "" {
					req.Header.Set("Authorization", st.auth)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != st.code || !strings.Contains(string(b), st.want) {
					t.Errorf("GET %s (with a token: %v): got %d %q, want %d with %q", st.url, st.auth != "", resp.StatusCode, b, st.code, st.want)
				}
			}
			cancel()
			p.wait(t)
			out := p.stdout.String() + p.stderr.String()
			if !strings.Contains(out, "(bearer token required)") {
				t.Errorf("the start lines do not say a token is required:\n%s", out)
			}
			if strings.Contains(out, consentToken) {
				t.Errorf("the output holds the token:\n%s", out)
			}
		})
	}
}

// viaLoopback returns the port of addr, a listener on every interface, on
// 127.0.0.1: the tests connect through loopback only.
func viaLoopback(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// TestRunProxyOnEveryInterface runs a scenario whose fault proxy listens
// on 0.0.0.0 by consent, for a gateway the test runs (as one in a
// container would reach it), and sends everything through 127.0.0.1: every
// request crosses the proxy, which answers 503 to each.
func TestRunProxyOnEveryInterface(t *testing.T) {
	// A port free on every interface, for the scenario to name.
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	proxyURL, err := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(httputil.NewSingleHostReverseProxy(proxyURL))
	defer gw.Close()
	file := writeFile(t, "everywhere.yaml", fmt.Sprintf(`name: everywhere
seed: 1
target: {gateway: none, url: %s}
proxy: {listen: "0.0.0.0:%d"}
requests: [{path: /}]
phases:
  - name: only
    duration: 1s
    rate: 20/s
    faults: [{kind: status, code: 503}]
`, gw.URL, port))
	out := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := gatecrash(t, "run", "-q", "--out", out, file); code != exitInput || !strings.Contains(stderr, "pass --allow-host 0.0.0.0 to consent") {
		t.Fatalf("without consent: exit %d, stderr %s; want 2 naming --allow-host 0.0.0.0", code, stderr)
	}
	code, _, stderr := gatecrash(t, "run", "-q", "--allow-host", "0.0.0.0", "--out", out, file)
	if code != exitOK {
		t.Fatalf("exit %d, want 0; stderr: %s", code, stderr)
	}
	rd := readRunDir(t, out)
	if n := rd.report.Totals.Requests; n < 15 || rd.report.Totals.Status["503"] != n {
		t.Errorf("got %d requests and statuses %v, want about 20, every one 503 from the proxy", n, rd.report.Totals.Status)
	}
}
