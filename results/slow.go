package results

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The causes of slow answers: why an answer that is not a failure took
// at least Slow.ThresholdMS. Stable names, used in every report format
// and by gatecrash explain --slow.
const (
	// SlowInjected: a fault of the proxy (latency, slow-headers,
	// slow-body) held back the attempt that answered. Exact.
	SlowInjected = "injected-latency"
	// SlowGatewayRetried: the gateway retried the request at the upstream
	// (the proxy saw the same seq again, or the gateway's log says so):
	// the failed attempts before the one that answered cost the time.
	// Exact when the proxy saw the retry, signature from the log alone.
	SlowGatewayRetried = "gateway-retried"
	// SlowClientRetried: the client's retry policy sent the request
	// again; the earlier tries cost the time. Exact.
	SlowClientRetried = "client-retried"
	// SlowConnectRetried: the request was in flight while the proxy's
	// listener refused connections (a refuse fault): the gateway retried
	// its connect until the listener opened again. Temporal.
	SlowConnectRetried = "connect-retried"
	// SlowOverloadQueued: the proxy's overload fault queued the request
	// for a slot. Exact.
	SlowOverloadQueued = "overload-queued"
	// SlowGatewayQueued: nothing at the proxy held the request back, and
	// the gateway's own log says it spent the time before the upstream
	// answered (waiting in its queue, connecting). Signature.
	SlowGatewayQueued = "gateway-queueing"
	// SlowUnexplained: none of the above.
	SlowUnexplained = "unexplained"
)

// Where a slow threshold comes from (Slow.From).
const (
	SlowFromFlag        = "flag"        // the --slow flag (Options.Slow)
	SlowFromExpectation = "expectation" // the scenario's smallest latency bound
	SlowFromBaseline    = "baseline"    // 3x the baseline's p99, at least its p99 + 50ms
	SlowFromDefault     = "default"     // no baseline: 1s
)

// Slow says which answers were slow and why: every request answered
// (a status, not a failure class) in at least ThresholdMS gets a cause
// of slowness with its evidence, as failures get theirs.
type Slow struct {
	// ThresholdMS is the slow threshold in milliseconds, and From where
	// it comes from (SlowFromFlag, ...); Expectation is the expectation
	// it was taken from, when From is "expectation".
	ThresholdMS float64 `json:"threshold_ms"`
	From        string  `json:"from"`
	Expectation string  `json:"expectation,omitempty"`
	// Baseline is the latency of the answers no fault touched (2xx and
	// 3xx, no fault event, not retried), in the phases without faults,
	// or, when every phase has one, in every phase.
	Baseline SlowBaseline `json:"baseline"`
	// Answers counts the requests answered with a status that is not a
	// failure; Count those of them that were slow.
	Answers int `json:"answers"`
	Count   int `json:"count"`
	// Causes are the causes of the slow answers over the whole run, most
	// frequent first.
	Causes []SlowCause `json:"causes"`
}

// SlowBaseline is the latency of the answers no fault touched.
type SlowBaseline struct {
	// Scope is "quiet-phases" (phases without faults) or "untouched" (no
	// such phase: the untouched answers of every phase).
	Scope    string  `json:"scope"`
	Requests int     `json:"requests"`
	P50MS    float64 `json:"p50_ms"`
	P99MS    float64 `json:"p99_ms"`
}

// SlowCause is one cause of slow answers.
type SlowCause struct {
	// Cause is one of the Slow constants (injected-latency, ...).
	Cause string `json:"cause"`
	// Count is how many slow answers it explains; Share is Count over
	// every slow answer of the scope (the run or the phase).
	Count int     `json:"count"`
	Share float64 `json:"share"`
	// Evidence says how the answers were tied to the cause.
	Evidence Evidence `json:"evidence"`
	// LatencyMS is the range of their latencies; AddedMS of what each
	// took over the baseline's p50.
	LatencyMS Range `json:"latency_ms"`
	AddedMS   Range `json:"added_ms"`
}

