package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/gatecrash/gatecrash/results"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test -update if the change is right\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// analyzed loads ../testdata/analyze.json, the golden report of
// results.TestAnalyze: clean (4 requests, 200, 1-4 ms), then faulty (three
// 502s at 1.5, 2.0 and 2.5s, one request without an answer at 2.9s; 5-8
// ms).
func analyzed(t *testing.T) *results.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "analyze.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep results.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}
