package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatecrash/gatecrash/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test -update if the change is right\ngot:\n%s", name, got)
	}
}

// TestReportGolden rebuilds the report of a recorded run folder
// (testdata/runs/upstream-resets: results, events.jsonl and run.json of
// `gatecrash run upstream-resets`) and compares the text, report.json and
// --json output with golden files: the same inputs give byte-identical
// output, and the analysis settings change it.
func TestReportGolden(t *testing.T) {
	for _, tt := range []struct {
		golden string
		args   []string
	}{
		{"report-upstream-resets", nil},
		{"report-upstream-resets-bucket2s", []string{"--bucket", "2s", "--threshold", "0.005", "--sustain", "2"}},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{results.RunFile, results.RecordFile, results.EventsFile} {
				b, err := os.ReadFile(filepath.Join("testdata", "runs", "upstream-resets", f))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, stdout, stderr := gatecrash(t, append(append([]string{"report"}, tt.args...), dir)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden(t, tt.golden+".txt", []byte(stdout))
			js, err := os.ReadFile(filepath.Join(dir, results.ReportFile))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden+".json", js)
			code, stdout, stderr = gatecrash(t, append(append([]string{"report", "--json"}, tt.args...), dir)...)
			if code != exitOK || stdout != string(js) {
				t.Errorf("report --json: exit %d (%s), and its output differs from the report.json it wrote", code, stderr)
			}
		})
	}
}
