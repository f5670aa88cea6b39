package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// adminRig is a proxy run alone with its admin API, in front of a real
// upstream, as gatecrash proxy runs it.
type adminRig struct {
	proxy  string // the proxy's host:port
	admin  string // the admin API's base URL
	log    *EventLog
	client *http.Client
	seed   uint64
}

// startAdmin starts an upstream, a proxy with the initial faults and its
// admin API. Everything stops when the test ends.
func startAdmin(t *testing.T, initial ...scenarios.Fault) *adminRig {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, "from upstream")
	}))
	t.Cleanup(up.Close)
	rig := &adminRig{log: NewEventLog(nil), seed: 7}
	p, err := New(Config{Upstream: up.Listener.Addr().String(), Seed: rig.seed, Events: rig.log})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAdmin(p, rig.log, initial)
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := serve(t, p)
	t.Cleanup(stop)
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	rig.proxy, rig.admin = addr, srv.URL
	rig.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	return rig
}

// do sends req with the rig's client; the caller closes the body.
func (rig *adminRig) do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := rig.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// call sends one admin request and returns the status and body.
func (rig *adminRig) call(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, rig.admin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", bodyType(body))
	}
	resp := rig.do(t, req)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// bodyType is the Content-Type of a fault written as body: JSON when it
// starts as JSON does (or is empty), else YAML.
func bodyType(body string) string {
	if body == "" || strings.HasPrefix(body, "{") || strings.HasPrefix(body, "[") {
		return "application/json"
	}
	return "application/yaml"
}

// through sends one GET through the proxy as request seq of attack and
// returns the status.
func (rig *adminRig) through(t *testing.T, path, attack string, seq int) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+rig.proxy+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(HeaderAttack, attack)
	req.Header.Set(HeaderSeq, fmt.Sprint(seq))
	resp, err := rig.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// entry is what the test checks of a listed fault.
type entry struct {
	id               int
	kind             string
	code             int
	matched, applied uint64
}

func (rig *adminRig) list(t *testing.T) []entry {
	t.Helper()
	code, body := rig.call(t, http.MethodGet, "/faults", "")
	if code != http.StatusOK {
		t.Fatalf("GET /faults: got %d %s, want 200", code, body)
	}
	var got []AdminEntry
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("GET /faults: %v in %s", err, body)
	}
	out := make([]entry, len(got))
	for i, e := range got {
		var f struct {
			Kind string `json:"kind"`
			Code int    `json:"code"`
		}
		if err := json.Unmarshal(e.Fault, &f); err != nil {
			t.Fatalf("GET /faults: fault %d: %v in %s", e.ID, err, e.Fault)
		}
		out[i] = entry{e.ID, f.Kind, f.Code, e.Matched, e.Applied}
	}
	return out
}

