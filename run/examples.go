package run

import (
	"math"
	"sort"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results"
)

// exampleKey is what a request is an example of: a failure cause within
// its class (the class is "slow" for a cause of slow answers).
type exampleKey struct {
	class, cause string
}

// slowClass is the exampleKey class of the causes of slow answers.
const slowClass = "slow"

// Examples fills rep.Examples, the report of this folder, with the
// stories of the first results.ExamplesPerCause requests (by send time)
// of each failure cause of the report (rep.Causes and rep.OtherCauses, by
// Analyzer.Explain) and of each cause of slow answers (rep.Slow, by
// Analyzer.Slowness, for the answers of at least rep.Slow.ThresholdMS).
// It reads the folder again: its events and testimony, its results, then
// the events of the chosen requests only; it keeps no more than the
// examples. Analyze stays one pass: call Examples only where the HTML
// report, which links each cause to its examples, is written. A folder
// whose files were cut gives the examples of what was recorded.
func (f Folder) Examples(rep *results.Report) error {
	plan, err := f.Plan()
	if err != nil {
		return err
	}
	want := map[exampleKey]int{} // the key's rank in the report's order
	add := func(k exampleKey) {
		if _, ok := want[k]; !ok {
			want[k] = len(want)
		}
	}
	for _, c := range rep.Causes {
		add(exampleKey{"502", c.Cause})
	}
	for _, class := range rep.OtherClasses() {
		for _, c := range rep.OtherCauses[class] {
			add(exampleKey{class, c.Cause})
		}
	}
	var threshold time.Duration
	if s := rep.Slow; s != nil && s.Count > 0 && s.ThresholdMS > 0 {
		threshold = time.Duration(math.Round(s.ThresholdMS * float64(time.Millisecond)))
		for _, c := range s.Causes {
			add(exampleKey{slowClass, c.Cause})
		}
	}
	rep.Examples = nil
	if len(want) == 0 {
		return nil
	}

	// The report's threshold is the analyzer's too: whether the gateway's
	// logged wait made an answer slow depends on it.
	opt := rep.Analysis
	opt.Slow = threshold
	a := results.NewAnalyzer(plan, opt)
	if _, err := f.eachEventCut(a.AddEvent); err != nil {
		return err
	}
	told, err := f.Testimony()
	if err != nil {
		return err
	}
	a.AddTestimony(told)

	first := map[exampleKey][]vegeta.Result{}
	if _, err := f.eachRecord(func(r *vegeta.Result) {
		var k exampleKey
		if cause, _ := a.Explain(r); cause != "" {
			k = exampleKey{results.ClassOf(r.Code, r.Error), cause}
		} else if threshold > 0 && r.Latency >= threshold {
			cause, _, _ := a.Slowness(r)
			k = exampleKey{slowClass, cause}
		}
		if _, ok := want[k]; !ok {
			return
		}
		first[k] = keepFirst(first[k], r)
	}); err != nil {
		return err
	}

	type reqKey struct {
		attack string
		seq    uint64
	}
	chosen := map[reqKey]bool{}
	for _, rs := range first {
		for i := range rs {
			chosen[reqKey{rs[i].Attack, rs[i].Seq}] = true
		}
	}
	// The events of the chosen requests: the other requests' lines are
	// passed over undecoded.
	seqs := map[uint64]bool{}
	for k := range chosen {
		seqs[k.seq] = true
	}
	events := map[reqKey][]faults.Event{}
	if err := f.EachEventOf(func(seq uint64) bool { return seqs[seq] }, func(e *faults.Event) {
		if e.Seq == nil {
			return
		}
		if k := (reqKey{e.Attack, *e.Seq}); chosen[k] {
			events[k] = append(events[k], e.Kept())
		}
	}); err != nil {
		return err
	}
	toldBy := map[reqKey][]results.Testimony{}
	for _, t := range told {
		if t.Seq != nil && chosen[reqKey{t.Attack, *t.Seq}] {
			k := reqKey{t.Attack, *t.Seq}
			toldBy[k] = append(toldBy[k], t)
		}
	}

	keys := make([]exampleKey, 0, len(first))
	for k := range first {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return want[keys[i]] < want[keys[j]] })
	for _, k := range keys {
		for i := range first[k] {
			r := &first[k][i]
			rk := reqKey{r.Attack, r.Seq}
			st := a.Story(r, events[rk], toldBy[rk])
			if k.class == slowClass {
				st.Slow, st.SlowEvidence, st.SlowWhy = a.Slowness(r)
			}
			rep.Examples = append(rep.Examples, st)
		}
	}
	return nil
}

// keepFirst adds a copy of r to rs, the earliest results sent of a
// cause, in send order, when it is among the first
// results.ExamplesPerCause of them (ties go to the lower seq).
func keepFirst(rs []vegeta.Result, r *vegeta.Result) []vegeta.Result {
	before := func(x *vegeta.Result) bool {
		return r.Timestamp.Before(x.Timestamp) || (r.Timestamp.Equal(x.Timestamp) && r.Seq < x.Seq)
	}
	i := sort.Search(len(rs), func(i int) bool { return before(&rs[i]) })
	if i >= results.ExamplesPerCause {
		return rs
	}
	c := *r
	c.Body, c.Headers = append([]byte(nil), r.Body...), r.Headers.Clone()
	rs = append(rs, vegeta.Result{})
	copy(rs[i+1:], rs[i:])
	rs[i] = c
	if len(rs) > results.ExamplesPerCause {
		rs = rs[:results.ExamplesPerCause]
	}
	return rs
}
