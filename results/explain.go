package results

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Story is one request's story, as gatecrash explain tells it: what the
// client got, every attempt the fault proxy saw with its events, what the
// gateway's logs said, and the request's cause with why its evidence is
// of its level.
type Story struct {
	// Attack and Seq identify the request.
	Attack string `json:"attack"`
	Seq    uint64 `json:"seq"`
	// TimeS is when the request was sent, in seconds from the run's start.
	TimeS float64 `json:"time_s"`
	// Phase is the phase it was sent in; empty for a run without phases.
	Phase string `json:"phase,omitempty"`
	// Status is the status the client got; 0 with Error for no answer.
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
	// LatencyMS is the request's latency in milliseconds.
	LatencyMS float64 `json:"latency_ms"`
	// Attempts are the attempts at the upstream the proxy saw, by attempt
	// number; empty when no event names the request.
	Attempts []StoryAttempt `json:"attempts,omitempty"`
	// Gateway is what the gateway's logs said of the request, when
	// gatecrash started the gateway.
	Gateway []StoryTestimony `json:"gateway,omitempty"`
	// Cause and Evidence are the request's cause and its evidence level
	// (exact, temporal, signature, none), as the report counts them; both
	// empty for a request that did not fail.
	Cause    string `json:"cause,omitempty"`
	Evidence string `json:"evidence,omitempty"`
	// Why says, in plain words, why the evidence is of its level: the
	// event and its seq for exact, the time window or phase for temporal,
	// the gateway's words or answer for signature, what is missing for
	// none.
	Why string `json:"why,omitempty"`
	// Masked says, for a request that did not fail, how a fault that
	// ended one of its attempts was hidden from the client: the gateway
	// (or the client) retried, or the answer came all the same; empty
	// when no fault ended an attempt.
	Masked string `json:"masked,omitempty"`
	// Slow, SlowEvidence and SlowWhy are, for a request answered (not a
	// failure) in at least the slow threshold (Slowness), the cause of
	// its slowness (a Slow constant), its evidence level, and why; all
	// empty otherwise.
	Slow         string `json:"slow,omitempty"`
	SlowEvidence string `json:"slow_evidence,omitempty"`
	SlowWhy      string `json:"slow_why,omitempty"`
}

// StoryAttempt is one attempt of a request at the upstream, as the proxy
// saw it.
type StoryAttempt struct {
	// Attempt counts the earlier arrivals of the request at the proxy: 0
	// for the first.
	Attempt int `json:"attempt"`
	// Try is the client's try number, 0 when the request carried none.
	Try int `json:"try,omitempty"`
	// Events are the proxy's fault events and observations of the
	// attempt, in time order.
	Events []StoryEvent `json:"events"`
}

// StoryEvent is one event of an attempt.
type StoryEvent struct {
	// AtS is when it happened, in seconds from the run's start.
	AtS float64 `json:"at_s"`
	// Type is fault or observation; Kind the fault or observation kind.
	Type string `json:"type"`
	Kind string `json:"kind"`
	// Cause is the cause a failure from the event gets; Ended is true
	// when it ended the attempt.
	Cause string `json:"cause,omitempty"`
	Ended bool   `json:"ended,omitempty"`
	// Status is the status the fault itself answered with, if any.
	Status int `json:"status,omitempty"`
	// Conn is the proxy's downstream connection.
	Conn uint64 `json:"conn"`
	// Detail says what exactly was done or seen.
	Detail string `json:"detail"`
}

// StoryTestimony is one line of the gateway's logs about the request.
type StoryTestimony struct {
	// Gateway is the gateway kind that logged it.
	Gateway string `json:"gateway"`
	// AtS is when it was logged, in seconds from the run's start.
	AtS float64 `json:"at_s"`
	// Try, Status, Upstream, Retries, Words and WaitMS are the
	// Testimony's; WaitMS is nil when the gateway's log does not say how
	// long it held the request before the try that answered.
	Try      int      `json:"try,omitempty"`
	Status   int      `json:"status,omitempty"`
	Upstream []string `json:"upstream,omitempty"`
	Retries  int      `json:"retries,omitempty"`
	Words    string   `json:"words,omitempty"`
	WaitMS   *float64 `json:"wait_ms,omitempty"`
}

