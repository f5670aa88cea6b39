package results

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/montanaflynn/stats"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/scenarios"
)

// behind is the send-lag p99 above which the attacker is said to have
// fallen behind.
const behind = 10 * time.Millisecond

// counts tallies requests by answer.
type counts struct {
	requests int
	status   []codeCount // few codes: a scan beats a map
	errors   int
}

type codeCount struct {
	code uint16
	n    int
}

func (c *counts) add(code uint16) {
	c.requests++
	if code == 0 {
		c.errors++
		return
	}
	for i := range c.status {
		if c.status[i].code == code {
			c.status[i].n++
			return
		}
	}
	c.status = append(c.status, codeCount{code, 1})
}

// of returns how many requests of a failure class c holds.
func (c *counts) of(class string) int {
	if class == scenarios.ClassError {
		return c.errors
	}
	code, _ := strconv.Atoi(class)
	for _, cc := range c.status {
		if cc.code == uint16(code) {
			return cc.n
		}
	}
	return 0
}

func (c *counts) statusMap() map[string]int {
	m := make(map[string]int, len(c.status))
	for _, cc := range c.status {
		m[strconv.Itoa(int(cc.code))] = cc.n
	}
	return m
}

type bucketAcc struct {
	counts
	segs   []segment
	faults map[string]int
	causes map[string]int // 502s by cause
	masked int
}

// segment holds the latencies of the requests sent in one bucket and one
// phase, and each one's send lag (noLag when the plan has no due time for
// it). Corrected latencies are derived from both, so neither is sorted
// in place until both are used.
type segment struct {
	phase    int
	lat, lag []float64
}

// noLag marks a request without a due time.
const noLag = -1

type phaseAcc struct {
	counts
	hist Histogram
}

// first is the earliest failure of a class.
type first struct {
	off   time.Duration
	seq   uint64
	phase int
}

// Analyzer builds a report from a run's results, one at a time, so that
// a run of millions of requests is analysed in bounded memory (a few
// floats per request). It is not safe for concurrent use.
type Analyzer struct {
	run    *Run
	opt    Options
	width  time.Duration
	pacer  *attack.Pacer
	ev     *evidence
	total  counts
	kinds  map[string]int // error kinds
	bucket []bucketAcc
	phases []phaseAcc
	end    time.Duration
	first  map[string]first
	causes map[string]map[string]*Cause
	gws    map[[2]string]int // signed answers per gateway kind and evidence
	signed int
	words  map[*Cause]map[string]int // the gateway's words per cause
	ready  bool                      // the evidence is complete
	limit  int                       // the last bucket: everything later counts in it
}

// NewAnalyzer returns an Analyzer for a run. Zero Options fields take
// their defaults. Give it every fault event (AddEvent) and the gateway's
// testimony (AddTestimony), if any, before the first result (Add).
func NewAnalyzer(run *Run, opt Options) *Analyzer {
	opt = opt.WithDefaults()
	a := &Analyzer{
		run:    run,
		opt:    opt,
		width:  opt.Bucket,
		pacer:  run.Schedule(),
		ev:     newEvidence(),
		kinds:  map[string]int{},
		phases: make([]phaseAcc, len(run.Phases)),
		first:  map[string]first{},
		causes: map[string]map[string]*Cause{},
		gws:    map[[2]string]int{},
	}
	// One bucket per slice of the run, even those without a request, and
	// one more for whatever comes after the plan.
	d := a.pacer.Duration()
	if run.Interrupted {
		d = min(d, time.Duration(run.StoppedS*float64(time.Second)))
	}
	n := int((d + a.width - 1) / a.width)
	a.limit = n
	if n > 0 {
		a.bucket = make([]bucketAcc, n)
	}
	return a
}

// AddEvent takes one fault event. It does not keep e.
func (a *Analyzer) AddEvent(e *faults.Event) {
	if e.Type == faults.TypeFault {
		b := a.bucketAt(e.Time.Sub(a.run.Started))
		if b.faults == nil {
			b.faults = map[string]int{}
		}
		b.faults[e.Kind]++
	}
	a.ev.add(e)
}

// AddTestimony takes the gateway's own log entries.
func (a *Analyzer) AddTestimony(ts []Testimony) {
	for i := range ts {
		a.ev.addTestimony(&ts[i])
	}
}

// Analyze builds the report of a run from its plan, results and events.
// The same inputs give the same report, in any order of results.
func Analyze(run *Run, res []vegeta.Result, events []faults.Event, opt Options) *Report {
	a := NewAnalyzer(run, opt)
	for i := range events {
		a.AddEvent(&events[i])
	}
	for i := range res {
		a.Add(&res[i])
	}
	return a.Report()
}

