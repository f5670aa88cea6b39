package run

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/internal/golden"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/report"
	"github.com/gatecrash/gatecrash/scenarios"
)

// damageStart is the start of the run damageFolder writes.
var damageStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// damageExpect are the expectations of the run damageFolder writes: all
// hold over the whole run.
var damageExpect = []string{"rate(status=502) < 20%", "p99(latency) < 250ms"}

// damageFolder writes a whole run folder as gatecrash run does, with
// vegeta's encoder for the results and the event log's JSON lines: an 8s
// run of 80 requests, one each 100ms, over phases steady (0-4s) and
// resets (4-8s), where every fourth request gets a 502 that a reset event
// explains. It returns the folder and the offset in results after each
// record.
func damageFolder(t *testing.T) (Folder, []int64) {
	t.Helper()
	dir := Folder(t.TempDir())
	plan := &results.Run{
		Schema: results.RunSchema, Scenario: "damage", Attack: "damage", Seed: 7,
		Started: damageStart, Gateway: "builtin",
		Phases: []results.PhasePlan{
			{Name: "steady", StartS: 0, EndS: 4, Planned: 40, Rate: 10, RampTo: 10},
			{Name: "resets", StartS: 4, EndS: 8, Planned: 40, Rate: 10, RampTo: 10, Faults: []string{"reset"}},
		},
	}
	if err := results.WriteRun(dir.Path(PlanFile), plan); err != nil {
		t.Fatal(err)
	}
	var rb, eb bytes.Buffer
	w := results.NewWriter(&rb)
	events := faults.NewEventLog(&eb)
	var offsets []int64
	for i := range 80 {
		at := damageStart.Add(time.Duration(i) * 100 * time.Millisecond)
		r := &vegeta.Result{Attack: "damage", Seq: uint64(i), Code: 200, Timestamp: at, Latency: time.Duration(2+i%3) * time.Millisecond, Method: "GET", URL: "http://127.0.0.1/"}
		if i >= 40 && i%4 == 0 {
			r.Code, r.Body = 502, []byte("Bad Gateway\n")
			seq := uint64(i)
			events.Record(faults.Event{Time: at.Add(time.Millisecond), Type: faults.TypeFault, Attack: "damage", Seq: &seq, Conn: uint64(i), Phase: "resets", Kind: "reset", Cause: "reset-before-headers", Ended: true, Detail: "reset before the answer's headers"})
		}
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		offsets = append(offsets, int64(rb.Len()))
	}
	if err := events.Close(); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{ResultsFile: rb.Bytes(), EventsFile: eb.Bytes()} {
		if err := os.WriteFile(dir.Path(name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var exps []scenarios.Expectation
	for _, x := range damageExpect {
		e, err := scenarios.ParseExpectation(x, false)
		if err != nil {
			t.Fatal(err)
		}
		exps = append(exps, e)
	}
	if err := results.WriteExpect(dir.Path(ExpectFile), exps, ""); err != nil {
		t.Fatal(err)
	}
	return dir, offsets
}

// cutTo cuts a file of the folder to n bytes.
func cutTo(t *testing.T, dir Folder, name string, n int64) {
	t.Helper()
	if err := os.Truncate(dir.Path(name), n); err != nil {
		t.Fatal(err)
	}
}

// cutBy cuts the last n bytes off a file of the folder.
func cutBy(t *testing.T, dir Folder, name string, n int64) {
	t.Helper()
	st, err := os.Stat(dir.Path(name))
	if err != nil {
		t.Fatal(err)
	}
	cutTo(t, dir, name, st.Size()-n)
}

// cutAfterLines cuts a file of the folder n bytes after its first lines
// lines.
func cutAfterLines(t *testing.T, dir Folder, name string, lines int, n int64) {
	t.Helper()
	b, err := os.ReadFile(dir.Path(name))
	if err != nil {
		t.Fatal(err)
	}
	at := 0
	for range lines {
		at += bytes.IndexByte(b[at:], '\n') + 1
	}
	cutTo(t, dir, name, int64(at)+n)
}

// stillRunning rewrites run.json as the run writes it when the attack
// starts: running, and not yet known to be interrupted.
func stillRunning(t *testing.T, dir Folder) {
	t.Helper()
	plan, err := dir.Plan()
	if err != nil {
		t.Fatal(err)
	}
	plan.Running = true
	if err := results.WriteRun(dir.Path(PlanFile), plan); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, dir Folder, name string) {
	t.Helper()
	if err := os.Remove(dir.Path(name)); err != nil {
		t.Fatal(err)
	}
}

// TestFolderDamaged: a run folder that is not whole is reported on from
// what was recorded, and report.json's damaged says, per file, what is
// wrong and what was dropped; the expectations of a damaged run are not
// judged; the text report carries a WARNING per damaged file. Today's
// reader said nothing of any of these (a results file cut inside its
// first record was "not a vegeta results file", a run.json still running
// gave an uninterrupted 8s plan). Goldens: testdata/damage-NAME.json and
// .txt (go test -update rewrites them).
func TestFolderDamaged(t *testing.T) {
	const recordCut = 7 // bytes of record 47 left in a cut results file
	for _, tt := range []struct {
		name     string
		damage   func(t *testing.T, dir Folder, offsets []int64)
		want     []string // file:problem, in order
		dropped  []int64  // bytes, per entry of want
		requests int
		stopped  float64 // the end of an interrupted run's timeline; 0 when not interrupted
	}{
		{
			name:     "whole",
			damage:   func(*testing.T, Folder, []int64) {},
			requests: 80,
		},
		{
			name: "results-cut-mid-record",
			damage: func(t *testing.T, dir Folder, offsets []int64) {
				cutTo(t, dir, ResultsFile, offsets[45]+recordCut)
			},
			want: []string{"results:cut"}, dropped: []int64{recordCut}, requests: 46,
		},
		{
			name: "results-cut-in-header",
			damage: func(t *testing.T, dir Folder, offsets []int64) {
				cutTo(t, dir, ResultsFile, offsets[0]/2)
			},
			want: []string{"results:cut-in-header"}, dropped: []int64{-1}, requests: 0,
		},
		{
			name: "results-cut-after-type",
			damage: func(t *testing.T, dir Folder, offsets []int64) {
				// The first record is the type's definition, then the
				// value: cut about where the definition ends (a value is
				// about as long as the second record).
				cutTo(t, dir, ResultsFile, offsets[0]-(offsets[1]-offsets[0]))
			},
			want: []string{"results:cut-in-header"}, dropped: []int64{-1}, requests: 0,
		},
		{
			name:   "results-empty",
			damage: func(t *testing.T, dir Folder, _ []int64) { cutTo(t, dir, ResultsFile, 0) },
			want:   []string{"results:empty"}, dropped: []int64{0}, requests: 0,
		},
		{
			name:   "events-cut-mid-line",
			damage: func(t *testing.T, dir Folder, _ []int64) { cutBy(t, dir, EventsFile, 20) },
			want:   []string{"events.jsonl:cut"}, dropped: []int64{-1}, requests: 80,
		},
		{
			name:   "expect-missing",
			damage: func(t *testing.T, dir Folder, _ []int64) { remove(t, dir, ExpectFile) },
			want:   []string{"expect.json:missing"}, dropped: []int64{0}, requests: 80,
		},
		{
			name:   "killed-after-the-last-request",
			damage: func(t *testing.T, dir Folder, _ []int64) { stillRunning(t, dir) },
			want:   []string{"run.json:not-ended"}, dropped: []int64{0}, requests: 80, stopped: 7.9,
		},
		{
			// What a kill -9 leaves: run.json as written at the start, the
			// results and events cut where the last flush left them, no
			// expect.json (written at the end).
			name: "killed-mid-run",
			damage: func(t *testing.T, dir Folder, offsets []int64) {
				stillRunning(t, dir)
				cutTo(t, dir, ResultsFile, offsets[45]+recordCut)
				cutAfterLines(t, dir, EventsFile, 2, 20) // the events of 4.0 and 4.4s
				remove(t, dir, ExpectFile)
			},
			want:    []string{"run.json:not-ended", "results:cut", "events.jsonl:cut", "expect.json:missing"},
			dropped: []int64{0, recordCut, -1, 0}, requests: 46, stopped: 4.5,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, offsets := damageFolder(t)
			tt.damage(t, dir, offsets)
			rep, err := dir.Analyze(results.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, d := range rep.Damaged {
				got = append(got, d.File+":"+d.Problem)
				if d.Warning == "" || d.Dropped == "" || !strings.Contains(d.Warning, d.File) {
					t.Errorf("damaged[%d] = %+v: want a warning naming the file, and what was dropped", i, d)
				}
				if i < len(tt.dropped) && tt.dropped[i] >= 0 && d.DroppedBytes != tt.dropped[i] {
					t.Errorf("damaged[%d].dropped_bytes: got %d, want %d", i, d.DroppedBytes, tt.dropped[i])
				}
				if !strings.Contains(rep.Diagnosis, d.Warning) {
					t.Errorf("the diagnosis lacks %q: %s", d.Warning, rep.Diagnosis)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("damaged: got %v, want %v", got, tt.want)
			}
			if rep.Totals.Requests != tt.requests {
				t.Errorf("requests: got %d, want %d", rep.Totals.Requests, tt.requests)
			}
			if interrupted := tt.stopped > 0; rep.Interrupted != interrupted {
				t.Errorf("interrupted: got %v, want %v", rep.Interrupted, interrupted)
			}
			if tt.stopped > 0 {
				if end := rep.Timeline[len(rep.Timeline)-1].TS + rep.Analysis.Bucket.Seconds(); end > tt.stopped+1 {
					t.Errorf("timeline ends at %vs, want it to stop with the last request recorded, %vs", end, tt.stopped)
				}
			}
			for _, v := range rep.Expectations {
				switch {
				case len(tt.want) == 0 && !v.OK:
					t.Errorf("whole run: %s failed (%s), want it held", v.Expr, v.Measured())
				case len(tt.want) > 0 && (v.OK || v.Value != nil || v.Detail != "not measured: the run is damaged"):
					t.Errorf("damaged run: %s: got ok %v, value %v, detail %q; want not measured", v.Expr, v.OK, v.Value, v.Detail)
				}
			}
			if len(tt.want) == 0 {
				if b, _ := rep.MarshalIndent(); bytes.Contains(b, []byte(`"damaged"`)) {
					t.Errorf("a whole run's report.json holds damaged:\n%s", b)
				}
				return
			}
			js, err := rep.MarshalIndent()
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			if err := report.Text(&text, rep); err != nil {
				t.Fatal(err)
			}
			for _, d := range rep.Damaged {
				if !strings.Contains(text.String(), "WARNING: "+d.Warning+"\n") {
					t.Errorf("the text report lacks the WARNING line of %s", d.File)
				}
			}
			golden.Check(t, "damage-"+tt.name+".json", js)
			golden.Check(t, "damage-"+tt.name+".txt", text.Bytes())
		})
	}
}

// TestFolderWithout: a folder without run.json, results or events.jsonl
// cannot be reported on; the error names the folder and the file, and says
// what to do. Today's said "open DIR/run.json: no such file or directory".
func TestFolderWithout(t *testing.T) {
	for _, tt := range []struct {
		file string
		want string
	}{
		{PlanFile, "no run.json, the plan every report needs: gatecrash writes it as the attack starts, so this folder is not one gatecrash run wrote, or its run never began; give the run folder gatecrash run wrote, or run the scenario again"},
		{ResultsFile, "no results, which every run folder holds; give the whole folder gatecrash run wrote"},
		{EventsFile, "no events.jsonl, which every run folder holds; give the whole folder gatecrash run wrote"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			dir, _ := damageFolder(t)
			remove(t, dir, tt.file)
			_, err := dir.Analyze(results.Options{})
			if err == nil || err.Error() != string(dir)+": "+tt.want {
				t.Errorf("got %v, want %s: %s", err, dir, tt.want)
			}
		})
	}
}

// TestDamagedDocumented: docs/report.md names every key of report.json's
// damaged entries, and the field itself (the root's schema test reads a
// whole run's report, which has none).
func TestDamagedDocumented(t *testing.T) {
	var rep struct {
		Damaged []map[string]any `json:"damaged"`
	}
	doc := docAndGolden(t, "damage-killed-mid-run.json", &rep)
	keys := []string{"damaged"}
	for _, d := range rep.Damaged {
		for k := range d {
			keys = append(keys, k)
		}
	}
	if len(keys) < 7 {
		t.Fatalf("found only the keys %v", keys)
	}
	checkDocumented(t, doc, keys)
}

// docAndGolden returns docs/report.md and decodes the golden report
// testdata/name into v.
func docAndGolden(t *testing.T, name string, v any) []byte {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, v); err != nil {
		t.Fatal(err)
	}
	return doc
}

// checkDocumented reports every key docs/report.md does not name in
// backquotes.
func checkDocumented(t *testing.T, doc []byte, keys []string) {
	t.Helper()
	for _, k := range keys {
		if !bytes.Contains(doc, []byte("`"+k+"`")) {
			t.Errorf("docs/report.md does not document %q", k)
		}
	}
}