// Range is the smallest, median and largest of some figures.
type Range struct {
	Min float64 `json:"min"`
	P50 float64 `json:"p50"`
	Max float64 `json:"max"`
}

// PhaseSlow is Slow over the requests sent in one phase.
type PhaseSlow struct {
	Answers int         `json:"answers"`
	Count   int         `json:"count"`
	Causes  []SlowCause `json:"causes"`
}

// MaskedPrice is what the masked faults of one kind cost in one phase:
// the latency they added to the requests that survived them, and the
// attempts at the upstream they added.
type MaskedPrice struct {
	Kind  string `json:"kind"`
	Phase string `json:"phase"`
	// Faults counts the masked faults; Requests the requests they hit.
	Faults   int `json:"faults"`
	Requests int `json:"requests"`
	// AddedMS is the latency the requests took over the baseline's p50,
	// summed over Requests, and the largest; ExtraAttempts the attempts
	// at the upstream beyond each request's first, summed.
	AddedMS       float64 `json:"added_ms"`
	AddedMaxMS    float64 `json:"added_max_ms"`
	ExtraAttempts int     `json:"extra_attempts"`
}

// Advice is one setting of the gateway to change, from a rule of
// results/advice, with the figure the run measured that justifies it.
type Advice struct {
	// Rule is the rule's stable name, such as nginx-read-timeout.
	Rule string `json:"rule"`
	// Gateway is the gateway kind; Setting the directive; Current its
	// value in the configuration the run used ("unset (default 60s)");
	// Suggest what to set it to, or how to change it.
	Gateway string `json:"gateway"`
	Setting string `json:"setting"`
	Current string `json:"current"`
	Suggest string `json:"suggest"`
	// Cause is the failure or slow-answer cause it answers; Evidence the
	// measured figure, in words ("112 answers 504 after 1.0s while
	// the upstream's p99 was 1.4s").
	Cause    string `json:"cause"`
	Evidence string `json:"evidence"`
}

// slowCauses are the Slow constants by index, as a segment's slow byte
// holds them.
var slowCauses = [...]string{SlowUnexplained, SlowInjected, SlowGatewayRetried, SlowClientRetried, SlowConnectRetried, SlowOverloadQueued, SlowGatewayQueued}

const (
	causeUnexplained = iota
	causeInjected
	causeGatewayRetried
	causeClientRetried
	causeConnectRetried
	causeOverloadQueued
	causeGatewayQueued
)

// A segment's slow byte per request: slowAnswered for a request answered
// with a status that is not a failure, slowBase for one of them the
// baseline counts (a 2xx or 3xx no event names, not retried), the slow
// cause's index in bits 2 to 4 and its evidence level in bits 0 and 1.
const (
	slowAnswered = 1 << 7
	slowBase     = 1 << 6
)

// Thresholds derived from the baseline.
const (
	// slowTimes and slowOver: slow is 3x the baseline's p99, and at least
	// 50ms over it.
	slowTimes = 3
	slowOver  = 50.0
	// slowDefault is the threshold when no answer makes a baseline, ms.
	slowDefault = 1000.0
)

// slowByte classifies an answered result for its segment.
func (a *Analyzer) slowByte(r *vegeta.Result, in *reqInfo) uint8 {
	cause, level := a.slowCause(r, in)
	b := uint8(slowAnswered | cause<<2 | level)
	if r.Code >= 200 && r.Code < 400 && cause == causeUnexplained && (in == nil || (in.flags&infoEvents == 0 && !in.retried)) {
		b |= slowBase
	}
	return b
}

