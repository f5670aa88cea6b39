package results

// The plain-words diagnosis every report carries (report.json's
// "diagnosis"), and the phrases it shares with the renderers.

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// className names one of a failure class in a sentence.
func className(class string) string {
	switch class {
	case scenarios.ClassError:
		return "request without an answer"
	case scenarios.ClassStreamCut:
		return "stream cut"
	case scenarios.ClassStreamStall:
		return "stream stalled"
	}
	return class
}

// plural says "1 fault", "2 faults"; "2 requests without an answer".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if w, rest, ok := strings.Cut(what, " "); ok {
		return fmt.Sprintf("%d %ss %s", n, w, rest)
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func were(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

// Diagnosis says in one paragraph when 502s began and why, what became of
// the faults that did not end in one, and what else failed.
func Diagnosis(r *Report) string {
	// First: a damaged folder qualifies everything that follows.
	s := damageWords(r)
	if w := expectWords(r); w != "" {
		s = append(s, w)
	}
	if r.Totals.Requests == 0 {
		s = append(s, "No requests were recorded.")
		return strings.Join(append(s, unappliedWords(r)...), " ")
	}
	if r.Onset.FirstS == nil {
		s = append(s, fmt.Sprintf("No 502 Bad Gateway answers in %d requests.", r.Totals.Requests))
	} else {
		s = append(s, onsetWords("502s", r.Onset)+": "+causeList(r.Causes)+".")
	}
	for _, p := range r.Phases {
		if r.Onset.FirstS == nil {
			break
		}
		switch p.Recovery {
		case "recovered":
			s = append(s, fmt.Sprintf("After phase %s the 502 share fell under %s within %s.", p.Name, Percent(r.Analysis.Threshold), Secs(*p.RecoveryS)))
		case "not-recovered":
			s = append(s, fmt.Sprintf("After phase %s the 502 share never fell back under %s.", p.Name, Percent(r.Analysis.Threshold)))
		}
	}
	// Right after the 502s: a fault that never bit makes "no 502s" mean
	// nothing.
	s = append(s, unappliedWords(r)...)
	if m := r.Masked; m.Faults > 0 {
		line := fmt.Sprintf("Of %s that broke an attempt or a connection, %d %s masked", plural(m.Faults, "fault"), m.Count, were(m.Count))
		if m.Count > 0 {
			line += " (" + m.ReasonList()
			if m.GatewayConfirmed > 0 {
				line += fmt.Sprintf("; the gateway's log shows %d of the retries", m.GatewayConfirmed)
			}
			line += ")"
		}
		if m.Repeated > 0 {
			line += ", " + m.RepeatedWords()
		}
		if m.PassedOn > 0 {
			line += fmt.Sprintf(", %d answered the client with the fault's own status", m.PassedOn)
		}
		s = append(s, line+".")
	}
	s = append(s, slowWords(r)...)
	if r.Retries != nil {
		s = append(s, r.Retries.Bought())
		if c := r.Retries.Cost(); c != "" {
			s = append(s, c)
		}
		s = append(s, r.RetryRecovery()...)
	}
	for _, class := range r.OtherClasses() {
		o, n := r.OtherOnsets[class], 0
		for _, c := range r.OtherCauses[class] {
			n += c.Count
		}
		if o.FirstS == nil || n == 0 {
			continue
		}
		if class == scenarios.ClassError {
			s = append(s, errorWords(n, o, r.OtherCauses[class]))
			continue
		}
		s = append(s, fmt.Sprintf("%s, %s: %s.", plural(n, className(class)), onsetWords("", o), causeList(r.OtherCauses[class])))
	}
	s = append(s, streamWords(r)...)
	// A handful of 502s correlates with anything.
	if causeCount(r.Causes) >= minCorrelated {
		s = append(s, correlationWords(r)...)
	}
	if r.SendLagMS.Behind {
		s = append(s, fmt.Sprintf("The attacker fell behind its schedule (send lag p99 %s ms): plain latencies understate, read the corrected ones.", Decimal(r.SendLagMS.P99)))
	}
	s = append(s, fmt.Sprintf("Gateway: %s (%s).", r.Gateway.Kind, r.Gateway.Evidence))
	return strings.Join(s, " ")
}

// errorWords says what became of the n requests of the error class,
// whose onset is o and causes cs: those that got no answer at all apart
// from the answers cut after their headers (SplitErrorCauses), e.g. "3
// requests got no answer at all, the first at 2.9s (phase resets, 100.0/s
// offered), no sustained onset: 100.0% follow upstream resets before
// headers (exact)."
func errorWords(n int, o Onset, cs []Cause) string {
	none, cut := SplitErrorCauses(cs)
	nNone, nCut := causeCount(none), causeCount(cut)
	switch {
	case nCut == 0:
		return fmt.Sprintf("%s got no answer at all, %s: %s.", plural(n, "request"), onsetWords("", o), causeList(none))
	case nNone == 0:
		return fmt.Sprintf("%s, %s: %s.", cutWords(n), onsetWords("", o), causeList(cut))
	}
	return fmt.Sprintf("%s failed without a whole answer, %s. Of them, %d got no answer at all: %s; %s: %s.",
		plural(n, "request"), onsetWords("", o), nNone, causeList(none), cutWords(nCut), causeList(cut))
}

// cutWords says "1 answer was cut after its headers", "2 answers were
// cut after their headers".
func cutWords(n int) string {
	if n == 1 {
		return "1 answer was cut after its headers"
	}
	return fmt.Sprintf("%d answers were cut after their headers", n)
}

// SplitErrorCauses splits the causes of the error class (requests
// vegeta recorded without a status code) into those of requests that got
// no answer at all and those of answers cut after their headers: a cause
// whose point is after the headers, mid-body or in the body (an upstream
// that reset mid-body, a wrong Content-Length) ended a request whose
// answer had begun; any other cause, unattributed included, counts as no
// answer at all. Each part's shares are of that part.
func SplitErrorCauses(cs []Cause) (noAnswer, cut []Cause) {
	for _, c := range cs {
		if cutCause(c.Cause) {
			cut = append(cut, c)
		} else {
			noAnswer = append(noAnswer, c)
		}
	}
	return reshare(noAnswer), reshare(cut)
}

// cutCause reports whether a cause ends an answer after its headers.
func cutCause(name string) bool {
	c, ok := causes.Lookup(name)
	if !ok {
		return false
	}
	switch c.Point {
	case causes.AfterHeaders, causes.MidBody, causes.InTheBody:
		return true
	}
	return false
}

// reshare returns copies of cs with each share of their total count.
func reshare(cs []Cause) []Cause {
	n := causeCount(cs)
	out := make([]Cause, len(cs))
	for i, c := range cs {
		c.Share = round(float64(c.Count) / float64(n))
		out[i] = c
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// causeCount sums the counts of cs.
func causeCount(cs []Cause) int {
	n := 0
	for _, c := range cs {
		n += c.Count
	}
	return n
}

// correlationWords name the fault kind whose timeline follows the 502
// timeline closest (Pearson r 0.5 or more), or the kinds, when it was
// active in the same seconds as others: their correlations cannot be told
// apart.
func correlationWords(r *Report) []string {
	var best *Correlation
	for i, c := range r.Correlations {
		if c.Pearson != nil && *c.Pearson >= 0.5 && (best == nil || *c.Pearson > *best.Pearson) {
			best = &r.Correlations[i]
		}
	}
	if best == nil {
		return nil
	}
	for _, g := range r.SameSeconds() {
		if slices.Contains(g, best.Kind) {
			return []string{fmt.Sprintf("The %s faults, active in the same seconds, follow the 502 timeline closest (Pearson r %.2f); which of them caused the 502s is for the causes above to say, not the correlation.", andList(g), *best.Pearson)}
		}
	}
	return []string{fmt.Sprintf("The %s faults' timeline follows the 502 timeline closest (Pearson r %.2f).", best.Kind, *best.Pearson)}
}

// streamWords sum up the run's streams, and warn when they were
// buffered; nothing without streams.
func streamWords(r *Report) []string {
	st := r.Streams
	if st == nil {
		return nil
	}
	w := fmt.Sprintf("%s carried %s", plural(st.Streams, "stream"), plural(st.Tokens, "token"))
	if st.Tokens > 0 {
		w += fmt.Sprintf(": TTFT p50 %s ms, p99 %s ms, inter-token latency p99 %s ms, %s tokens/s per request", Decimal(st.TTFTMS.P50), Decimal(st.TTFTMS.P99), Decimal(st.ITLP99MS), Decimal(st.TokensPerSPerRequest))
	}
	w += fmt.Sprintf("; %d cut, %d stalled.", st.Cut, st.Stalled)
	out := []string{w}
	if st.Buffering != nil {
		out = append(out, upperFirst(st.Buffering.Warning))
	}
	return out
}

// upperFirst writes s with its first letter upper case.
func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// unappliedWords are the warnings of the faults that never bit, one
// sentence each.
func unappliedWords(r *Report) []string {
	out := make([]string, len(r.Unapplied))
	for i, u := range r.Unapplied {
		out[i] = u.Warning
	}
	return out
}

// expectWords says whether the expectations held, and why the run was
// aborted: "2 of 5 expectations failed: rate(status=502) < 0.5% in
// baseline (1.2%), first(status=502) > 10s (1.5s)."; "" without any.
func expectWords(r *Report) string {
	var s []string
	if r.Aborted != nil {
		s = append(s, "The run was aborted: "+*r.Aborted+".")
	}
	n := len(r.Expectations)
	failed := r.Expectations.Failed()
	switch {
	case n == 0:
	case len(r.Damaged) > 0 && n == 1:
		s = append(s, "The expectation was not judged: the run is damaged.")
	case len(r.Damaged) > 0:
		s = append(s, fmt.Sprintf("None of the %d expectations was judged: the run is damaged.", n))
	case len(failed) == 0 && n == 1:
		s = append(s, "The expectation held.")
	case len(failed) == 0:
		s = append(s, fmt.Sprintf("All %d expectations held.", n))
	default:
		parts := make([]string, len(failed))
		for i, v := range failed {
			parts[i] = fmt.Sprintf("%s (%s)", v.Expr, v.Measured())
		}
		s = append(s, fmt.Sprintf("%d of %d expectations failed: %s.", len(failed), n, strings.Join(parts, ", ")))
	}
	return strings.Join(s, " ")
}

// Measured says what a verdict measured: "1.2%", or why there is no
// value.
func (v Verdict) Measured() string {
	switch {
	case v.Value != nil:
		return formatMeasure(*v.Value, v.Unit)
	case v.Detail != "":
		return v.Detail
	}
	return "undefined"
}

// minCorrelated is how many 502s a run needs before the diagnosis says
// which fault's timeline follows theirs.
const minCorrelated = 10

var maskedWords = map[string]string{
	scenarios.MaskedRetried:       "retried by the gateway",
	scenarios.MaskedClientRetried: "retried by the client",
	scenarios.MaskedAbsorbed:      "absorbed",
	scenarios.MaskedConnUnused:    "on connections no failed request used",
	scenarios.MaskedNoResult:      "without a result",
}

// onsetWords says when a class began and took hold, e.g. "502s began at
// 12.0s (phase resets, 180/s offered), sustained from 13.0s"; "no
// sustained onset" when its share never reached the threshold for the
// sustain buckets in a row (the report's analysis settings say which).
// A sustained onset is never said to come before the first failure: the
// bucket it starts in may begin before it.
func onsetWords(what string, o Onset) string {
	w := fmt.Sprintf("%s began at %s", what, instant(*o.FirstS))
	if what == "" {
		w = fmt.Sprintf("the first at %s", instant(*o.FirstS))
	}
	switch {
	case o.FirstPhase != nil && o.FirstRate != nil:
		w += fmt.Sprintf(" (phase %s, %s/s offered)", *o.FirstPhase, Decimal(*o.FirstRate))
	case o.FirstPhase != nil:
		w += fmt.Sprintf(" (phase %s, after the plan)", *o.FirstPhase)
	}
	switch {
	case o.SustainedS == nil:
		w += ", no sustained onset"
	case *o.SustainedS <= instantS(*o.FirstS):
		// The first failing bucket starts before the first failure in
		// it: a sustained onset "from" that bucket's start would come
		// before the failure itself.
		w += ", sustained from the first on"
	default:
		w += fmt.Sprintf(", sustained from %s", Secs(*o.SustainedS))
	}
	if o.SustainedS != nil && o.KneeRate != nil {
		w += fmt.Sprintf(" (the knee: %s/s offered)", Decimal(*o.KneeRate))
	}
	return w
}

// causeList says e.g. "97.0% follow upstream resets before headers
// (exact), 3.0% gateway-local".
func causeList(cs []Cause) string {
	var parts []string
	for i, c := range cs {
		p := fmt.Sprintf("%s %s", Percent(c.Share), causes.Meaning(c.Cause))
		if i == 0 && c.Cause != causes.Unattributed && c.Cause != causes.GatewayLocal {
			p = fmt.Sprintf("%s follow %s", Percent(c.Share), causes.Meaning(c.Cause))
		}
		if l := level(c.Evidence); l != "" {
			p += " (" + l + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// level names the evidence of a cause, strongest first.
func level(e Evidence) string {
	var out []string
	for _, l := range []struct {
		n    int
		name string
	}{{e.Exact, "exact"}, {e.Temporal, "temporal"}, {e.Signature, "signature"}} {
		if l.n > 0 {
			out = append(out, l.name)
		}
	}
	return strings.Join(out, ", ")
}

// ReasonList says why the masked faults were masked, e.g. "480 retried by
// the gateway, 8 absorbed", largest first.
func (m Masked) ReasonList() string { return countList(m.Reasons, maskedWords) }

// KindList says which kinds the masked faults were, e.g. "480 reset, 8
// keepalive", largest first.
func (m Masked) KindList() string { return countList(m.ByKind, nil) }

// RepeatedWords says how many masked faults were retried into another
// failure: "3 were retried into another failure".
func (m Masked) RepeatedWords() string {
	return fmt.Sprintf("%d %s retried into another failure", m.Repeated, were(m.Repeated))
}

// countList says e.g. "480 retried by the gateway, 8 absorbed", largest
// first.
func countList(m map[string]int, names map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var parts []string
	for _, k := range keys {
		n := k
		if w, ok := names[k]; ok {
			n = w
		}
		parts = append(parts, fmt.Sprintf("%d %s", m[k], n))
	}
	return strings.Join(parts, ", ")
}

// OtherClasses lists the failure classes beyond 502 (those of
// OtherOnsets), in order: 5xx codes, then ClassError.
func (r *Report) OtherClasses() []string {
	out := make([]string, 0, len(r.OtherOnsets))
	for c := range r.OtherOnsets {
		out = append(out, c)
	}
	sort.Strings(out) // 5xx codes, then "error"
	return out
}
