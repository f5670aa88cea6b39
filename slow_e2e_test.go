package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// slowScenario has a clean half second, then a phase whose answers half
// get 300ms of injected latency, one where 30% of GETs are reset before
// their headers, a 1.5s refusal (shorter than HAProxy's 3 connect
// retries), and a clean second, at 40/s.
const slowScenario = `name: slow-causes
seed: 7
target: {timeout: 10s, upstream_timeout: 2s, connect_timeout: 1s}
upstream:
  builtin: {latency: 1ms, body_bytes: 64}
requests:
  - {method: GET, path: /v1/items}
phases:
  - {name: before, duration: 500ms, rate: 40/s}
  - name: slowed
    duration: 1s
    rate: 40/s
    faults:
      - {kind: latency, delay: 300ms, probability: 0.5}
  - name: resets
    duration: 1s
    rate: 40/s
    faults:
      - {kind: reset, at: before-headers, probability: 0.3}
  - name: refused
    duration: 1500ms
    rate: 40/s
    faults:
      - {kind: refuse}
  - {name: after, duration: 1s, rate: 40/s}
`

// TestSlowCausesOnEveryGateway runs slowScenario on each gateway with a
// 200ms slow threshold and checks the report's causes of slow answers
// and the masked faults' price against the run's own files: every
// answer the latency fault held back is slow with cause
// injected-latency (exact); on HAProxy, the refusal's late 200s are slow
// with cause connect-retried and the diagnosis says so; every GET whose
// reset the gateway retried to a 200 is in the price, with its extra
// attempts.
func TestSlowCausesOnEveryGateway(t *testing.T) {
	file := writeFile(t, "slow.yaml", slowScenario)
	for _, tt := range []struct {
		gateway  string
		retries  bool // the gateway retries a GET reset before its headers
		connects bool // it retries a refused connect until the listener opens
	}{
		{scenarios.GatewayBuiltin, true, false},
		{scenarios.GatewayNginx, true, false},
		{scenarios.GatewayHAProxy, true, true},
		{scenarios.GatewayCaddy, true, false},
	} {
		t.Run(tt.gateway, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := gatecrash(t, "run", file, "--gateway", tt.gateway, "--out", out, "--quiet", "--slow-threshold", "200ms")
			if code != exitOK {
				t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if tt.gateway != scenarios.GatewayBuiltin {
				checkStopped(t, stderr)
			}
			rd := readRunDir(t, out)
			s := rd.report.Slow
			if s == nil || s.ThresholdMS != 200 || s.From != results.SlowFromFlag {
				t.Fatalf("slow: got %+v, want a 200ms threshold from the flag", s)
			}
			// From the files: the seqs the latency fault held back and
			// those a reset broke, with each one's last attempt.
			delayed, reset, last := map[uint64]bool{}, map[uint64]bool{}, map[uint64]int{}
			var refuseFrom, refuseTo time.Time
			for _, e := range rd.events {
				switch e.Kind {
				case scenarios.KindRefuse:
					refuseFrom = e.Time
				case faults.ObservedRefuseEnded:
					refuseTo = e.Time
				}
				if e.Seq == nil {
					continue
				}
				last[*e.Seq] = max(last[*e.Seq], e.Attempt)
				if e.Type == faults.TypeFault && e.Kind == scenarios.KindLatency {
					delayed[*e.Seq] = true
				}
				if e.Type == faults.TypeFault && e.Kind == scenarios.KindReset {
					reset[*e.Seq] = true
				}
			}
			if refuseFrom.IsZero() || refuseTo.IsZero() {
				t.Fatalf("the events do not show the refusal: %v to %v", refuseFrom, refuseTo)
			}
			wantDelayed, masked, extra, late := 0, 0, 0, 0
			lateMin := time.Hour
			refused := phaseOf(t, rd.report, "refused")
			for _, r := range rd.results {
				ms := float64(r.Latency.Microseconds()) / 1000
				if r.Code != 200 {
					continue
				}
				if delayed[r.Seq] && last[r.Seq] == 0 && ms >= 200 {
					wantDelayed++
				}
				if reset[r.Seq] {
					masked++
					extra += last[r.Seq]
				}
				// Sent while the listener refused, and slow.
				if !r.Timestamp.Before(refuseFrom) && r.Timestamp.Before(refuseTo) && ms >= 200 {
					late++
					lateMin = min(lateMin, r.Latency)
				}
			}
			slowed := phaseOf(t, rd.report, "slowed")
			inj := slowCause(slowed.Slow, results.SlowInjected)
			t.Logf("%s: %d delayed answers, slow causes %s; masked resets %d (%d extra attempts), price %+v; %d late in refused, causes %s",
				tt.gateway, wantDelayed, causesText(slowed.Slow), masked, extra, rd.report.Masked.Price, late, causesText(refused.Slow))
			if wantDelayed == 0 || inj.Count != wantDelayed || inj.Evidence.Exact != wantDelayed {
				t.Errorf("phase slowed: injected-latency %+v, want %d, all exact", inj, wantDelayed)
			}
			if base := rd.report.Slow.Baseline.P50MS; inj.LatencyMS.Min < 300 || math.Abs(inj.AddedMS.Min-(inj.LatencyMS.Min-base)) > 0.01 {
				t.Errorf("phase slowed: injected-latency latency %+v added %+v, want 300ms and more, over the baseline's p50 %v", inj.LatencyMS, inj.AddedMS, base)
			}
			var price results.MaskedPrice
			for _, p := range rd.report.Masked.Price {
				if p.Kind == scenarios.KindReset && p.Phase == "resets" {
					price = p
				}
			}
			if price.Requests != masked || price.ExtraAttempts != extra || price.AddedMS > float64(price.Requests)*price.AddedMaxMS+0.01 {
				t.Errorf("price of resets: got %+v, want %d requests and %d extra attempts", price, masked, extra)
			}
			if tt.retries && masked == 0 {
				t.Errorf("%s retries GETs reset before their headers, yet no reset was masked", tt.gateway)
			}
			// Over the whole run: the proxy's refusal and the attacker's
			// phase need not begin at the same instant.
			conn := slowCause(&results.PhaseSlow{Causes: rd.report.Slow.Causes}, results.SlowConnectRetried)
			if tt.connects {
				// HAProxy retries a refused connect a second later.
				if late < 10 || conn.Count < late || conn.Evidence.Temporal != conn.Count || lateMin < 900*time.Millisecond {
					t.Errorf("phase refused: %d 200s sent while refused came late (at least %s), connect-retried %+v; want 10 or more, 900ms late or more, every one connect-retried (temporal)", late, lateMin, conn)
				}
				var adv *results.Advice
				for i := range rd.report.Advice {
					if rd.report.Advice[i].Rule == "haproxy-connect-retries" {
						adv = &rd.report.Advice[i]
					}
				}
				if adv == nil || adv.Cause != results.SlowConnectRetried || !strings.Contains(adv.Evidence, fmt.Sprint(conn.Count)) {
					t.Errorf("advice: got %+v, want haproxy-connect-retries for the %d connect-retried answers", rd.report.Advice, conn.Count)
				}
				if want := "in phase refused took"; !strings.Contains(rd.report.Diagnosis, want) || !strings.Contains(rd.report.Diagnosis, "HAProxy retried the connect while the upstream refused") {
					t.Errorf("diagnosis does not name the connect retries:\n%s", rd.report.Diagnosis)
				}
			}
		})
	}
}

