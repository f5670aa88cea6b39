package run

import (
	"sort"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/results"
)

// TestExamples gathers the examples of the recorded run: the first
// requests by send time of each failure cause and of the cause of slow
// answers (the analysis's Slow filled by hand, with a 27ms threshold),
// each with its story.
func TestExamples(t *testing.T) {
	dir := recorded(t)
	var all []vegeta.Result
	if err := dir.EachResult(func(r *vegeta.Result) { all = append(all, *r) }); err != nil {
		t.Fatal(err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Timestamp.Before(all[j].Timestamp) })
	// The cause of each slow answer, from an analyzer of the folder's own.
	plan, err := dir.Plan()
	if err != nil {
		t.Fatal(err)
	}
	a := results.NewAnalyzer(plan, results.Options{})
	if _, err := dir.eachEventCut(a.AddEvent); err != nil {
		t.Fatal(err)
	}
	var first502 []uint64
	slowWant := map[string][]uint64{}
	for _, r := range all {
		if r.Code == 502 && len(first502) < results.ExamplesPerCause {
			first502 = append(first502, r.Seq)
		}
		if r.Code == 200 && r.Latency >= 27*time.Millisecond {
			c, _, _ := a.Slowness(&r)
			if len(slowWant[c]) < results.ExamplesPerCause {
				slowWant[c] = append(slowWant[c], r.Seq)
			}
		}
	}
	if len(slowWant) == 0 {
		t.Fatal("the recorded run has no answer of 27ms or more")
	}
	withSlow := map[string][]uint64{"reset-before-headers": first502}
	for c, seqs := range slowWant {
		withSlow[c] = seqs
	}

	for _, tt := range []struct {
		name   string
		slow   *results.Slow // nil: the analysis's own, with a 27ms threshold
		causes bool
		want   map[string][]uint64 // cause or slow cause: the seqs, in order
	}{
		{"failures and slow answers", nil, true, withSlow},
		{"a report of before slow answers", &results.Slow{}, true, map[string][]uint64{"reset-before-headers": first502}},
		{"no slow answer", &results.Slow{ThresholdMS: 27, Causes: []results.SlowCause{}}, true, map[string][]uint64{"reset-before-headers": first502}},
		{"nothing to exemplify", &results.Slow{}, false, map[string][]uint64{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := dir.Analyze(results.Options{Slow: 27 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.slow == nil:
			case tt.slow.From == "" && tt.slow.Causes == nil:
				rep.Slow = nil // a report written before slow answers were
			default:
				rep.Slow = tt.slow
			}
			if !tt.causes {
				rep.Causes, rep.OtherCauses = nil, nil
			}
			if err := dir.Examples(rep); err != nil {
				t.Fatal(err)
			}
			got := map[string][]uint64{}
			for _, st := range rep.Examples {
				key := st.Cause
				if st.Slow != "" {
					key = st.Slow
				}
				got[key] = append(got[key], st.Seq)
				if st.Cause == "" && st.Slow == "" {
					t.Errorf("seq %d is an example of nothing", st.Seq)
				}
				if st.Slow != "" && st.LatencyMS < 27 {
					t.Errorf("seq %d: a slow example of %.1fms", st.Seq, st.LatencyMS)
				}
				if st.Cause == "reset-before-headers" && len(st.Attempts) == 0 {
					t.Errorf("seq %d: a reset before headers without its attempts", st.Seq)
				}
			}
			for key, seqs := range tt.want {
				if len(got[key]) != len(seqs) {
					t.Errorf("%s: got seqs %v, want %v", key, got[key], seqs)
					continue
				}
				for i := range seqs {
					if got[key][i] != seqs[i] {
						t.Errorf("%s: got seqs %v, want %v", key, got[key], seqs)
						break
					}
				}
			}
			listed := map[string]bool{}
			for _, cs := range rep.OtherCauses {
				for _, c := range cs {
					listed[c.Cause] = true
				}
			}
			for key := range got {
				if _, ok := tt.want[key]; !ok && !listed[key] {
					t.Errorf("examples of %s, which the report does not list", key)
				}
			}
		})
	}
}

// TestKeepFirst checks that keepFirst keeps the first
// results.ExamplesPerCause results by send time, whatever the order they
// come in, ties going to the lower seq.
func TestKeepFirst(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		in   []int // send times in ms, seq = index
		want []uint64
	}{
		{"in order", []int{1, 2, 3, 4, 5}, []uint64{0, 1, 2}},
		{"reversed", []int{5, 4, 3, 2, 1}, []uint64{4, 3, 2}},
		{"ties", []int{2, 1, 1, 1, 0}, []uint64{4, 1, 2}},
		{"fewer", []int{7}, []uint64{0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var rs []vegeta.Result
			for i, ms := range tt.in {
				rs = keepFirst(rs, &vegeta.Result{Seq: uint64(i), Timestamp: t0.Add(time.Duration(ms) * time.Millisecond), Body: []byte("b")})
			}
			if len(rs) != len(tt.want) {
				t.Fatalf("got %d, want %d", len(rs), len(tt.want))
			}
			for i := range rs {
				if rs[i].Seq != tt.want[i] {
					t.Errorf("got seq %d at %d, want %d", rs[i].Seq, i, tt.want[i])
				}
			}
		})
	}
}
