package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

// TestAttributionEndToEnd runs scenarios whose injected fault is known
// through the built-in gateway, and checks that the report gives every
// failure of the expected class that fault's cause, with the expected
// evidence, and that the rest of the run stayed clean.
func TestAttributionEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real scenarios")
	}
	for _, tt := range []struct {
		name     string
		timeout  string // the built-in gateway's upstream timeout
		fault    string // the faulty phase's faults
		class    string // the failure class the fault makes
		cause    string
		evidence string
	}{
		{"hang makes 504s", "300ms", `{kind: hang, probability: 0.2}`, "504", "upstream-timeout", "exact"},
		{"status 503 is passed on", "5s", `{kind: status, code: 503, body: busy, probability: 0.3}`, "503", "upstream-5xx-passthrough", "exact"},
		{"refuse makes 502s the proxy never saw", "5s", `{kind: refuse}`, "502", "connection-refused", "temporal"},
		{"a reset mid-body cuts a 200", "5s", `{kind: reset, at: mid-body, after_bytes: 100, probability: 0.2}`, scenarios.ClassError, "reset-mid-body", "exact"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sc := writeFile(t, "s.yaml", fmt.Sprintf(`name: e2e-attribution
seed: 11
target: {gateway: builtin, timeout: 10s, upstream_timeout: %s}
upstream:
  builtin: {latency: 1ms, body_bytes: 2048}
requests:
  - {method: GET, path: /x}
phases:
  - {name: clean, duration: 1s, rate: 50/s}
  - name: faulty
    duration: 1s
    rate: 50/s
    faults:
      - %s
  - {name: after, duration: 2s, rate: 50/s}
`, tt.timeout, tt.fault))
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := gatecrash(t, "run", "--out", out, sc)
			if code != exitOK {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			rd := readRunDir(t, out)
			rep := rd.report
			causes := rep.Causes
			if tt.class != "502" {
				causes = rep.OtherCauses[tt.class]
			}
			if len(causes) != 1 {
				t.Fatalf("causes of %s: got %+v, want only %s\n%s", tt.class, causes, tt.cause, stdout)
			}
			c := causes[0]
			n := map[string]int{"exact": c.Evidence.Exact, "temporal": c.Evidence.Temporal}[tt.evidence]
			if c.Cause != tt.cause || c.Share != 1 || c.Count == 0 || n != c.Count {
				t.Errorf("got %+v, want every %s caused by %s with %s evidence", c, tt.class, tt.cause, tt.evidence)
			}
			// Only the faulty phase fails, give or take the proxy's clock
			// (it starts before the attack's) and its listener's 5 ms
			// checks at a refuse phase's bounds, and the report says when.
			for _, r := range rd.results {
				if r.Code != 0 && r.Code < 500 {
					continue
				}
				if s := r.Timestamp.Sub(rep.Started).Seconds(); s < 0.9 || s > 2.1 {
					t.Errorf("seq %d failed (%d %q) at %.3fs, want failures only in phase faulty (1s to 2s)", r.Seq, r.Code, r.Error, s)
				}
			}
			o := rep.Onset
			if tt.class != "502" {
				o = rep.OtherOnsets[tt.class]
			}
			if o.FirstS == nil || *o.FirstS < 1 || *o.FirstS >= 2 || *o.FirstPhase != "faulty" {
				t.Errorf("onset: got %+v, want the first failure in phase faulty", o)
			}
			if p := rep.Phases[1]; p.Recovery != "recovered" {
				t.Errorf("recovery after faulty: got %s, want recovered", p.Recovery)
			}
			say := tt.class + "s"
			if tt.class == scenarios.ClassError {
				// A 200 cut mid-body: an answer cut after its headers,
				// not a request without any answer.
				say = " cut after "
			}
			if rep.Gateway.Kind != "builtin" || !strings.Contains(rep.Diagnosis, say) {
				t.Errorf("gateway %+v, diagnosis %q: want builtin, and the diagnosis to speak of %s", rep.Gateway, rep.Diagnosis, say)
			}
			// report DIR rebuilds the same report from the folder alone.
			before, err := os.ReadFile(filepath.Join(out, run.ReportFile))
			if err != nil {
				t.Fatal(err)
			}
			if code, _, stderr := gatecrash(t, "report", out); code != exitOK {
				t.Fatalf("report: exit %d: %s", code, stderr)
			}
			after, _ := os.ReadFile(filepath.Join(out, run.ReportFile))
			if string(before) != string(after) {
				t.Errorf("report DIR wrote another report.json")
			}
		})
	}
}
