package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/results/compare"
)

// compareRetriesScenario resets 20% of the upstream's exchanges before
// the headers for 2 seconds, under the client retry policy %s. Its
// requests are POSTs, which the built-in gateway does not retry itself.
const compareRetriesScenario = `name: e2e-compare-retries
description: resets before headers at 20%%, under a client retry policy
seed: 7
target: {gateway: builtin, timeout: 2s}
upstream:
  builtin: {latency: 1ms, body_bytes: 64}
client:
  retry: {policy: %s}
requests:
  - {method: POST, path: /v1/orders, headers: {Content-Type: application/json}, body: '{"item": 1}'}
phases:
  - name: resets
    duration: 2s
    rate: 200/s
    faults:
      - {kind: reset, at: before-headers, probability: 0.2}
`

// TestCompareRetriesEndToEnd runs the scenario under the naive and the
// exponential policies on the built-in gateway, then gatecrash compare
// on the two run folders: its amplification of each side, in the phase
// and overall, is that side's report.json's. Naive retries (3 tries, no
// budget) put more load on the upstream than exponential ones, whose
// budget lets through at most 10% of the first tries (at least 10/s)
// while 20% fail.
func TestCompareRetriesEndToEnd(t *testing.T) {
	policies := []string{"naive", "exponential"}
	dirs := make([]string, len(policies))
	reports := make([]runDir, len(policies))
	for i, p := range policies {
		file := writeFile(t, "retries-"+p+".yaml", fmt.Sprintf(compareRetriesScenario, p))
		dirs[i] = filepath.Join(t.TempDir(), p)
		if code, stdout, stderr := gatecrash(t, "run", file, "--out", dirs[i]); code != exitOK {
			t.Fatalf("run %s: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", p, code, stdout, stderr)
		}
		reports[i] = readRunDir(t, dirs[i])
		if reports[i].report.Retries == nil || len(reports[i].report.Phases) != 1 || reports[i].report.Phases[0].Retries == nil {
			t.Fatalf("run %s: report.json has no retries in total and in its phase", p)
		}
	}

	code, stdout, stderr := compareCLI(t, "--format", "json", dirs[0], dirs[1])
	if code != exitOK && code != exitFailed {
		t.Fatalf("compare: exit %d, want 0 or 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var c compare.Comparison
	if err := json.Unmarshal([]byte(stdout), &c); err != nil {
		t.Fatalf("compare --format json: %v\n%s", err, stdout)
	}
	if c.RetriesOnlyIn != "" || c.Limits["max-amplification-increase"] != "10%" {
		t.Errorf("retries only in %q, limits %v; want both compared, the amplification's limit 10%%", c.RetriesOnlyIn, c.Limits)
	}
	if len(c.Phases) != 1 {
		t.Fatalf("compare: %d phases, want 1", len(c.Phases))
	}
	for _, pc := range []compare.PhaseChange{c.Phases[0], c.Overall} {
		var m *compare.MetricChange
		for k := range pc.Metrics {
			if pc.Metrics[k].Metric == "amplification" {
				m = &pc.Metrics[k]
			}
		}
		if m == nil || m.Base == nil || m.New == nil {
			t.Fatalf("%s: no amplification on both sides: %+v", pc.Name, m)
		}
		for i, got := range []float64{*m.Base, *m.New} {
			rep := reports[i].report
			want := rep.Phases[0].Retries.Amplification
			if pc.Name == "overall" {
				want = rep.Retries.Amplification
			}
			if got != want {
				t.Errorf("%s, %s: compare's amplification %v, report.json's %v", pc.Name, policies[i], got, want)
			}
		}
		if !(*m.Base > *m.New) {
			t.Errorf("%s: amplification naive %v, exponential %v; want naive higher", pc.Name, *m.Base, *m.New)
		}
	}
	_, text, _ := compareCLI(t, dirs[0], dirs[1])
	if !strings.Contains(text, "amplification") || !strings.Contains(text, "user-seen failures") {
		t.Errorf("compare's text lacks the retry metrics:\n%s", text)
	}
	t.Logf("amplification naive %v, exponential %v; verdict: %s", reports[0].report.Retries.Amplification, reports[1].report.Retries.Amplification, c.Verdict)
}
