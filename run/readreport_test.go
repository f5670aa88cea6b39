package run

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadReport reads a report.json, or the one of a run folder, and
// says what is wrong with anything else, naming the file.
func TestReadReport(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, err := os.ReadFile(filepath.Join("..", "results", "compare", "testdata", "base.json"))
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	runFolder := filepath.Dir(write("run/report.json", string(good)))
	empty := filepath.Join(dir, "empty-folder")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		// want are in the error, in order; none: no error.
		want []string
	}{
		{"a report.json", filepath.Join("..", "results", "compare", "testdata", "base.json"), nil},
		{"a run folder", runFolder, nil},
		{"no such file", filepath.Join(dir, "nope.json"), []string{"nope.json: no such file or folder", "give a report.json or the run folder"}},
		{"a folder without report.json", empty, []string{"empty-folder: no report.json in this folder", "gatecrash report " + empty}},
		{"empty", write("empty.json", " \n"), []string{"empty.json: empty", "give a report.json"}},
		{"not JSON", write("bad.json", "{\n  \"schema\": \"gatecrash/report/v1\",\n  oops\n}"), []string{"bad.json:3:3: not valid JSON", "give a report.json"}},
		{"no schema", write("noschema.json", `{"phases": []}`), []string{"noschema.json: no schema field", "gatecrash/report/v1"}},
		{"a run.json", write("run.json", `{"schema": "gatecrash/run/v1"}`), []string{"run.json: this is a run.json", "give the report.json next to it"}},
		{"another schema", write("v2.json", `{"schema": "gatecrash/report/v2"}`), []string{`v2.json: schema "gatecrash/report/v2" is not "gatecrash/report/v1"`}},
		{"an array", write("array.json", `[1, 2]`), []string{"array.json:1:1: a JSON array, not an object"}},
		{"a field of the wrong type", write("type.json", "{\"schema\": \"gatecrash/report/v1\",\n\"phases\": [{\"name\": 3}]}"), []string{"type.json:2:", "phases.name: a JSON number where report.json has string"}},
		{"a bad histogram", write("hist.json", `{"schema": "gatecrash/report/v1", "phases": [{"histogram": {"scheme": "hdr"}}]}`), []string{"hist.json: ", `scheme "hdr" is not "log-linear"`}},
		{"negative counts", write("neg.json", `{"schema": "gatecrash/report/v1", "phases": [{"name": "p", "requests": -1}]}`), []string{"neg.json: phases[0] (p): requests -1", "not a report.json gatecrash wrote"}},
		{"a phase ending before it starts", write("ends.json", `{"schema": "gatecrash/report/v1", "phases": [{"name": "p", "start_s": 5, "end_s": 1}]}`), []string{"phases[0] (p): end_s 1 is before start_s 5"}},
		{"unknown fields are fine", write("newer.json", `{"schema": "gatecrash/report/v1", "expectations": [], "phases": []}`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ReadReport(tt.path)
			if len(tt.want) == 0 {
				if err != nil || r == nil {
					t.Fatalf("got %v, want a report", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			msg := err.Error()
			for _, w := range tt.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error %q lacks %q", msg, w)
				}
				msg = msg[i+len(w):]
			}
		})
	}
}
