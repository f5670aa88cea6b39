package results

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/montanaflynn/stats"
)

// onset finds when a failure class appeared.
func (a *Analyzer) onset(class string) Onset {
	var o Onset
	f, ok := a.first[class]
	if !ok {
		return o
	}
	s := round(f.off.Seconds())
	o.FirstS = &s
	if f.phase >= 0 {
		name := a.run.Phases[f.phase].Name
		o.FirstPhase = &name
	}
	if f.off < a.pacer.Duration() {
		rate := round(a.pacer.Rate(max(f.off, 0)))
		o.FirstRate = &rate
	}
	for i := range a.bucket {
		if i+a.opt.Sustain > len(a.bucket) {
			break
		}
		held := true
		for j := i; j < i+a.opt.Sustain && held; j++ {
			held = a.failing(j, class)
		}
		if !held {
			continue
		}
		at := time.Duration(i) * a.width
		s := round(at.Seconds())
		o.SustainedS = &s
		// The phase and offered rate of the bucket as a whole: a ramp may
		// begin within it.
		to := min(at+a.width, a.pacer.Duration())
		if pi := phaseIndex(a.run, at+(to-at)/2); pi >= 0 {
			p := a.run.Phases[pi]
			o.SustainedPhase = &p.Name
			if d := (to - at).Seconds(); p.Rate != p.RampTo && d > 0 {
				knee := round((a.pacer.Planned(to) - a.pacer.Planned(at)) / d)
				o.KneeRate = &knee
			}
		}
		break
	}
	return o
}

// failing reports whether bucket i's share of a failure class reaches the
// threshold.
func (a *Analyzer) failing(i int, class string) bool {
	b := &a.bucket[i]
	return b.requests > 0 && float64(b.of(class))/float64(b.requests) >= a.opt.Threshold
}

// recovery measures, for each phase after which some of its faults end,
// how long after its end a failure class's share stayed under the
// threshold: over the whole buckets from its end until a phase with a
// fault the phase after it did not have, or the end of the plan. A phase
// qualifies when the phase after it keeps only some of its faults (none,
// in the usual case of a fault phase followed by a quiet one; a capacity
// cap that outlasts a latency spike, in retry-storm).
func (a *Analyzer) recovery(rep *Report, class string) {
	w := a.width
	planEnd := a.pacer.Duration()
	if a.run.Interrupted {
		planEnd = min(planEnd, time.Duration(a.run.StoppedS*float64(time.Second)))
	}
	for i, p := range a.run.Phases {
		if len(p.Faults) == 0 {
			continue
		}
		limit, ok := recoveryLimit(a.run.Phases, i)
		if !ok {
			limit = 0 // not measured
		}
		limit = min(limit, planEnd)
		end := seconds(p.EndS)
		j0 := int((end + w - 1) / w) // the first bucket starting at or after the end
		j1 := j0                     // buckets j0..j1-1 lie within [end, limit]
		for j1 < len(a.bucket) && time.Duration(j1+1)*w <= limit {
			j1++
		}
		rec := Recovery{State: "not-measured"}
		switch {
		case j1 == j0:
		case a.failing(j1-1, class):
			rec.State = "not-recovered"
		default:
			j := j1 - 1
			for j > j0 && !a.failing(j-1, class) {
				j--
			}
			s := round(max(time.Duration(j)*w-end, 0).Seconds())
			rec = Recovery{State: "recovered", S: &s}
		}
		if j1 > j0 {
			until := round((time.Duration(j1) * w).Seconds())
			rep.Phases[i].RecoveryUntilS = &until
		}
		if class == "502" {
			rep.Phases[i].Recovery, rep.Phases[i].RecoveryS = rec.State, rec.S
		} else {
			rep.Phases[i].OtherRecovery[class] = rec
		}
	}
}

