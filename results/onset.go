package results

import (
	"math"
	"slices"
	"sort"
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

// recovery measures, for each phase with faults followed by phases
// without, how long after its end a failure class's share stayed under
// the threshold: over the whole buckets from its end to the next phase
// with faults or the end of the plan.
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
		limit := planEnd
		for _, q := range a.run.Phases[i+1:] {
			if len(q.Faults) > 0 {
				limit = min(limit, seconds(q.StartS))
				break
			}
		}
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
		if class == "502" {
			rep.Phases[i].Recovery, rep.Phases[i].RecoveryS = rec.State, rec.S
		} else {
			rep.Phases[i].OtherRecovery[class] = rec
		}
	}
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