// Story tells the story of a result. events and told are the fault events
// and the gateway's testimony naming the request (the caller picks them
// out, by attack and seq); neither is kept. Call it after every event and
// testimony is in (AddEvent, AddTestimony), as Explain.
func (a *Analyzer) Story(r *vegeta.Result, events []faults.Event, told []Testimony) Story {
	a.finishEvidence()
	start := a.run.Started
	off := r.Timestamp.Sub(start)
	pi := phaseIndex(a.run, off)
	st := Story{Attack: r.Attack, Seq: r.Seq, TimeS: round3(off.Seconds()), Status: int(r.Code), Error: r.Error,
		LatencyMS: round3(float64(r.Latency) / float64(time.Millisecond))}
	if pi >= 0 {
		st.Phase = a.run.Phases[pi].Name
	}
	st.Attempts = attempts(events, start)
	for i := range told {
		t := &told[i]
		st.Gateway = append(st.Gateway, StoryTestimony{Gateway: t.Gateway, AtS: round3(t.Time.Sub(start).Seconds()), Try: t.Try,
			Status: t.Status, Upstream: t.Upstream, Retries: t.Retries, Words: t.Words, WaitMS: t.WaitMS})
	}
	class := classOf(r.Code, r.Error)
	in := a.ev.lookup(r.Attack, r.Seq)
	if class == "" {
		st.Masked = a.maskedWhy(in)
		return st
	}
	x, sig := a.explain(r, in, class, pi)
	st.Cause, st.Evidence = x.cause, evidenceNames[x.level]
	st.Why = a.why(r, in, x, sig, class, st.Phase)
	return st
}

// evidenceNames are the evidence levels' names, by level.
var evidenceNames = [...]string{"exact", "temporal", "signature", "none"}

// round3 rounds to three decimals, so that stories read the same on
// every machine.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// attempts groups a request's events by attempt, each in time order.
func attempts(events []faults.Event, start time.Time) []StoryAttempt {
	if len(events) == 0 {
		return nil
	}
	sorted := make([]*faults.Event, len(events))
	for i := range events {
		sorted[i] = &events[i]
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Attempt != sorted[j].Attempt {
			return sorted[i].Attempt < sorted[j].Attempt
		}
		return sorted[i].Time.Before(sorted[j].Time)
	})
	var out []StoryAttempt
	for _, e := range sorted {
		if n := len(out); n == 0 || out[n-1].Attempt != e.Attempt {
			out = append(out, StoryAttempt{Attempt: e.Attempt})
		}
		at := &out[len(out)-1]
		at.Try = max(at.Try, e.Try)
		at.Events = append(at.Events, StoryEvent{AtS: round3(e.Time.Sub(start).Seconds()), Type: e.Type, Kind: e.Kind,
			Cause: e.Cause, Ended: e.Ended, Status: e.Status, Conn: e.Conn, Detail: e.Detail})
	}
	return out
}

