package results

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/montanaflynn/stats"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
)

// Schema identifies the report.json format.
const Schema = "gatecrash/report/v1"

// Cause names a report uses beyond those the fault proxy writes.
const (
	CauseUnattributed = "unattributed"
)

// Report is report.json. Times are seconds from Started; rates are per
// second; latencies are milliseconds.
type Report struct {
	// Schema is always "gatecrash/report/v1".
	Schema string `json:"schema"`
	// Scenario is the scenario's name.
	Scenario string `json:"scenario"`
	// Seed is the seed of every fault decision; run again with it to get
	// the same decisions.
	Seed uint64 `json:"seed"`
	// Interrupted is true when the run was stopped before its end.
	Interrupted bool `json:"interrupted"`
	// Started is when the attack began: the zero of every time.
	Started time.Time `json:"started"`
	// DurationS runs from Started to the end of the last request.
	DurationS float64 `json:"duration_s"`
	// Totals count the whole run.
	Totals Totals `json:"totals"`
	// Phases are in the scenario's order.
	Phases []PhaseReport `json:"phases"`
	// Timeline has one bucket per second of the run.
	Timeline []Bucket `json:"timeline"`
	// Onset says when 502s first appeared.
	Onset Onset `json:"onset"`
	// Causes of 502s, most frequent first.
	Causes []Cause `json:"causes"`
}

// Totals count every request of the run.
type Totals struct {
	// Requests counts every request sent.
	Requests int `json:"requests"`
	// Status counts HTTP answers by code; requests without an answer are
	// not in it.
	Status map[string]int `json:"status"`
	// Errors counts requests that got no HTTP answer at all (vegeta's code
	// 0: connection refused or reset, timeout, unexpected EOF).
	Errors int `json:"errors"`
}

// PhaseReport is one phase of the run. A request belongs to the phase its
// timestamp (the moment it was sent) falls in.
type PhaseReport struct {
	// Name is the phase's name.
	Name string `json:"name"`
	// StartS and EndS bound the phase as planned.
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	// OfferedRate is the pacer's planned hits over the phase's length.
	OfferedRate float64 `json:"offered_rate"`
	// AchievedRate is the requests sent in the phase over its length (over
	// the part that ran, when the run was interrupted).
	AchievedRate float64 `json:"achieved_rate"`
	// Requests, Status and Errors count as in Totals.
	Requests int            `json:"requests"`
	Status   map[string]int `json:"status"`
	Errors   int            `json:"errors"`
	// LatencyMS summarises the phase's request latencies.
	LatencyMS Latency `json:"latency_ms"`
}