// slowCause finds why an answered result could have been slow, whatever
// its latency: the first of, on the attempt that answered, a fault that
// held it back, the overload cap's queue; earlier attempts the gateway
// made (the proxy saw them) or the client's earlier tries; a refusal of
// the proxy's listener while it was in flight; the gateway's log saying
// it retried, or that it held the request for most of its latency.
func (a *Analyzer) slowCause(r *vegeta.Result, in *reqInfo) (cause, level int) {
	if in != nil {
		switch {
		case in.slowAt != 0 && in.slowAt-1 == in.last:
			return causeInjected, levelExact
		case in.last > 0 && in.gwRetry > 0:
			return causeGatewayRetried, levelExact
		case in.last > 0 && in.maxTry > 1:
			return causeClientRetried, levelExact
		case in.queuedAt != 0 && in.queuedAt-1 == in.last:
			return causeOverloadQueued, levelExact
		case in.last > 0:
			// Seen again without telling whose retry it was.
			return causeGatewayRetried, levelExact
		}
	}
	if len(a.ev.refused) > 0 && a.ev.refused.cover(r.Timestamp, r.End()) {
		return causeConnectRetried, levelTemporal
	}
	if in != nil && in.retried {
		return causeGatewayRetried, levelSignature
	}
	// A wait the gateway logged: whether it made the answer slow depends
	// on the threshold (see gatewayHeld); slowReport decides with the
	// run's.
	if in != nil && in.wait > 1 {
		return causeGatewayQueued, levelSignature
	}
	return causeUnexplained, levelNone
}

// Slowness returns the cause of slowness a result gets if it is slow (a
// Slow constant), its evidence level (exact, temporal, signature, none)
// and why, in plain words, whatever its latency: the caller compares the
// latency with the threshold (Report.Slow.ThresholdMS). A result of a
// failure class (a 5xx, no answer, a stream cut or stalled) gets "": its
// cause is Explain's. Call it after every event and testimony is in, as
// Explain.
func (a *Analyzer) Slowness(r *vegeta.Result) (cause, evidence, why string) {
	a.finishEvidence()
	if classOf(r.Code, r.Error) != "" {
		return "", "", ""
	}
	in := a.ev.lookup(r.Attack, r.Seq)
	c, level := a.slowCause(r, in)
	if c == causeGatewayQueued && !gatewayHeld(float64(r.Latency)/float64(time.Millisecond), float64(in.wait-1), a.slowThreshold()) {
		c, level = causeUnexplained, levelNone
	}
	return slowCauses[c], evidenceNames[level], a.slowWhy(c, in)
}

// gatewayHeld reports whether an answer of lat ms, which the gateway held
// wait ms before the upstream's answer began, was slow because of the
// wait: without it, the answer would have come under the threshold thr.
// Without a threshold (0), the wait must be half the latency or more.
func gatewayHeld(lat, wait, thr float64) bool {
	if thr <= 0 {
		return 2*wait >= lat
	}
	return lat-wait < thr
}

// slowThreshold is the slow threshold in ms as far as it is known: the
// options', else the one the last Report derived; 0 before either.
func (a *Analyzer) slowThreshold() float64 {
	if a.opt.Slow > 0 {
		return float64(a.opt.Slow) / float64(time.Millisecond)
	}
	return a.slowDerived
}

// slowWhy says why a slow cause holds, following slowCause's steps.
func (a *Analyzer) slowWhy(c int, in *reqInfo) string {
	switch c {
	case causeInjected:
		return fmt.Sprintf("a latency fault of the proxy held back attempt %d, the one that answered (its event names this seq)", in.last)
	case causeGatewayRetried:
		if in != nil && in.last > 0 {
			return fmt.Sprintf("the proxy saw this seq %d times: the attempts before the last one cost the time", int(in.last)+1)
		}
		return "the gateway's log says it retried this request at the upstream"
	case causeClientRetried:
		return fmt.Sprintf("the proxy saw the client's tries up to %d of this seq: the earlier tries cost the time", in.maxTry)
	case causeOverloadQueued:
		return "the proxy's overload cap queued the attempt that answered (its event names this seq)"
	case causeConnectRetried:
		return "it was in flight while the proxy's listener refused connections: the gateway connected again until it opened"
	case causeGatewayQueued:
		return fmt.Sprintf("the gateway's log says it held the request %d ms before the upstream's answer began", in.wait-1)
	}
	return "no event names this seq, no refusal overlapped it, and the gateway's log says nothing of a wait"
}

