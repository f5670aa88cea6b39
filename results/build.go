package results

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// Report returns the report of the results added so far. It may be called
// again after more results.
func (a *Analyzer) Report() *Report {
	a.finishEvidence()
	run, opt := a.run, a.opt
	rep := &Report{
		Schema:       Schema,
		Scenario:     run.Scenario,
		Seed:         run.Seed,
		Interrupted:  run.Interrupted,
		Started:      run.Started,
		DurationS:    round(a.end.Seconds()),
		Analysis:     opt,
		Totals:       Totals{Requests: a.total.requests, Status: a.total.statusMap(), Errors: a.total.errors, ErrorKinds: a.kinds},
		OtherOnsets:  map[string]Onset{},
		Causes:       []Cause{},
		OtherCauses:  map[string][]Cause{},
		Correlations: []Correlation{},
		Advice:       []Advice{},
	}
	a.flushTries()
	rep.Retries = a.retries.report()
	rep.Slow = a.slowReport()
	masked := map[int]int{}
	rep.Masked = a.ev.masked(rep.Slow.Baseline.P50MS, func(t time.Time) {
		a.bucketAt(t.Sub(run.Started))
		masked[min(max(int(t.Sub(run.Started)/a.width), 0), a.limit)]++
	})

	plain, corrected, bucketLat, lag := a.latencies()
	rep.SendLagMS = lag
	rep.Phases = a.phaseReports(plain, corrected)
	rep.Timeline = a.timeline(masked, bucketLat)
	if rep.Retries != nil {
		rep.Retries.Surge = surgeOf(rep.Timeline, a.width)
		rep.Retries.Policy = run.Retry
	}
	a.classes(rep)
	rep.Correlations = a.correlations()
	rep.Gateway = a.gateway()
	a.streamReports(rep)
	rep.Unapplied = a.unapplied(rep.Phases)
	rep.Diagnosis = Diagnosis(rep)
	return rep
}

// phaseReports reports each phase of the plan, with its latencies.
func (a *Analyzer) phaseReports(plain, corrected []Latency) []PhaseReport {
	run := a.run
	out := make([]PhaseReport, len(run.Phases))
	for i, p := range run.Phases {
		acc := &a.phases[i]
		ph := PhaseReport{
			Name: p.Name, StartS: p.StartS, EndS: p.EndS, Faults: p.Faults,
			Requests: acc.requests, Status: acc.statusMap(), Errors: acc.errors,
			LatencyMS: plain[i], CorrectedLatencyMS: corrected[i],
			Histogram: &acc.hist, Recovery: "not-measured", OtherRecovery: map[string]Recovery{},
			Retries: acc.retries.report(),
		}
		if i < len(a.slowPhases) {
			ph.Slow = a.slowPhases[i]
		}
		if ph.Faults == nil {
			ph.Faults = []string{}
		}
		if d := p.EndS - p.StartS; d > 0 {
			ph.OfferedRate = round(p.Planned / d)
		}
		// An interrupted phase is measured over the part that ran.
		if d := ranUntil(run, p.EndS) - p.StartS; d > 0 {
			ph.AchievedRate = round(float64(acc.requests) / d)
		}
		out[i] = ph
	}
	return out
}

// timeline reports each bucket, with its masked faults and latencies.
func (a *Analyzer) timeline(masked map[int]int, bucketLat []BucketLatency) []Bucket {
	run := a.run
	planEnd := a.pacer.Duration()
	out := make([]Bucket, len(a.bucket))
	for i := range a.bucket {
		acc := &a.bucket[i]
		from := time.Duration(i) * a.width
		to := min(from+a.width, planEnd)
		b := Bucket{
			TS: round(from.Seconds()), Requests: acc.requests, Status: acc.statusMap(), Errors: acc.errors,
			Faults: acc.faults, Masked: masked[i], Retries: acc.retries.report(),
		}
		if b.Faults == nil {
			b.Faults = map[string]int{}
		}
		b.Causes = acc.causes
		if b.Causes == nil {
			b.Causes = map[string]int{}
		}
		if pi := phaseIndex(run, from); pi >= 0 {
			b.Phase = run.Phases[pi].Name
		}
		if d := (to - from).Seconds(); d > 0 {
			b.OfferedRate = round((a.pacer.Planned(to) - a.pacer.Planned(from)) / d)
			b.AchievedRate = round(float64(acc.requests) / d)
		} else {
			// After the plan: nothing offered; what was sent, over the width.
			b.AchievedRate = round(float64(acc.requests) / a.width.Seconds())
		}
		b.LatencyMS = bucketLat[i]
		out[i] = b
	}
	return out
}

// classes reports the onset, the causes and the recovery of every
// failure class.
func (a *Analyzer) classes(rep *Report) {
	classes := []string{"502", "503", "504", scenarios.ClassError}
	for c := range a.causes {
		if !slices.Contains(classes, c) {
			classes = append(classes, c)
		}
	}
	for _, class := range classes {
		o := a.onset(class)
		if class == "502" {
			rep.Onset = o
		} else {
			rep.OtherOnsets[class] = o
		}
		byName := a.causes[class]
		for _, c := range byName {
			c.GatewayWords = topWords(a.words[c], 3)
		}
		if class == "502" {
			rep.Causes = sortCauses(byName)
		} else if len(byName) > 0 {
			rep.OtherCauses[class] = sortCauses(byName)
		}
	}
	for _, class := range append(classes, scenarios.ClassUserFailure) {
		a.recovery(rep, class)
	}
}

// gateway says which gateway answered: the one gatecrash started, else the
// kind most error answers are signed by.
func (a *Analyzer) gateway() Gateway {
	switch a.run.Gateway {
	case scenarios.GatewayBuiltin:
		return Gateway{Kind: scenarios.GatewayBuiltin, Evidence: "started by gatecrash: Go's net/http/httputil.ReverseProxy"}
	case "", scenarios.GatewayNone:
	default:
		why := "started by gatecrash"
		if a.run.GatewayVersion != "" {
			why += ": " + a.run.GatewayVersion
		}
		return Gateway{Kind: a.run.Gateway, Evidence: why}
	}
	// The kind with most signed answers; its most frequent evidence.
	perKind := map[string]int{}
	for k, n := range a.gws {
		perKind[k[0]] += n
	}
	best := ""
	for k, n := range perKind {
		if best == "" || n > perKind[best] || (n == perKind[best] && k < best) {
			best = k
		}
	}
	if best == "" {
		return Gateway{Kind: "unknown", Evidence: "no error answer carried a known gateway's signature"}
	}
	why, most := "", 0
	for k, n := range a.gws {
		if k[0] == best && (n > most || (n == most && k[1] < why)) {
			why, most = k[1], n
		}
	}
	return Gateway{Kind: best, Evidence: fmt.Sprintf("%d of %d error answers: %s", perKind[best], a.signed, why)}
}

// addrs matches host:port in a gateway's words: ports differ on every
// connection, and would split the same words into many.
var addrs = regexp.MustCompile(`(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:]+\]):\d+`)

// topWords returns the n most frequent words, ties in order.
func topWords(m map[string]int, n int) []Words {
	out := make([]Words, 0, len(m))
	for w, c := range m {
		out = append(out, Words{w, c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Words < out[j].Words
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func sortCauses(byName map[string]*Cause) []Cause {
	total := 0
	for _, c := range byName {
		total += c.Count
	}
	out := make([]Cause, 0, len(byName))
	for _, c := range byName {
		c.Share = round(float64(c.Count) / float64(total))
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Cause < out[j].Cause
	})
	return out
}