// phaseOf returns the phase of rep by name.
func phaseOf(t *testing.T, rep *results.Report, name string) *results.PhaseReport {
	t.Helper()
	for i := range rep.Phases {
		if rep.Phases[i].Name == name {
			if rep.Phases[i].Slow == nil {
				t.Fatalf("phase %s has no slow answers' section", name)
			}
			return &rep.Phases[i]
		}
	}
	t.Fatalf("no phase %s", name)
	return nil
}

// slowCause returns a cause of a phase's slow answers, zero without it.
func slowCause(p *results.PhaseSlow, cause string) results.SlowCause {
	for _, c := range p.Causes {
		if c.Cause == cause {
			return c
		}
	}
	return results.SlowCause{}
}

func causesText(p *results.PhaseSlow) string {
	var b strings.Builder
	for _, c := range p.Causes {
		fmt.Fprintf(&b, "%s=%d ", c.Cause, c.Count)
	}
	return b.String()
}

// queueScenario sends 10/s for 1.5s to an upstream that takes 300ms,
// through HAProxy with a template whose server takes 2 connections at a
// time: the gateway queues the rest. No fault is active.
const queueScenario = `name: gateway-queue
seed: 3
target: {gateway: haproxy, config: haproxy.tmpl, timeout: 10s, upstream_timeout: 5s}
upstream:
  builtin: {latency: 300ms, body_bytes: 64}
requests:
  - {method: GET, path: /v1/items}
phases:
  - {name: queued, duration: 1500ms, rate: 10/s}
`

// TestGatewayQueueingSlow checks the cause of slow answers that only the
// gateway's log explains: with HAProxy holding requests in its queue for
// the server's 2 connections, every answer that took 450ms or more (the
// upstream alone takes 300ms) is slow of cause gateway-queueing, with
// signature evidence, and the log's wait (wait_ms) is most of its
// latency.
func TestGatewayQueueingSlow(t *testing.T) {
	text, err := lab.DefaultTemplate(scenarios.GatewayHAProxy)
	if err != nil {
		t.Fatal(err)
	}
	const server = "server proxy {{.Upstream}}"
	if !strings.Contains(text, server) {
		t.Fatalf("the default template lacks %q", server)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "haproxy.tmpl"), []byte(strings.Replace(text, server, server+" maxconn 2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "queue.yaml")
	if err := os.WriteFile(file, []byte(queueScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := gatecrash(t, "run", file, "--out", out, "--quiet", "--slow-threshold", "450ms")
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	checkStopped(t, stderr)
	rd := readRunDir(t, out)
	s := rd.report.Slow
	var slow int
	for _, r := range rd.results {
		if r.Code == 200 && r.Latency >= 450*time.Millisecond {
			slow++
		}
	}
	q := slowCause(&results.PhaseSlow{Causes: s.Causes}, results.SlowGatewayQueued)
	t.Logf("%d slow answers of %d; causes %s", slow, len(rd.results), causesText(&results.PhaseSlow{Causes: s.Causes}))
	if slow < 3 || s.Count != slow || q.Count != slow || q.Evidence.Signature != slow {
		t.Errorf("slow answers: %d in the results, %d in the report, gateway-queueing %+v; want 3 or more, all of them gateway-queueing (signature)", slow, s.Count, q)
	}
	if !strings.Contains(rd.report.Diagnosis, "HAProxy held them before the upstream answered (its log says)") {
		t.Errorf("the diagnosis does not name the gateway's queue:\n%s", rd.report.Diagnosis)
	}
}