// why says why an explanation has its evidence level, following the
// steps of evidence.explain.
func (a *Analyzer) why(r *vegeta.Result, in *reqInfo, x explanation, sig Signature, class, phase string) string {
	ev := a.ev
	at := func(ns int64) string {
		return "+" + strconv.FormatFloat(time.Unix(0, ns).Sub(a.run.Started).Seconds(), 'f', 3, 64) + "s"
	}
	switch x.level {
	case levelExact:
		switch {
		case in != nil && in.endAt != 0 && in.endAt-1 == in.last:
			e := &ev.ended[in.ended-1]
			what := "a " + ev.names[e.kind] + " fault"
			if e.kind == 0 {
				what = "the upstream (no fault)"
			}
			return fmt.Sprintf("the proxy's event for seq %d at %s: %s ended attempt %d, the last the proxy saw, as %s", r.Seq, at(e.t), what, e.attempt, x.cause)
		case x.cause == causes.UpstreamLatency:
			return fmt.Sprintf("the proxy's event for seq %d: a latency fault held back attempt %d, the last the proxy saw, and the answer timed out", r.Seq, in.slowAt-1)
		default:
			return fmt.Sprintf("the proxy's event for seq %d: an sse-stall fault paused the stream of attempt %d, the last the proxy saw", r.Seq, in.stallAt-1)
		}
	case levelTemporal:
		from, to := r.Timestamp, r.End()
		window := fmt.Sprintf("%s to %s", at(from.UnixNano()), at(to.UnixNano()))
		switch {
		case isStreamClass(class):
			return fmt.Sprintf("the proxy carried seq %d and no fault ended or paused its stream: the upstream's own doing, as far as the run can tell", r.Seq)
		case ev.refused.cover(from, to):
			return fmt.Sprintf("the proxy never saw seq %d, and it refused connections (a refuse fault) while the request was in flight, %s", r.Seq, window)
		}
		if j := ev.nearest(from.Add(-temporalSlack).UnixNano(), to.UnixNano(), from, ""); j >= 0 {
			c := &ev.conn[j]
			return fmt.Sprintf("the proxy never saw seq %d; a %s fault that names no request ended a connection at %s, within the request's time in flight (%s)", r.Seq, ev.names[c.kind], at(c.t), window)
		}
		if j := ev.nearest(math.MinInt64, math.MaxInt64, from, phase); j >= 0 {
			c := &ev.conn[j]
			return fmt.Sprintf("the proxy never saw seq %d while a %s fault that names no request was active in phase %s (the nearest at %s)", r.Seq, ev.names[c.kind], phase, at(c.t))
		}
	case levelSignature:
		if w := ev.words(in); w != "" && causes.Word(w) == x.cause {
			return fmt.Sprintf("the gateway's own log said %q, words of %s", w, x.cause)
		}
		if sig.Cause == x.cause {
			return fmt.Sprintf("the gateway's own answer (%s) names %s", sig.Evidence, x.cause)
		}
		return fmt.Sprintf("the proxy never saw seq %d and no fault explains it in time; the answer is the gateway's own (%s)", r.Seq, sig.Evidence)
	}
	if x.cause == causes.GatewayLocal {
		return fmt.Sprintf("the proxy never saw seq %d and no fault explains it in time; the answer bears no gateway's signature", r.Seq)
	}
	if in == nil || in.flags&infoEvents == 0 {
		return fmt.Sprintf("no event names seq %d, and neither the gateway's answer nor its log names a cause", r.Seq)
	}
	return fmt.Sprintf("no event ended attempt %d of seq %d, the last the proxy saw, and neither the gateway's answer nor its log names a cause", in.last, r.Seq)
}

// maskedWhy says how a fault that ended an attempt of a request that did
// not fail was hidden; "" when none ended one.
func (a *Analyzer) maskedWhy(in *reqInfo) string {
	if in == nil || in.endAt == 0 {
		return ""
	}
	e := &a.ev.ended[in.ended-1]
	kind := a.ev.names[e.kind]
	if e.kind == 0 {
		kind = "upstream"
	}
	if in.endAt-1 < in.last {
		return fmt.Sprintf("a %s fault ended attempt %d (%s); attempt %d reached the proxy and answered: a retry hid it", kind, e.attempt, a.ev.names[e.cause], in.last)
	}
	return fmt.Sprintf("a %s fault ended attempt %d (%s), the last the proxy saw, and the client got an answer all the same", kind, e.attempt, a.ev.names[e.cause])
}

// AnswerFilter picks results by what the client got: a status code, a
// class of codes, or a failure class without a code. Its zero value picks
// nothing.
type AnswerFilter struct {
	code  uint16 // a status code
	class uint8  // 1 to 5 for 1xx to 5xx
	fail  string // scenarios.ClassError, ClassStreamCut or ClassStreamStall
}

