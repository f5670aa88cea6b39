package results

import (
	"fmt"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// className names one of a failure class in a sentence.
func className(class string) string {
	if class == scenarios.ClassError {
		return "request without an answer"
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
	var s []string
	if w := expectWords(r); w != "" {
		s = append(s, w)
	}
	if r.Totals.Requests == 0 {
		return strings.Join(append(s, "No requests were recorded."), " ")
	}
	if r.Onset.FirstS == nil {
		s = append(s, fmt.Sprintf("No 502 Bad Gateway answers in %d requests.", r.Totals.Requests))
	} else {
		s = append(s, onsetWords("502s", r.Onset, r.Analysis)+": "+causeList(r.Causes)+".")
	}
	for _, p := range r.Phases {
		if r.Onset.FirstS == nil {
			break
		}
		switch p.Recovery {
		case "recovered":
			s = append(s, fmt.Sprintf("After phase %s the 502 share fell under %s within %s.", p.Name, pct(r.Analysis.Threshold), secs(*p.RecoveryS)))
		case "not-recovered":
			s = append(s, fmt.Sprintf("After phase %s the 502 share never fell back under %s.", p.Name, pct(r.Analysis.Threshold)))
		}
	}
	if m := r.Masked; m.Faults > 0 {
		line := fmt.Sprintf("Of %s that broke an attempt or a connection, %d %s masked", plural(m.Faults, "fault"), m.Count, were(m.Count))
		if m.Count > 0 {
			line += " (" + countList(m.Reasons, maskedWords)
			if m.GatewayConfirmed > 0 {
				line += fmt.Sprintf("; the gateway's log shows %d of the retries", m.GatewayConfirmed)
			}
			line += ")"
		}
		if m.Repeated > 0 {
			line += fmt.Sprintf(", %d %s retried into another failure", m.Repeated, were(m.Repeated))
		}
		if m.PassedOn > 0 {
			line += fmt.Sprintf(", %d answered the client with the fault's own status", m.PassedOn)
		}
		s = append(s, line+".")
	}
	for _, class := range otherClasses(r) {
		o, n := r.OtherOnsets[class], 0
		for _, c := range r.OtherCauses[class] {
			n += c.Count
		}
		if o.FirstS == nil || n == 0 {
			continue
		}
		s = append(s, fmt.Sprintf("%s, %s: %s.", plural(n, className(class)), onsetWords("", o, r.Analysis), causeList(r.OtherCauses[class])))
	}
	var best *Correlation
	for i, c := range r.Correlations {
		if c.Pearson != nil && *c.Pearson >= 0.5 && (best == nil || *c.Pearson > *best.Pearson) {
			best = &r.Correlations[i]
		}
	}
	n502 := 0
	for _, c := range r.Causes {
		n502 += c.Count
	}
	// A handful of 502s correlates with anything.
	if best != nil && n502 >= minCorrelated {
		s = append(s, fmt.Sprintf("The %s faults' timeline follows the 502 timeline closest (Pearson r %.2f).", best.Kind, *best.Pearson))
	}
	if r.SendLagMS.Behind {
		s = append(s, fmt.Sprintf("The attacker fell behind its schedule (send lag p99 %s ms): plain latencies understate, read the corrected ones.", num(r.SendLagMS.P99)))
	}
	s = append(s, fmt.Sprintf("Gateway: %s (%s).", r.Gateway.Kind, r.Gateway.Evidence))
	return strings.Join(s, " ")
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
	case len(failed) == 0 && n == 1:
		s = append(s, "The expectation held.")
	case len(failed) == 0:
		s = append(s, fmt.Sprintf("All %d expectations held.", n))
	default:
		parts := make([]string, len(failed))
		for i, v := range failed {
			parts[i] = fmt.Sprintf("%s (%s)", v.Expr, measured(v))
		}
		s = append(s, fmt.Sprintf("%d of %d expectations failed: %s.", len(failed), n, strings.Join(parts, ", ")))
	}
	return strings.Join(s, " ")
}

// measured says what a verdict measured: "1.2%", or why there is no
// value.
func measured(v Verdict) string {
	switch {
	case v.Value != nil:
		return formatMeasure(*v.Value, v.Unit)
	case v.Detail != "":
		return v.Detail
	}
	return "undefined"
}

// writeExpectations lists the verdicts: FAIL or ok, the expression, the
// value measured.
func writeExpectations(b *strings.Builder, r *Report) {
	if len(r.Expectations) == 0 {
		return
	}
	failed := len(r.Expectations.Failed())
	if failed == 0 {
		fmt.Fprintf(b, "expectations: all %d held\n", len(r.Expectations))
	} else {
		fmt.Fprintf(b, "expectations: %d of %d failed\n", failed, len(r.Expectations))
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, v := range r.Expectations {
		verdict := "ok"
		if !v.OK {
			verdict = "FAIL"
		}
		m := measured(v)
		if v.Value != nil && v.Detail != "" {
			m += " (" + v.Detail + ")"
		}
		if v.Abort {
			m += "  [abort]"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", verdict, v.Expr, m)
	}
	tw.Flush()
	b.WriteString("\n")
}

// minCorrelated is how many 502s a run needs before the diagnosis says
// which fault's timeline follows theirs.
const minCorrelated = 10

var maskedWords = map[string]string{
	maskedRetried:    "retried by the gateway",
	maskedAbsorbed:   "absorbed",
	maskedConnUnused: "on connections no failed request used",
	maskedNoResult:   "without a result",
}

// onsetWords says when a class began and took hold, e.g. "502s began at
// 12.0s (phase resets, 180/s offered), sustained from 13.0s".
func onsetWords(what string, o Onset, opt Options) string {
	w := fmt.Sprintf("%s began at %s", what, instant(*o.FirstS))
	if what == "" {
		w = fmt.Sprintf("the first at %s", instant(*o.FirstS))
	}
	switch {
	case o.FirstPhase != nil && o.FirstRate != nil:
		w += fmt.Sprintf(" (phase %s, %s/s offered)", *o.FirstPhase, num(*o.FirstRate))
	case o.FirstPhase != nil:
		w += fmt.Sprintf(" (phase %s, after the plan)", *o.FirstPhase)
	}
	if o.SustainedS != nil {
		w += fmt.Sprintf(", sustained from %s", secs(*o.SustainedS))
		if o.KneeRate != nil {
			w += fmt.Sprintf(" (the knee: %s/s offered)", num(*o.KneeRate))
		}
	} else {
		w += fmt.Sprintf(", never %s of requests for %d buckets in a row", pct(opt.Threshold), opt.Sustain)
	}
	return w
}

// causeList says e.g. "97.0% follow upstream resets before headers
// (exact), 3.0% gateway-local".
func causeList(cs []Cause) string {
	var parts []string
	for i, c := range cs {
		p := fmt.Sprintf("%s %s", pct(c.Share), causes.Meaning(c.Cause))
		if i == 0 && c.Cause != causes.Unattributed && c.Cause != causes.GatewayLocal {
			p = fmt.Sprintf("%s follow %s", pct(c.Share), causes.Meaning(c.Cause))
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

// otherClasses lists the failure classes beyond 502, in order.
func otherClasses(r *Report) []string {
	out := make([]string, 0, len(r.OtherOnsets))
	for c := range r.OtherOnsets {
		out = append(out, c)
	}
	sort.Strings(out) // 5xx codes, then "error"
	return out
}

// maxTimelineRows is how many timeline buckets the text report lists in
// full; beyond it, only buckets with a failure or a fault.
const maxTimelineRows = 120

// WriteText writes the report for a terminal: the diagnosis; the
// expectations and their verdicts; per phase the requests, rates, status
// counts and latency; the timeline; the causes of every failure class;
// masked faults, correlations and send lag.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	state := ""
	switch {
	case r.Aborted != nil:
		state = " ABORTED"
	case r.Interrupted:
		state = " INTERRUPTED"
	}
	fmt.Fprintf(&b, "scenario %s, seed %d, started %s, %.1fs%s\n\n", r.Scenario, r.Seed, r.Started.UTC().Format("2006-01-02T15:04:05Z"), r.DurationS, state)
	b.WriteString(wrap(r.Diagnosis, 100))
	b.WriteString("\n\n")
	writeExpectations(&b, r)

	codes := statusCodes(r)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"phase", "start", "end", "offered/s", "achieved/s", "requests"}
	head = append(head, codes...)
	head = append(head, "errors", "p50 ms", "p90 ms", "p99 ms", "max ms", "recovery")
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	row := func(name string, start, end, offered, achieved float64, requests int, status map[string]int, errs int, l *Latency, recovery string) {
		cells := []string{name, secs(start), secs(end), "", "", strconv.Itoa(requests)}
		if l != nil {
			cells[3], cells[4] = num(offered), num(achieved)
		}
		for _, c := range codes {
			cells = append(cells, strconv.Itoa(status[c]))
		}
		cells = append(cells, strconv.Itoa(errs))
		if l != nil {
			cells = append(cells, num(l.P50), num(l.P90), num(l.P99), num(l.Max))
		} else {
			cells = append(cells, "", "", "", "")
		}
		cells = append(cells, recovery)
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	for _, p := range r.Phases {
		rec := ""
		switch p.Recovery {
		case "recovered":
			rec = secs(*p.RecoveryS)
		case "not-recovered":
			rec = "never"
		}
		row(p.Name, p.StartS, p.EndS, p.OfferedRate, p.AchievedRate, p.Requests, p.Status, p.Errors, &p.LatencyMS, rec)
	}
	row("total", 0, r.DurationS, 0, 0, r.Totals.Requests, r.Totals.Status, r.Totals.Errors, nil, "")
	tw.Flush()

	writeTimeline(&b, r, codes)

	for _, sec := range causeSections(r) {
		cs := sec.causes
		fmt.Fprintf(&b, "\ncauses of %s:\n", sec.what)
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  cause\tcount\tshare\texact\ttemporal\tsignature\tnone")
		for _, c := range cs {
			fmt.Fprintf(tw, "  %s\t%d\t%.1f%%\t%d\t%d\t%d\t%d\n", c.Cause, c.Count, 100*c.Share, c.Evidence.Exact, c.Evidence.Temporal, c.Evidence.Signature, c.Evidence.None)
		}
		tw.Flush()
		for _, c := range cs {
			for _, w := range c.GatewayWords {
				fmt.Fprintf(&b, "  %s: the gateway logged %q (%d)\n", c.Cause, w.Words, w.Count)
			}
		}
	}
	if m := r.Masked; m.Faults > 0 {
		fmt.Fprintf(&b, "\nmasked faults: %d of %d", m.Count, m.Faults)
		if m.Count > 0 {
			fmt.Fprintf(&b, " (%s; by kind: %s)", countList(m.Reasons, maskedWords), countList(m.ByKind, nil))
		}
		if m.Repeated > 0 {
			fmt.Fprintf(&b, "; %d repeated", m.Repeated)
		}
		b.WriteString("\n")
	}
	if len(r.Correlations) > 0 {
		b.WriteString("\ncorrelation with the 502 timeline (Pearson r):")
		for _, c := range r.Correlations {
			v := "n/a"
			if c.Pearson != nil {
				v = strconv.FormatFloat(*c.Pearson, 'f', 2, 64)
			}
			fmt.Fprintf(&b, " %s %s", c.Kind, v)
		}
		b.WriteString("\n")
	}
	l := r.SendLagMS
	fmt.Fprintf(&b, "\nsend lag ms: p50 %s, p99 %s, max %s\n", num(l.P50), num(l.P99), num(l.Max))
	if l.Behind {
		b.WriteString("WARNING: the attacker fell behind its schedule; latencies understate. Corrected (wrk2-style) latency ms:\n")
		for _, p := range r.Phases {
			c := p.CorrectedLatencyMS
			fmt.Fprintf(&b, "  %s: p50 %s, p90 %s, p99 %s, max %s\n", p.Name, num(c.P50), num(c.P90), num(c.P99), num(c.Max))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTimeline lists the timeline: every bucket, or in a long run those
// with a failure or a fault.
func writeTimeline(b *strings.Builder, r *Report, codes []string) {
	if len(r.Timeline) == 0 {
		return
	}
	var failing []string
	for _, c := range codes {
		if n, _ := strconv.Atoi(c); n >= 500 {
			failing = append(failing, c)
		}
	}
	all := len(r.Timeline) <= maxTimelineRows
	if all {
		b.WriteString("\ntimeline:\n")
	} else {
		b.WriteString("\ntimeline (buckets with a failure or a fault):\n")
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"t", "phase", "offered/s", "achieved/s"}
	head = append(head, failing...)
	head = append(head, "errors", "faults", "masked", "p50 ms", "p99 ms")
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, t := range r.Timeline {
		nf := 0
		for _, n := range t.Faults {
			nf += n
		}
		cells := []string{secs(t.TS), t.Phase, num(t.OfferedRate), num(t.AchievedRate)}
		bad := t.Errors + nf
		for _, c := range failing {
			cells = append(cells, strconv.Itoa(t.Status[c]))
			bad += t.Status[c]
		}
		if !all && bad == 0 {
			continue
		}
		cells = append(cells, strconv.Itoa(t.Errors), strconv.Itoa(nf), strconv.Itoa(t.Masked), num(t.LatencyMS.P50), num(t.LatencyMS.P99))
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
}

// wrap breaks text into lines of at most width columns.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(text) {
		if n > 0 && n+1+len(w) > width {
			b.WriteString("\n")
			n = 0
		} else if n > 0 {
			b.WriteString(" ")
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// statusCodes lists every status code in the report, in order.
func statusCodes(r *Report) []string {
	codes := make([]string, 0, len(r.Totals.Status))
	for c := range r.Totals.Status {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return codes
}

func secs(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "s" }

// instant shows a moment truncated to the tenth of a second it falls in,
// so that it reads as the timeline's bucket does.
func instant(v float64) string { return secs(math.Floor(v*10) / 10) }

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }
