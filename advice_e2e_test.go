package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// adviceScenarios are the runs of TestAdviceOnRealGateways: a latency
// fault past nginx's proxy_read_timeout (300ms), the keep-alive race of
// keepaliveScenario, a refusal, and a run without faults.
const (
	adviceReadTimeout = `name: advice-read-timeout
seed: 7
target: {timeout: 5s, upstream_timeout: 300ms}
upstream:
  builtin: {latency: 1ms, body_bytes: 64}
requests:
  - {method: GET, path: /v1/items}
phases:
  - name: slow
    duration: 1500ms
    rate: 20/s
    faults:
      - {kind: latency, delay: 600ms, probability: 0.3}
`
	adviceRefuse = `name: advice-refuse
seed: 7
target: {timeout: 5s, connect_timeout: 1s}
upstream:
  builtin: {latency: 1ms, body_bytes: 64}
requests:
  - {method: GET, path: /v1/items}
phases:
  - {name: before, duration: 500ms, rate: 20/s}
  - name: refused
    duration: 1s
    rate: 20/s
    faults:
      - {kind: refuse}
  - {name: after, duration: 500ms, rate: 20/s}
`
	// adviceLongRefuse outlasts HAProxy's connect retries (3 x 1s): the
	// requests sent in its first second get a 503 after them.
	adviceLongRefuse = `name: advice-long-refuse
seed: 7
target: {timeout: 10s, upstream_timeout: 1s, connect_timeout: 1s}
upstream:
  builtin: {latency: 1ms, body_bytes: 64}
requests:
  - {method: GET, path: /v1/items}
phases:
  - name: refused
    duration: 4s
    rate: 10/s
    faults:
      - {kind: refuse}
  - {name: after, duration: 500ms, rate: 10/s}
`
	adviceClean = `name: advice-clean
seed: 7
target: {timeout: 5s}
upstream:
  builtin: {latency: 1ms, body_bytes: 64}
requests:
  - {method: GET, path: /v1/items}
  - {method: POST, path: /v1/orders, body: '{}'}
phases:
  - {name: clean, duration: 1s, rate: 20/s}
`
)