// AnalyzeDir builds the report of a run folder from its run.json, results
// and events.jsonl, streaming the results.
func AnalyzeDir(dir string, opt Options) (*Report, error) {
	run, err := ReadRun(filepath.Join(dir, RunFile))
	if err != nil {
		return nil, err
	}
	ef, err := os.Open(filepath.Join(dir, EventsFile))
	if err != nil {
		return nil, err
	}
	defer ef.Close()
	a := NewAnalyzer(run, opt)
	if err := faults.EachEvent(ef, func(e *faults.Event) { a.AddEvent(e) }); err != nil {
		return nil, fmt.Errorf("%s: %w", ef.Name(), err)
	}
	rf, err := os.Open(filepath.Join(dir, RecordFile))
	if err != nil {
		return nil, err
	}
	defer rf.Close()
	told, err := readTestimonyFile(filepath.Join(dir, TestimonyFile))
	if err != nil {
		return nil, err
	}
	a.AddTestimony(told)
	if err := Each(rf, a.Add); err != nil {
		return nil, fmt.Errorf("%s: %w", rf.Name(), err)
	}
	return a.Report(), nil
}

// bucketAt returns the timeline bucket of offset off: before the start,
// the first; after the plan, the one bucket after it.
func (a *Analyzer) bucketAt(off time.Duration) *bucketAcc {
	i := min(max(int(off/a.width), 0), a.limit)
	for len(a.bucket) <= i {
		a.bucket = append(a.bucket, bucketAcc{})
	}
	return &a.bucket[i]
}

// segment returns the bucket's segment of phase pi.
func (b *bucketAcc) segment(pi int) *segment {
	for i := range b.segs {
		if b.segs[i].phase == pi {
			return &b.segs[i]
		}
	}
	b.segs = append(b.segs, segment{phase: pi})
	return &b.segs[len(b.segs)-1]
}

// classOf returns a result's failure class, or "" when it did not fail.
func classOf(code uint16) string {
	switch {
	case code == 0:
		return scenarios.ClassError
	case code >= 500:
		return strconv.Itoa(int(code))
	}
	return ""
}

// Add counts one result. It does not keep r.
func (a *Analyzer) Add(r *vegeta.Result) {
	a.finishEvidence()
	off := r.Timestamp.Sub(a.run.Started)
	a.end = max(a.end, off+r.Latency)
	ms := float64(r.Latency) / float64(time.Millisecond)
	a.total.add(r.Code)
	if r.Code == 0 {
		a.kinds[errorKind(r.Error)]++
	}
	b := a.bucketAt(off)
	b.add(r.Code)
	pi := phaseIndex(a.run, off)
	lag := float64(noLag)
	if a.run.Attack == "" || r.Attack == a.run.Attack {
		if due, ok := a.pacer.Due(r.Seq); ok {
			lag = max(float64(off-due)/float64(time.Millisecond), 0)
		}
	}
	sg := b.segment(pi)
	sg.lat = append(sg.lat, ms)
	sg.lag = append(sg.lag, lag)
	if pi >= 0 {
		ph := &a.phases[pi]
		ph.add(r.Code)
		ph.hist.Record(r.Latency)
	}

	in := a.ev.lookup(r.Attack, r.Seq)
	class := classOf(r.Code)
	if in != nil {
		switch {
		case class != "":
			in.flags |= outcomeFail
		case r.Code < 400 && r.Code >= 200:
			in.flags |= outcomeOK
		default:
			in.flags |= outcomePass
		}
	}
	if class == "" {
		return
	}
	if f, ok := a.first[class]; !ok || off < f.off || (off == f.off && r.Seq < f.seq) {
		a.first[class] = first{off: off, seq: r.Seq, phase: pi}
	}
	x, sig := a.explain(r, in, class, pi)
	name, level := x.cause, x.level
	if sig.Gateway != "" && !x.answered {
		a.gws[[2]string{sig.Gateway, sig.Evidence}]++
	}
	if r.Code != 0 {
		a.signed++
	}
	byName := a.causes[class]
	if byName == nil {
		byName = map[string]*Cause{}
		a.causes[class] = byName
	}
	c := byName[name]
	if c == nil {
		c = &Cause{Cause: name}
		byName[name] = c
	}
	c.Count++
	if class == "502" {
		if b.causes == nil {
			b.causes = map[string]int{}
		}
		b.causes[name]++
	}
	if w := a.ev.words(in); w != "" {
		w = addrs.ReplaceAllString(w, "$1:PORT")
		if a.words == nil {
			a.words = map[*Cause]map[string]int{}
		}
		if a.words[c] == nil {
			a.words[c] = map[string]int{}
		}
		a.words[c][w]++
	}
	switch level {
	case levelExact:
		c.Evidence.Exact++
	case levelTemporal:
		c.Evidence.Temporal++
	case levelSignature:
		c.Evidence.Signature++
	default:
		c.Evidence.None++
	}
}

