package results

import (
	"strconv"
	"time"

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
	errors   int         // every result without a code, streams cut or stalled included
	cut      int         // of errors, the streams cut (scenarios.ClassStreamCut)
	stalled  int         // of errors, the streams stalled (scenarios.ClassStreamStall)
}

// addStream counts a result of class (stream-cut or stream-stall) that
// add has counted already as an error; any other class is passed over.
func (c *counts) addStream(class string) {
	switch class {
	case scenarios.ClassStreamCut:
		c.cut++
	case scenarios.ClassStreamStall:
		c.stalled++
	}
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
	switch class {
	case scenarios.ClassError:
		// Streams cut or stalled had an answer: not "no answer".
		return c.errors - c.cut - c.stalled
	case scenarios.ClassStreamCut:
		return c.cut
	case scenarios.ClassStreamStall:
		return c.stalled
	case scenarios.ClassUserFailure:
		n := c.requests
		for _, cc := range c.status {
			if cc.code >= 200 && cc.code < 400 {
				n -= cc.n
			}
		}
		return n
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
	segs    []segment
	faults  map[string]int
	causes  map[string]int // 502s by cause
	masked  int
	retries *retryAcc // nil without tries
}

// segment holds the latencies of the requests sent in one bucket and one
// phase, and each one's send lag (noLag when the plan has no due time for
// it). Corrected latencies are derived from both, so neither is sorted
// in place until both are used.
type segment struct {
	phase    int
	lat, lag []float64
	slow     []uint8 // per request, see slowAnswered
	// waits are the gateway's logged waits of the requests of cause
	// gateway-queueing, by index, in order.
	waits []waitAt
}

// waitAt is the wait the gateway logged for request i of a segment, ms.
type waitAt struct {
	i  int32
	ms float32
}

// noLag marks a request without a due time.
const noLag = -1

type phaseAcc struct {
	counts
	hist    Histogram
	retries *retryAcc // nil without tries
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
	// The client's tries (AddTry): the requests whose last try is still
	// to come, and the whole run's figures; both nil without tries.
	pending map[triesKey]*pendingTries
	retries *retryAcc
	// The streaming answers (AddStream) and the results of the stream
	// classes; nil until the run shows one.
	streams *streamsAcc
	// slowPhases is each phase's slow answers, and slowDerived the
	// threshold in ms, once Report measured them.
	slowPhases  []*PhaseSlow
	slowDerived float64
	// shards are the views of a merged run's shards, by attack name; nil
	// for a run that is not a merge.
	shards map[string]*attack.Pacer
}

// NewAnalyzer returns an Analyzer for a run. Zero Options fields take
// their defaults. A bucket width so narrow that the timeline would have
// more than MaxBuckets buckets is widened to MinBucket of its length,
// and the report's Analysis says so: callers that take the width from a
// user should refuse it first (Buckets, MinBucket). Give it every fault
// event (AddEvent) and the gateway's testimony (AddTestimony), if any,
// before the first result (Add).
func NewAnalyzer(run *Run, opt Options) *Analyzer {
	opt = opt.WithDefaults()
	// One bucket per slice of the run, even those without a request, and
	// one more for whatever comes after the plan.
	d := TimelineLength(run)
	if Buckets(d, opt.Bucket) > MaxBuckets {
		opt.Bucket = MinBucket(d)
	}
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
	var planned float64
	for _, p := range run.Phases {
		planned += p.Planned
	}
	a.ev.hint, a.ev.hintAttack = int(min(planned*1.01+16, denseSeqs)), run.Attack
	n := int(Buckets(d, a.width))
	a.limit = n
	if n > 0 {
		a.bucket = make([]bucketAcc, n)
	}
	a.shards = run.shardPacers(a.pacer)
	return a
}

// pacerOf returns the pacer that sent the attack's hits: in a merged run,
// the view of the shard of that name; else the run's, when the attack is
// the run's. Nil when none did: the send lag is then unknown.
func (a *Analyzer) pacerOf(attack string) *attack.Pacer {
	if a.shards != nil {
		return a.shards[attack]
	}
	if a.run.Attack == "" || attack == a.run.Attack {
		return a.pacer
	}
	return nil
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

// ClassOf returns the failure class of an answer with this code (0 for
// none) and error, as the report counts it: its code for a 5xx, a stream
// class when the error of an answer without a code says so
// (scenarios.StreamClass), else scenarios.ClassError; "" for an answer
// that did not fail.
func ClassOf(code uint16, err string) string { return classOf(code, err) }

// classOf is ClassOf.
func classOf(code uint16, err string) string {
	switch {
	case code == 0:
		if c := scenarios.StreamClass(err); c != "" {
			return c
		}
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
		a.kinds[ErrorKind(r.Error)]++
	}
	class := classOf(r.Code, r.Error)
	b := a.bucketAt(off)
	b.add(r.Code)
	b.addStream(class)
	a.total.addStream(class)
	pi := phaseIndex(a.run, off)
	lag := float64(noLag)
	if p := a.pacerOf(r.Attack); p != nil {
		if due, ok := p.Due(r.Seq); ok {
			lag = max(float64(off-due)/float64(time.Millisecond), 0)
		}
	}
	sg := b.segment(pi)
	sg.lat = append(sg.lat, ms)
	sg.lag = append(sg.lag, lag)
	in := a.ev.lookup(r.Attack, r.Seq)
	var slow uint8
	if class == "" {
		slow = a.slowByte(r, in)
		if int(slow>>2&7) == causeGatewayQueued {
			sg.waits = append(sg.waits, waitAt{int32(len(sg.slow)), float32(in.wait - 1)})
		}
	}
	sg.slow = append(sg.slow, slow)
	if pi >= 0 {
		ph := &a.phases[pi]
		ph.add(r.Code)
		ph.addStream(class)
		ph.hist.Record(r.Latency)
	}

	if in != nil {
		in.lat = uint32(min(r.Latency/time.Microsecond, 1<<32-1))
		switch {
		case class != "":
			in.flags |= outcomeFail
		case r.Code < 400 && r.Code >= 200:
			in.flags |= outcomeOK
		default:
			in.flags |= outcomePass
		}
	}
	if class != "" {
		a.addFailure(r, in, b, class, off, pi)
	}
}

// addFailure counts a failed result of a failure class: its onset, its
// cause with the evidence, the gateway that answered, what it logged.
func (a *Analyzer) addFailure(r *vegeta.Result, in *reqInfo, b *bucketAcc, class string, off time.Duration, pi int) {
	if f, ok := a.first[class]; !ok || off < f.off || (off == f.off && r.Seq < f.seq) {
		a.first[class] = first{off: off, seq: r.Seq, phase: pi}
	}
	x, sig := a.explain(r, in, class, pi)
	if sig.Gateway != "" && !x.answered {
		a.gws[[2]string{sig.Gateway, sig.Evidence}]++
	}
	if r.Code != 0 {
		a.signed++
	}
	c := a.cause(class, x.cause)
	c.Count++
	if class == "502" {
		if b.causes == nil {
			b.causes = map[string]int{}
		}
		b.causes[x.cause]++
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
	c.Evidence.add(x.level)
	if class == scenarios.ClassStreamCut || class == scenarios.ClassStreamStall {
		a.addStreamFailure(class, x.cause, off)
	}
}

// cause returns the count of a cause of a failure class, new at zero.
func (a *Analyzer) cause(class, name string) *Cause {
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
	return c
}

// add counts one failure known at an evidence level.
func (e *Evidence) add(level int) {
	switch level {
	case levelExact:
		e.Exact++
	case levelTemporal:
		e.Temporal++
	case levelSignature:
		e.Signature++
	default:
		e.None++
	}
}

// Explain returns the cause of a failed result (a 5xx or no answer) and
// its evidence (exact, temporal, signature or none), as the report counts
// it; "" for a result that did not fail. Call it after every event and
// testimony is in. It counts nothing, but a connection-level fault it ties
// the result to is no longer masked.
func (a *Analyzer) Explain(r *vegeta.Result) (cause, evidence string) {
	a.finishEvidence()
	class := classOf(r.Code, r.Error)
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
