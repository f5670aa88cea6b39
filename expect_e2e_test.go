package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/run"
)

// expectHead is a valid scenario up to its expect: list.
const expectHead = `name: t
requests:
  - {path: /}
phases:
  - {name: baseline, duration: 1s, rate: 1/s}
expect:
`

// TestBrokenExpectExit2 checks, through the CLI, that bad expectations are
// bad input: every problem with its file, line, entry and fix, exit 2.
func TestBrokenExpectExit2(t *testing.T) {
	for _, tt := range []struct {
		name string
		file string
		want []string
	}{
		{"unknown metric", expectHead + "  - p98(latency) < 1s\n",
			[]string{`bad.yaml:7: expect[0]: unknown metric "p98"; use p50, p90, p99, max, mean`}},
		{"a value without its unit", expectHead + "  - p99(latency) < 250 in baseline\n",
			[]string{"bad.yaml:7: expect[0]: 250 has no unit; write 250ms or 250s"}},
		{"a share without %", expectHead + "  - rate(status=502) < 0.5\n",
			[]string{"bad.yaml:7: expect[0]: rate is a share; write the value with %, such as 0.5%"}},
		{"an unknown phase", expectHead + "  - rate(status=502) < 1% in baselin\n",
			[]string{`bad.yaml:7: expect[0]: no phase is named "baselin" (did you mean baseline?); the phases are baseline`}},
		{"abort that cannot abort", expectHead + "  - expect: share(cause=reset-before-headers) >= 99%\n    abort: true\n",
			[]string{"bad.yaml:8: expect[0].abort: abort: true does not work with share, which is known only at the end of the run; remove abort: true"}},
		{"not a list", strings.TrimSuffix(expectHead, "expect:\n") + "expect: first(status=502) > 10s\n",
			[]string{`bad.yaml:6: expect: "first(status=502) > 10s" is not a list of expectations; write one per line under expect:, each after a -`}},
		{"three mistakes, all reported", expectHead + "  - p98(latency) < 1s\n  - first(status=502) = 10s\n  - {expect: \"count(error) > 1\", abort: true}\n",
			[]string{
				`bad.yaml:7: expect[0]: unknown metric "p98"`,
				"bad.yaml:8: expect[1]: = is not a comparison; write == to test equality, or <=, >=, such as first(status=502) > 10s",
				"bad.yaml:9: expect[2].abort: abort: true needs count(...) with < or <=",
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(file, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"run", file, "--out", t.TempDir()}, {"validate", file}} {
				code, _, stderr := gatecrash(t, args...)
				if code != exitInput {
					t.Errorf("%s: exit %d, want 2; stderr: %s", args[0], code, stderr)
				}
				for _, w := range tt.want {
					if !strings.Contains(stderr, w) {
						t.Errorf("%s: stderr %q lacks %q", args[0], stderr, w)
					}
				}
			}
		})
	}
}

// expectScenario runs 4 s against the built-in gateway: a clean second,
// two seconds in which the upstream resets half the requests before the
// headers, and a clean second again.
const expectScenario = `name: e2e-expect
seed: 5
target: {gateway: builtin, timeout: 5s}
upstream:
  builtin: {latency: 1ms, body_bytes: 256}
requests:
  - {method: GET, path: /v1/items}
phases:
  - {name: baseline, duration: 1s, rate: 50/s}
  - name: resets
    duration: 2s
    rate: 50/s
    faults:
      - {kind: reset, at: before-headers, probability: 0.5}
  - {name: recover, duration: 1s, rate: 50/s}
expect:
  - rate(status=502) == 0% in baseline
  - first(status=502) >= 1s
  - count(status=502) > 0
  - share(cause=reset-before-headers) >= 90%
  - achieved_rate >= 90% of offered in baseline
  - p99(latency) < 2s in recover
  - recovery(phase=resets) < 1s
  - {expect: "max(latency) < 5s", abort: true}
`

// holding are the expectations of expectScenario, all of which hold.
const holding = 8

