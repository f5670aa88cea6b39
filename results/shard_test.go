package results

import (
	"fmt"
	"os"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// shardResults returns the results of shard k of n of run's schedule, each
// sent late by late, under the shard's attack name.
func shardResults(run *Run, k, n int, late time.Duration) []vegeta.Result {
	p := run.Schedule().Shard(k, n)
	var out []vegeta.Result
	for i := uint64(0); ; i++ {
		due, ok := p.Due(i)
		if !ok {
			return out
		}
		out = append(out, vegeta.Result{Attack: fmt.Sprintf("a/shard-%d-of-%d", k, n), Seq: i, Code: 200,
			Timestamp: run.Started.Add(due + late), Latency: time.Millisecond})
	}
}

// TestSendLagShards checks the send lag of a merged run (each shard's
// results against its own view of the schedule) and of one shard's folder.
func TestSendLagShards(t *testing.T) {
	merged := oneRun()
	merged.Attack = ""
	var all []vegeta.Result
	for k := 1; k <= 4; k++ {
		merged.Shards = append(merged.Shards, Shard{Attack: fmt.Sprintf("a/shard-%d-of-4", k), K: k, N: 4, StartAt: t0})
		all = append(all, shardResults(merged, k, 4, 0)...)
	}
	tests := []struct {
		name    string
		run     *Run
		res     []vegeta.Result
		wantP50 float64
		wantMax float64
	}{
		{"merged, on time", merged, all, 0, 0},
		{"merged, shard 3 5ms late", merged, func() []vegeta.Result {
			var r []vegeta.Result
			for k := 1; k <= 4; k++ {
				late := time.Duration(0)
				if k == 3 {
					late = 5 * time.Millisecond
				}
				r = append(r, shardResults(merged, k, 4, late)...)
			}
			return r
		}(), 0, 5},
		{"merged, an attack of no shard", merged, append(append([]vegeta.Result(nil), all...),
			vegeta.Result{Attack: "other", Seq: 1, Code: 200, Timestamp: t0.Add(time.Second), Latency: time.Millisecond}), 0, 0},
		{"one shard's folder", func() *Run {
			r := oneRun()
			r.Phases[0].Planned, r.Phases[0].Rate, r.Phases[0].RampTo = 25, 2.5, 2.5
			r.Shard = &Shard{Attack: "a/shard-2-of-4", K: 2, N: 4, StartAt: t0}
			r.Attack = "a/shard-2-of-4"
			return r
		}(), shardResults(merged, 2, 4, 7*time.Millisecond), 7, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Analyze(tt.run, tt.res, nil, Options{})
			if l := rep.SendLagMS; l.Max != tt.wantMax || l.P50 != tt.wantP50 {
				t.Errorf("send lag: got %+v, want p50 %v, max %v", l, tt.wantP50, tt.wantMax)
			}
			if rep.Totals.Requests != len(tt.res) {
				t.Errorf("requests: got %d, want %d", rep.Totals.Requests, len(tt.res))
			}
		})
	}
	// Without the shard list, the shards' results would be paced as one
	// attack: their lag is then unknown, not wrongly measured.
	plain := oneRun()
	plain.Attack = "whole"
	if l := Analyze(plain, all, nil, Options{}).SendLagMS; l.Max != 0 {
		t.Errorf("shards' results in a run that is not a merge: got lag %+v, want none measured", l)
	}
}

func TestRunCheckShard(t *testing.T) {
	tests := []struct {
		name  string
		shard *Shard
		list  []Shard
		ok    bool
	}{
		{"none", nil, nil, true},
		{"shard 1/1", &Shard{K: 1, N: 1}, nil, true},
		{"shard 0/4", &Shard{K: 0, N: 4}, nil, false},
		{"shard 5/4", &Shard{K: 5, N: 4}, nil, false},
		{"list", nil, []Shard{{K: 1, N: 2}, {K: 2, N: 2}}, true},
		{"list with 3/2", nil, []Shard{{K: 1, N: 2}, {K: 3, N: 2}}, false},
	}
	for _, tt := range tests {
		r := oneRun()
		r.Shard, r.Shards = tt.shard, tt.list
		if err := r.check(); (err == nil) != tt.ok {
			t.Errorf("%s: got %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

// FuzzReadRun checks that a run.json that reads has a schedule, with its
// shard's or shards' views, and an analysis that do not panic.
//
//	go test -run='^$' -fuzz=FuzzReadRun -fuzztime=30s ./results
func FuzzReadRun(f *testing.F) {
	for _, seed := range []string{
		`{"schema":"gatecrash/run/v1","scenario":"s","attack":"s/shard-2-of-4","seed":1,"started":"2026-12-07T04:00:00Z","interrupted":false,"gateway":"none","phases":[{"name":"p","start_s":0,"end_s":1,"planned":25,"rate":25,"ramp_to":25}],"shard":{"attack":"s/shard-2-of-4","k":2,"n":4,"start_at":"2026-12-07T04:00:00Z"}}`,
		`{"schema":"gatecrash/run/v1","scenario":"s","attack":"","seed":1,"started":"2026-12-07T04:00:00Z","interrupted":false,"gateway":"none","phases":[{"name":"p","start_s":0,"end_s":1,"planned":100,"rate":100,"ramp_to":100}],"shards":[{"attack":"a","k":1,"n":2},{"attack":"b","k":2,"n":2}]}`,
		`{"schema":"gatecrash/run/v1","started":"2026-12-07T04:00:00Z","phases":[],"shard":{"k":9223372036854775807,"n":9223372036854775807}}`,
		`{"schema":"gatecrash/run/v1","started":"2026-12-07T04:00:00Z","phases":[{"name":"p","end_s":1,"planned":1e300}],"shard":{"k":0,"n":-1}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := t.TempDir() + "/run.json"
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		run, err := ReadRun(path)
		if err != nil {
			return
		}
		p := run.Schedule()
		p.Due(1 << 62)
		a := NewAnalyzer(run, Options{Bucket: time.Hour})
		a.Add(&vegeta.Result{Attack: "a", Seq: 1 << 63, Timestamp: run.Started, Code: 200})
		a.Report()
	})
}
