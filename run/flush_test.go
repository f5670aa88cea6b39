package run

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results"
)

// slow is a long scenario at a rate so low that a second of its records
// and events is far less than a write buffer (4 KiB): only a flush by
// the clock puts them in their files while the run goes.
const slow = `name: run-flush
seed: 7
requests:
  - {method: GET, path: /}
phases:
  - name: slow
    duration: 60s
    rate: 4/s
    faults:
      - {kind: latency, delay: 1ms}
`

// TestRunFlushesWhileItGoes checks, during a run, that run.json says the
// run is going and that the results and events of its first second are
// in their files, readable; then that the run, stopped, writes run.json
// again without running.
func TestRunFlushesWhileItGoes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc := decode(t, slow)
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, sc, Options{Dir: dir})
		done <- err
	}()
	f := Folder(dir)
	// Bounded: 10s is 40 requests, about 4 KiB of records, the size a
	// buffer would hold before it wrote them out by itself.
	deadline := time.Now().Add(10 * time.Second)
	var recs []string
	var nres, nev int
	for {
		plan, perr := f.Plan()
		if perr == nil && plan.Running {
			nres, nev = countRecords(t, f)
			if nres > 0 && nev > 0 {
				break
			}
			recs = append(recs[:0], "run.json running")
		}
		if time.Now().After(deadline) {
			t.Fatalf("10s into a run at 4/s: got %v (run.json: %v), %d results, %d events in the folder; want run.json running and the first second's records", recs, perr, nres, nev)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	plan, err := f.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if plan.Running || !plan.Interrupted {
		t.Errorf("run.json at the end: got running %v, interrupted %v; want not running, interrupted", plan.Running, plan.Interrupted)
	}
}

// countRecords returns how many results and events the folder's files
// hold now.
func countRecords(t *testing.T, f Folder) (nres, nev int) {
	t.Helper()
	if rf, err := os.Open(f.Path(ResultsFile)); err == nil {
		rs, err := results.Read(rf)
		rf.Close()
		if err != nil {
			t.Fatalf("results while the run goes: %v", err)
		}
		nres = len(rs)
	}
	if ef, err := os.Open(f.Path(EventsFile)); err == nil {
		es, err := faults.ReadEvents(ef)
		ef.Close()
		if err != nil {
			t.Fatalf("events while the run goes: %v", err)
		}
		nev = len(es)
	}
	return nres, nev
}
