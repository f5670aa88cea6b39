package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/gatecrash/gatecrash/results"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
