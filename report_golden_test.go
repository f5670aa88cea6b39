package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatecrash/gatecrash/internal/golden"
	"github.com/gatecrash/gatecrash/run"
)

// TestReportGolden rebuilds the report of a recorded run folder
// (testdata/runs/upstream-resets: results, events.jsonl, run.json and an
// expect.json without expectations, of
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
			for _, f := range []string{run.PlanFile, run.ResultsFile, run.EventsFile, run.ExpectFile} {
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
			golden.Check(t, tt.golden+".txt", []byte(stdout))
			js, err := os.ReadFile(filepath.Join(dir, run.ReportFile))
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tt.golden+".json", js)
			code, stdout, stderr = gatecrash(t, append(append([]string{"report", "--json"}, tt.args...), dir)...)
			if code != exitOK || stdout != string(js) {
				t.Errorf("report --json: exit %d (%s), and its output differs from the report.json it wrote", code, stderr)
			}
		})
	}
}

// TestReportSchemaDocumented checks that docs/report.md names every key
// report.json can hold, so the reference cannot fall behind the code.
func TestReportSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("docs", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join("testdata", "report-upstream-resets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatal(err)
	}
	// Keys of maps keyed by data (status codes, kinds, classes) are not
	// schema.
	dataKeyed := map[string]bool{"status": true, "faults": true, "error_kinds": true, "reasons": true, "by_kind": true, "other_onsets": true, "other_causes": true}
	keys := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				keys[k] = true
				if dataKeyed[k] {
					if m, ok := e.(map[string]any); ok {
						for _, inner := range m {
							walk(inner)
						}
						continue
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	if len(keys) < 40 {
		t.Fatalf("found only %d keys in the golden report", len(keys))
	}
	for k := range keys {
		if !bytes.Contains(doc, []byte("`"+k+"`")) && !bytes.Contains(doc, []byte(`"`+k+`"`)) {
			t.Errorf("docs/report.md does not document %q", k)
		}
	}
}
