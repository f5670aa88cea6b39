package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

// llmScenario streams chat completions from the built-in LLM upstream (20
// tokens, the first after 100ms, then one every 10ms): a quiet phase,
// then one where the upstream cuts 20% of the streams after 8 events and
// pauses 20% for 1.5s, which the client gives up on after 500ms.
const llmScenario = `name: llm-e2e
seed: 9
target: {gateway: %s, timeout: 10s, upstream_timeout: 5s%s}
upstream:
  builtin:
    llm: {tokens: 20, ttft: 100ms, inter_token: 10ms}
client:
  stream: {stall: 500ms}
requests:
  - method: POST
    path: /v1/chat/completions
    headers: {Content-Type: application/json}
    body: '{"model": "gatecrash-llm", "stream": true, "messages": [{"role": "user", "content": "hi"}]}'
phases:
  - {name: steady, duration: 2s, rate: 20/s}
  - name: broken
    duration: 2s
    rate: 20/s
    faults:
      - {kind: sse-cut, events: 8, probability: 0.2}
      - {kind: sse-stall, events: 8, for: 1500ms, probability: 0.2}
  - {name: after, duration: 500ms, rate: 2/s}
`

// TestLLMStreamsEndToEnd runs streams through every gateway and checks
// report.json: every sse-cut and sse-stall the proxy applied is a stream
// cut or stalled at the client, at least 99% of them with exact evidence;
// TTFT at the client is within 20ms of the upstream's 100ms when nothing
// buffers; and no buffering is reported. The nginx row with
// proxy_buffering on (and HTTP/1.0 to the upstream) must be reported as
// buffered, naming the setting.
func TestLLMStreamsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs streams through every gateway")
	}
	nginx, err := lab.DefaultTemplate(scenarios.GatewayNginx)
	if err != nil {
		t.Fatal(err)
	}
	buffering := strings.Replace(strings.Replace(nginx, "proxy_buffering off;", "proxy_buffering on;", 1), "proxy_http_version 1.1;", "", 1)
	for _, tt := range []struct {
		name, gateway, template string
	}{
		{"builtin", scenarios.GatewayBuiltin, ""},
		{"nginx", scenarios.GatewayNginx, ""},
		{"haproxy", scenarios.GatewayHAProxy, ""},
		{"caddy", scenarios.GatewayCaddy, ""},
		{"nginx-buffering", scenarios.GatewayNginx, buffering},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			config := ""
			if tt.template != "" {
				if err := os.WriteFile(filepath.Join(dir, "nginx.conf.tmpl"), []byte(tt.template), 0o644); err != nil {
					t.Fatal(err)
				}
				config = ", config: nginx.conf.tmpl"
			}
			file := filepath.Join(dir, "llm.yaml")
			if err := os.WriteFile(file, []byte(fmt.Sprintf(llmScenario, tt.gateway, config)), 0o644); err != nil {
				t.Fatal(err)
			}
			sc, err := scenarios.Resolve(file)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			rep, err := run.Run(ctx, sc, run.Options{Dir: out})
			if err != nil {
				t.Fatal(err)
			}
			rd := readRunDir(t, out)
			// A request drawn for both faults is cut before its pause.
			cutSeqs, stallSeqs := map[uint64]bool{}, map[uint64]bool{}
			for _, e := range rd.events {
				if e.Type != faults.TypeFault || e.Seq == nil {
					continue
				}
				switch e.Kind {
				case scenarios.KindSSECut:
					cutSeqs[*e.Seq] = true
				case scenarios.KindSSEStall:
					stallSeqs[*e.Seq] = true
				}
			}
			cuts, stalls := len(cutSeqs), 0
			for seq := range stallSeqs {
				if !cutSeqs[seq] {
					stalls++
				}
			}
			st := rep.Streams
			if st == nil {
				t.Fatalf("report.json has no streams; diagnosis: %s", rep.Diagnosis)
			}
			t.Logf("%s: %d streams, %d cut (%d sse-cut), %d stalled (%d sse-stall), TTFT p50 %v ms; %s", tt.name, st.Streams, st.Cut, cuts, st.Stalled, stalls, st.TTFTMS.P50, rep.Diagnosis)
			if tt.template != "" {
				b := st.Buffering
				if b == nil || b.Gateway != scenarios.GatewayNginx || !strings.Contains(b.Warning, "proxy_buffering off") || !strings.Contains(rep.Diagnosis, "buffered") {
					t.Errorf("buffering: got %+v, diagnosis %q; want nginx buffered, naming proxy_buffering off", b, rep.Diagnosis)
				}
				return
			}
			if st.Buffering != nil {
				t.Errorf("buffering reported on %s: %+v", tt.name, st.Buffering)
			}
			if cuts == 0 || stalls == 0 || st.Cut != cuts || st.Stalled != stalls {
				t.Errorf("got %d streams cut and %d stalled; want one per sse-cut (%d) and sse-stall (%d) applied, some of each", st.Cut, st.Stalled, cuts, stalls)
			}
			checkExactShare(t, out, rd)
			for class, n := range map[string]int{scenarios.ClassStreamCut: st.Cut, scenarios.ClassStreamStall: st.Stalled} {
				exact := 0
				for _, c := range rep.OtherCauses[class] {
					exact += c.Evidence.Exact
				}
				if float64(exact) < 0.99*float64(n) {
					t.Errorf("%s: %d of %d with exact evidence, want 99%% at least: %+v", class, exact, n, rep.OtherCauses[class])
				}
			}
			var steady *float64
			for _, p := range rep.Phases {
				if p.Name == "steady" && p.Streams != nil {
					steady = &p.Streams.TTFTMS.P50
				}
			}
			if steady == nil || *steady < 100 || *steady > 120 {
				t.Errorf("TTFT p50 in steady: got %v ms, want 100 to 120 (the upstream's 100ms, a few ms through the gateway)", deref(steady))
			}
		})
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