// slowReport measures the slow answers from the segments' slow bytes:
// the baseline, the threshold, the causes over the run and per phase.
func (a *Analyzer) slowReport() *Slow {
	var quiet, all []float64
	for i := range a.bucket {
		for _, sg := range a.bucket[i].segs {
			q := sg.phase >= 0 && len(a.run.Phases[sg.phase].Faults) == 0
			for j, b := range sg.slow {
				if b&slowBase == 0 {
					continue
				}
				all = append(all, sg.lat[j])
				if q {
					quiet = append(quiet, sg.lat[j])
				}
			}
		}
	}
	s := &Slow{Causes: []SlowCause{}}
	base := quiet
	s.Baseline.Scope = "quiet-phases"
	if len(quiet) == 0 {
		base, s.Baseline.Scope = all, "untouched"
	}
	if len(base) > 0 {
		p := percentiles(base, 50, 99)
		s.Baseline.Requests, s.Baseline.P50MS, s.Baseline.P99MS = len(base), round(p[0]), round(p[1])
	} else {
		s.Baseline.Scope = ""
	}
	switch {
	case a.opt.Slow > 0:
		s.ThresholdMS = float64(a.opt.Slow) / float64(time.Millisecond)
		s.From = SlowFromFlag
		if a.opt.SlowFrom != "" {
			s.From, s.Expectation = SlowFromExpectation, a.opt.SlowFrom
		}
	case len(base) > 0:
		s.ThresholdMS = round(max(slowTimes*s.Baseline.P99MS, s.Baseline.P99MS+slowOver))
		s.From = SlowFromBaseline
	default:
		s.ThresholdMS, s.From = slowDefault, SlowFromDefault
	}
	a.slowDerived = s.ThresholdMS
	// The slow answers' latencies by phase (-1: none) and cause.
	type acc struct {
		ev  Evidence
		lat []float64
	}
	byPhase := map[int]*[len(slowCauses)]acc{}
	answers := map[int]int{}
	for i := range a.bucket {
		for _, sg := range a.bucket[i].segs {
			w := 0 // the next of sg.waits
			for j, b := range sg.slow {
				if b&slowAnswered == 0 {
					continue
				}
				answers[sg.phase]++
				if sg.lat[j] < s.ThresholdMS {
					continue
				}
				if int(b>>2&7) == causeGatewayQueued {
					for w < len(sg.waits) && int(sg.waits[w].i) < j {
						w++
					}
					if w == len(sg.waits) || int(sg.waits[w].i) != j || !gatewayHeld(sg.lat[j], float64(sg.waits[w].ms), s.ThresholdMS) {
						b = b&^(7<<2|3) | causeUnexplained<<2 | levelNone
					}
				}
				p := byPhase[sg.phase]
				if p == nil {
					p = &[len(slowCauses)]acc{}
					byPhase[sg.phase] = p
				}
				c := &p[b>>2&7]
				c.ev.add(int(b & 3))
				c.lat = append(c.lat, sg.lat[j])
			}
		}
	}
	causesOf := func(accs [][len(slowCauses)]acc) (n int, out []SlowCause) {
		for ci := range slowCauses {
			var sc SlowCause
			var lat []float64
			for _, p := range accs {
				c := &p[ci]
				sc.Count += len(c.lat)
				sc.Evidence.Exact += c.ev.Exact
				sc.Evidence.Temporal += c.ev.Temporal
				sc.Evidence.Signature += c.ev.Signature
				sc.Evidence.None += c.ev.None
				lat = append(lat, c.lat...)
			}
			if sc.Count == 0 {
				continue
			}
			sc.Cause = slowCauses[ci]
			pc := percentiles(lat, 0, 50, 100)
			sc.LatencyMS = Range{round(pc[0]), round(pc[1]), round(pc[2])}
			b := s.Baseline.P50MS
			sc.AddedMS = Range{round(max(pc[0]-b, 0)), round(max(pc[1]-b, 0)), round(max(pc[2]-b, 0))}
			n += sc.Count
			out = append(out, sc)
		}
		for i := range out {
			out[i].Share = round(float64(out[i].Count) / float64(n))
		}
		// Most first; of equal counts, an explained cause before none.
		sort.SliceStable(out, func(i, j int) bool {
			if out[i].Count != out[j].Count {
				return out[i].Count > out[j].Count
			}
			return out[i].Cause != SlowUnexplained && out[j].Cause == SlowUnexplained
		})
		if out == nil {
			out = []SlowCause{}
		}
		return n, out
	}
	var every [][len(slowCauses)]acc
	for _, p := range byPhase {
		every = append(every, *p)
	}
	for _, n := range answers {
		s.Answers += n
	}
	s.Count, s.Causes = causesOf(every)
	a.slowPhases = make([]*PhaseSlow, len(a.run.Phases))
	for pi := range a.run.Phases {
		ps := &PhaseSlow{Answers: answers[pi], Causes: []SlowCause{}}
		if p := byPhase[pi]; p != nil {
			ps.Count, ps.Causes = causesOf([][len(slowCauses)]acc{*p})
		}
		a.slowPhases[pi] = ps
	}
	return s
}

