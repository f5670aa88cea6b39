package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// keepaliveScenario sends GETs and POSTs, one after the other, at a pace
// that leaves each pooled connection about 50ms idle between requests;
// the upstream closes half of the connections idle 40ms as the next
// request comes.
const keepaliveScenario = `name: keepalive-e2e
seed: 5
target: {timeout: 5s}
upstream:
  builtin: {latency: 1ms, body_bytes: 256}
requests:
  - {method: GET, path: /v1/items}
  - {method: POST, path: /v1/orders, headers: {Content-Type: application/json}, body: '{"item": 1}'}
phases:
  - name: race
    duration: 4s
    rate: 20/s
    faults:
      - {kind: keepalive, idle: 40ms, probability: 0.5}
`

// TestKeepaliveRaceOnEveryGateway runs the keep-alive race on the
// built-in gateway and each real one, and checks what each does with a
// GET and a POST whose connection the upstream closed under it: every
// gateway sends the GET again on another connection (masked), and none a
// POST, which fails as the gateway fails it (a 502; HAProxy closes the
// client's connection instead, so that the client may retry), tied to
// keepalive-race with exact evidence.
func TestKeepaliveRaceOnEveryGateway(t *testing.T) {
	file := writeFile(t, "keepalive.yaml", keepaliveScenario)
	for _, tt := range []struct {
		gateway string
		post    string // how a POST hit fails: a status, or "error"
	}{
		{scenarios.GatewayBuiltin, "502"},
		{scenarios.GatewayNginx, "502"},
		{scenarios.GatewayHAProxy, "error"},
		{scenarios.GatewayCaddy, "502"},
	} {
		t.Run(tt.gateway, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := gatecrash(t, "run", file, "--gateway", tt.gateway, "--out", out)
			if code != exitOK {
				t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			rd := readRunDir(t, out)
			// The keepalive faults by seq: the attempts they ended.
			hits := map[uint64]int{}
			for _, e := range rd.events {
				if e.Type == faults.TypeFault && e.Kind == scenarios.KindKeepalive && e.Seq != nil {
					hits[*e.Seq]++
				}
			}
			// What the client got for each method's hit requests.
			got := map[string]map[string]int{http.MethodGet: {}, http.MethodPost: {}}
			for _, r := range rd.results {
				if hits[r.Seq] == 0 {
					continue
				}
				outcome := strconv.Itoa(int(r.Code))
				if r.Code == 0 {
					outcome = "error"
				}
				got[r.Method][outcome]++
			}
			t.Logf("%s: GETs hit %v, POSTs hit %v; masked %+v", tt.gateway, got[http.MethodGet], got[http.MethodPost], rd.report.Masked)
			if n := sum(got[http.MethodGet]); n == 0 || got[http.MethodGet]["200"] != n {
				t.Errorf("GETs the fault hit: got %v, want some, every one retried to a 200", got[http.MethodGet])
			}
			if n := sum(got[http.MethodPost]); n == 0 || got[http.MethodPost][tt.post] != n {
				t.Errorf("POSTs the fault hit: got %v, want some, every one failed with %s", got[http.MethodPost], tt.post)
			}
			if rd.report.Masked.Reasons["gateway-retried"] < sum(got[http.MethodGet]) {
				t.Errorf("masked: got %+v, want every GET hit retried by the gateway", rd.report.Masked)
			}
			// The POSTs' failures are tied to the race, exactly.
			cs := rd.report.Causes
			if tt.post == "error" {
				cs = rd.report.OtherCauses[scenarios.ClassError]
			}
			exact, all := 0, 0
			for _, c := range cs {
				all += c.Count
				if c.Cause == causes.KeepaliveRace {
					exact += c.Evidence.Exact
				}
			}
			if all == 0 || float64(exact) < 0.99*float64(all) {
				t.Errorf("causes of the %s failures: got %s, want at least 99%% keepalive-race with exact evidence", tt.post, fmt.Sprint(cs))
			}
		})
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