// TestAdminAPI drives the admin API step by step: each step makes one
// call, checks its answer, then sends requests through the proxy and
// checks what they get, and what GET /faults lists.
func TestAdminAPI(t *testing.T) {
	rig := startAdmin(t)
	steps := []struct {
		name           string
		method, path   string
		body           string
		wantCode       int
		wantBody       string // a part of the answer
		send, sendWant int    // requests sent through the proxy after the call, and their status
		list           []entry
	}{
		{name: "healthz", method: "GET", path: "/healthz", wantCode: 200, wantBody: "ok",
			send: 1, sendWant: 200, list: []entry{}},
		{name: "add 503 as JSON", method: "POST", path: "/faults", body: `{"kind": "status", "code": 503}`,
			wantCode: 201, wantBody: `"id":0`, send: 3, sendWant: 503,
			list: []entry{{0, "status", 503, 3, 3}}},
		{name: "replace with 429 as YAML", method: "PUT", path: "/faults/0", body: "kind: status\ncode: 429\nheaders: {Retry-After: \"1\"}\n",
			wantCode: 200, wantBody: `"kind":"status","code":429`, send: 2, sendWant: 429,
			list: []entry{{0, "status", 429, 2, 2}}},
		{name: "get one", method: "GET", path: "/faults/0", wantCode: 200, wantBody: `"matched":2,"applied":2`},
		{name: "add a second, never reached", method: "POST", path: "/faults", body: "kind: status\ncode: 500\n",
			wantCode: 201, wantBody: `"id":1`, send: 1, sendWant: 429,
			list: []entry{{0, "status", 429, 3, 3}, {1, "status", 500, 0, 0}}},
		{name: "delete the first", method: "DELETE", path: "/faults/0", wantCode: 204,
			send: 1, sendWant: 500, list: []entry{{1, "status", 500, 1, 1}}},
		{name: "delete the second", method: "DELETE", path: "/faults/1", wantCode: 204,
			send: 2, sendWant: 200, list: []entry{}},
		{name: "bad value", method: "POST", path: "/faults", body: `{"kind": "status", "code": "soon"}`,
			wantCode: 400, wantBody: "code", list: []entry{}},
		{name: "unknown kind", method: "POST", path: "/faults", body: `{"kind": "explode"}`,
			wantCode: 400, wantBody: "kind"},
		{name: "unknown field", method: "POST", path: "/faults", body: "kind: status\ncode: 503\nstatus_code: 503\n",
			wantCode: 400, wantBody: "status_code"},
		{name: "missing setting", method: "POST", path: "/faults", body: `{"kind": "status"}`,
			wantCode: 400, wantBody: "code"},
		{name: "not JSON nor YAML", method: "POST", path: "/faults", body: `{"kind": `,
			wantCode: 400},
		{name: "two faults", method: "POST", path: "/faults", body: `[{"kind": "reset"}]`,
			wantCode: 400, wantBody: "not a fault"},
		{name: "replace unknown id", method: "PUT", path: "/faults/0", body: `{"kind": "status", "code": 503}`,
			wantCode: 404, wantBody: "GET /faults"},
		{name: "delete unknown id", method: "DELETE", path: "/faults/9", wantCode: 404},
		{name: "get id not a number", method: "GET", path: "/faults/x", wantCode: 404},
		{name: "method not allowed", method: "DELETE", path: "/faults", wantCode: 405},
		{name: "unknown path", method: "GET", path: "/toxics", wantCode: 404,
			send: 1, sendWant: 200, list: []entry{}},
		{name: "add after a delete takes a new id", method: "POST", path: "/faults", body: `{"kind": "status", "code": 503}`,
			wantCode: 201, wantBody: `"id":2`, send: 1, sendWant: 503, list: []entry{{2, "status", 503, 1, 1}}},
	}
	seq := 0
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			code, body := rig.call(t, st.method, st.path, st.body)
			if code != st.wantCode || !strings.Contains(body, st.wantBody) {
				t.Fatalf("%s %s: got %d %q, want %d with %q", st.method, st.path, code, body, st.wantCode, st.wantBody)
			}
			for range st.send {
				if got := rig.through(t, "/x", "admin", seq); got != st.sendWant {
					t.Errorf("request %d through the proxy: got %d, want %d", seq, got, st.sendWant)
				}
				seq++
			}
			if st.list == nil {
				return
			}
			// The proxy counts a fault once it has applied it, just after
			// the answer went down: allow it a moment.
			deadline := time.Now().Add(5 * time.Second)
			for {
				got := rig.list(t)
				if fmt.Sprint(got) == fmt.Sprint(st.list) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("GET /faults: got %v, want %v", got, st.list)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// TestAdminInitialFaults lists the faults given at start with ids 0, 1, ...
// and their settings as in YAML, defaults applied.
func TestAdminInitialFaults(t *testing.T) {
	p := 0.25
	rig := startAdmin(t,
		scenarios.Fault{Kind: scenarios.KindLatency, Delay: scenarios.Duration(150 * time.Millisecond), Probability: &p},
		scenarios.Fault{Kind: scenarios.KindReset, At: scenarios.AtBeforeHeaders, Match: scenarios.Match{PathPrefix: "/v1"}},
	)
	code, body := rig.call(t, http.MethodGet, "/faults", "")
	want := `[{"id":0,"fault":{"kind":"latency","probability":0.25,"delay":"150ms"},"matched":0,"applied":0},` +
		`{"id":1,"fault":{"kind":"reset","match":{"path_prefix":"/v1"},"at":"before-headers"},"matched":0,"applied":0}]` + "\n"
	if code != http.StatusOK || body != want {
		t.Errorf("GET /faults: got %d\n%s\nwant 200\n%s", code, body, want)
	}
}

// TestAdminStableIDs checks that a fault's id is its index in every
// decision and event: removing the fault before it changes none of its
// decisions.
func TestAdminStableIDs(t *testing.T) {
	rig := startAdmin(t)
	// Fault 0 matches none of the requests; fault 1 answers half of them.
	for _, body := range []string{
		`{"kind": "status", "code": 503, "match": {"path_prefix": "/elsewhere"}}`,
		`{"kind": "status", "code": 500, "probability": 0.5}`,
	} {
		if code, out := rig.call(t, http.MethodPost, "/faults", body); code != http.StatusCreated {
			t.Fatalf("POST /faults: got %d %s, want 201", code, out)
		}
	}
	check := func(attack string) {
		t.Helper()
		hits := 0
		for seq := range 40 {
			want := http.StatusOK
			if NewDraw(rig.seed, attack, uint64(seq), 0, 1).Hit(0.5) {
				want = http.StatusInternalServerError
				hits++
			}
			if got := rig.through(t, "/x", attack, seq); got != want {
				t.Errorf("%s seq %d: got %d, want %d", attack, seq, got, want)
			}
		}
		if hits == 0 || hits == 40 {
			t.Fatalf("%s: %d of 40 hit; the test needs some of each", attack, hits)
		}
	}
	check("before")
	if code, out := rig.call(t, http.MethodDelete, "/faults/0", ""); code != http.StatusNoContent {
		t.Fatalf("DELETE /faults/0: got %d %s, want 204", code, out)
	}
	ch, unsubscribe := rig.log.Subscribe()
	check("after")
	unsubscribe()
	n := 0
	for e := range ch {
		if e.Type == TypeFault {
			n++
			if e.Fault != 1 || e.Phase != AdminPhase {
				t.Errorf("event: got fault %d in phase %q, want fault 1 in %q", e.Fault, e.Phase, AdminPhase)
			}
		}
	}
	if n == 0 {
		t.Error("no fault events after the delete")
	}
}

// TestAdminEvents streams events: a faulted request's event arrives as one
// JSON line, and the stream ends, unsubscribed, when the client leaves.
func TestAdminEvents(t *testing.T) {
	rig := startAdmin(t)
	if code, out := rig.call(t, http.MethodPost, "/faults", `{"kind": "status", "code": 503}`); code != http.StatusCreated {
		t.Fatalf("POST /faults: got %d %s, want 201", code, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rig.admin+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp := rig.do(t, req)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "application/x-ndjson" {
		t.Fatalf("GET /events: got %d %s, want 200 application/x-ndjson", resp.StatusCode, ct)
	}

	if got := rig.through(t, "/x", "events", 41); got != http.StatusServiceUnavailable {
		t.Fatalf("through the proxy: got %d, want 503", got)
	}
	lines := make(chan string, 1)
	go func() {
		defer close(lines)
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err == nil {
			lines <- line
		}
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(5 * time.Second):
		cancel() // ends the read
		<-lines
		t.Fatal("no event line within 5s")
	}
	var e Event
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		t.Fatalf("event line %q: %v", line, err)
	}
	if e.Type != TypeFault || e.Kind != scenarios.KindStatus || e.Fault != 0 || e.Attack != "events" || e.Seq == nil || *e.Seq != 41 {
		t.Errorf("event: got %+v, want the status fault 0 on events/41", e)
	}

	// The client leaves: the handler unsubscribes.
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rig.log.mu.Lock()
		n := len(rig.log.subs)
		rig.log.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers left 5s after the client went away, want 0", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
