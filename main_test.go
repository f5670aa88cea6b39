package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"go.uber.org/goleak"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// The gatecrash binary, built once for the tests that run it as a user
// would; TestMain removes it.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// gatecrashBinary builds the binary on first use and returns its path.
func gatecrashBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "gatecrash-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "gatecrash")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// gatecrash runs the CLI in process and returns its exit code and output.
func gatecrash(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := cli(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runDir holds everything a run wrote.
type runDir struct {
	report  *results.Report
	raw     map[string]any
	results []vegeta.Result
	events  []faults.Event
}

func readRunDir(t *testing.T, dir string) runDir {
	t.Helper()
	var rd runDir
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rd.report); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rd.raw); err != nil {
		t.Fatal(err)
	}
	// Read the results with vegeta's own decoder, as vegeta report does.
	f, err := os.Open(filepath.Join(dir, "results"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := vegeta.DecoderFor(f)
	if dec == nil {
		t.Fatal("vegeta.DecoderFor does not recognise the results file")
	}
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			break
		}
		rd.results = append(rd.results, r)
	}
	ef, err := os.Open(filepath.Join(dir, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	if rd.events, err = faults.ReadEvents(ef); err != nil {
		t.Fatal(err)
	}
	return rd
}

const resetsScenario = `name: e2e-resets
description: a clean phase, then the upstream resets one request in four
seed: 3
target: {gateway: builtin, timeout: 5s}
upstream:
  builtin: {latency: 1ms, body_bytes: 256}
requests:
  - {method: GET, path: /v1/items, headers: {Accept: application/json}}
phases:
  - {name: clean, duration: 1s, rate: 100/s}
  - name: resets
    duration: 2s
    rate: 100/s
    faults:
      - {kind: reset, at: before-headers, probability: 0.25}
`

func TestRunEndToEnd(t *testing.T) {
	file := writeFile(t, "resets.yaml", resetsScenario)
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := gatecrash(t, "run", file, "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	rd := readRunDir(t, out)
	rep := rd.report

	// vegeta's decoder reads back every request the report counts.
	if len(rd.results) != rep.Totals.Requests || rep.Totals.Requests != 300 {
		t.Errorf("vegeta decoded %d results, report counts %d; want both 300 (1s and 2s at 100/s)", len(rd.results), rep.Totals.Requests)
	}
	if got := rep.Phases[0].Status["502"]; got != 0 {
		t.Errorf("clean phase: got %d 502s, want none", got)
	}

	// Index events by request.
	type key struct {
		attack string
		seq    uint64
	}
	resets := map[key]int{} // the last attempt the proxy reset
	tallies, tallied := 0, uint64(0)
	seen := map[key]int{} // highest attempt the proxy saw
	applied := 0          // fault events
	for _, e := range rd.events {
		if e.Kind == faults.ObservedSeen {
			continue
		}
		if e.Kind == faults.ObservedTally {
			// One tally, the reset's, applied once per fault event.
			if e.Phase != "resets" || e.Fault != 0 || e.FaultKind != "reset" || e.P != 0.25 || e.Applied == 0 || e.Matched < e.Applied {
				t.Errorf("got tally %+v, want the reset's of phase resets", e)
			}
			tallies++
			tallied = e.Applied
			continue
		}
		if e.Type == faults.TypeFault {
			applied++
		}
		if e.Seq == nil {
			t.Fatalf("event without seq: %+v", e)
		}
		k := key{e.Attack, *e.Seq}
		seen[k] = max(seen[k], e.Attempt)
		if e.Type == faults.TypeFault {
			if e.Kind != "reset" || e.Phase != "resets" || e.Cause != "reset-before-headers" {
				t.Errorf("got fault event %+v, want only resets in phase resets", e)
			}
			// Events are logged when a fault ends, so not in attempt order.
			if old, ok := resets[k]; !ok || e.Attempt > old {
				resets[k] = e.Attempt
			}
		}
	}
	if tallies != 1 || tallied != uint64(applied) {
		t.Errorf("got %d tallies, applied %d; want one, applied as often as the %d fault events", tallies, tallied, applied)
	}
	if len(rep.Unapplied) != 0 {
		t.Errorf("unapplied: got %+v, want none: the reset applied as its probability says", rep.Unapplied)
	}
	byKey := map[key]vegeta.Result{}
	n502 := 0
	for _, r := range rd.results {
		byKey[key{r.Attack, r.Seq}] = r
		if r.Code == 502 {
			n502++
			if _, ok := resets[key{r.Attack, r.Seq}]; !ok {
				t.Errorf("502 for seq %d without a reset of that seq", r.Seq)
			}
		}
	}
	if len(resets) == 0 || n502 == 0 {
		t.Fatalf("got %d requests reset and %d 502s, want some of each", len(resets), n502)
	}
	// Every request the proxy reset is accounted for: it ended in a 502,
	// or the gateway retried it and a later attempt succeeded.
	masked := 0
	for k, last := range resets {
		r, ok := byKey[k]
		switch {
		case !ok:
			t.Errorf("seq %d was reset but has no result", k.seq)
		case r.Code == 502:
			// The 502 answers the last attempt: the last one seen was reset.
			if seen[k] != last {
				gwlog, _ := os.ReadFile(filepath.Join(out, "gateway.log"))
				var evs []string
				for _, e := range rd.events {
					if *e.Seq == k.seq {
						evs = append(evs, fmt.Sprintf("%+v", e))
					}
				}
				t.Errorf("seq %d ended 502 (%q), but its last attempt (%d) was not the reset one (%d)\nevents: %s\ngateway log:\n%s",
					k.seq, r.Error, seen[k], last, strings.Join(evs, "\n"), gwlog)
			}
		case r.Code == 200:
			if seen[k] <= last {
				t.Errorf("seq %d ended 200 but its last attempt (%d) was reset and no later attempt reached the proxy", k.seq, last)
			}
			masked++
		default:
			t.Errorf("seq %d was reset and ended %d %q, want 502 or a retried 200", k.seq, r.Code, r.Error)
		}
	}
	t.Logf("%d requests reset: %d ended 502, %d retried to 200 by the gateway; run took %.2fs, %d client errors", len(resets), n502, masked, rep.DurationS, rep.Totals.Errors)

	// Every 502 has its cause, with exact evidence.
	if len(rep.Causes) != 1 || rep.Causes[0].Cause != "reset-before-headers" || rep.Causes[0].Count != n502 || rep.Causes[0].Evidence.Exact != n502 || rep.Causes[0].Share != 1 {
		t.Errorf("causes: got %+v, want all %d 502s reset-before-headers with exact evidence", rep.Causes, n502)
	}
	if rep.Onset.FirstPhase == nil || *rep.Onset.FirstPhase != "resets" || *rep.Onset.FirstS < 1 {
		t.Errorf("onset: got %+v, want the first 502 after 1s in phase resets", rep.Onset)
	}
	// Every reset that did not end in a 502 is masked, as retried by the
	// gateway; a reset whose retry was reset too is repeated.
	retried, repeated := 0, 0
	for _, e := range rd.events {
		if e.Type != faults.TypeFault {
			continue
		}
		k := key{e.Attack, *e.Seq}
		switch {
		case byKey[k].Code == 200:
			retried++
		case e.Attempt < seen[k]:
			repeated++
		}
	}
	if m := rep.Masked; m.Count != retried || m.Reasons["gateway-retried"] != retried || m.Repeated != repeated || m.Faults != retried+repeated+n502 {
		t.Errorf("masked: got %+v, want %d retried by the gateway, %d repeated, of %d faults", m, retried, repeated, retried+repeated+n502)
	}

	// The report.json contract: these keys, with these types.
	for _, k := range []string{"schema", "scenario", "interrupted", "started", "duration_s", "totals", "phases", "timeline", "onset", "causes"} {
		if _, ok := rd.raw[k]; !ok {
			t.Errorf("report.json lacks %q", k)
		}
	}
	if rd.raw["schema"] != "gatecrash/report/v1" || rd.raw["scenario"] != "e2e-resets" || rd.raw["interrupted"] != false {
		t.Errorf("report.json: got schema %v scenario %v interrupted %v", rd.raw["schema"], rd.raw["scenario"], rd.raw["interrupted"])
	}
	if _, err := time.Parse(time.RFC3339, rd.raw["started"].(string)); err != nil {
		t.Errorf("started is not RFC 3339: %v", err)
	}
	ph := rd.raw["phases"].([]any)[1].(map[string]any)
	for _, k := range []string{"name", "start_s", "end_s", "offered_rate", "achieved_rate", "requests", "status", "latency_ms"} {
		if _, ok := ph[k]; !ok {
			t.Errorf("report.json phases[1] lacks %q", k)
		}
	}
	if len(rep.Timeline) < 3 || rep.Timeline[2].Faults["reset"] == 0 || rep.Timeline[0].Faults["reset"] != 0 {
		t.Errorf("timeline: got %+v, want resets counted in seconds 1-2 only", rep.Timeline)
	}
	if !strings.Contains(stdout, "502s began at") || !strings.Contains(stdout, "reset-before-headers") {
		t.Errorf("text report lacks the onset or the cause:\n%s", stdout)
	}

	// The report is rebuilt byte for byte from the folder alone.
	before, _ := os.ReadFile(filepath.Join(out, "report.json"))
	if code, _, stderr := gatecrash(t, "report", out); code != exitOK {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(out, "report.json"))
	if !bytes.Equal(before, after) {
		t.Error("gatecrash report DIR wrote a different report.json from the same records")
	}
}
