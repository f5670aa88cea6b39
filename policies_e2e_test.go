package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/results/policies"
)

// policiesScenario has the upstream answer 502 to 30% of requests, which
// the built-in gateway passes on without a retry of its own, and expects
// under 10% of user-seen failures: none fails it, naive retries (0.3^3 =
// 2.7%) hold it.
const policiesScenario = `name: policies-exit
seed: 7
target: {gateway: builtin}
requests: [{method: GET, path: /x}]
phases:
  - name: bad
    duration: 2s
    rate: 50/s
    faults: [{kind: status, code: 502, probability: 0.3}]
  - {name: calm, duration: 1s, rate: 50/s}
expect:
  - rate(user-failure) < 10%
`

// TestPoliciesExitCodes runs gatecrash policies end to end on a short
// scenario: exit 1 naming the policy an expectation failed under, the
// table in every format in the folder, and a second run into the same
// folder with --force.
func TestPoliciesExitCodes(t *testing.T) {
	file := writeFile(t, "p.yaml", policiesScenario)
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr strings.Builder
	code := cli(ctx, []string{"policies", file, "--policy", "naive", "-q", "--format", "json", "-o", out}, &stdout, &stderr)
	if code != exitFailed || !strings.Contains(stderr.String(), "expectations failed under 1 of 2 policies: none (rate(user-failure) < 10%)") {
		t.Fatalf("exit %d, want 1 naming none; stderr:\n%s", code, stderr.String())
	}
	var tab policies.Table
	if err := json.Unmarshal([]byte(stdout.String()), &tab); err != nil {
		t.Fatalf("stdout: %v\n%s", err, stdout.String())
	}
	if len(tab.Rows) != 2 || tab.Rows[0].Verdict != policies.Fail || tab.Rows[1].Verdict != policies.Pass || tab.Seed != 7 {
		t.Fatalf("got %+v, want none failed, naive passed, seed 7", tab.Rows)
	}
	none, naive := tab.Rows[0], tab.Rows[1]
	// Fault decisions hang on the seed: the same every run; the bounds
	// are binomial ones all the same (n = 100).
	if none.UserFailureRate < 0.15 || none.UserFailureRate > 0.45 || naive.UserFailureRate > 0.1 || naive.Hidden == 0 {
		t.Errorf("user-seen failures: none %v, naive %v (hidden %d); want about 30%% and 2.7%%, some hidden", none.UserFailureRate, naive.UserFailureRate, naive.Hidden)
	}
	if none.Amplification != 1 || naive.Amplification <= 1.1 || naive.Amplification > 1.6 {
		t.Errorf("amplification: none %v, naive %v; want 1 and about 1.4 (1 + 0.3 + 0.09)", none.Amplification, naive.Amplification)
	}
	for _, name := range []string{"policies.txt", "policies.md", "policies.json", "0-none/report.json", "1-naive/tries.jsonl", "1-naive/report.html"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("the folder lacks %s: %v", name, err)
		}
	}
	// Again into the same folder: refused without --force, done with it.
	stdout.Reset()
	stderr.Reset()
	if code := cli(ctx, []string{"policies", file, "--policy", "naive", "-q", "-o", out}, &stdout, &stderr); code != exitInput {
		t.Errorf("a second run without --force: exit %d, want 2; stderr: %s", code, stderr.String())
	}
	stderr.Reset()
	code = cli(ctx, []string{"policies", file, "--policy", "naive", "--policy", "none", "-q", "--force", "--format", "markdown", "-o", out}, &stdout, &stderr)
	if code != exitFailed || !strings.Contains(stdout.String(), "| policy | user-seen failures |") {
		t.Errorf("with --force: exit %d, want 1 and the Markdown table; stdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
}