// TestExpectExitCodes runs the real binary: exit 0 when every expectation
// held, 1 when one failed (after writing everything), and the same from
// gatecrash report DIR; exit 2 for a bad expectation. (Exit 3, interrupted,
// is TestSignalStopsPromptly's.)
func TestExpectExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs scenarios")
	}
	bin := gatecrashBinary(t)
	exe := func(t *testing.T, args ...string) (int, string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, stdout.String(), stderr.String()
		case errors.As(err, &ee):
			return ee.ExitCode(), stdout.String(), stderr.String()
		}
		t.Fatal(err)
		return 0, "", ""
	}

	// compare's exit codes, from the same binary: no regression, a
	// regression, bad input.
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"compare", compareFixture("base"), compareFixture("identical")}, exitOK},
		{[]string{"compare", compareFixture("base"), compareFixture("p99x3")}, exitFailed},
		{[]string{"compare", compareFixture("base"), compareFixture("noise")}, exitOK},
		{[]string{"compare", compareFixture("base"), "/nonexistent/report.json"}, exitInput},
	} {
		if code, stdout, stderr := exe(t, tt.args...); code != tt.code {
			t.Errorf("%v: exit %d, want %d\n%s%s", tt.args, code, tt.code, stdout, stderr)
		}
	}

	t.Run("all held: 0", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "out")
		code, stdout, stderr := exe(t, "run", writeFile(t, "s.yaml", expectScenario), "--out", out)
		if code != exitOK {
			t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		rep := readRunDir(t, out).report
		if len(rep.Expectations) != holding || len(rep.Expectations.Failed()) != 0 || rep.Aborted != nil {
			t.Errorf("got %+v, aborted %v; want %d verdicts, all ok", rep.Expectations, rep.Aborted, holding)
		}
		if !strings.Contains(stdout, "expectations: all 8 held") || !strings.HasPrefix(rep.Diagnosis, "All 8 expectations held.") {
			t.Errorf("the text report or the diagnosis does not say all held:\n%s", stdout)
		}
	})

	t.Run("one failed: 1", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "out")
		file := writeFile(t, "s.yaml", expectScenario+"  - first(status=502) > 10s\n  - count(status=502) == 0\n")
		code, stdout, stderr := exe(t, "run", file, "--out", out, "--quiet")
		if code != exitFailed {
			t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if want := "gatecrash: 2 of 10 expectations failed: first(status=502) > 10s; count(status=502) == 0\n"; stderr != want {
			t.Errorf("stderr: got %q, want %q", stderr, want)
		}
		rd := readRunDir(t, out)
		rep := rd.report
		if len(rep.Expectations) != holding+2 || len(rd.results) != rep.Totals.Requests || rep.Totals.Requests != 200 {
			t.Fatalf("got %d verdicts, %d results of %d requests; want 10 verdicts and all 200 requests recorded", len(rep.Expectations), len(rd.results), rep.Totals.Requests)
		}
		for i, v := range rep.Expectations {
			if v.OK != (i < holding) {
				t.Errorf("expectations[%d]: got %+v, want ok %v", i, v, i < holding)
			}
		}
		first := rep.Expectations[holding]
		if first.Value == nil || *first.Value < 1 || *first.Value >= 3 || first.Unit != "s" || *first.Value != *rep.Onset.FirstS {
			t.Errorf("got %+v, want the onset of 502s (%v) in seconds", first, *rep.Onset.FirstS)
		}
		raw := rd.raw["expectations"].([]any)[holding].(map[string]any)
		for _, k := range []string{"expr", "ok", "value", "unit"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("report.json expectations[%d] lacks %q", holding, k)
			}
		}
		for _, w := range []string{"expectations: 2 of 10 failed", "FAIL  first(status=502) > 10s", "ok    rate(status=502) == 0% in baseline"} {
			if !strings.Contains(stdout, w) {
				t.Errorf("text report lacks %q:\n%s", w, stdout)
			}
		}
		if !strings.HasPrefix(rep.Diagnosis, "2 of 10 expectations failed: first(status=502) > 10s (") {
			t.Errorf("diagnosis: got %q, want it to open with the failed expectations", rep.Diagnosis)
		}

		// report DIR: the same verdicts, the same report.json, the same exit.
		before, _ := os.ReadFile(filepath.Join(out, run.ReportFile))
		code, _, stderr = exe(t, "report", out)
		after, _ := os.ReadFile(filepath.Join(out, run.ReportFile))
		if code != exitFailed || !bytes.Equal(before, after) {
			t.Errorf("report DIR: exit %d (%s), report.json the same: %v; want 1 and the same", code, stderr, bytes.Equal(before, after))
		}
		// With only the expectations that held, report DIR exits 0.
		exps, _, err := results.ReadExpect(filepath.Join(out, run.ExpectFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := results.WriteExpect(filepath.Join(out, run.ExpectFile), exps[:holding], ""); err != nil {
			t.Fatal(err)
		}
		if code, stdout, stderr := exe(t, "report", "--json", out); code != exitOK || !strings.Contains(stdout, `"expectations": [`) {
			t.Errorf("report DIR with expectations that held: exit %d, want 0\n%s", code, stderr)
		}
	})

	t.Run("bad expectation: 2", func(t *testing.T) {
		t.Parallel()
		code, _, stderr := exe(t, "run", writeFile(t, "bad.yaml", expectHead+"  - p98(latency) < 1s\n"), "--out", t.TempDir())
		if want := `bad.yaml:7: expect[0]: unknown metric "p98"; use p50, p90, p99, max, mean`; code != exitInput || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, want)
		}
	})
}

