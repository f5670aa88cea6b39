package faults

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/scenarios"
)

// guardFault is the fault each guard test starts with, as fault 0: it
// matches no request, so only the admin API's answers change.
var guardFault = scenarios.Fault{Kind: scenarios.KindStatus, Code: 503, Match: scenarios.Match{PathPrefix: "/never"}}

// guardRequest is one request to the admin API with the headers a web
// page, a rebinding attacker or a careless client would send.
type guardRequest struct {
	method, path string
	host         string // the Host header, "" for the address dialled; PORT is the API's port
	origin       string // the Origin header, "" for none; PORT is the API's port
	contentType  string // "" for none
	body         string
}

// send makes r over a real loopback connection and returns the status and
// the body; a 200 of /events, a stream, is not read.
func (rig *adminRig) send(t *testing.T, r guardRequest) (int, string) {
	t.Helper()
	u, err := url.Parse(rig.admin)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.method, rig.admin+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.host != "" {
		req.Host = strings.ReplaceAll(r.host, "PORT", port)
	}
	if r.origin != "" {
		req.Header.Set("Origin", strings.ReplaceAll(r.origin, "PORT", port))
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	resp := rig.do(t, req)
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && r.path == "/events" {
		return resp.StatusCode, ""
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// ids lists the ids of the faults the API holds, asked as curl would.
func (rig *adminRig) ids(t *testing.T) []int {
	t.Helper()
	var out []int
	for _, e := range rig.list(t) {
		out = append(out, e.id)
	}
	return out
}

// TestAdminRefusesForeignRequests sends, over a real loopback socket,
// what a web page open on the machine (cross-origin or through DNS
// rebinding) or a careless client could send, and the requests the API
// must still take. Refused requests change nothing. On the code before
// the guard every refused row got 200, 201 or 204 (the rows with an
// oversize body and without a Content-Type included), and changed the
// faults where it was a write.
func TestAdminRefusesForeignRequests(t *testing.T) {
	const fault = `{"kind": "status", "code": 500}`
	big := fmt.Sprintf(`{"kind": "status", "code": 503, "body": %q}`, strings.Repeat("x", 100<<10))
	tests := []struct {
		name     string
		req      guardRequest
		wantCode int
		wantBody string // a part of the answer
		wantIDs  []int  // the faults held afterwards
	}{
		// A page's "simple" request, sent without a CORS preflight: the curl.
		{"cross-origin simple POST, text/plain",
			guardRequest{method: "POST", path: "/faults", origin: "http://evil.example", contentType: "text/plain", body: `{"kind":"refuse"}`},
			403, `"http://evil.example"`, []int{0}},
		{"cross-origin JSON POST",
			guardRequest{method: "POST", path: "/faults", origin: "http://evil.example", contentType: "application/json", body: fault},
			403, "Origin", []int{0}},
		{"cross-origin DELETE",
			guardRequest{method: "DELETE", path: "/faults/0", origin: "https://evil.example", contentType: "application/json"},
			403, "Origin", []int{0}},
		{"opaque origin (sandboxed page, file://) POST",
			guardRequest{method: "POST", path: "/faults", origin: "null", contentType: "application/json", body: fault},
			403, "Origin", []int{0}},
		{"the API's origin on another port",
			guardRequest{method: "POST", path: "/faults", origin: "http://127.0.0.1:1", contentType: "application/json", body: fault},
			403, "Origin", []int{0}},
		{"cross-origin GET /faults",
			guardRequest{method: "GET", path: "/faults", origin: "http://evil.example"},
			403, "Origin", []int{0}},
		{"cross-origin GET /events",
			guardRequest{method: "GET", path: "/events", origin: "http://evil.example"},
			403, "Origin", []int{0}},

		// DNS rebinding: the page's own name now resolves to 127.0.0.1.
		{"rebinding Host GET /faults",
			guardRequest{method: "GET", path: "/faults", host: "rebind.attacker.test:PORT"},
			403, "DNS rebinding", []int{0}},
		{"rebinding Host GET /events",
			guardRequest{method: "GET", path: "/events", host: "rebind.attacker.test:PORT"},
			403, "DNS rebinding", []int{0}},
		{"rebinding Host DELETE",
			guardRequest{method: "DELETE", path: "/faults/0", host: "rebind.attacker.test:PORT", contentType: "application/json"},
			403, `"rebind.attacker.test:`, []int{0}},
		{"rebinding Host and its own origin, POST",
			guardRequest{method: "POST", path: "/faults", host: "rebind.attacker.test:PORT", origin: "http://rebind.attacker.test:PORT", contentType: "application/json", body: fault},
			403, "DNS rebinding", []int{0}},
		{"localhost on another port",
			guardRequest{method: "GET", path: "/faults", host: "localhost:1"},
			403, "localhost:", []int{0}},
		{"localhost without a port (port 80)",
			guardRequest{method: "GET", path: "/faults", host: "localhost"},
			403, "localhost:", []int{0}},
		{"a subdomain of localhost",
			guardRequest{method: "GET", path: "/healthz", host: "evil.localhost:PORT"},
			403, "DNS rebinding", []int{0}},

		// Writes must say JSON (or YAML).
		{"text/plain POST without Origin",
			guardRequest{method: "POST", path: "/faults", contentType: "text/plain", body: fault},
			415, "Content-Type: application/json", []int{0}},
		{"form POST (curl -d's default)",
			guardRequest{method: "POST", path: "/faults", contentType: "application/x-www-form-urlencoded", body: fault},
			415, "Content-Type: application/json", []int{0}},
		{"POST without Content-Type",
			guardRequest{method: "POST", path: "/faults", body: fault},
			415, `Content-Type ""`, []int{0}},
		{"PUT as text/plain",
			guardRequest{method: "PUT", path: "/faults/0", contentType: "text/plain", body: fault},
			415, "application/json", []int{0}},
		{"DELETE without Content-Type",
			guardRequest{method: "DELETE", path: "/faults/0"},
			204, "", []int{}},
		{"oversize body",
			guardRequest{method: "POST", path: "/faults", contentType: "application/json", body: big},
			413, "65536 bytes", []int{0}},

		// What the API still takes.
		{"JSON POST, charset",
			guardRequest{method: "POST", path: "/faults", contentType: "application/json; charset=utf-8", body: fault},
			201, `"id":1`, []int{0, 1}},
		{"YAML POST",
			guardRequest{method: "POST", path: "/faults", contentType: "application/yaml", body: "kind: status\ncode: 500\n"},
			201, `"id":1`, []int{0, 1}},
		{"the API's own origin",
			guardRequest{method: "POST", path: "/faults", origin: "http://127.0.0.1:PORT", contentType: "Application/JSON", body: fault},
			201, `"id":1`, []int{0, 1}},
		{"localhost's origin",
			guardRequest{method: "PUT", path: "/faults/0", host: "localhost:PORT", origin: "http://localhost:PORT", contentType: "application/json", body: fault},
			200, `"code":500`, []int{0}},
		{"DELETE as JSON",
			guardRequest{method: "DELETE", path: "/faults/0", contentType: "application/json"},
			204, "", []int{}},
		{"Host localhost",
			guardRequest{method: "GET", path: "/faults", host: "localhost:PORT"},
			200, `"id":0`, []int{0}},
		{"Host LOCALHOST",
			guardRequest{method: "GET", path: "/faults/0", host: "LOCALHOST:PORT"},
			200, `"id":0`, []int{0}},
		{"Host 127.0.0.1",
			guardRequest{method: "GET", path: "/events", host: "127.0.0.1:PORT"},
			200, "", []int{0}},
		{"Host [::1]",
			guardRequest{method: "GET", path: "/healthz", host: "[::1]:PORT"},
			200, "ok", []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := startAdmin(t, guardFault)
			code, body := rig.send(t, tt.req)
			if code != tt.wantCode || !strings.Contains(body, tt.wantBody) {
				t.Errorf("%s %s: got %d %q, want %d with %q", tt.req.method, tt.req.path, code, body, tt.wantCode, tt.wantBody)
			}
			if got := rig.ids(t); !slices.Equal(got, tt.wantIDs) && (len(got) > 0 || len(tt.wantIDs) > 0) {
				t.Errorf("faults afterwards: got ids %v, want %v", got, tt.wantIDs)
			}
		})
	}
}

// TestAdminFaultCap adds faults up to MaxFaults through the API: the next
// one is refused with 409 and the way out, and taken again once a fault
// is removed. On the code before the cap the POST after MaxFaults got 201.
func TestAdminFaultCap(t *testing.T) {
	rig := startAdmin(t)
	for i := range MaxFaults {
		if code, out := rig.call(t, http.MethodPost, "/faults", `{"kind": "latency", "delay": "1ms"}`); code != http.StatusCreated {
			t.Fatalf("POST /faults %d: got %d %s, want 201", i, code, out)
		}
	}
	steps := []struct {
		method, path, body string
		wantCode           int
		wantBody           string
		wantCount          int
	}{
		{"POST", "/faults", `{"kind": "status", "code": 503}`, 409, "holds 1000 faults, the most it keeps; remove one with DELETE /faults/{id}", MaxFaults},
		{"POST", "/faults", `{"kind": "status"}`, 400, "code", MaxFaults},
		{"PUT", "/faults/7", `{"kind": "status", "code": 503}`, 200, `"id":7`, MaxFaults},
		{"DELETE", "/faults/3", "", 204, "", MaxFaults - 1},
		{"POST", "/faults", `{"kind": "status", "code": 503}`, 201, fmt.Sprintf(`"id":%d`, MaxFaults), MaxFaults},
		{"POST", "/faults", `{"kind": "status", "code": 503}`, 409, "1000", MaxFaults},
	}
	for _, st := range steps {
		code, out := rig.call(t, st.method, st.path, st.body)
		if code != st.wantCode || !strings.Contains(out, st.wantBody) {
			t.Errorf("%s %s: got %d %q, want %d with %q", st.method, st.path, code, out, st.wantCode, st.wantBody)
		}
		if n := len(rig.ids(t)); n != st.wantCount {
			t.Errorf("after %s %s: %d faults held, want %d", st.method, st.path, n, st.wantCount)
		}
	}
}

// TestAdminInitialOverCap refuses more initial faults than MaxFaults.
func TestAdminInitialOverCap(t *testing.T) {
	p, err := New(Config{Upstream: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewAdmin(p, nil, make([]scenarios.Fault, MaxFaults+1))
	if err == nil || !strings.Contains(err.Error(), "1001 faults, more than the 1000") {
		t.Errorf("got %v, want an error naming 1001 faults and the cap", err)
	}
}
