package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

const validHead = `name: t
requests:
  - {path: /}
`

func TestBrokenScenariosExit2(t *testing.T) {
	tests := []struct {
		name string
		file string
		// want is what stderr must say: file:line, the field and the fix.
		want []string
	}{
		{"unknown key", validHead + "phases:\n  - {name: a, duration: 1s, rate: 1/s}\ncolour: red\n",
			[]string{"bad.yaml:6: colour:", `unknown field "colour"`}},
		{"bad rate", validHead + "phases:\n  - {name: a, duration: 1s, rate: fast}\n",
			[]string{"bad.yaml:5: phases[0].rate:", "write 100/s or 6000/m"}},
		{"bad duration", validHead + "phases:\n  - name: a\n    duration: 3 seconds\n    rate: 1/s\n",
			[]string{"bad.yaml:6: phases[0].duration:", "Go duration"}},
		{"unknown fault kind", validHead + "phases:\n  - name: a\n    duration: 1s\n    rate: 1/s\n    faults:\n      - {kind: explode}\n",
			[]string{"bad.yaml:9: phases[0].faults[0].kind:", "latency", "reset"}},
		{"probability 1.5", validHead + "phases:\n  - name: a\n    duration: 1s\n    rate: 1/s\n    faults:\n      - {kind: reset, probability: 1.5}\n",
			[]string{"bad.yaml:9: phases[0].faults[0].probability:", "between 0 and 1"}},
		{"no phases", validHead,
			[]string{"bad.yaml:1: phases:", "add at least one"}},
		{"llm tokens out of range", validHead + "upstream:\n  builtin:\n    llm:\n      tokens: {min: 0, max: 5}\nphases: [{name: a, duration: 1s, rate: 1/s}]\n",
			[]string{"bad.yaml:7: upstream.builtin.llm.tokens:", "min 0 is out of range; write 1 to 100000"}},
		{"llm over_limit without a cap", validHead + "upstream: {builtin: {llm: {over_limit: queue}}}\nphases: [{name: a, duration: 1s, rate: 1/s}]\n",
			[]string{"bad.yaml:4: upstream.builtin.llm.over_limit:", "write max_concurrent: 8, or remove over_limit"}},
		{"llm jitter above inter_token", validHead + "upstream:\n  builtin:\n    llm: {inter_token: 5ms, jitter: 6ms}\nphases: [{name: a, duration: 1s, rate: 1/s}]\n",
			[]string{"bad.yaml:6: upstream.builtin.llm.jitter:", "write jitter: 5ms or less"}},
		{"empty file", "",
			[]string{"bad.yaml: ", "empty", "gatecrash list"}},
		{"YAML syntax error", "name: t\nphases: [\n  {name: a\n",
			[]string{"bad.yaml:3: ", "invalid YAML"}},
		{"credentials in target.url", "name: t\ntarget: {gateway: none, url: \"http://user:PASS@127.0.0.1:8080\"}\nrequests: [{path: /}]\nphases:\n  - {name: a, duration: 1s, rate: 1/s}\n",
			[]string{"bad.yaml:2: target.url: the URL holds credentials (user:password@)", "send an Authorization header instead, in requests[].headers"}},
		{"credentials in upstream.url", "name: t\nupstream: {url: \"http://u:PASS@127.0.0.1:9000\"}\nrequests: [{path: /}]\nphases:\n  - {name: a, duration: 1s, rate: 1/s}\n",
			[]string{"bad.yaml:2: upstream.url: the URL holds credentials", "write the URL as http://127.0.0.1:9000"}},
		{"status 1xx", validHead + "phases:\n  - name: a\n    duration: 1s\n    rate: 1/s\n    faults:\n      - {kind: status, code: 102}\n",
			[]string{"bad.yaml:9: phases[0].faults[0].code: code 102 is informational (1xx)", "write a final status from 200 to 599"}},
		{"too many phases", validHead + "phases:\n" + strings.Repeat("  - {name: p, duration: 10ms, rate: 100/s}\n", 1001),
			[]string{"bad.yaml:4: phases: 1001 phases, more than 1000", "merge neighbouring phases, or write one with ramp_to"}},
		{"client.retry max_attempts 0", validHead + "client:\n  retry: {policy: naive, max_attempts: 0}\nphases:\n  - {name: a, duration: 1s, rate: 1/s}\n",
			[]string{"bad.yaml:5: client.retry.max_attempts: max_attempts 0 is out of range", "write 1 to 10"}},
		{"client.retry unknown policy", validHead + "client:\n  retry:\n    policy: exponentail\nphases:\n  - {name: a, duration: 1s, rate: 1/s}\n",
			[]string{"bad.yaml:6: client.retry.policy:", "did you mean exponential?"}},
		{"client.retry retry_on 200", validHead + "client:\n  retry:\n    policy: naive\n    retry_on: [error, 200]\nphases:\n  - {name: a, duration: 1s, rate: 1/s}\n",
			[]string{"bad.yaml:7: client.retry.retry_on[1]: 200 is not a failure", "write a status code from 400 to 599"}},
		{"client.retry budget ratio 0", validHead + "client:\n  retry:\n    policy: exponential\n    budget: {ratio: 0}\nphases:\n  - {name: a, duration: 1s, rate: 1/s}\n",
			[]string{"bad.yaml:7: client.retry.budget.ratio: ratio 0 is out of range", "such as ratio: 0.1"}},
		{"client.retry misspelt field", validHead + "client:\n  retry:\n    policy: naive\n    backof: constant\nphases:\n  - {name: a, duration: 1s, rate: 1/s}\n",
			[]string{"bad.yaml:7: client.retry.backof:", "(did you mean backoff?)"}},
		{"a 2 MB value", validHead + "phases:\n  - {name: a, duration: 1s, rate: " + strings.Repeat("9", 2<<20) + "}\n",
			[]string{"bad.yaml:5: phases[0].rate: \"9999999999999999999999999999999999999999…\" (2097152 bytes) has no period; write 9999999999999999999999999999999999999999…/s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(file, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []string{"run", "validate"} {
				code, _, stderr := gatecrash(t, cmd, file, "--out", t.TempDir())
				if cmd == "validate" {
					code, _, stderr = gatecrash(t, cmd, file)
				}
				if code != exitInput {
					t.Errorf("%s: exit %d, want 2; stderr: %s", cmd, code, stderr)
				}
				for _, w := range tt.want {
					if !strings.Contains(stderr, w) {
						t.Errorf("%s: stderr %.2000q lacks %q", cmd, stderr, w)
					}
				}
				if len(stderr) > 2000 || strings.Contains(stderr, "PASS") {
					t.Errorf("%s: stderr of %d bytes, want a short message without the password: %.2000s", cmd, len(stderr), stderr)
				}
			}
		})
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		// out must appear in stdout (exit 0) or stderr (otherwise).
		out string
	}{
		{[]string{"--help"}, exitOK, "Commands:"},
		{[]string{"run", "--help"}, exitOK, "--proxy-listen"},
		{[]string{"validate", "-h"}, exitOK, "Usage: gatecrash validate"},
		{[]string{"report", "--help"}, exitOK, "--json"},
		{[]string{"list", "--help"}, exitOK, "Usage: gatecrash list"},
		{[]string{"list"}, exitOK, "upstream-resets"},
		{[]string{"validate", "upstream-resets", "malformed-upstream"}, exitOK, "malformed-upstream: ok"},
		{nil, exitInput, "Usage:"},
		{[]string{"explode"}, exitInput, `unknown command "explode"`},
		{[]string{"run"}, exitInput, "run takes one scenario"},
		{[]string{"run", "--bogus", "upstream-resets"}, exitInput, "unknown flag: --bogus"},
		{[]string{"run", "no-such-scenario"}, exitInput, "gatecrash list"},
		{[]string{"validate"}, exitInput, "name at least one scenario"},
		{[]string{"report", "/nonexistent/run"}, exitInput, "not a run folder"},
		{[]string{"report", "--bucket", "0s", "testdata/runs/upstream-resets"}, exitInput, "--bucket 0s: too small; give 1ms or more, for example --bucket 1s"},
		{[]string{"report", "--threshold", "2", "testdata/runs/upstream-resets"}, exitInput, "--threshold 2: not a share; give a number above 0 and at most 1"},
		{[]string{"run", "--sustain", "0", "upstream-resets"}, exitInput, "--sustain 0: give 1 or more buckets, for example --sustain 3"},
		{[]string{"report", "--bucket", "soon", "testdata/runs/upstream-resets"}, exitInput, "invalid argument \"soon\" for \"--bucket\""},
		{[]string{"report", "--help"}, exitOK, "--threshold"},
		{[]string{"explain", "--help"}, exitOK, "--slow-threshold"},
		{[]string{"explain", "--slow-threshold", "1e3", "testdata/runs/upstream-resets"}, exitInput, `--slow-threshold "1e3": not a positive duration; give one such as 500ms or 1.5s`},
		// Every float flag refuses NaN and Inf up front (NaN ran the whole
		// scenario, then failed to encode the report: exit 3).
		{[]string{"run", "--threshold", "NaN", "upstream-resets"}, exitInput, "--threshold NaN: not a share; give a number above 0 and at most 1, for example --threshold 0.01"},
		{[]string{"run", "--threshold=nan", "upstream-resets"}, exitInput, "--threshold NaN: not a share; give a number above 0 and at most 1"},
		{[]string{"run", "--threshold", "+Inf", "upstream-resets"}, exitInput, "--threshold +Inf: not a share; give a number above 0 and at most 1"},
		{[]string{"report", "--threshold", "NaN", "testdata/runs/upstream-resets"}, exitInput, "--threshold NaN: not a share"},
		{[]string{"report", "--threshold", "-Inf", "testdata/runs/upstream-resets"}, exitInput, "--threshold -Inf: not a share"},
		{[]string{"run", "--alpha", "NaN", "upstream-resets"}, exitInput, "--alpha NaN: give a significance level above 0 and below 1, for example --alpha 0.01"},
		{[]string{"compare", "--alpha", "Inf", "a", "b"}, exitInput, "--alpha +Inf: give a significance level above 0 and below 1"},
		{[]string{"compare", "--max-p50-increase", "NaN%", "a", "b"}, exitInput, `--max-p50-increase "NaN%": not a number; give a percentage of the base value, or off`},
		{[]string{"run", "--max-recovery-increase", "Inf", "upstream-resets"}, exitInput, `--max-recovery-increase "Inf": a number without its unit; give a duration, or off`},
		// A shorthand's problem names the argument as written (pflag said -0, -o).
		{[]string{"run", "-h0", "upstream-resets"}, exitInput, "run: unknown shorthand flag: '0' in -h0; run gatecrash run --help"},
		{[]string{"run", "upstream-resets", "-qo"}, exitInput, "run: flag needs an argument: 'o' in -qo; run gatecrash run --help"},
		// Long values are cut in pflag's messages too.
		{[]string{"report", "--bucket", strings.Repeat("9", 100000), "testdata/runs/upstream-resets"}, exitInput, `invalid argument "9999999999999999999999999999999999999999…" for "--bucket" flag`},
		{[]string{"run", "--" + strings.Repeat("x", 100000), "upstream-resets"}, exitInput, "unknown flag: " + scenarios.Cut("--"+strings.Repeat("x", 100000))},
		{[]string{"compare", "--format", strings.Repeat("y", 100000), "a", "b"}, exitInput, `--format "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy…" (100000 bytes): give text, markdown or json`},
		{[]string{"run", "--format", strings.Repeat("z", 100000), "upstream-resets"}, exitInput, `--format "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz…" (100000 bytes): not a report format`},
		// gatecrash policies: every mistake before any run.
		{[]string{"policies", "--help"}, exitOK, "--policy"},
		{[]string{"policies"}, exitInput, "policies takes one scenario (a catalog name or a file), got 0"},
		{[]string{"policies", "no-such-scenario"}, exitInput, "gatecrash list"},
		{[]string{"policies", "--policy", "expo", "retry-storm"}, exitInput, `--policy "expo": not a built-in policy; give none, naive or exponential, or a mapping such as --policy '{policy: exponential, max_attempts: 5}'`},
		{[]string{"policies", "--policy", "{max_attempts: 0}", "retry-storm"}, exitInput, "--policy {max_attempts: 0}:1: max_attempts: max_attempts 0 is out of range; write 1 to 10"},
		{[]string{"policies", "--policy", "{policy: naive, bogus: 1}", "retry-storm"}, exitInput, `--policy {policy: naive, bogus: 1}:1: bogus: unknown field "bogus"`},
		{[]string{"policies", "--policy", "max_attempts: [3]", "retry-storm"}, exitInput, "--policy max_attempts: [3]:1: max_attempts:"},
		{[]string{"policies", "--format", "html", "retry-storm"}, exitInput, `--format "html": not a format of policies; give text, markdown or json`},
		{[]string{"policies", "--gateway", "none", "retry-storm"}, exitInput, "--gateway none: --gateway names a gateway for gatecrash to start"},
		{[]string{"policies", "--seed", "x", "retry-storm"}, exitInput, `invalid argument "x" for "--seed" flag`},
		{[]string{"policies", "--threshold", "0", "retry-storm"}, exitInput, "--threshold 0: not a share"},
		{[]string{"policies", "-o", "testdata", "retry-storm"}, exitInput, "--out testdata: the folder is not empty"},
	}
	for _, tt := range tests {
		t.Run(scenarios.Cut(strings.Join(tt.args, " ")), func(t *testing.T) {
			code, stdout, stderr := gatecrash(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			out := stdout
			if tt.code != exitOK {
				out = stderr
			}
			if !strings.Contains(out, tt.out) {
				t.Errorf("output lacks %q:\nstdout: %.2000s\nstderr: %.2000s", tt.out, stdout, stderr)
			}
			if len(stderr) > 2000 {
				t.Errorf("stderr holds %d bytes, want a message of a few lines", len(stderr))
			}
		})
	}
	// The listing has one line per catalog scenario.
	_, stdout, _ := gatecrash(t, "list")
	if lines := strings.Count(stdout, "\n"); lines != len(scenarios.Catalog()) {
		t.Errorf("list: got %d lines, want %d:\n%s", lines, len(scenarios.Catalog()), stdout)
	}
}