// pricer sums the price of masked faults per kind and phase.
type pricer struct {
	ev    *evidence
	base  float64
	rows  map[[2]uint32]*MaskedPrice // by interned kind and phase
	order [][2]uint32
	seen  map[priceKey]struct{} // the requests counted per row
}

type priceKey struct {
	row reqKey
	k   [2]uint32
}

func newPricer(ev *evidence, base float64) *pricer {
	return &pricer{ev: ev, base: base, rows: map[[2]uint32]*MaskedPrice{}, seen: map[priceKey]struct{}{}}
}

// add counts a masked fault e of the request in; a request counts once
// per kind and phase, however many of its attempts the kind broke.
func (p *pricer) add(e *rec, in *reqInfo) {
	k := [2]uint32{e.kind, e.phase}
	row := p.rows[k]
	if row == nil {
		row = &MaskedPrice{Kind: p.ev.names[e.kind], Phase: p.ev.names[e.phase]}
		p.rows[k] = row
		p.order = append(p.order, k)
	}
	row.Faults++
	pk := priceKey{reqKey{e.attack, e.seq}, k}
	if _, ok := p.seen[pk]; ok {
		return
	}
	p.seen[pk] = struct{}{}
	row.Requests++
	added := max(float64(in.lat)/1000-p.base, 0)
	row.AddedMS += added
	row.AddedMaxMS = max(row.AddedMaxMS, added)
	row.ExtraAttempts += int(in.last)
}

// prices returns the rows by kind, then phase.
func (p *pricer) prices() []MaskedPrice {
	out := make([]MaskedPrice, 0, len(p.order))
	for _, k := range p.order {
		r := *p.rows[k]
		r.AddedMS, r.AddedMaxMS = round(r.AddedMS), round(r.AddedMaxMS)
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Phase < out[j].Phase
	})
	return out
}

// Duration words a duration in milliseconds as a reader expects it:
// "850 ms", "1.2 s".
func Duration(ms float64) string {
	if ms >= 999.5 {
		return strconv.FormatFloat(ms/1000, 'f', 1, 64) + " s"
	}
	return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
}

