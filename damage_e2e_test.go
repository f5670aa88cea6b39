package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/run"
)

// damagedCopy copies the recorded run of testdata/runs/upstream-resets
// into a new folder, with an expectation that holds over the whole run,
// then damages it.
func damagedCopy(t *testing.T, damage func(dir run.Folder)) run.Folder {
	t.Helper()
	dir := run.Folder(t.TempDir())
	for _, f := range []string{run.PlanFile, run.ResultsFile, run.EventsFile} {
		b, err := os.ReadFile(filepath.Join("testdata", "runs", "upstream-resets", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir.Path(f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(dir.Path(run.ExpectFile), []byte(`{"schema": "gatecrash/expect/v1", "expect": [{"expr": "rate(status=502) < 50%"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	damage(dir)
	return dir
}

// TestReportDamaged runs gatecrash report on damaged copies of a recorded
// run folder: each exits non-zero, says what is damaged on stdout (text
// WARNING:), and writes it into every format of the folder. Today's
// gatecrash said nothing of a cut results file or a run.json still
// running and exited 0, the expectation "held".
func TestReportDamaged(t *testing.T) {
	cut := func(name string, by int64) func(run.Folder) {
		return func(dir run.Folder) {
			st, err := os.Stat(dir.Path(name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(dir.Path(name), st.Size()-by); err != nil {
				t.Fatal(err)
			}
		}
	}
	killed := func(dir run.Folder) {
		plan, err := dir.Plan()
		if err != nil {
			t.Fatal(err)
		}
		plan.Running = true
		if err := results.WriteRun(dir.Path(run.PlanFile), plan); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name   string
		damage func(run.Folder)
		code   int
		files  []string // damaged, in order
	}{
		{"whole", func(run.Folder) {}, exitOK, nil},
		{"results cut", cut(run.ResultsFile, 9), exitBroken, []string{"results"}},
		{"events cut", cut(run.EventsFile, 9), exitBroken, []string{"events.jsonl"}},
		{"expect.json missing", func(dir run.Folder) {
			if err := os.Remove(dir.Path(run.ExpectFile)); err != nil {
				t.Fatal(err)
			}
		}, exitBroken, []string{"expect.json"}},
		{"killed", killed, exitBroken, []string{"run.json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := damagedCopy(t, tt.damage)
			code, stdout, stderr := gatecrash(t, "report", string(dir))
			if code != tt.code {
				t.Errorf("exit %d (%s), want %d", code, stderr, tt.code)
			}
			b, err := os.ReadFile(dir.Path(run.ReportFile))
			if err != nil {
				t.Fatal(err)
			}
			var rep results.Report
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range rep.Damaged {
				got = append(got, d.File)
				for _, f := range []struct{ file, want string }{
					{run.TextFile, "WARNING: " + d.Warning},
					{run.MarkdownFile, "**⚠ Damaged**"},
					{run.HTMLFile, `<p class="banner bad">Damaged: `},
					{run.JUnitFile, `name="file ` + d.File + `"`},
				} {
					if b, err := os.ReadFile(dir.Path(f.file)); err != nil || !strings.Contains(string(b), f.want) {
						t.Errorf("%s: no %q (%v)", f.file, f.want, err)
					}
				}
				if !strings.Contains(stdout, "WARNING: "+d.Warning) {
					t.Errorf("stdout lacks the warning of %s", d.File)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.files, " ") {
				t.Errorf("damaged: got %v, want %v", got, tt.files)
			}
		})
	}
}

// TestReportWithoutPlan: gatecrash report on a folder without run.json
// exits 2, naming the file and what to do.
func TestReportWithoutPlan(t *testing.T) {
	dir := damagedCopy(t, func(dir run.Folder) {
		if err := os.Remove(dir.Path(run.PlanFile)); err != nil {
			t.Fatal(err)
		}
	})
	code, _, stderr := gatecrash(t, "report", string(dir))
	if code != exitInput || !strings.Contains(stderr, string(dir)+": no run.json") || !strings.Contains(stderr, "run the scenario again") {
		t.Errorf("got exit %d, %q; want 2 and the missing run.json named, with what to do", code, stderr)
	}
}
