package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/scenarios"
)

// fuzzCap is the fault cap of the Admin FuzzAdmin drives, small so that
// the fuzzer reaches it: it starts with two faults, so one POST fills it.
const fuzzCap = 3

// fuzzAddr is the address the fuzzed requests arrive on.
var fuzzAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8474}

// FuzzAdmin sends arbitrary requests (method, target, Host, other header
// lines, body), parsed by net/http as the server parses them, to a fresh
// admin API holding two faults, twice each, and checks that the API never
// panics nor answers 5xx, that no request it refuses changes the faults,
// that it holds at most its cap, and that only a request with the API's
// own Host, no foreign Origin and, for a change, a JSON or YAML
// Content-Type, gets a 2xx or changes anything.
func FuzzAdmin(f *testing.F) {
	const (
		ctJSON = "Content-Type: application/json\n"
		ctYAML = "Content-Type: application/yaml\n"
		fault  = `{"kind": "status", "code": 503}`
		own    = "127.0.0.1:8474"
	)
	seeds := []struct{ method, target, host, headers, body string }{
		// What the API takes.
		{"GET", "/faults", own, "", ""},
		{"GET", "/faults/1", "localhost:8474", "", ""},
		{"HEAD", "/faults", own, "", ""},
		{"GET", "/healthz", "[::1]:8474", "", ""},
		{"GET", "/events", own, "", ""},
		{"POST", "/faults", own, ctJSON, fault},
		{"POST", "/faults", own, "Content-Type: application/json; charset=utf-8\nOrigin: http://127.0.0.1:8474\n", fault},
		{"POST", "/faults", own, ctYAML, "kind: reset\nat: mid-body\nafter_bytes: 1024\n"},
		{"POST", "/faults", own, ctJSON, `{"kind": "latency", "delay": "150ms", "match": {"path_prefix": "/v1", "header": {"X-A": "b"}}}`},
		{"PUT", "/faults/0", own, ctJSON, `{"kind": "status", "code": 429, "headers": {"Retry-After": "1"}}`},
		{"DELETE", "/faults/1", own, ctJSON, ""},
		{"POST", "/faults", own, ctJSON + "Transfer-Encoding: chunked\n", "1f\r\n{\"kind\": \"status\", \"code\": 503}\r\n0\r\n\r\n"},
		// Bad faults.
		{"POST", "/faults", own, ctJSON, `{"kind": "status", "code": "soon"}`},
		{"POST", "/faults", own, ctJSON, `[{"kind": "reset"}]`},
		{"POST", "/faults", own, ctYAML, "kind: status\ncode: 503\nstatus_code: 503\n"},
		{"PUT", "/faults/99", own, ctJSON, fault},
		{"DELETE", "/faults/-1", own, ctJSON, ""},
		{"GET", "/faults/x", own, "", ""},
		// What a web page or a rebinding attacker sends.
		{"POST", "/faults", own, "Origin: http://evil.example\nContent-Type: text/plain\n", `{"kind":"refuse"}`},
		{"POST", "/faults", own, "Origin: http://evil.example\n" + ctJSON, fault},
		{"POST", "/faults", own, "Origin: null\n" + ctJSON, fault},
		{"GET", "/faults", own, "Origin: http://evil.example\n", ""},
		{"GET", "/events", own, "Origin: http://evil.example\n", ""},
		{"GET", "/faults", "rebind.attacker.test:8474", "", ""},
		{"DELETE", "/faults/0", "rebind.attacker.test:8474", ctJSON, ""},
		{"POST", "http://rebind.attacker.test:8474/faults", own, ctJSON, fault},
		{"OPTIONS", "/faults", own, "Origin: http://evil.example\nAccess-Control-Request-Method: DELETE\n", ""},
		// A careless client.
		{"POST", "/faults", own, "Content-Type: application/x-www-form-urlencoded\n", fault},
		{"POST", "/faults", own, "", fault},
		{"DELETE", "/faults/0", own, "", ""},
		{"POST", "/faults", own, ctJSON, `{"kind": "status", "code": 503, "body": "` + strings.Repeat("x", maxFaultBody) + `"}`},
		{"POST", "/faults", own, ctJSON + "Content-Length: 5\n", fault},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.host, s.headers, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, target, host, headers string, body []byte) {
		raw := method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" +
			strings.ReplaceAll(headers, "\n", "\r\n")
		if !strings.Contains(strings.ToLower(headers), "content-length:") && !strings.Contains(strings.ToLower(headers), "transfer-encoding:") {
			raw += fmt.Sprintf("Content-Length: %d\r\n", len(body))
		}
		raw += "\r\n" + string(body)
		p, err := New(Config{Upstream: "127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		log := NewEventLog(nil)
		a, err := newAdmin(p, log, []scenarios.Fault{guardFault, {Kind: scenarios.KindLatency, Delay: 1}}, fuzzCap)
		if err != nil {
			t.Fatal(err)
		}
		for round := range 2 {
			// net/http answers 400 itself to what it cannot parse.
			req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
			if err != nil {
				return
			}
			// A canceled context ends a 200 of /events at once.
			ctx, cancel := context.WithCancel(context.WithValue(context.Background(), http.LocalAddrContextKey, fuzzAddr))
			cancel()
			req = req.WithContext(ctx)
			before := adminState(t, a)
			w := httptest.NewRecorder()
			a.ServeHTTP(w, req)
			after := adminState(t, a)
			code := w.Code
			changed := after != before
			t.Logf("round %d: %s %s: %d %.80q", round, req.Method, req.URL, code, w.Body.String())
			if code >= 500 {
				t.Fatalf("round %d: %s %s: got %d %q, want no 5xx", round, req.Method, req.URL, code, w.Body.String())
			}
			if changed && (code < 200 || code > 299) {
				t.Fatalf("round %d: %s %s: refused with %d %q but the faults changed:\n%s\nto\n%s", round, req.Method, req.URL, code, w.Body.String(), before, after)
			}
			if code >= 200 && code <= 299 || changed {
				if !fuzzOwnHost(req.Host) {
					t.Fatalf("round %d: %s %s with Host %q: got %d, want 403", round, req.Method, req.URL, req.Host, code)
				}
				for _, o := range req.Header.Values("Origin") {
					if !strings.HasPrefix(strings.ToLower(o), "http://") || !fuzzOwnHost(strings.ToLower(o)[len("http://"):]) {
						t.Fatalf("round %d: %s %s with Origin %q: got %d, want 403", round, req.Method, req.URL, o, code)
					}
				}
			}
			if changed && req.Method != http.MethodDelete {
				mt, _, _ := strings.Cut(strings.ToLower(req.Header.Get("Content-Type")), ";")
				if mt = strings.TrimSpace(mt); mt != "application/json" && mt != "application/yaml" {
					t.Fatalf("round %d: %s %s with Content-Type %q changed the faults, want 415", round, req.Method, req.URL, req.Header.Get("Content-Type"))
				}
			}
			if n := len(a.Entries()); n > fuzzCap {
				t.Fatalf("round %d: %d faults held, over the cap of %d", round, n, fuzzCap)
			}
			if rules := len(p.Phases()[0].Rules); rules != len(a.Entries()) {
				t.Fatalf("round %d: the proxy has %d rules for %d faults", round, rules, len(a.Entries()))
			}
		}
	})
}

// adminState is what an admin request may change: the faults held, their
// ids, and the id of the next one.
func adminState(t *testing.T, a *Admin) string {
	t.Helper()
	a.mu.Lock()
	next := a.next
	a.mu.Unlock()
	b, err := json.Marshal(a.Entries())
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("next %d %s", next, b)
}

// fuzzOwnHost is the rule for a Host (or an origin's host) on fuzzAddr,
// written out: the address, localhost or [::1], with its port.
func fuzzOwnHost(h string) bool {
	return slices.Contains([]string{"127.0.0.1:8474", "localhost:8474", "[::1]:8474"}, strings.ToLower(h))
}