// recoveryLimit says whether recovery is measured after phase i of
// phases, and until when: the start of the first later phase with a fault
// that phase i+1 does not have, else the end of the plan. It is measured
// when phase i+1 keeps some of phase i's faults and no other.
func recoveryLimit(phases []PhasePlan, i int) (time.Duration, bool) {
	if i+1 >= len(phases) {
		return 0, false
	}
	set, next := faultSet(phases[i]), faultSet(phases[i+1])
	if len(next) >= len(set) || !subset(next, set) {
		return 0, false
	}
	for _, q := range phases[i+2:] {
		if !subset(faultSet(q), next) {
			return seconds(q.StartS), true
		}
	}
	last := phases[len(phases)-1]
	return seconds(last.EndS), true
}

// faultSet is what tells a phase's faults apart: their specs, or their
// kinds in a run.json written before specs were kept.
func faultSet(p PhasePlan) []string {
	if p.FaultSpecs != nil || len(p.Faults) == 0 {
		return p.FaultSpecs
	}
	return p.Faults
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// seconds converts seconds to a Duration.
func seconds(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// correlations ties each fault kind's per-bucket events to the per-bucket
// 502s.
func (a *Analyzer) correlations() []Correlation {
	var kinds []string
	for i := range a.bucket {
		for k := range a.bucket[i].faults {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	sort.Strings(kinds)
	out := []Correlation{}
	y := make([]float64, len(a.bucket))
	for i := range a.bucket {
		y[i] = float64(a.bucket[i].of("502"))
	}
	for _, k := range kinds {
		x := make([]float64, len(a.bucket))
		for i := range a.bucket {
			x[i] = float64(a.bucket[i].faults[k])
		}
		c := Correlation{Kind: k}
		if len(x) >= 3 && !constant(x) && !constant(y) {
			if r, err := stats.Pearson(x, y); err == nil && !math.IsNaN(r) {
				r = round(r)
				c.Pearson = &r
			}
		}
		out = append(out, c)
	}
	return out
}

func constant(x []float64) bool {
	for _, v := range x {
		if v != x[0] {
			return false
		}
	}
	return true
}

// SameSeconds groups the fault kinds of the report's correlations that
// cannot be told apart: applied in exactly the same timeline buckets,
// with the same Pearson r to two decimals (or none for either), as two
// kinds of one phase that match the same requests are. Groups have two
// kinds or more, each in the order of r.Correlations, the groups in the
// order of their first kind.
func (r *Report) SameSeconds() [][]string {
	keys := make([]string, len(r.Correlations))
	for i, c := range r.Correlations {
		keys[i] = activeKey(r, c)
	}
	var out [][]string
	done := make([]bool, len(keys))
	for i := range keys {
		if done[i] || keys[i] == "" {
			continue
		}
		group := []string{r.Correlations[i].Kind}
		for j := i + 1; j < len(keys); j++ {
			if keys[j] == keys[i] {
				group = append(group, r.Correlations[j].Kind)
				done[j] = true
			}
		}
		if len(group) > 1 {
			out = append(out, group)
		}
	}
	return out
}

// activeKey is what two correlations that cannot be told apart share:
// their r to two decimals and the timeline buckets their kind was
// applied in; "" when it was applied in none.
func activeKey(r *Report, c Correlation) string {
	var b []byte
	for i, t := range r.Timeline {
		if t.Faults[c.Kind] > 0 {
			b = fmt.Appendf(b, " %d", i)
		}
	}
	if len(b) == 0 {
		return ""
	}
	v := "n/a"
	if c.Pearson != nil {
		v = fmt.Sprintf("%.2f", *c.Pearson)
	}
	return v + ":" + string(b)
}

// Correlated returns the correlations worth printing (those of the kinds
// active in seconds of their own: SameSeconds) and, for each group of
// kinds active in the same seconds, a sentence that says so, e.g. "reset
// and latency were active in the same seconds: their correlations cannot
// be told apart".
func (r *Report) Correlated() (shown []Correlation, same []string) {
	groups := r.SameSeconds()
	grouped := map[string]bool{}
	for _, g := range groups {
		for _, k := range g {
			grouped[k] = true
		}
		same = append(same, andList(g)+" were active in the same seconds: their correlations cannot be told apart")
	}
	for _, c := range r.Correlations {
		if !grouped[c.Kind] {
			shown = append(shown, c)
		}
	}
	return shown, same
}

// andList says "a", "a and b", "a, b and c".
func andList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
