package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/run"
)

// neverBitScenario holds two faults that never bite on the built-in
// gateway: a status fault whose match (DELETE) matches none of the GETs,
// and a keepalive fault whose idle (10s) no connection reaches at 50/s.
const neverBitScenario = `name: never-bit
description: two faults that never bite, and a report that says so
seed: 11
target: {gateway: builtin, timeout: 5s}
upstream:
  builtin: {latency: 1ms, body_bytes: 64}
requests:
  - {method: GET, path: /v1/items}
phases:
  - name: spike
    duration: 1s
    rate: 50/s
    faults:
      - {kind: status, code: 500, probability: 0.5, match: {method: DELETE}}
  - name: race
    duration: 1s
    rate: 50/s
    faults:
      - {kind: keepalive, idle: 10s}
expect:
  - rate(status=502) < 1%
`

// TestUnappliedEndToEnd runs the scenario through gatecrash run: its
// expectation holds (exit 0), yet report.json, the diagnosis and every
// report file warn that both faults never applied, and the events hold
// the proxy's tallies that say so.
func TestUnappliedEndToEnd(t *testing.T) {
	file := writeFile(t, "never-bit.yaml", neverBitScenario)
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := gatecrash(t, "run", file, "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d, want 0: a fault that never bit is a warning\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	rd := readRunDir(t, out)
	rep := rd.report
	spike := rep.Phases[0].Requests
	if spike == 0 || rep.Phases[1].Requests == 0 {
		t.Fatalf("phases: got %+v, want requests in both", rep.Phases)
	}

	// The proxy's tallies: the status fault matched nothing, the keepalive
	// fault drew on every wait for a request and closed no connection.
	type tally struct {
		phase, kind string
		zero        bool // matched none
	}
	var tallies []tally
	for _, e := range rd.events {
		if e.Kind != faults.ObservedTally {
			continue
		}
		if e.Applied != 0 || e.Fault != 0 {
			t.Errorf("got tally %+v, want fault 0 of its phase, never applied", e)
		}
		tallies = append(tallies, tally{e.Phase, e.FaultKind, e.Matched == 0})
	}
	if want := []tally{{"spike", "status", true}, {"race", "keepalive", false}}; len(tallies) != 2 || tallies[0] != want[0] || tallies[1] != want[1] {
		t.Errorf("tallies: got %+v, want %+v", tallies, want)
	}

	warnings := []string{
		"status (phase spike) never applied: it matched none of the " + strconv.Itoa(spike) + " requests of the phase; check its match.",
		"keepalive (phase race) never applied: no connection was idle 10s; lower idle or the rate.",
	}
	if len(rep.Unapplied) != len(warnings) {
		t.Fatalf("unapplied: got %+v, want %d entries", rep.Unapplied, len(warnings))
	}
	for i, w := range warnings {
		u := rep.Unapplied[i]
		if u.Warning != w || !u.Never || u.Matched == nil || u.Probability == nil {
			t.Errorf("unapplied[%d]: got %+v, want %q, never, with the tally's counts", i, u, w)
		}
		if !strings.Contains(rep.Diagnosis, w) {
			t.Errorf("diagnosis %q lacks %q", rep.Diagnosis, w)
		}
	}
	if p := *rep.Unapplied[0].Probability; p != 0.5 {
		t.Errorf("status fault: got probability %v, want 0.5", p)
	}
	if !strings.HasPrefix(rep.Diagnosis, "The expectation held. No 502 Bad Gateway answers") {
		t.Errorf("diagnosis %q: want the expectation held and no 502s, then the warnings", rep.Diagnosis)
	}

	// Every report format warns of both.
	files := map[string]string{"stdout": stdout}
	for _, name := range []string{run.TextFile, run.MarkdownFile, run.HTMLFile, run.JUnitFile} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(b)
	}
	for name, text := range files {
		for _, w := range warnings {
			line := w
			switch name {
			case "stdout", run.TextFile:
				line = "\nWARNING: " + w + "\n"
			case run.HTMLFile, run.JUnitFile:
				// Nothing in them to escape: as written.
			case run.MarkdownFile:
				line = "> **⚠ Warning**: " + w
			}
			if !strings.Contains(text, line) {
				t.Errorf("%s lacks %q:\n%s", name, line, text)
			}
		}
	}
}