// Latency holds exact percentiles (nearest rank) of request latencies.
type Latency struct {
	// P50, P90 and P99 are percentiles; Max is the largest; all zero
	// without requests.
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Bucket is one second of the timeline.
type Bucket struct {
	// TS is the second the bucket starts at.
	TS float64 `json:"t_s"`
	// Requests, Status and Errors count the requests sent in this second.
	Requests int            `json:"requests"`
	Status   map[string]int `json:"status"`
	Errors   int            `json:"errors"`
	// Faults counts the faults the proxy applied in this second, by kind.
	Faults map[string]int `json:"faults"`
}

// Onset says when 502s first appeared; the fields are null without any.
type Onset struct {
	// First502S is when the first request answered 502 was sent.
	First502S *float64 `json:"first_502_s"`
	// First502Phase is that request's phase.
	First502Phase *string `json:"first_502_phase"`
}

// Cause is one cause of 502s.
type Cause struct {
	// Cause is a stable cause name, such as reset-before-headers.
	Cause string `json:"cause"`
	// Count is how many 502s it explains.
	Count int `json:"count"`
	// Share is Count over all 502s.
	Share    float64  `json:"share"`
	Evidence Evidence `json:"evidence"`
}

// Evidence counts how each attributed 502 was tied to its cause: exact
// (the proxy's event for the same attack and seq), temporal (a
// connection-level event in the same window), signature (the gateway's own
// answer), none.
type Evidence struct {
	// Each counts the 502s tied to the cause that way.
	Exact     int `json:"exact"`
	Temporal  int `json:"temporal"`
	Signature int `json:"signature"`
	None      int `json:"none"`
}

// Analyze builds the report of a run from its plan, results and events.
// The same inputs give the same report.
func Analyze(run *Run, res []vegeta.Result, events []faults.Event) *Report {
	rep := &Report{
		Schema:      Schema,
		Scenario:    run.Scenario,
		Seed:        run.Seed,
		Interrupted: run.Interrupted,
		Started:     run.Started,
		Totals:      Totals{Status: map[string]int{}},
		Timeline:    []Bucket{},
		Causes:      []Cause{},
	}
	sorted := append([]vegeta.Result(nil), res...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Seq < sorted[j].Seq })

	lat := make([][]float64, len(run.Phases))
	rep.Phases = make([]PhaseReport, len(run.Phases))
	for i, p := range run.Phases {
		rep.Phases[i] = PhaseReport{Name: p.Name, StartS: p.StartS, EndS: p.EndS, Status: map[string]int{}}
		if d := p.EndS - p.StartS; d > 0 {
			rep.Phases[i].OfferedRate = round(p.Planned / d)
		}
	}
	var end time.Duration
	for i := range sorted {
		r := &sorted[i]
		off := r.Timestamp.Sub(run.Started)
		end = max(end, off+r.Latency)
		rep.Totals.Requests++
		countStatus(rep.Totals.Status, &rep.Totals.Errors, r.Code)
		b := bucket(rep, off)
		b.Requests++
		countStatus(b.Status, &b.Errors, r.Code)
		if pi := phaseIndex(run, off); pi >= 0 {
			ph := &rep.Phases[pi]
			ph.Requests++
			countStatus(ph.Status, &ph.Errors, r.Code)
			lat[pi] = append(lat[pi], float64(r.Latency)/float64(time.Millisecond))
			if r.Code == 502 && rep.Onset.First502S == nil {
				s, name := round(off.Seconds()), ph.Name
				rep.Onset.First502S, rep.Onset.First502Phase = &s, &name
			}
		}
	}
	rep.DurationS = round(end.Seconds())
	for i := range rep.Phases {
		ph := &rep.Phases[i]
		// An interrupted phase is measured over the part that ran.
		if d := ranUntil(run, ph.EndS) - ph.StartS; d > 0 {
			ph.AchievedRate = round(float64(ph.Requests) / d)
		}
		ph.LatencyMS = latency(lat[i])
	}
	// One bucket per second of the run, even seconds without a request.
	if len(run.Phases) > 0 {
		bucket(rep, time.Duration(math.Ceil(ranUntil(run, run.Phases[len(run.Phases)-1].EndS))*float64(time.Second))-1)
	}
	for _, e := range events {
		if e.Type != faults.TypeFault {
			continue
		}
		b := bucket(rep, e.Time.Sub(run.Started))
		b.Faults[e.Kind]++
	}
	rep.Causes = attribute(sorted, events)
	return rep
}

// ranUntil returns end, or the moment an interrupted run stopped sending
// if that came first, in seconds from the start.
func ranUntil(run *Run, end float64) float64 {
	if run.Interrupted && run.StoppedS < end {
		return run.StoppedS
	}
	return end
}

// countStatus counts one answer by code into m, or into errs without one.
func countStatus(m map[string]int, errs *int, code uint16) {
	if code == 0 {
		*errs++
		return
	}
	m[strconv.Itoa(int(code))]++
}

// bucket returns the timeline bucket of offset off, growing the timeline.
func bucket(rep *Report, off time.Duration) *Bucket {
	i := max(int(off/time.Second), 0)
	for len(rep.Timeline) <= i {
		rep.Timeline = append(rep.Timeline, Bucket{TS: float64(len(rep.Timeline)), Status: map[string]int{}, Faults: map[string]int{}})
	}
	return &rep.Timeline[i]
}