// errAnswer is ParseAnswer's error, with the forms it takes.
var errAnswer = errors.New("not a status; give a code from 100 to 599 (502), a class (5xx), error (no answer), stream-cut or stream-stall")

// ParseAnswer reads an answer filter: a status code from 100 to 599
// ("502"), a class ("5xx", 1xx to 5xx), "error" (no answer at all),
// "stream-cut" or "stream-stall". Its error says which forms it takes.
func ParseAnswer(s string) (AnswerFilter, error) {
	switch l := strings.ToLower(s); {
	case l == scenarios.ClassError || l == scenarios.ClassStreamCut || l == scenarios.ClassStreamStall:
		return AnswerFilter{fail: l}, nil
	case len(l) == 3 && l[0] >= '1' && l[0] <= '5' && l[1:] == "xx":
		return AnswerFilter{class: l[0] - '0'}, nil
	case len(s) == 3 && s[0] >= '1' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9':
		n, _ := strconv.Atoi(s)
		return AnswerFilter{code: uint16(n)}, nil
	}
	return AnswerFilter{}, errAnswer
}

// Match reports whether a result with this code and error is of the
// filter's answer.
func (f AnswerFilter) Match(code uint16, err string) bool {
	switch {
	case f.code != 0:
		return code == f.code
	case f.class != 0:
		return code != 0 && code/100 == uint16(f.class)
	case f.fail != "":
		return code == 0 && classOf(code, err) == f.fail
	}
	return false
}

// String returns the filter as ParseAnswer reads it.
func (f AnswerFilter) String() string {
	switch {
	case f.code != 0:
		return strconv.Itoa(int(f.code))
	case f.class != 0:
		return strconv.Itoa(int(f.class)) + "xx"
	}
	return f.fail
}

// PhaseAt returns the name of the phase a request sent at t belongs to, as
// the report counts it (before the first phase, the first; after the
// last, the last); "" for a run without phases.
func (r *Run) PhaseAt(t time.Time) string {
	if pi := phaseIndex(r, t.Sub(r.Started)); pi >= 0 {
		return r.Phases[pi].Name
	}
	return ""
}

// EachEventOf reads JSON lines of fault events (an events.jsonl) as
// faults.EachEventCut does, but decodes only the lines that name no
// request and those whose seq keep accepts: a line whose "seq" is a
// number keep refuses is passed over undecoded. For Explain of the
// requests keep accepts, what it gives an Analyzer is as good as the
// whole file: their own events, and every event of no request (faults on
// connections, refusals, what the proxy saw). A line that does not decode
// is an error, unless it is the last (cut short by a crash). keep runs on
// the goroutine that splits the lines (see faults.EachLineSkip), at the
// same time as fn: it must be safe to call concurrently with fn.
func EachEventOf(r io.Reader, keep func(seq uint64) bool, fn func(*faults.Event)) error {
	_, err := faults.EachLineSkip(r, "events", "", func(b []byte) bool {
		seq, ok := lineSeq(b)
		return ok && !keep(seq)
	}, fn)
	return err
}

// seqKey is how the event log writes an event's seq. Inside a JSON string
// its quotes would be escaped, so the first one in a line is the key.
var seqKey = []byte(`"seq":`)

// lineSeq returns the seq of an event's JSON line, as the event log writes
// it; false when the line has no seq key followed by digits (a null seq,
// another spacing), which the caller then decodes whole.
func lineSeq(b []byte) (uint64, bool) {
	i := bytes.Index(b, seqKey)
	if i < 0 {
		return 0, false
	}
	b = b[i+len(seqKey):]
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	if n == 0 || (n < len(b) && b[n] != ',' && b[n] != '}') {
		return 0, false
	}
	seq, err := strconv.ParseUint(string(b[:n]), 10, 64)
	if err != nil {
		return 0, false
	}
	return seq, true
}