// Explain returns the cause of a failed result (a 5xx or no answer) and
// its evidence (exact, temporal, signature or none), as the report counts
// it; "" for a result that did not fail. Call it after every event and
// testimony is in. It counts nothing, but a connection-level fault it ties
// the result to is no longer masked.
func (a *Analyzer) Explain(r *vegeta.Result) (cause, evidence string) {
	a.finishEvidence()
	class := classOf(r.Code)
	if class == "" {
		return "", ""
	}
	x, _ := a.explain(r, a.ev.lookup(r.Attack, r.Seq), class, phaseIndex(a.run, r.Timestamp.Sub(a.run.Started)))
	return x.cause, [...]string{"exact", "temporal", "signature", "none"}[x.level]
}

// finishEvidence readies the evidence once every event is in.
func (a *Analyzer) finishEvidence() {
	if !a.ready {
		a.ev.finish()
		a.ready = true
	}
}

// explain finds the cause of a failed result of class, sent in phase pi
// (-1 for none), and returns the answer's signature with it.
func (a *Analyzer) explain(r *vegeta.Result, in *reqInfo, class string, pi int) (explanation, Signature) {
	var sig Signature
	if r.Code != 0 {
		sig = Sign(r.Code, r.Headers, r.Body)
	}
	phase := ""
	if pi >= 0 {
		phase = a.run.Phases[pi].Name
	}
	return a.ev.explain(r, in, class, phase, sig), sig
}

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
	}
	masked := map[int]int{}
	rep.Masked = a.ev.masked(func(t time.Time) {
		a.bucketAt(t.Sub(run.Started))
		masked[min(max(int(t.Sub(run.Started)/a.width), 0), a.limit)]++
	})

	plain, corrected, bucketLat, lag := a.latencies()
	rep.SendLagMS = lag
	rep.Phases = make([]PhaseReport, len(run.Phases))
	for i, p := range run.Phases {
		acc := &a.phases[i]
		ph := PhaseReport{
			Name: p.Name, StartS: p.StartS, EndS: p.EndS, Faults: p.Faults,
			Requests: acc.requests, Status: acc.statusMap(), Errors: acc.errors,
			LatencyMS: plain[i], CorrectedLatencyMS: corrected[i],
			Histogram: &acc.hist, Recovery: "not-measured", OtherRecovery: map[string]Recovery{},
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
		rep.Phases[i] = ph
	}

	planEnd := a.pacer.Duration()
	rep.Timeline = make([]Bucket, len(a.bucket))
	for i := range a.bucket {
		acc := &a.bucket[i]
		from := time.Duration(i) * a.width
		to := min(from+a.width, planEnd)
		b := Bucket{
			TS: round(from.Seconds()), Requests: acc.requests, Status: acc.statusMap(), Errors: acc.errors,
			Faults: acc.faults, Masked: masked[i],
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
		rep.Timeline[i] = b
	}

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
	for _, class := range classes {
		a.recovery(rep, class)
	}
	rep.Correlations = a.correlations()
	rep.Gateway = a.gateway()
	rep.Diagnosis = Diagnosis(rep)
	return rep
}

// latencies computes every latency statistic with one scratch buffer: the
// corrected latencies and the send lags first, because sorting plain
// latencies in place breaks their pairing with the lags.
func (a *Analyzer) latencies() (plain, corrected []Latency, buckets []BucketLatency, lag SendLag) {
	scratch := make([]float64, 0, a.total.requests)
	each := func(pi int, fn func(sg *segment)) {
		for i := range a.bucket {
			for j := range a.bucket[i].segs {
				if sg := &a.bucket[i].segs[j]; pi < 0 || sg.phase == pi {
					fn(sg)
				}
			}
		}
	}
	corrected = make([]Latency, len(a.phases))
	for pi := range a.phases {
		scratch = scratch[:0]
		each(pi, func(sg *segment) {
			for j, l := range sg.lat {
				scratch = append(scratch, l+max(sg.lag[j], 0))
			}
		})
		corrected[pi] = latency(scratch)
	}
	scratch = scratch[:0]
	each(-1, func(sg *segment) {
		for _, l := range sg.lag {
			if l != noLag {
				scratch = append(scratch, l)
			}
		}
	})
	lag = sendLag(scratch)
	plain = make([]Latency, len(a.phases))
	for pi := range a.phases {
		scratch = scratch[:0]
		each(pi, func(sg *segment) { scratch = append(scratch, sg.lat...) })
		plain[pi] = latency(scratch)
	}
	buckets = make([]BucketLatency, len(a.bucket))
	for i := range a.bucket {
		segs := a.bucket[i].segs
		ms := scratch[:0]
		for _, sg := range segs {
			ms = append(ms, sg.lat...)
		}
		if len(ms) > 0 {
			p := percentiles(ms, 50, 99)
			buckets[i] = BucketLatency{P50: round(p[0]), P99: round(p[1])}
		}
	}
	return plain, corrected, buckets, lag
}

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

// gateway says which gateway answered: the one gatecrash started, else the
// kind most error answers are signed by.
func (a *Analyzer) gateway() Gateway {
	switch a.run.Gateway {
	case "builtin":
		return Gateway{Kind: "builtin", Evidence: "started by gatecrash: Go's net/http/httputil.ReverseProxy"}
	case "", "none":
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

// ranUntil returns end, or the moment an interrupted run stopped sending
// if that came first, in seconds from the start.
func ranUntil(run *Run, end float64) float64 {
	if run.Interrupted && run.StoppedS < end {
		return run.StoppedS
	}
	return end
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

// latency computes exact statistics in milliseconds. It sorts ms.
func latency(ms []float64) Latency {
	if len(ms) == 0 {
		return Latency{}
	}
	sort.Float64s(ms)
	mean, _ := stats.Mean(ms)
	sd, _ := stats.StandardDeviationPopulation(ms)
	return Latency{P50: round(nearestRank(ms, 50)), P90: round(nearestRank(ms, 90)), P99: round(nearestRank(ms, 99)),
		Max: round(ms[len(ms)-1]), Mean: round(mean), Stdev: round(sd)}
}

// nearestRank is montanaflynn/stats' PercentileNearestRank (v0.7.1) on
// data already sorted, without the copy it sorts each call: millions of
// latencies would be copied three times over. TestPercentileDefinition
// holds the two equal.
func nearestRank(sorted []float64, p float64) float64 {
	return sorted[rank(len(sorted), p)]
}

func sendLag(ms []float64) SendLag {
	if len(ms) == 0 {
		return SendLag{}
	}
	p := percentiles(ms, 50, 99, 100)
	l := SendLag{P50: round(p[0]), P99: round(p[1]), Max: round(p[2])}
	l.Behind = l.P99 > float64(behind)/float64(time.Millisecond)
	return l
}

// percentiles returns the nearest-rank percentiles ps (in increasing
// order) of ms without sorting it: each is found by selection, in linear
// time. It reorders ms.
func percentiles(ms []float64, ps ...float64) []float64 {
	out := make([]float64, len(ps))
	hi := len(ms)
	for i := len(ps) - 1; i >= 0; i-- {
		k := rank(len(ms), ps[i])
		out[i] = kth(ms[:hi], k)
		hi = k + 1
	}
	return out
}

// rank returns the index nearestRank picks in n sorted values.
func rank(n int, p float64) int {
	if p >= 100 {
		return n - 1
	}
	return max(int(math.Ceil(float64(n)*p/100))-1, 0)
}

// kth returns the k-th smallest of a (from 0) and leaves a partitioned
// around it: a[:k] holds nothing larger, a[k+1:] nothing smaller. It is a
// quickselect with a median-of-three pivot and a three-way partition, so
// runs of equal values cost nothing extra.
func kth(a []float64, k int) float64 {
	lo, hi := 0, len(a)-1
	for hi-lo > 16 {
		m := lo + (hi-lo)/2
		p := max(min(a[lo], a[m]), min(max(a[lo], a[m]), a[hi]))
		lt, i, gt := lo, lo, hi
		for i <= gt {
			switch {
			case a[i] < p:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case a[i] > p:
				a[i], a[gt] = a[gt], a[i]
				gt--
			default:
				i++
			}
		}
		switch {
		case k < lt:
			hi = lt - 1
		case k > gt:
			lo = gt + 1
		default:
			return p
		}
	}
	slices.Sort(a[lo : hi+1])
	return a[k]
}