// gatewayName names a gateway kind in a sentence.
func gatewayName(kind string) string {
	switch kind {
	case "nginx":
		return "nginx"
	case "haproxy":
		return "HAProxy"
	case "caddy":
		return "Caddy"
	case "builtin":
		return "the built-in gateway"
	case "", "unknown":
		return "the gateway"
	}
	return kind
}

// SlowCauseWords says what a cause of slow answers means, of a gateway
// kind: "HAProxy retried the connect while the upstream refused".
func SlowCauseWords(cause, gateway string) string {
	gw := gatewayName(gateway)
	switch cause {
	case SlowInjected:
		return "the fault proxy's latency held them back"
	case SlowGatewayRetried:
		return gw + " retried them at the upstream after an attempt failed"
	case SlowClientRetried:
		return "the client's retry policy sent them again"
	case SlowConnectRetried:
		return gw + " retried the connect while the upstream refused"
	case SlowOverloadQueued:
		return "they waited in the overload cap's queue"
	case SlowGatewayQueued:
		return gw + " held them before the upstream answered (its log says)"
	}
	return "nothing at the proxy or in the gateway's log explains them"
}

// slowWords names the biggest cause of slow answers, in its phase: "80
// answers in phase refuse took 1.0 s to 2.0 s longer than the baseline's
// p50 (slow: at least 52 ms): HAProxy retried the connect while the
// upstream refused; no error reached the client in that phase."
func slowWords(r *Report) []string {
	if r.Slow == nil || r.Slow.Count == 0 {
		return nil
	}
	var best *SlowCause
	var phase *PhaseReport
	for i := range r.Phases {
		p := &r.Phases[i]
		if p.Slow == nil || len(p.Slow.Causes) == 0 {
			continue
		}
		if c := &p.Slow.Causes[0]; best == nil || c.Count > best.Count {
			best, phase = c, p
		}
	}
	if best == nil {
		return nil
	}
	what := plural(best.Count, "answer")
	if len(r.Phases) > 1 {
		what += " in phase " + phase.Name
	}
	added := Duration(best.AddedMS.Min)
	if best.AddedMS.Max != best.AddedMS.Min {
		added += " to " + Duration(best.AddedMS.Max)
	}
	took := "took " + added + " longer than the fault-free p50"
	if r.Slow.Baseline.Scope == "" {
		// No baseline: what they took, not what they took more.
		took = "took " + Duration(best.LatencyMS.Min)
		if best.LatencyMS.Max != best.LatencyMS.Min {
			took += " to " + Duration(best.LatencyMS.Max)
		}
	}
	s := fmt.Sprintf("%s %s (slow: at least %s, %s): %s", what, took, Duration(r.Slow.ThresholdMS), slowFromWords(r.Slow), SlowCauseWords(best.Cause, r.Gateway.Kind))
	failed := phase.Errors
	for code, n := range phase.Status {
		if code >= "500" {
			failed += n
		}
	}
	if failed == 0 {
		s += "; no error reached the client in that phase"
	}
	out := []string{s + "."}
	if n := r.Slow.Count - best.Count; n > 0 {
		more := "1 more answer was slow."
		if n > 1 {
			more = fmt.Sprintf("%d more answers were slow.", n)
		}
		out = append(out, more)
	}
	return out
}

// slowFromWords says where the slow threshold comes from.
func slowFromWords(s *Slow) string {
	switch s.From {
	case SlowFromFlag:
		return "--slow-threshold"
	case SlowFromExpectation:
		return "the bound of " + s.Expectation
	case SlowFromBaseline:
		if slowTimes*s.Baseline.P99MS >= s.Baseline.P99MS+slowOver {
			return fmt.Sprintf("%d× the baseline's p99 of %s", slowTimes, Duration(s.Baseline.P99MS))
		}
		return fmt.Sprintf("the baseline's p99 of %s and %s more", Duration(s.Baseline.P99MS), Duration(slowOver))
	}
	return "no fault-free answer to measure a baseline on"
}