// TestInterruptedRun stops a run half way, as Ctrl-C does: the results so
// far are kept, the report is marked interrupted, and the exit code is 3.
func TestInterruptedRun(t *testing.T) {
	file := writeFile(t, "long.yaml", `name: long
seed: 1
requests: [{path: /}]
phases:
  - {name: only, duration: 60s, rate: 50/s}
`)
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancel once the first results are on disk.
	go func() {
		for ctx.Err() == nil {
			if st, err := os.Stat(filepath.Join(out, "results")); err == nil && st.Size() > 0 {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- cli(ctx, []string{"run", file, "--out", out}, &stdout, &stderr) }()
	var code int
	select {
	case code = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the interrupted run did not stop")
	}
	if code != exitBroken || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("exit %d, stderr %q; want 3 and interrupted", code, stderr.String())
	}
	rd := readRunDir(t, out)
	if !rd.report.Interrupted || rd.report.Totals.Requests == 0 || rd.report.Totals.Requests >= 3000 || len(rd.results) != rd.report.Totals.Requests {
		t.Errorf("got interrupted %v with %d requests (%d in results), want interrupted with some but not all 3000",
			rd.report.Interrupted, rd.report.Totals.Requests, len(rd.results))
	}
}

// TestBucketCap refuses a --bucket width that would make more timeline
// buckets than results.MaxBuckets, before any bucket is made: report
// asked for 176 GB on a long run.json, and run would have run a whole
// scenario first.
func TestBucketCap(t *testing.T) {
	long := t.TempDir()
	plan := &results.Run{Schema: results.RunSchema, Started: time.Unix(1e9, 0).UTC(), Gateway: "builtin",
		Phases: []results.PhasePlan{{Name: "a", EndS: (720 * time.Hour).Seconds(), Planned: 1, Rate: 1, RampTo: 1}}}
	if err := results.WriteRun(filepath.Join(long, run.PlanFile), plan); err != nil {
		t.Fatal(err)
	}
	day := writeFile(t, "day.yaml", "name: day\nrequests: [{path: /}]\nphases:\n  - {name: a, duration: 23h, rate: 1/s}\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"report 720h at 1ms", []string{"report", "--bucket", "1ms", long},
			"--bucket 1ms: the timeline of the run in " + long + ", 720h0m0s long, would have 2592000000 buckets, more than 100000; give --bucket 25.92s or wider"},
		{"report 720h at 1s", []string{"report", long},
			"--bucket 1s: the timeline of the run in " + long + ", 720h0m0s long, would have 2592000 buckets, more than 100000; give --bucket 25.92s or wider"},
		{"run 23h at 1ms", []string{"run", "--bucket", "1ms", "--out", t.TempDir(), day},
			"--bucket 1ms: the timeline of the scenario day, 23h0m0s long, would have 82800000 buckets, more than 100000; give --bucket 828ms or wider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantInputError(t, tt.args, tt.want) })
	}
}

// TestOutFolder refuses to mix a run's files with those already in its
// output folder, unless --force, which removes the files of a run first
// and leaves any other alone.
func TestOutFolder(t *testing.T) {
	scenario := writeFile(t, "short.yaml", "name: short\nseed: 1\nrequests: [{path: /}]\nphases:\n  - {name: a, duration: 200ms, rate: 20/s}\n")
	used := t.TempDir()
	for _, f := range []string{run.ResultsFile, run.ReportFile, run.CompareTextFile, "notes.txt"} {
		if err := os.WriteFile(filepath.Join(used, f), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	notDir := writeFile(t, "file", "x")
	errTests := []struct {
		name string
		args []string
		want string
	}{
		{"not empty", []string{"run", "--out", used, scenario},
			"--out " + scenarios.Cut(used) + ": the folder is not empty (4 entries, such as compare.txt, notes.txt, report.json): a run would mix its files with theirs; give a new folder, or add --force to remove the files of an earlier run (results, events.jsonl, run.json, ...) from it first"},
		{"not a folder", []string{"run", "--out", notDir, scenario}, "not a directory; give a folder gatecrash can write"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) { wantInputError(t, tt.args, tt.want) })
	}
	if b, err := os.ReadFile(filepath.Join(used, run.ReportFile)); err != nil || string(b) != "old" {
		t.Fatalf("the refused run touched the folder: %q, %v", b, err)
	}

	t.Run("force", func(t *testing.T) {
		code, _, stderr := gatecrash(t, "run", "--quiet", "--force", "--out", used, scenario)
		if code != exitOK {
			t.Fatalf("exit %d, want 0; stderr: %s", code, stderr)
		}
		rd := readRunDir(t, used)
		if rd.report.Totals.Requests == 0 || len(rd.results) != rd.report.Totals.Requests {
			t.Errorf("got %d requests in the report and %d results, want the new run's alone", rd.report.Totals.Requests, len(rd.results))
		}
		if _, err := os.Stat(filepath.Join(used, run.CompareTextFile)); !os.IsNotExist(err) {
			t.Errorf("the earlier run's %s is still there (%v), want it removed", run.CompareTextFile, err)
		}
		if b, err := os.ReadFile(filepath.Join(used, "notes.txt")); err != nil || string(b) != "old" {
			t.Errorf("notes.txt: got %q, %v; want it left alone", b, err)
		}
	})
}

// wantInputError runs gatecrash with args and checks that it exits 2 with
// want in its stderr.
func wantInputError(t *testing.T, args []string, want string) {
	t.Helper()
	code, _, stderr := gatecrash(t, args...)
	if code != exitInput {
		t.Errorf("exit %d, want 2; stderr: %s", code, stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
}

// TestValidateNamesRetryPolicy checks that validate's summary of a
// scenario names its client retry policy, and says nothing of one when
// the scenario has none.
func TestValidateNamesRetryPolicy(t *testing.T) {
	tests := []struct {
		name, client, want string
	}{
		{"exponential", "client: {retry: {policy: exponential}}\n", "; client retry exponential: 3 attempts, exponential backoff 100ms to 10s, full jitter"},
		{"none", "client: {retry: {policy: none}}\n", "; client retry none: 1 attempt, no retry)"},
		{"no client", "", "bad.yaml: ok (t, 1 phases, 1s)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, "bad.yaml", validHead+tt.client+"phases:\n  - {name: a, duration: 1s, rate: 1/s}\n")
			code, stdout, stderr := gatecrash(t, "validate", file)
			if code != exitOK {
				t.Fatalf("exit %d, want 0; stderr: %s", code, stderr)
			}
			if !strings.Contains(stdout, tt.want) {
				t.Errorf("got %q, want it to contain %q", stdout, tt.want)
			}
		})
	}
}
