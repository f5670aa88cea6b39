package run

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/results"
)

// recorded copies the recorded run of the root's testdata into a new
// folder.
func recorded(t *testing.T) Folder {
	t.Helper()
	dir := Folder(t.TempDir())
	for _, name := range []string{PlanFile, ResultsFile, EventsFile, ExpectFile} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "runs", "upstream-resets", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir.Path(name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestFolderTestimony: Analyze reads the folder's testimony.jsonl, and
// what the gateway said of a 502 reaches its cause.
func TestFolderTestimony(t *testing.T) {
	dir := recorded(t)
	var bad *vegeta.Result
	if err := dir.EachResult(func(r *vegeta.Result) {
		if bad == nil && r.Code == 502 {
			c := *r
			bad = &c
		}
	}); err != nil {
		t.Fatal(err)
	}
	if bad == nil {
		t.Fatal("the recorded run has no 502")
	}
	before, err := dir.Analyze(results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const said = "upstream prematurely closed connection while reading response header from upstream"
	seq := bad.Seq
	var buf bytes.Buffer
	if err := results.WriteTestimony(&buf, []results.Testimony{{Gateway: "nginx", Time: bad.Timestamp, Attack: bad.Attack, Seq: &seq, Status: 502, Words: said}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir.Path(TestimonyFile), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := dir.Analyze(results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := before.MarshalIndent()
	a, _ := after.MarshalIndent()
	if strings.Contains(string(b), said) || !strings.Contains(string(a), said) {
		t.Errorf("the gateway's words: in the report before testimony.jsonl %v, after %v; want only after", strings.Contains(string(b), said), strings.Contains(string(a), said))
	}
	if err := os.WriteFile(dir.Path(TestimonyFile), []byte("{not json\n{\"also\": \"cut"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := dir.Analyze(results.Options{}); err == nil || !strings.Contains(err.Error(), TestimonyFile) {
		t.Errorf("a broken testimony.jsonl: got %v, want an error naming it", err)
	}
}
