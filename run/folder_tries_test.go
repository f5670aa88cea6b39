package run

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/internal/golden"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/report"
)

// writeTries writes tries.jsonl into damageFolder's folder with the
// attacker's own writer, as a policy of 2 attempts with a budget would
// have: one try of each request; two of each of the ten 502s (the retry
// failed too, 5ms of backoff later) but the first (seq 40), whose retry
// the budget refused; two of seqs 5, 15, 25 and 35, whose first try got
// a 503 and the second a 200 (seq 15's after the Retry-After it asked).
func writeTries(t *testing.T, dir Folder) {
	t.Helper()
	var b bytes.Buffer
	w := attack.NewTryWriter(&b)
	for i := range 80 {
		at := damageStart.Add(time.Duration(i) * 100 * time.Millisecond)
		tr := attack.Try{Time: at, Attack: "damage", Seq: uint64(i), Try: 1, Code: 200, Latency: 2 * time.Millisecond, Stop: attack.StopSuccess}
		switch {
		case i == 40:
			tr.Code, tr.Stop = 502, attack.StopBudget
		case i%10 == 5 && i < 40:
			tr.Code, tr.Stop = 503, ""
			if err := w.Write(tr); err != nil {
				t.Fatal(err)
			}
			tr.Code, tr.Time, tr.Try, tr.Backoff, tr.Stop, tr.RetryAfter = 200, at.Add(12*time.Millisecond), 2, 10*time.Millisecond, attack.StopSuccess, i == 15
		case i >= 40 && i%4 == 0:
			tr.Code, tr.Stop = 502, ""
			if err := w.Write(tr); err != nil {
				t.Fatal(err)
			}
			tr.Time, tr.Try, tr.Backoff, tr.Stop = at.Add(7*time.Millisecond), 2, 5*time.Millisecond, attack.StopAttempts
		}
		if err := w.Write(tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir.Path(TriesFile), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFolderTries: Folder.Analyze reads tries.jsonl into report.json's
// retries; a folder without it has none (and its report.json no retries
// key); a last line cut short is damage, as in events.jsonl; a bad line
// before the last is an error naming the file and the line. Goldens:
// testdata/tries.json and tries.txt (go test -update rewrites them).
func TestFolderTries(t *testing.T) {
	for _, tt := range []struct {
		name     string
		change   func(t *testing.T, dir Folder)
		requests int    // in retries; 0: no retries
		tries    int    // in retries
		damaged  string // file:problem, "" for none
		err      string // a part of the error, "" for none
	}{
		{"whole", func(*testing.T, Folder) {}, 80, 93, "", ""},
		{"without", func(t *testing.T, dir Folder) { remove(t, dir, TriesFile) }, 0, 0, "", ""},
		{"cut", func(t *testing.T, dir Folder) { cutBy(t, dir, TriesFile, 9) }, 79, 92, "tries.jsonl:cut", ""},
		{"bad line", func(t *testing.T, dir Folder) {
			b, err := os.ReadFile(dir.Path(TriesFile))
			if err != nil {
				t.Fatal(err)
			}
			b = append([]byte("{not json\n"), b...)
			if err := os.WriteFile(dir.Path(TriesFile), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, 0, 0, "", "tries.jsonl: line 1: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := damageFolder(t)
			writeTries(t, dir)
			tt.change(t, dir)
			rep, err := dir.Analyze(results.Options{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var damaged []string
			for _, d := range rep.Damaged {
				damaged = append(damaged, d.File+":"+d.Problem)
			}
			if got := strings.Join(damaged, ","); got != tt.damaged {
				t.Errorf("damaged: got %q, want %q", got, tt.damaged)
			}
			js, err := rep.MarshalIndent()
			if err != nil {
				t.Fatal(err)
			}
			if tt.requests == 0 {
				if rep.Retries != nil || bytes.Contains(js, []byte(`"retries"`)) {
					t.Errorf("got retries %+v, want none in report.json", rep.Retries)
				}
				return
			}
			if r := rep.Retries; r == nil || r.Requests != tt.requests || r.Tries != tt.tries {
				t.Fatalf("got retries %+v, want %d requests, %d tries", r, tt.requests, tt.tries)
			}
			if tt.name != "whole" {
				return
			}
			r := rep.Retries
			if r.FirstTryFailures != 14 || r.UserFailures != 10 || r.Hidden != 4 || r.UpstreamArrivals != 93 || r.BudgetExhausted != 1 || r.RetryAfter != 1 {
				t.Errorf("got %+v, want 14 first-try failures, 10 user failures, 4 hidden, 93 arrivals, 1 budget refusal, 1 Retry-After", r)
			}
			var text bytes.Buffer
			if err := report.Text(&text, rep); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "tries.json", js)
			golden.Check(t, "tries.txt", text.Bytes())
		})
	}
}

// TestRetriesDocumented: docs/report.md names every key of report.json's
// retries, as the golden of TestFolderTries holds them.
func TestRetriesDocumented(t *testing.T) {
	var rep struct {
		Retries map[string]any `json:"retries"`
	}
	doc := docAndGolden(t, "tries.json", &rep)
	if len(rep.Retries) < 10 {
		t.Fatalf("the golden's retries has %d keys, want them all", len(rep.Retries))
	}
	var keys []string
	for k, v := range rep.Retries {
		keys = append(keys, k)
		if m, ok := v.(map[string]any); ok && k != "stops" {
			for inner := range m {
				keys = append(keys, inner)
			}
		}
	}
	keys = append(keys, attack.StopSuccess, attack.StopNotRetryable, attack.StopAttempts, attack.StopDeadline, attack.StopBudget, attack.StopInterrupted)
	checkDocumented(t, doc, keys)
}

// FuzzEachTry: no input panics the reader of tries.jsonl; what it accepts
// it reads whole but a cut last line, which it says is the last; a bad
// line before the last is an error naming it.
func FuzzEachTry(f *testing.F) {
	var b bytes.Buffer
	w := attack.NewTryWriter(&b)
	for i := range 3 {
		tr := attack.Try{Time: damageStart, Attack: "a", Seq: uint64(i), Try: 1, Code: 502, Latency: time.Millisecond, Backoff: time.Millisecond, RetryAfter: i == 1, Stop: attack.StopAttempts}
		if err := w.Write(tr); err != nil {
			f.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add(b.Bytes()[:b.Len()-9])
	f.Add([]byte("{not json\n" + b.String()))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		cut, err := eachTry(bytes.NewReader(data), func(*attack.Try) { n++ })
		if err != nil {
			if !strings.Contains(err.Error(), "line ") {
				t.Fatalf("got %v, want an error naming the line", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n"))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			lines++
		}
		if cut.Line != 0 && cut.Line != lines {
			t.Fatalf("cut line %d of %d lines: only the last may be cut", cut.Line, lines)
		}
	})
}