// TestExpectAbort runs 10 s scenarios whose expectation with abort: true
// fails within the first seconds, and checks that the run stops soon
// after, writes everything with the report marked aborted, and exits 1.
func TestExpectAbort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs scenarios")
	}
	for _, tt := range []struct {
		name   string
		phases string
		expect string
		// by is when, at the latest, the run must have been decided: the
		// failure plus the results in flight.
		by float64
	}{
		{"at the first 502 before the time", `  - {name: baseline, duration: 1s, rate: 50/s}
  - name: resets
    duration: 9s
    rate: 50/s
    faults:
      - {kind: reset, at: before-headers, probability: 0.5}
`, "first(status=502) > 8s", 0},
		{"once the phase has ended", `  - name: resets
    duration: 1s
    rate: 50/s
    faults:
      - {kind: reset, at: before-headers, probability: 0.5}
  - {name: clean, duration: 9s, rate: 50/s}
`, "rate(status=502) < 1% in resets", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := writeFile(t, "abort.yaml", `name: e2e-abort
seed: 9
target: {gateway: builtin, timeout: 5s}
upstream:
  builtin: {latency: 1ms}
requests: [{path: /}]
phases:
`+tt.phases+`expect:
  - {expect: "`+tt.expect+`", abort: true}
  - count(status=502) < 100000
`)
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := gatecrash(t, "run", file, "--out", out)
			if code != exitFailed {
				t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if want := "aborted: " + tt.expect + " failed for good at "; !strings.Contains(stderr, want) {
				t.Errorf("stderr %q lacks %q", stderr, want)
			}
			rd := readRunDir(t, out)
			rep := rd.report
			if rep.Aborted == nil || !strings.HasPrefix(*rep.Aborted, tt.expect+" failed for good at ") || !rep.Interrupted {
				t.Fatalf("got aborted %v, interrupted %v; want the report marked aborted", rep.Aborted, rep.Interrupted)
			}
			if rep.Onset.FirstS == nil {
				t.Fatal("no 502s recorded")
			}
			// Well under the 10 s planned, and within 2 s of the moment the
			// expectation was decided.
			decided := max(*rep.Onset.FirstS, tt.by)
			if rep.DurationS > 4 || rep.DurationS-decided > 2 {
				t.Errorf("the run lasted %.3fs, its expectation failed at %.3fs; want it stopped within 2s", rep.DurationS, decided)
			}
			if len(rep.Expectations) != 2 || rep.Expectations[0].OK || !rep.Expectations[0].Abort || !rep.Expectations[1].OK {
				t.Errorf("got verdicts %+v, want the aborting one failed and the other held", rep.Expectations)
			}
			if len(rd.results) != rep.Totals.Requests || rep.Totals.Requests == 0 {
				t.Errorf("got %d results for %d requests, want every request recorded", len(rd.results), rep.Totals.Requests)
			}
			if !strings.Contains(stdout, " ABORTED\n") || !strings.Contains(rep.Diagnosis, "The run was aborted: "+tt.expect) {
				t.Errorf("the text report does not say the run was aborted:\n%s", stdout)
			}
			// report DIR rebuilds the same report, aborted, and exits 1.
			before, _ := os.ReadFile(filepath.Join(out, run.ReportFile))
			code, _, stderr = gatecrash(t, "report", out)
			after, _ := os.ReadFile(filepath.Join(out, run.ReportFile))
			if code != exitFailed || !bytes.Equal(before, after) {
				t.Errorf("report DIR: exit %d (%s), same report.json %v; want 1 and the same", code, stderr, bytes.Equal(before, after))
			}
		})
	}
}

// TestExpectDocumented checks that docs/report.md names every field of an
// expectation's verdict, which the golden reports (without expectations)
// cannot show TestReportSchemaDocumented.
func TestExpectDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("docs", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	ty := reflect.TypeFor[results.Verdict]()
	for i := range ty.NumField() {
		name, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
		if !bytes.Contains(doc, []byte("| `"+name+"` |")) {
			t.Errorf("docs/report.md does not document expectations[].%s", name)
		}
	}
	// And the verdicts as report.json holds them have exactly those keys.
	b, err := json.Marshal(results.Verdicts{{Expr: "count(error) < 1"}})
	if err != nil {
		t.Fatal(err)
	}
	var v []map[string]any
	if err := json.Unmarshal(b, &v); err != nil || len(v) != 1 || len(v[0]) != ty.NumField() {
		t.Errorf("got %s, want one verdict with %d keys", b, ty.NumField())
	}
}
