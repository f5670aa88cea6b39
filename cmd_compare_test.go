package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/results/compare"
	"github.com/gatecrash/gatecrash/run"
)

// compareCLI runs gatecrash compare in process, and maps its error to an
// exit code as run does.
func compareCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := cmdCompare(context.Background(), args, &stdout, &stderr)
	return exitCode(err, &stderr), stdout.String(), stderr.String()
}

// compareFixture is a report.json of results/compare/testdata (go test -update
// ./results/compare writes them).
func compareFixture(name string) string {
	return filepath.Join("results", "compare", "testdata", name+".json")
}

func TestCompareExitCodes(t *testing.T) {
	folder := t.TempDir()
	b, err := os.ReadFile(compareFixture("base"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, "report.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		// stdout and stderr must hold these.
		stdout, stderr []string
	}{
		{"(a) identical runs", []string{compareFixture("base"), compareFixture("identical")}, exitOK,
			[]string{"gatecrash compare: no regression in 29 checks", "Mann-Whitney U", "alpha 0.01"}, nil},
		{"(b) p99 three times higher in phase resets", []string{compareFixture("base"), compareFixture("p99x3")}, exitFailed,
			[]string{"REGRESSION in 2 of 29 checks", "p99 latency in phase resets: 66.9 ms -> 200.701 ms (+200.0%, limit +10%, p < 0.0001)"},
			[]string{"gatecrash: compare: REGRESSION in 2 of 29 checks"}},
		{"(c) a small shift inside the noise", []string{compareFixture("base"), compareFixture("noise")}, exitOK,
			[]string{"no regression", "not significant at alpha 0.01"}, nil},
		{"(d) 502 share 0% -> 5%", []string{compareFixture("base"), compareFixture("502")}, exitFailed,
			[]string{"502 share in phase resets: 0.00% -> 5.00% (+5.00pp, limit +0.5pp, p < 0.0001)", "reset-before-headers"}, nil},
		{"(e) a phase missing in NEW", []string{compareFixture("base"), compareFixture("missing")}, exitOK,
			[]string{"only in BASE, not compared: recover"}, nil},
		{"a run folder as BASE", []string{folder, compareFixture("p99x3")}, exitFailed,
			[]string{"base: " + folder + ": scenario compare-fixture"}, nil},
		{"the p99 limit off", []string{"--max-p99-increase", "off", compareFixture("base"), compareFixture("p99x3")}, exitOK,
			[]string{"no regression", "limit off"}, nil},
		{"a higher p99 limit", []string{"--max-p99-increase=250%", compareFixture("base"), compareFixture("p99x3")}, exitOK,
			[]string{"no regression"}, nil},
		{"a stricter alpha still finds the tripled p99", []string{"--alpha", "0.0001", compareFixture("base"), compareFixture("p99x3")}, exitFailed,
			[]string{"alpha 0.0001"}, nil},
		{"--no-test: the noise beyond a 1% limit is a regression", []string{"--no-test", "--max-p99-increase", "1%", compareFixture("base"), compareFixture("noise")}, exitFailed,
			[]string{"test: none (--no-test)"}, nil},
		{"--no-test with the default limits: the two changes beyond them in the noise become regressions", []string{"--no-test", compareFixture("base"), compareFixture("noise")}, exitFailed,
			[]string{"REGRESSION in 2 of 29 checks", "p50 latency in phase resets", "p99 latency overall"}, nil},
		{"the 502 limit higher than the rise", []string{"--max-502-increase", "6pp", compareFixture("base"), compareFixture("502")}, exitOK,
			[]string{"no regression"}, nil},
		{"markdown", []string{"--format", "markdown", compareFixture("base"), compareFixture("p99x3")}, exitFailed,
			[]string{"### ❌ gatecrash compare: regression in 2 of 29 checks", "| resets | p99 latency | 66.9 ms | 200.701 ms | +200.0% | +10% | &lt;0.0001 | ❌ |", "alpha 0.01"}, nil},
		{"markdown without a regression", []string{"--format=markdown", compareFixture("base"), compareFixture("identical")}, exitOK,
			[]string{"### ✅ gatecrash compare: no regression in 29 checks", "| ✅ |"}, nil},
		{"--help", []string{"--help"}, exitOK,
			[]string{"Usage: gatecrash compare", "--max-p99-increase string", `(default "10%")`, `(default "0.5pp")`, `(default "1s")`, "--alpha",
				"--max-user-failure-increase string", "--max-amplification-increase string", "rather than an absolute ratio change"}, nil},
		{"client retries: naive against a budget, more user-seen failures", []string{compareFixture("retries-naive"), compareFixture("retries-budget")}, exitFailed,
			[]string{"REGRESSION in 4 of 37 checks", "user-seen failures in phase resets: 0.00% -> 5.00% (+5.00pp, limit +0.5pp, p < 0.0001)", "amplification           1.4x       1.15x      -17.9%   +10%"},
			[]string{"gatecrash: compare: REGRESSION in 4 of 37 checks"}},
		{"client retries: the user-failure limit above the rise", []string{"--max-user-failure-increase", "6pp", "--max-502-increase", "6pp", compareFixture("retries-naive"), compareFixture("retries-budget")}, exitOK,
			[]string{"no regression in 37 checks"}, nil},
		{"client retries: the budget against naive, amplification +21.7%", []string{compareFixture("retries-budget"), compareFixture("retries-naive")}, exitFailed,
			[]string{"amplification in phase resets: 1.15x -> 1.4x (+21.7%, limit +10%, p < 0.0001)"}, nil},
		{"client retries: the amplification limit off", []string{"--max-amplification-increase", "off", compareFixture("retries-budget"), compareFixture("retries-naive")}, exitOK,
			[]string{"no regression", "limit off"}, nil},
		{"client retries: the amplification limit at 25%", []string{"--max-amplification-increase=25%", compareFixture("retries-budget"), compareFixture("retries-naive")}, exitOK,
			[]string{"no regression"}, nil},
		{"client retries in NEW only", []string{compareFixture("base"), compareFixture("retries-naive")}, exitOK,
			[]string{"no regression in 29 checks", "client retries: only in NEW: not compared"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := compareCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestCompareJSONOutput(t *testing.T) {
	code, stdout, _ := compareCLI(t, "--format", "json", compareFixture("base"), compareFixture("502"))
	if code != exitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	var c compare.Comparison
	if err := json.Unmarshal([]byte(stdout), &c); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if c.Schema != compare.Schema || !c.Regression || c.Test.Name != "mann-whitney-u" || c.Test.Alpha != 0.01 ||
		c.Base.File != compareFixture("base") || c.New.File != compareFixture("502") || len(c.Phases) != 3 || c.Limits["max-502-increase"] != "0.5pp" {
		t.Errorf("got schema %q regression %v test %+v files %q %q, %d phases, limits %v", c.Schema, c.Regression, c.Test, c.Base.File, c.New.File, len(c.Phases), c.Limits)
	}
	if len(c.Regressions) != 2 || !strings.HasPrefix(c.Regressions[0], "502 share in phase resets") {
		t.Errorf("regressions: got %q, want the 502 share in resets and overall", c.Regressions)
	}
}

func TestCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notJSON := write("garbage.json", "{\"schema\": \"gatecrash/report/v1\",\n  \"phases\": [}\n")
	runJSON := write("run.json", `{"schema": "gatecrash/run/v1", "phases": []}`)
	base, p99 := compareFixture("base"), compareFixture("p99x3")
	tests := []struct {
		name string
		args []string
		// want is in stderr: the file or flag, and the fix.
		want []string
	}{
		{"one report", []string{base}, []string{"compare takes two reports, BASE and NEW", "got 1"}},
		{"three reports", []string{base, p99, p99}, []string{"got 3"}},
		{"no such file", []string{filepath.Join(dir, "nope.json"), p99}, []string{"compare: BASE ", "nope.json: no such file or folder", "give a report.json or the run folder"}},
		{"a folder without report.json", []string{base, dir}, []string{"compare: NEW " + dir + ": no report.json in this folder", "gatecrash report " + dir}},
		{"not JSON", []string{base, notJSON}, []string{"compare: NEW ", "garbage.json:2:14: not valid JSON", "give a report.json"}},
		{"a run.json", []string{runJSON, p99}, []string{"compare: BASE ", "run.json: this is a run.json", "give the report.json next to it"}},
		{"a limit without its unit", []string{"--max-p99-increase", "10", base, p99}, []string{`--max-p99-increase "10": a number without its unit`, "for example --max-p99-increase 10%"}},
		{"a share in % rather than pp", []string{"--max-502-increase", "1%", base, p99}, []string{`--max-502-increase "1%": a share moves in percentage points`, "--max-502-increase 0.5pp"}},
		{"a latency limit in pp", []string{"--max-p50-increase", "5pp", base, p99}, []string{`--max-p50-increase "5pp": this limit is relative to the base value`}},
		{"a recovery without its unit", []string{"--max-recovery-increase", "2", base, p99}, []string{`--max-recovery-increase "2": a number without its unit`, "--max-recovery-increase 1s"}},
		{"a negative limit", []string{"--max-rate-decrease", "-1%", base, p99}, []string{`--max-rate-decrease "-1%": negative`}},
		{"NaN", []string{"--max-error-increase", "NaNpp", base, p99}, []string{`--max-error-increase "NaNpp": not a number`}},
		{"two bad limits, both said", []string{"--max-p99-increase", "x", "--max-503-increase", "2", base, p99}, []string{`--max-p99-increase "x": not a number`, `--max-503-increase "2": a number without its unit`}},
		{"alpha 2", []string{"--alpha", "2", base, p99}, []string{"--alpha 2: give a significance level above 0 and below 1", "--alpha 0.01"}},
		{"alpha 0", []string{"--alpha", "0", base, p99}, []string{"--alpha 0: "}},
		{"min-buckets 1", []string{"--min-buckets", "1", base, p99}, []string{"--min-buckets 1: give 2 or more"}},
		{"format html", []string{"--format", "html", base, p99}, []string{`--format "html": give text, markdown or json`}},
		{"an unknown flag", []string{"--max-p95-increase", "10%", base, p99}, []string{"unknown flag: --max-p95-increase", "run gatecrash compare --help"}},
		{"a user-failure limit in %", []string{"--max-user-failure-increase", "1%", base, p99}, []string{`--max-user-failure-increase "1%": a share moves in percentage points`, "for example --max-user-failure-increase 0.5pp"}},
		{"a user-failure limit without its unit", []string{"--max-user-failure-increase", "0.5", base, p99}, []string{`--max-user-failure-increase "0.5": a number without its unit`}},
		{"a negative user-failure limit", []string{"--max-user-failure-increase=-1pp", base, p99}, []string{`--max-user-failure-increase "-1pp": negative`}},
		{"an amplification limit as a ratio", []string{"--max-amplification-increase", "1.2x", base, p99}, []string{`--max-amplification-increase "1.2x": a ratio's limit is relative to the base value, in %`, "for example --max-amplification-increase 10%"}},
		{"an amplification limit without its unit", []string{"--max-amplification-increase", "0.2", base, p99}, []string{`--max-amplification-increase "0.2": a number without its unit`}},
		{"an amplification limit in pp", []string{"--max-amplification-increase", "5pp", base, p99}, []string{`--max-amplification-increase "5pp": this limit is relative to the base value`}},
		{"an amplification limit not a number", []string{"--max-amplification-increase", "lots", base, p99}, []string{`--max-amplification-increase "lots": not a number`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := compareCLI(t, tt.args...)
			if code != exitInput {
				t.Errorf("exit %d, want 2\nstderr: %s", code, stderr)
			}
			if stdout != "" {
				t.Errorf("bad input printed a comparison:\n%s", stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
}

func TestCompareParseLimit(t *testing.T) {
	tests := []struct {
		in, unit string
		want     compare.Limit
		bad      bool
	}{
		{"10%", "%", compare.Limit{Value: 10}, false},
		{" 2.5 %", "%", compare.Limit{Value: 2.5}, false},
		{"0%", "%", compare.Limit{Value: 0}, false},
		{"OFF", "%", compare.Limit{Off: true}, false},
		{"0.5pp", "pp", compare.Limit{Value: 0.5}, false},
		{"1s", "s", compare.Limit{Value: 1}, false},
		{"1500ms", "s", compare.Limit{Value: 1.5}, false},
		{"off", "s", compare.Limit{Off: true}, false},
		{"10", "%", compare.Limit{}, true},
		{"ten%", "%", compare.Limit{}, true},
		{"Inf%", "%", compare.Limit{}, true},
		{"0.5", "pp", compare.Limit{}, true},
		{"-1s", "s", compare.Limit{}, true},
		{"", "s", compare.Limit{}, true},
		{"1.5x", "%", compare.Limit{}, true},
		{"x", "%", compare.Limit{}, true},
	}
	for _, tt := range tests {
		got, err := parseLimit("max-x", tt.in, tt.unit)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseLimit(%q, %s): got %+v, %v; want %+v, error %v", tt.in, tt.unit, got, err, tt.want, tt.bad)
		}
	}
}

func TestCompareBaseline(t *testing.T) {
	rep, err := run.ReadReport(compareFixture("p99x3"))
	if err != nil {
		t.Fatal(err)
	}
	opt := compare.Options{Limits: compare.DefaultLimits()}
	var out bytes.Buffer
	regressed, err := compareBaseline(compareFixture("base"), rep, opt, &out, "")
	if err != nil || !regressed {
		t.Fatalf("got %v, %v; want a regression", regressed, err)
	}
	if s := out.String(); !strings.Contains(s, "new:  this run: scenario compare-fixture") || !strings.Contains(s, "REGRESSION") {
		t.Errorf("output:\n%s", s)
	}
	if regressed, err := compareBaseline(compareFixture("base"), rep, compare.Options{Limits: compare.Limits{P99Increase: compare.Limit{Off: true}, RecoveryIncrease: compare.Limit{Value: 1}, P50Increase: compare.Limit{Value: 10}, RateDecrease: compare.Limit{Value: 1}}}, &out, ""); err != nil || regressed {
		t.Errorf("p99 limit off: got %v, %v; want no regression", regressed, err)
	}
	retried, err := run.ReadReport(compareFixture("retries-naive"))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if regressed, err := compareBaseline(compareFixture("retries-budget"), retried, opt, &out, ""); err != nil || !regressed || !strings.Contains(out.String(), "amplification in phase resets: 1.15x -> 1.4x") {
		t.Errorf("a baseline with a budget, this run naive: got %v, %v; want the amplification's regression\n%s", regressed, err, out.String())
	}
	opt.Limits.AmplificationIncrease.Off = true
	if regressed, err := compareBaseline(compareFixture("retries-budget"), retried, opt, &out, ""); err != nil || regressed {
		t.Errorf("the amplification limit off: got %v, %v; want no regression", regressed, err)
	}
	_, err = compareBaseline(filepath.Join(t.TempDir(), "gone"), rep, opt, &out, "")
	if code := exitCode(err, &out); code != exitInput || !strings.Contains(err.Error(), "compare: baseline ") {
		t.Errorf("a missing baseline: exit %d, %v; want 2 naming the baseline", code, err)
	}
}