// phaseIndex returns the phase a request sent at off belongs to. Requests
// sent before the first or after the last phase go to the nearest one.
func phaseIndex(run *Run, off time.Duration) int {
	if len(run.Phases) == 0 {
		return -1
	}
	s := off.Seconds()
	for i, p := range run.Phases {
		if s < p.EndS {
			return i
		}
	}
	return len(run.Phases) - 1
}

// latency computes nearest-rank percentiles in milliseconds.
func latency(ms []float64) Latency {
	if len(ms) == 0 {
		return Latency{}
	}
	pct := func(p float64) float64 {
		v, err := stats.PercentileNearestRank(ms, p)
		if err != nil {
			return 0
		}
		return round(v)
	}
	mx, _ := stats.Max(ms)
	return Latency{P50: pct(50), P90: pct(90), P99: pct(99), Max: round(mx)}
}

// attribute finds the cause of every 502: the event that ended the last
// attempt of the same (attack, seq) that reached the proxy, a fault it
// applied or an upstream failure it saw; else unattributed.
func attribute(res []vegeta.Result, events []faults.Event) []Cause {
	type key struct {
		attack string
		seq    uint64
	}
	last := map[key]int{}             // the last attempt the proxy saw
	ended := map[key][]faults.Event{} // events that ended an attempt
	for _, e := range events {
		if e.Seq == nil {
			continue
		}
		k := key{e.Attack, *e.Seq}
		last[k] = max(last[k], e.Attempt)
		if e.Ended && e.Cause != "" {
			ended[k] = append(ended[k], e)
		}
	}
	refused := refuseWindows(events)
	byCause := map[string]*Cause{}
	total := 0
	for i := range res {
		r := &res[i]
		if r.Code != 502 {
			continue
		}
		total++
		k := key{r.Attack, r.Seq}
		name, evidence := CauseUnattributed, &Evidence{}
		for _, e := range ended[k] {
			if e.Attempt == last[k] {
				name = e.Cause
				break
			}
		}
		if name == CauseUnattributed && refused.cover(r.Timestamp, r.End()) {
			// The proxy never saw it, and its listener was refusing
			// connections while it was in flight.
			name = "connection-refused"
		}
		c := byCause[name]
		if c == nil {
			c = &Cause{Cause: name}
			byCause[name] = c
		}
		c.Count++
		switch {
		case name == "connection-refused" && len(ended[k]) == 0:
			evidence.Temporal++
		case name != CauseUnattributed:
			evidence.Exact++
		default:
			evidence.None++
		}
		c.Evidence.Exact += evidence.Exact
		c.Evidence.Temporal += evidence.Temporal
		c.Evidence.None += evidence.None
	}
	out := make([]Cause, 0, len(byCause))
	for _, c := range byCause {
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

// windows are time intervals.
type windows [][2]time.Time

// cover reports whether [from, to] overlaps a window.
func (w windows) cover(from, to time.Time) bool {
	for _, iv := range w {
		if !to.Before(iv[0]) && from.Before(iv[1]) {
			return true
		}
	}
	return false
}

// refuseWindows returns when the proxy's listener was refusing
// connections: from each refuse fault event to the next refuse-ended
// observation (or forever).
func refuseWindows(events []faults.Event) windows {
	var w windows
	var open *time.Time
	for _, e := range events {
		switch {
		case e.Type == faults.TypeFault && e.Kind == "refuse" && open == nil:
			t := e.Time
			open = &t
		case e.Type == faults.TypeObservation && e.Kind == faults.ObservedRefuseEnded && open != nil:
			w = append(w, [2]time.Time{*open, e.Time})
			open = nil
		}
	}
	if open != nil {
		w = append(w, [2]time.Time{*open, time.Unix(1<<40, 0)})
	}
	return w
}

// round keeps three decimals, so reports are stable and readable.
func round(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1000) / 1000
}

// MarshalIndent renders the report as indented JSON with a final newline.
func (r *Report) MarshalIndent() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	return append(b, '\n'), nil
}
