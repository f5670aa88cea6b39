package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRunBaseline compares a run with a baseline at its end: a baseline
// that cannot be read is bad input before anything runs; a run against
// its own report shows no regression; a run whose 502s rose is one.
func TestRunBaseline(t *testing.T) {
	if code, _, stderr := gatecrash(t, "run", "--quiet", "--baseline", "/nonexistent/report.json", "upstream-resets", "--out", t.TempDir()); code != exitInput || !strings.Contains(stderr, "baseline") {
		t.Errorf("bad baseline: exit %d (%s), want 2 naming the baseline", code, stderr)
	}
	scenario := func(p float64) string {
		return writeFile(t, "s.yaml", `name: baseline
seed: 5
target: {gateway: builtin, timeout: 10s}
upstream:
  builtin: {latency: 1ms, body_bytes: 512}
requests:
  - {method: GET, path: /x}
phases:
  - name: steady
    duration: 6s
    rate: 50/s
    faults:
      - {kind: reset, at: before-headers, probability: `+strconv.FormatFloat(p, 'f', -1, 64)+`}
`)
	}
	base := filepath.Join(t.TempDir(), "base")
	if code, _, stderr := gatecrash(t, "run", "--quiet", "--out", base, scenario(0)); code != exitOK {
		t.Fatalf("baseline run: exit %d: %s", code, stderr)
	}
	// The same scenario: no regression. Latency limits off: the two runs'
	// latencies are this machine's, and its load (a test in parallel) can
	// move them between runs; the shares and the rate are the run's own.
	code, _, stderr := gatecrash(t, "run", "--quiet", "--out", filepath.Join(t.TempDir(), "same"), "--baseline", base,
		"--max-p50-increase", "off", "--max-p99-increase", "off", scenario(0))
	if code != exitOK {
		t.Errorf("same scenario: exit %d, want 0:\n%s", code, stderr)
	}
	code, _, stderr = gatecrash(t, "run", "--quiet", "--out", filepath.Join(t.TempDir(), "worse"), "--baseline", base, "--min-buckets", "3", scenario(0.5))
	if code != exitFailed || !strings.Contains(stderr, "regression") {
		t.Errorf("half the requests reset: exit %d, want 1 with a regression:\n%s", code, stderr)
	}
}
