package run

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/results"
)

// shardScenario is a scenario of a gateway run elsewhere, at url.
func shardScenario(url string) string {
	return fmt.Sprintf(`name: sharded
seed: 9
target: {gateway: none, url: %s}
requests:
  - {method: GET, path: /}
phases:
  - {name: one, duration: 300ms, rate: 100/s}
  - {name: two, duration: 200ms, rate: 50/s, ramp_to: 150/s}
expect:
  - rate(class=5xx) < 1%%
`, url)
}

// runShards runs the n shards of the scenario src at once, from a shared
// start, each into its own folder, and returns the folders.
func runShards(t *testing.T, src string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now().Add(50 * time.Millisecond)
	dirs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := 1; k <= n; k++ {
		dirs[k-1] = filepath.Join(t.TempDir(), fmt.Sprintf("shard-%d", k))
		sc := decode(t, src)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[k-1] = Run(ctx, sc, Options{Dir: dirs[k-1], Shard: &results.Shard{K: k, N: n}, StartAt: start})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return dirs
}

func okServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Vegeta-Seq") == "3" {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestMergeShards runs 3 shards and merges them: the merged folder holds
// every request once, vegeta's decoder reads it, its plan is the whole
// scenario's from the shared start, and its expectations are judged.
func TestMergeShards(t *testing.T) {
	srv := okServer(t)
	dirs := runShards(t, shardScenario(srv.URL), 3)
	var shardTotal int
	for k, d := range dirs {
		plan, err := Folder(d).Plan()
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("sharded/shard-%d-of-3", k+1); plan.Attack != want || plan.Shard == nil || plan.Shard.Attack != want || plan.Shard.K != k+1 {
			t.Errorf("shard %d: got attack %q, shard %+v, want %s", k+1, plan.Attack, plan.Shard, want)
		}
		if plan.Started.Before(plan.Shard.StartAt) {
			t.Errorf("shard %d: attack started at %s, before the shared start %s", k+1, plan.Started, plan.Shard.StartAt)
		}
		if r := plan.Phases[0].Rate; r != 100.0/3 {
			t.Errorf("shard %d: rate %v, want a third of 100/s", k+1, r)
		}
		rep, err := Folder(d).Analyze(results.Options{})
		if err != nil {
			t.Fatal(err)
		}
		shardTotal += rep.Totals.Requests
	}
	out := filepath.Join(t.TempDir(), "merged")
	rep, err := Merge(out, dirs, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// 300ms at 100/s, then 200ms from 50/s to 150/s: 30 + 20 hits.
	if rep.Totals.Requests != 50 || shardTotal != 50 {
		t.Errorf("requests: merged %d, shards %d, want 50", rep.Totals.Requests, shardTotal)
	}
	// Seq 3 of each shard got a 502: three of them.
	if got := rep.Totals.Status["502"]; got != 3 {
		t.Errorf("502s: got %d, want 3", got)
	}
	if len(rep.Expectations) != 1 || rep.Expectations[0].OK {
		t.Errorf("expectations: got %+v, want the one judged over all, failed (3 of 50 are 5xx)", rep.Expectations)
	}
	plan, err := Folder(out).Plan()
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Shards) != 3 || plan.Phases[0].Rate != 100 || plan.Phases[1].RampTo != 150 || plan.Shard != nil {
		t.Errorf("merged plan: got shards %+v, phases %+v", plan.Shards, plan.Phases)
	}
	if !plan.Started.Equal(plan.Shards[0].StartAt) {
		t.Errorf("merged start: got %s, want the shared %s", plan.Started, plan.Shards[0].StartAt)
	}
	f, err := os.Open(Folder(out).Path(ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := vegeta.DecoderFor(f)
	seen := map[string]bool{}
	n := 0
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			break
		}
		key := fmt.Sprintf("%s#%d", r.Attack, r.Seq)
		if seen[key] {
			t.Errorf("%s twice", key)
		}
		seen[key] = true
		n++
	}
	if n != 50 {
		t.Errorf("vegeta's decoder read %d results, want 50", n)
	}
	if rep.SendLagMS.Max > 1000 {
		t.Errorf("send lag max %vms: the shards' lag is not measured against their own views", rep.SendLagMS.Max)
	}
}

// edit rewrites a shard's run.json with fn.
func edit(t *testing.T, dir string, fn func(*results.Run)) {
	t.Helper()
	plan, err := Folder(dir).Plan()
	if err != nil {
		t.Fatal(err)
	}
	fn(plan)
	if err := results.WriteRun(Folder(dir).Path(PlanFile), plan); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies a shard's folder, for a test to edit.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestMergeErrors checks every folder merge refuses, with what to do.
func TestMergeErrors(t *testing.T) {
	srv := okServer(t)
	dirs := runShards(t, shardScenario(srv.URL), 2)
	whole := filepath.Join(t.TempDir(), "whole")
	os.MkdirAll(whole, 0o755)
	if err := results.WriteRun(Folder(whole).Path(PlanFile), &results.Run{Schema: results.RunSchema, Scenario: "sharded", Started: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		dirs   func() []string
		events []string
		want   string
	}{
		{"none", func() []string { return nil }, nil, "no shard folders"},
		{"a shard missing", func() []string { return dirs[1:] }, nil, "shard 1/2 of \"sharded\" missing"},
		{"a shard twice", func() []string { return []string{dirs[0], dirs[1], copyDir(t, dirs[1])} }, nil, "shard 2/2 is given twice"},
		{"another scenario", func() []string {
			d := copyDir(t, dirs[1])
			edit(t, d, func(r *results.Run) { r.Scenario = "other" })
			return []string{dirs[0], d}
		}, nil, "is a shard of the scenario \"other\""},
		{"another seed", func() []string {
			d := copyDir(t, dirs[1])
			edit(t, d, func(r *results.Run) { r.Seed = 10 })
			return []string{dirs[0], d}
		}, nil, "with seed 10"},
		{"another N", func() []string {
			d := copyDir(t, dirs[1])
			edit(t, d, func(r *results.Run) { r.Shard.N = 3 })
			return []string{dirs[0], d}
		}, nil, "share N"},
		{"another start", func() []string {
			d := copyDir(t, dirs[1])
			edit(t, d, func(r *results.Run) { r.Shard.StartAt = r.Shard.StartAt.Add(time.Second) })
			return []string{dirs[0], d}
		}, nil, "share --start-at"},
		{"no shared start", func() []string {
			d := copyDir(t, dirs[1])
			edit(t, d, func(r *results.Run) { r.Shard.StartAt = time.Time{} })
			return []string{dirs[0], d}
		}, nil, "ran without a shared start (--start-at)"},
		{"another plan", func() []string {
			d := copyDir(t, dirs[1])
			edit(t, d, func(r *results.Run) { r.Phases[0].Rate++ })
			return []string{dirs[0], d}
		}, nil, "planned different phases"},
		{"overlapping attack names", func() []string {
			d := copyDir(t, dirs[1])
			edit(t, d, func(r *results.Run) { r.Shard.Attack = "sharded/shard-1-of-2" })
			return []string{dirs[0], d}
		}, nil, "share the attack name \"sharded/shard-1-of-2\""},
		{"results of another attack", func() []string {
			d := copyDir(t, dirs[1])
			edit(t, d, func(r *results.Run) { r.Shard.Attack = "mine" })
			return []string{dirs[0], d}
		}, nil, "in the results of shard 2/2, whose attack is \"mine\""},
		{"other expectations", func() []string {
			d := copyDir(t, dirs[1])
			if err := results.WriteExpect(Folder(d).Path(ExpectFile), nil, ""); err != nil {
				t.Fatal(err)
			}
			return []string{dirs[0], d}
		}, nil, "hold different expectations"},
		{"a whole run's folder", func() []string { return []string{dirs[0], whole} }, nil, "not of gatecrash run --shard"},
		{"no run.json", func() []string { return []string{dirs[0], t.TempDir()} }, nil, "no run.json"},
		{"events missing", func() []string { return dirs }, []string{filepath.Join(t.TempDir(), "nope")}, "--events: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			_, err := Merge(out, tt.dirs(), MergeOptions{Events: tt.events})
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an InputError with %q", err, tt.want)
			}
		})
	}
}

// TestMergeOneShardInterrupted checks that a shard stopped early makes
// the merged run interrupted, stopped when the last shard stopped: the
// shards that ran to the end keep the whole plan's timeline, instead of
// being cut at the early shard's stop.
func TestMergeOneShardInterrupted(t *testing.T) {
	srv := okServer(t)
	dirs := runShards(t, shardScenario(srv.URL), 2)
	early := copyDir(t, dirs[1])
	edit(t, early, func(r *results.Run) { r.Interrupted, r.StoppedS = true, 0.1 })
	rep, err := Merge(filepath.Join(t.TempDir(), "merged"), []string{dirs[0], early}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted {
		t.Errorf("the merged run is not interrupted, though shard 2 was")
	}
	// The plan runs 0.5s: the timeline keeps it whole.
	if rep.DurationS < 0.45 || len(rep.Timeline) == 0 || rep.Phases[1].AchievedRate == 0 {
		t.Errorf("got %.3fs, %d buckets, phase two at %v/s; want the whole 0.5s plan", rep.DurationS, len(rep.Timeline), rep.Phases[1].AchievedRate)
	}
}
