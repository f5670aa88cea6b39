package faults

import (
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// testToken is the admin token of the tests.
const testToken = "s3cr3t-t0ken-0123456789abcdef"

// startTokenAdmin serves the admin API of a proxy behind RequireToken
// with testToken, on 127.0.0.1, and returns its base URL and a client.
func startTokenAdmin(t *testing.T) (string, *http.Client) {
	t.Helper()
	log := NewEventLog(nil)
	p, err := New(Config{Upstream: "127.0.0.1:1", Seed: 1, Events: log})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAdmin(p, log, []scenarios.Fault{guardFault})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(RequireToken(a, testToken))
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return srv.URL, &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestAdminToken sends real requests to the admin API behind a token:
// each without the token gets 401 with a JSON error saying how to send
// it, and never the token itself.
func TestAdminToken(t *testing.T) {
	base, client := startTokenAdmin(t)
	for _, tc := range []struct {
		name   string
		method string
		path   string
		auth   []string // Authorization headers
		host   string   // the Host header, "" for the address dialled
		body   string
		code   int
		want   string // part of the body
	}{
		{"no token", "GET", "/faults", nil, "", "", 401, `{"error":"the admin API needs a bearer token: send the header Authorization: Bearer TOKEN, with the token gatecrash proxy was given (--admin-token or GATECRASH_ADMIN_TOKEN)"}`},
		{"no token, healthz", "GET", "/healthz", nil, "", "", 401, "needs a bearer token"},
		{"no token, events", "GET", "/events", nil, "", "", 401, "needs a bearer token"},
		{"no token, a write", "POST", "/faults", nil, "", `{"kind": "reset"}`, 401, "needs a bearer token"},
		{"no token, delete", "DELETE", "/faults/0", nil, "", "", 401, "needs a bearer token"},
		{"no token, unknown path", "GET", "/nothing", nil, "", "", 401, "needs a bearer token"},
		{"no token, foreign host", "GET", "/faults", nil, "evil.example", "", 401, "needs a bearer token"},
		{"wrong token", "GET", "/faults", []string{"Bearer " + strings.Repeat("x", len(testToken))}, "", "", 401, "the bearer token is not the admin API's; send the header Authorization: Bearer TOKEN"},
		{"token prefix", "GET", "/faults", []string{"Bearer " + testToken[:len(testToken)-1]}, "", "", 401, "is not the admin API's"},
		{"token with more", "GET", "/faults", []string{"Bearer " + testToken + "x"}, "", "", 401, "is not the admin API's"},
		{"basic scheme", "GET", "/faults", []string{"Basic " + testToken}, "", "", 401, "the Authorization header is not a bearer token"},
		{"token alone", "GET", "/faults", []string{testToken}, "", "", 401, "not a bearer token"},
		{"empty bearer", "GET", "/faults", []string{"Bearer "}, "", "", 401, "not a bearer token"},
		{"two headers", "GET", "/faults", []string{"Bearer " + testToken, "Bearer " + testToken}, "", "", 401, "several Authorization headers"},
		{"token", "GET", "/faults", []string{"Bearer " + testToken}, "", "", 200, `"id":0`},
		{"scheme in any case", "GET", "/healthz", []string{"bearer " + testToken}, "", "", 200, "ok"},
		{"token, a write", "POST", "/faults", []string{"Bearer " + testToken}, "", `{"kind": "reset", "probability": 0.5}`, 201, `"id":1`},
		{"token, a name of a container network", "GET", "/faults", []string{"Bearer " + testToken}, "gatecrash-proxy:9001", "", 200, `"id":0`},
		{"token, still a bad fault", "POST", "/faults", []string{"Bearer " + testToken}, "", `{"kind": "explode"}`, 400, "explode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range tc.auth {
				req.Header.Add("Authorization", a)
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			if err != nil && tc.path != "/events" {
				t.Fatal(err)
			}
			body := string(b)
			if resp.StatusCode != tc.code {
				t.Fatalf("got %d %q, want %d", resp.StatusCode, body, tc.code)
			}
			if tc.path == "/events" && tc.code == 200 {
				return
			}
			if !strings.Contains(body, tc.want) {
				t.Errorf("got body %q, want it to contain %q", body, tc.want)
			}
			if strings.Contains(body, testToken) {
				t.Errorf("got body %q, which holds the token", body)
			}
			if tc.code != http.StatusUnauthorized {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("got Content-Type %q, want application/json", got)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("got WWW-Authenticate %q, want Bearer", got)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
				t.Errorf("got body %q, want JSON {\"error\": ...}: %v", body, err)
			}
		})
	}
}

// TestAdminTokenKeepsOrigin checks that the token does not open the API to
// web pages: a request with an Origin elsewhere is still refused.
func TestAdminTokenKeepsOrigin(t *testing.T) {
	base, client := startTokenAdmin(t)
	req, err := http.NewRequest(http.MethodGet, base+"/faults", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Origin", "http://evil.example")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("got %d, want 403", resp.StatusCode)
	}
}

func TestCheckToken(t *testing.T) {
	for _, tc := range []struct {
		name, token, want string // want "" for a good token
	}{
		{"good", testToken, ""},
		{"hex of openssl", "0123456789abcdef0123456789abcdef", ""},
		{"base64", "q83vEjRWeJq83vEjRWeJqw==", ""},
		{"empty", "", "the token is empty; give one of at least 16 characters, such as the output of openssl rand -hex 16"},
		{"short", "hunter2", "the token has 7 characters, fewer than 16, and could be guessed"},
		{"long", strings.Repeat("a", 5000), "the token has 5000 characters, more than 4096"},
		{"space", "0123456789 abcdef", "holds a space, a control character or a non-ASCII byte (at byte 11)"},
		{"line break", "0123456789abcdef\n", "(at byte 17)"},
		{"non-ASCII", "0123456789abcdéf", "non-ASCII byte (at byte 15)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckToken(tc.token)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got %v, want none", err)
			case tc.want == "":
			case err == nil:
				t.Fatalf("got no error, want %q", tc.want)
			case !strings.Contains(err.Error(), tc.want):
				t.Errorf("got %q, want it to contain %q", err, tc.want)
			case tc.token != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.token)):
				t.Errorf("got %q, which holds the token", err)
			}
		})
	}
}

func TestRequireTokenPanicsOnABadToken(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("got no panic, want one")
		}
		if strings.Contains(r.(string), "hunter2") {
			t.Errorf("got panic %q, which holds the token", r)
		}
	}()
	RequireToken(http.NotFoundHandler(), "hunter2")
}

// FuzzTokenProblem checks that only the one header that carries the token
// passes, whatever else a client sends.
func FuzzTokenProblem(f *testing.F) {
	for _, s := range []string{"", "Bearer " + testToken, "bearer  " + testToken + " ", "Basic x", "Bearer", "Bearer " + testToken + "\x00", testToken} {
		f.Add(s)
	}
	want := sha256.Sum256([]byte(testToken))
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "/faults", nil)
		r.Header.Set("Authorization", header)
		msg := tokenProblem(r, want)
		scheme, rest, _ := strings.Cut(strings.TrimSpace(header), " ")
		carries := strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(rest) == testToken
		if carries != (msg == "") {
			t.Fatalf("header %q: got problem %q, want one: %v", header, msg, !carries)
		}
		if strings.Contains(msg, testToken) {
			t.Fatalf("header %q: got problem %q, which holds the token", header, msg)
		}
	})
}