// TestAdviceOnRealGateways runs, on the real gateway each rule is about,
// the faults whose evidence today's report measures, and checks that the
// rule fires with the figure report.json holds, and that a run without
// faults gets no advice on any gateway. The rules that need Report.Slow
// (HAProxy's connect retries slowing answers down) have unit tests only
// (results/advice), until the analysis fills it.
func TestAdviceOnRealGateways(t *testing.T) {
	tests := []struct {
		name     string
		scenario string
		gateway  string
		// template is the user's template of the gateway, written
		// beside the scenario as gateway.tmpl; "" for gatecrash's own.
		template string
		// check returns the rules wanted and, for each, words the
		// evidence must hold, from the report.
		check func(rep *results.Report) map[string][]string
	}{
		{
			name: "nginx read timeout", scenario: adviceReadTimeout, gateway: scenarios.GatewayNginx,
			check: func(rep *results.Report) map[string][]string {
				n := count(rep.OtherCauses["504"], causes.UpstreamLatency) + count(rep.OtherCauses["504"], causes.UpstreamTimeout)
				if n == 0 {
					t.Fatalf("504s of the latency: none in %v, want some", rep.OtherCauses)
				}
				return map[string][]string{"nginx-read-timeout": {
					fmt.Sprintf("%d answers 504", n), "after proxy_read_timeout 300ms in phase slow", "600ms",
				}}
			},
		},
		{
			name: "nginx keep-alive race", scenario: keepaliveScenario, gateway: scenarios.GatewayNginx,
			check: func(rep *results.Report) map[string][]string {
				n := count(rep.Causes, causes.KeepaliveRace)
				for _, cs := range rep.OtherCauses {
					n += count(cs, causes.KeepaliveRace)
				}
				if n == 0 || rep.Masked.ByKind["keepalive"] == 0 {
					t.Fatalf("keep-alive race: %d failures, masked %v, want some of both", n, rep.Masked.ByKind)
				}
				return map[string][]string{
					"nginx-upstream-keepalive-timeout": {
						fmt.Sprintf("%d requests failed with keepalive-race", n), "in phase race",
						fmt.Sprintf("%d more keepalive faults were masked", rep.Masked.ByKind["keepalive"]),
						"idle 40ms, nginx keeps them 60s",
					},
					"nginx-next-upstream-non-idempotent": {
						fmt.Sprintf("%d requests failed with keepalive-race in phase race while %d keepalive faults", n, rep.Masked.ByKind["keepalive"]),
					},
				}
			},
		},
		{
			name: "caddy refusals", scenario: adviceRefuse, gateway: scenarios.GatewayCaddy,
			check: func(rep *results.Report) map[string][]string {
				n := count(rep.Causes, causes.ConnectionRefused)
				if n == 0 {
					t.Fatalf("502s of connection-refused: none in %v, want some", rep.Causes)
				}
				return map[string][]string{"caddy-lb-try-duration": {
					fmt.Sprintf("(%d connection-refused) in phase refused", n), "Caddy tried each once",
				}}
				// The suggestion is what the next case's template sets.
			},
		},
		{
			name: "haproxy refusal past its retries", scenario: adviceLongRefuse, gateway: scenarios.GatewayHAProxy,
			check: func(rep *results.Report) map[string][]string {
				n := count(rep.Causes, causes.ConnectionRefused)
				var in []string
				for class, cs := range rep.OtherCauses {
					if k := count(cs, causes.ConnectionRefused); k > 0 {
						n += k
						in = append(in, fmt.Sprintf("%d %ss", k, class))
					}
				}
				if n == 0 {
					t.Fatalf("failures of connection-refused: none in %v, want some", rep.OtherCauses)
				}
				return map[string][]string{"haproxy-connect-retries": {
					fmt.Sprintf("%d requests failed with connection-refused", n), "in phase refused", "each after 3 connect retries 1s apart",
				}}
			},
		},
		{
			// The user's template retries for 2s, as the advice of the
			// case before suggests: the refusals are masked, and the
			// setting is right.
			name: "caddy retrying (the user's template)", scenario: strings.Replace(adviceRefuse, "target: {", "target: {gateway: caddy, config: gateway.tmpl, ", 1),
			gateway: scenarios.GatewayCaddy, template: strings.Replace(caddyTemplate(t), "reverse_proxy {{.Upstream}} {", "reverse_proxy {{.Upstream}} {\n\t\tlb_try_duration 2s", 1),
			check: func(rep *results.Report) map[string][]string {
				if n := count(rep.Causes, causes.ConnectionRefused); n != 0 {
					t.Errorf("502s of connection-refused with lb_try_duration 2s: got %d, want none", n)
				}
				return map[string][]string{}
			},
		},
		{name: "nginx without faults", scenario: adviceClean, gateway: scenarios.GatewayNginx},
		{name: "haproxy without faults", scenario: adviceClean, gateway: scenarios.GatewayHAProxy},
		{name: "caddy without faults", scenario: adviceClean, gateway: scenarios.GatewayCaddy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := writeFile(t, "advice.yaml", tt.scenario)
			if tt.template != "" {
				if !strings.Contains(tt.template, "lb_try_duration 2s") || !strings.Contains(tt.scenario, "config: gateway.tmpl") {
					t.Fatal("the user's template was not set up")
				}
				if err := os.WriteFile(filepath.Join(filepath.Dir(file), "gateway.tmpl"), []byte(tt.template), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := gatecrash(t, "run", file, "--gateway", tt.gateway, "--out", out)
			if code != exitOK {
				t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			rd := readRunDir(t, out)
			if advice, ok := rd.raw["advice"].([]any); !ok {
				t.Fatalf("report.json's advice: got %#v, want a list", rd.raw["advice"])
			} else if tt.check == nil && len(advice) != 0 {
				t.Fatalf("advice of a run without faults: got %v, want none", advice)
			}
			if tt.check == nil {
				return
			}
			want := tt.check(rd.report)
			got := map[string]results.Advice{}
			for _, a := range rd.report.Advice {
				got[a.Rule] = a
				t.Logf("%s: %s (now %s): %s; %s", a.Rule, a.Setting, a.Current, a.Suggest, a.Evidence)
			}
			for rule, words := range want {
				a, ok := got[rule]
				if !ok {
					t.Errorf("advice %s: none in %+v, want some", rule, rd.report.Advice)
					continue
				}
				if a.Gateway != tt.gateway {
					t.Errorf("advice %s: gateway %q, want %q", rule, a.Gateway, tt.gateway)
				}
				for _, w := range words {
					if !strings.Contains(a.Evidence, w) {
						t.Errorf("advice %s: evidence %q, want it to hold %q", rule, a.Evidence, w)
					}
				}
			}
			for rule := range got {
				if _, ok := want[rule]; !ok {
					t.Errorf("advice %s: got %+v, want none", rule, got[rule])
				}
			}
		})
	}
}

// caddyTemplate returns gatecrash's own Caddy template, for a test to
// make a user's template of.
func caddyTemplate(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join("lab", "templates", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// count returns the count of the cause among cs.
func count(cs []results.Cause, cause string) int {
	n := 0
	for _, c := range cs {
		if c.Cause == cause {
			n += c.Count
		}
	}
	return n
}

// TestAdviceUnreadableConfig: a gateway.conf that cannot be read makes
// gatecrash report exit 2, naming the file and the fix.
func TestAdviceUnreadableConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "runs", "upstream-resets"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "gateway.conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := gatecrash(t, "report", dir)
	want := "gateway.conf: is a directory; make gateway.conf a readable file, or remove it to report without advice"
	if code != exitInput || !strings.Contains(stderr, want) {
		t.Errorf("got exit %d, stderr %q, want exit %d and %q", code, stderr, exitInput, want)
	}
}
