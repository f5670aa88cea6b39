package results

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/scenarios"
)

// signatureDir holds raw HTTP answers: real captures of nginx 1.22.1,
// HAProxy 2.6.12, Caddy 2.6.2 and lab.Gateway, and answers built from
// Envoy's and Traefik's source (named -from-source).
const signatureDir = "testdata/signatures"

// readAnswer parses a raw HTTP answer from testdata/signatures, keeping at
// most MaxBody bytes of its body as a record does.
func readAnswer(tb testing.TB, name string) (uint16, http.Header, []byte) {
	tb.Helper()
	f, err := os.Open(filepath.Join(signatureDir, name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	resp, err := http.ReadResponse(bufio.NewReader(f), nil)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return uint16(resp.StatusCode), resp.Header, body
}

func TestSignFixtures(t *testing.T) {
	tests := []struct {
		file    string
		gateway string
		cause   string
	}{
		{"nginx-502-refused.http", scenarios.GatewayNginx, ""},
		{"nginx-502-refused-server-tokens-off.http", scenarios.GatewayNginx, ""},
		{"nginx-502-closed.http", scenarios.GatewayNginx, ""},
		{"nginx-502-reset.http", scenarios.GatewayNginx, ""},
		{"nginx-503-limit-req.http", scenarios.GatewayNginx, ""},
		{"nginx-504-timeout.http", scenarios.GatewayNginx, "upstream-timeout"},

		{"haproxy-503-refused.http", scenarios.GatewayHAProxy, ""},
		{"haproxy-502-closed.http", scenarios.GatewayHAProxy, "malformed-response"},
		{"haproxy-502-reset.http", scenarios.GatewayHAProxy, "malformed-response"},
		{"haproxy-502-garbage.http", scenarios.GatewayHAProxy, "malformed-response"},
		{"haproxy-504-timeout.http", scenarios.GatewayHAProxy, "upstream-timeout"},

		{"caddy-502-refused.http", scenarios.GatewayCaddy, ""},
		{"caddy-502-closed.http", scenarios.GatewayCaddy, ""},
		{"caddy-502-reset.http", scenarios.GatewayCaddy, ""},
		{"caddy-502-garbage.http", scenarios.GatewayCaddy, ""},
		{"caddy-503-no-upstreams.http", scenarios.GatewayCaddy, ""},
		{"caddy-504-timeout.http", scenarios.GatewayCaddy, "upstream-timeout"},

		{"go-502-refused.http", GatewayGo, ""},
		{"go-502-closed.http", GatewayGo, ""},
		{"go-502-reset.http", GatewayGo, ""},
		{"go-502-garbage.http", GatewayGo, ""},
		{"go-504-timeout.http", GatewayGo, "upstream-timeout"},

		{"envoy-503-refused-from-source.http", GatewayEnvoy, "connection-refused"},
		{"envoy-503-refused-retried-from-source.http", GatewayEnvoy, "connection-refused"},
		{"envoy-503-connect-timeout-from-source.http", GatewayEnvoy, "upstream-timeout"},
		{"envoy-503-closed-from-source.http", GatewayEnvoy, "closed-before-headers"},
		{"envoy-503-reset-from-source.http", GatewayEnvoy, "reset-before-headers"},
		{"envoy-503-overflow-from-source.http", GatewayEnvoy, "overload-rejected"},
		{"envoy-502-protocol-error-from-source.http", GatewayEnvoy, "malformed-response"},
		{"envoy-504-timeout-from-source.http", GatewayEnvoy, "upstream-timeout"},
		{"envoy-503-no-healthy-upstream-from-source.http", GatewayEnvoy, ""},

		{"traefik-502-refused-from-source.http", GatewayTraefik, ""},
		{"traefik-503-no-available-server-from-source.http", GatewayTraefik, ""},
		{"traefik-504-timeout-from-source.http", GatewayTraefik, "upstream-timeout"},
	}
	listed := make(map[string]bool)
	for _, tt := range tests {
		listed[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			code, h, body := readAnswer(t, tt.file)
			got := Sign(code, h, body)
			if got.Gateway != tt.gateway {
				t.Errorf("gateway: got %q, want %q (evidence %q)", got.Gateway, tt.gateway, got.Evidence)
			}
			if got.Cause != tt.cause {
				t.Errorf("cause: got %q, want %q", got.Cause, tt.cause)
			}
			if got.Evidence == "" {
				t.Errorf("evidence: got none, want a reason")
			}
		})
	}
	// Every fixture has a row.
	names, err := filepath.Glob(filepath.Join(signatureDir, "*.http"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !listed[filepath.Base(n)] {
			t.Errorf("%s: got no row, want one per fixture", n)
		}
	}
}

func TestSignNotAGateway(t *testing.T) {
	envoy := "upstream connect error or disconnect/reset before headers. "
	tests := []struct {
		name    string
		code    uint16
		header  http.Header
		body    string
		gateway string
		cause   string
	}{
		{"upstream 502 passed through", 502,
			http.Header{"Server": {"gunicorn"}, "Content-Type": {"application/json"}},
			`{"error":"bad gateway","detail":"payments timed out"}`, "", ""},
		{"upstream 502 JSON through nginx", 502,
			http.Header{"Server": {"nginx/1.22.1"}, "Content-Type": {"application/json"}},
			`{"error":"upstream"}`, "", ""},
		{"200", 200, http.Header{"Server": {"nginx"}}, "<hr><center>nginx</center>", "", ""},
		{"200 empty", 200, nil, "", "", ""},
		{"empty 502 with Server: Caddy", 502, http.Header{"Server": {"Caddy"}}, "", scenarios.GatewayCaddy, ""},
		{"empty 504 with Server: Caddy", 504, http.Header{"Server": {"Caddy"}}, "", scenarios.GatewayCaddy, "upstream-timeout"},
		{"empty 404 with Server: Caddy", 404, http.Header{"Server": {"Caddy"}}, "", "", ""},
		{"empty 502 no Server", 502, http.Header{"Date": {"Wed, 25 Nov 2026 23:44:06 GMT"}}, "", GatewayGo, ""},
		{"empty 502 nil header: nothing recorded, nothing known", 502, nil, "", "", ""},
		{"empty 504 no Server", 504, http.Header{"Content-Length": {"0"}}, "", GatewayGo, "upstream-timeout"},
		{"empty 503 no Server", 503, nil, "", "", ""},
		{"empty 502 with Content-Type", 502, http.Header{"Content-Type": {"text/html"}}, "", "", ""},
		{"empty 502 Server: gunicorn", 502, http.Header{"Server": {"gunicorn"}}, "", "", ""},
		{"Bad Gateway with a Server header", 502, http.Header{"Server": {"gunicorn"}}, "Bad Gateway", "", ""},
		{"Bad Gateway with a newline (http.Error)", 502, nil, "Bad Gateway\n", "", ""},
		{"Bad Gateway on a 503", 503, nil, "Bad Gateway", "", ""},
		{"HTML without a footer", 502, nil, "<html><body><h1>502 Bad Gateway</h1></body></html>", "", ""},
		{"nginx 429", 429, nil, "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", scenarios.GatewayNginx, "overload-rejected"},
		{"openresty", 502, nil, "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>openresty</center>\r\n", scenarios.GatewayNginx, ""},
		{"HAProxy 429", 429, nil, "<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n</body></html>\n", scenarios.GatewayHAProxy, "overload-rejected"},
		{"HAProxy message inside JSON", 502, nil, `{"msg":"The server returned an invalid or incomplete response."}`, "", ""},
		{"Envoy unknown reason", 503, nil, envoy + "reset reason: local reset", GatewayEnvoy, ""},
		{"Envoy without a reason", 503, nil, strings.TrimSpace(envoy), "", ""},
		{"Envoy reason with a longer name", 503, nil, envoy + "reset reason: overflowing", GatewayEnvoy, ""},
		{"Envoy text quoted in JSON", 503, nil, `{"error":"` + envoy + `reset reason: overflow"}`, "", ""},
		{"no healthy upstream in a sentence", 503, nil, "no healthy upstream here", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sign(tt.code, tt.header, []byte(tt.body))
			if got.Gateway != tt.gateway {
				t.Errorf("gateway: got %q, want %q (evidence %q)", got.Gateway, tt.gateway, got.Evidence)
			}
			if got.Cause != tt.cause {
				t.Errorf("cause: got %q, want %q", got.Cause, tt.cause)
			}
		})
	}
}

// Sign runs on every failed answer of a run: it must not allocate.
func TestSignAllocs(t *testing.T) {
	for _, name := range []string{
		"nginx-502-refused.http",
		"haproxy-504-timeout.http",
		"envoy-503-refused-retried-from-source.http",
		"traefik-502-refused-from-source.http",
		"caddy-502-refused.http",
		"go-502-refused.http",
	} {
		code, h, body := readAnswer(t, name)
		if n := testing.AllocsPerRun(100, func() { Sign(code, h, body) }); n != 0 {
			t.Errorf("%s: got %v allocations per call, want 0", name, n)
		}
	}
}

var (
	signKinds  = map[string]bool{"": true, scenarios.GatewayNginx: true, scenarios.GatewayHAProxy: true, GatewayEnvoy: true, scenarios.GatewayCaddy: true, GatewayTraefik: true, GatewayGo: true}
	signCauses = map[string]bool{"": true, "connection-refused": true, "reset-before-headers": true, "closed-before-headers": true, "upstream-timeout": true, "overload-rejected": true, "malformed-response": true}
)

func FuzzSign(f *testing.F) {
	names, err := filepath.Glob(filepath.Join(signatureDir, "*.http"))
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range names {
		code, h, body := readAnswer(f, filepath.Base(n))
		f.Add(code, h.Get("Server"), h.Get("Content-Type"), body)
	}
	f.Add(uint16(200), "", "", []byte(nil))
	f.Add(uint16(502), "gunicorn", "application/json", []byte(`{"error":"x"}`))
	f.Fuzz(func(t *testing.T, code uint16, server, ctype string, body []byte) {
		h := http.Header{}
		if server != "" {
			h.Set("Server", server)
		}
		if ctype != "" {
			h.Set("Content-Type", ctype)
		}
		keep := bytes.Clone(body)
		got := Sign(code, h, body)
		if again := Sign(code, h, body); again != got {
			t.Fatalf("same answer: got %+v, then %+v", got, again)
		}
		if !bytes.Equal(body, keep) {
			t.Fatalf("body: got %q after Sign, want it unchanged %q", body, keep)
		}
		if !signKinds[got.Gateway] {
			t.Errorf("gateway: got %q, want one of the Gateway kinds", got.Gateway)
		}
		if !signCauses[got.Cause] {
			t.Errorf("cause: got %q, want a known cause name", got.Cause)
		}
		if (got.Gateway == "") != (got.Evidence == "") || (got.Gateway == "" && got.Cause != "") {
			t.Errorf("got %+v, want evidence and a cause only with a gateway", got)
		}
		if code < 400 && got != (Signature{}) {
			t.Errorf("code %d: got %+v, want no signature", code, got)
		}
	})
}

// BenchmarkSign signs every fixture in turn:
// go test -run '^$' -bench Sign -benchmem ./results/
func BenchmarkSign(b *testing.B) {
	names, err := filepath.Glob(filepath.Join(signatureDir, "*.http"))
	if err != nil {
		b.Fatal(err)
	}
	type answer struct {
		code uint16
		h    http.Header
		body []byte
	}
	var as []answer
	for _, n := range names {
		code, h, body := readAnswer(b, filepath.Base(n))
		as = append(as, answer{code, h, body})
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a := as[i%len(as)]
		Sign(a.code, a.h, a.body)
	}
}
