package report

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gatecrash/gatecrash/results"
)

// writeExpectations lists the verdicts: FAIL or ok, the expression, the
// value measured.
func writeExpectations(b *strings.Builder, r *results.Report) {
	if len(r.Expectations) == 0 {
		return
	}
	failed := len(r.Expectations.Failed())
	if len(r.Damaged) > 0 {
		fmt.Fprintf(b, "expectations: none of %d judged: the run is damaged\n", len(r.Expectations))
	} else if failed == 0 {
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
		m := v.Measured()
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

// writeWarnings writes one WARNING line per damaged file, then one per
// fault that never bit.
func writeWarnings(b *strings.Builder, r *results.Report) {
	for _, d := range r.Damaged {
		fmt.Fprintf(b, "WARNING: %s\n", d.Warning)
	}
	for _, u := range r.Unapplied {
		fmt.Fprintf(b, "WARNING: %s\n", u.Warning)
	}
	if len(r.Damaged)+len(r.Unapplied) > 0 {
		b.WriteString("\n")
	}
}

// maxTimelineRows is how many timeline buckets the text report lists in
// full; beyond it, only buckets with a failure or a fault.
const maxTimelineRows = 120

// Text writes the report for a terminal: the diagnosis; a WARNING line
// per damaged file and per fault that never bit; the expectations and their verdicts; per phase the requests, rates, status
// counts and latency; the timeline; the causes of every failure class;
// the causes of slow answers, over the run and per phase; the advice
// (gateway settings to change); masked faults with their price,
// correlations and send lag.
func Text(w io.Writer, r *results.Report) error {
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
	writeWarnings(&b, r)
	writeExpectations(&b, r)

	codes := statusCodes(r)
	textPhases(&b, r, codes)
	writeTimeline(&b, r, codes)
	textCauses(&b, r)
	textSlow(&b, r)
	textAdvice(&b, r)
	textRetries(&b, r)
	textStreams(&b, r)
	textAsides(&b, r)
	_, err := io.WriteString(w, b.String())
	return err
}

// textPhases writes the table of phases and the total.
func textPhases(b *strings.Builder, r *results.Report, codes []string) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"phase", "start", "end", "offered/s", "achieved/s", "requests"}
	head = append(head, codes...)
	head = append(head, "errors", "p50 ms", "p90 ms", "p99 ms", "max ms", "recovery")
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	row := func(name string, start, end, offered, achieved float64, requests int, status map[string]int, errs int, l *results.Latency, recovery string) {
		cells := []string{name, results.Secs(start), results.Secs(end), "", "", strconv.Itoa(requests)}
		if l != nil {
			cells[3], cells[4] = results.Decimal(offered), results.Decimal(achieved)
		}
		for _, c := range codes {
			cells = append(cells, strconv.Itoa(status[c]))
		}
		cells = append(cells, strconv.Itoa(errs))
		if l != nil {
			cells = append(cells, results.Decimal(l.P50), results.Decimal(l.P90), results.Decimal(l.P99), results.Decimal(l.Max))
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
			rec = results.Secs(*p.RecoveryS)
		case "not-recovered":
			rec = "never"
		}
		row(p.Name, p.StartS, p.EndS, p.OfferedRate, p.AchievedRate, p.Requests, p.Status, p.Errors, &p.LatencyMS, rec)
	}
	row("total", 0, r.DurationS, 0, 0, r.Totals.Requests, r.Totals.Status, r.Totals.Errors, nil, "")
	tw.Flush()

}

// textCauses writes the causes of every failure class, and what the
// gateway logged of each.
func textCauses(b *strings.Builder, r *results.Report) {
	for _, sec := range causeSections(r) {
		cs := sec.causes
		fmt.Fprintf(b, "\ncauses of %s:\n", sec.what)
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  cause\tcount\tshare\texact\ttemporal\tsignature\tnone")
		for _, c := range cs {
			fmt.Fprintf(tw, "  %s\t%d\t%.1f%%\t%d\t%d\t%d\t%d\n", c.Cause, c.Count, 100*c.Share, c.Evidence.Exact, c.Evidence.Temporal, c.Evidence.Signature, c.Evidence.None)
		}
		tw.Flush()
		for _, c := range cs {
			for _, w := range c.GatewayWords {
				fmt.Fprintf(b, "  %s: the gateway logged %q (%d)\n", c.Cause, w.Words, w.Count)
			}
		}
	}
}

// textSlow writes the causes of slow answers, over the run and per
// phase; one line without a slow answer; nothing for a report written
// before slow answers were measured.
func textSlow(b *strings.Builder, r *results.Report) {
	if r.Slow == nil {
		return
	}
	if r.Slow.Count == 0 {
		b.WriteString("\n" + slowSummary(r.Slow) + "\n")
		return
	}
	b.WriteString("\ncauses of slow answers:\n")
	b.WriteString(wrap(slowSummary(r.Slow), 100) + "\n")
	textTable(b, slowTable(r))
	if t := slowPhaseTable(r); t != nil {
		b.WriteString("\nslow answers per phase:\n")
		textTable(b, t)
	}
}

// textAdvice writes the gateway settings to change; nothing without
// advice.
// Each is a block, its long sentences wrapped: a table of them would be
// wider than any terminal.
func textAdvice(b *strings.Builder, r *results.Report) {
	if len(r.Advice) == 0 {
		return
	}
	b.WriteString("\nadvice (gateway settings to change):\n")
	for _, a := range r.Advice {
		setting := a.Setting
		if a.Gateway != "" {
			setting = a.Gateway + " " + a.Setting
		}
		fmt.Fprintf(b, "  %s (rule %s, for %s)\n", setting, a.Rule, a.Cause)
		for _, kv := range [][2]string{{"now", a.Current}, {"change", a.Suggest}, {"because", a.Evidence}} {
			lines := strings.Split(wrap(kv[1], 86), "\n")
			for i, l := range lines {
				head := ""
				if i == 0 {
					head = kv[0] + ":"
				}
				fmt.Fprintf(b, "    %-8s %s\n", head, l)
			}
		}
	}
}

// textRetries writes what the client retry policy bought and cost, per
// phase and in total; nothing without a policy.
func textRetries(b *strings.Builder, r *results.Report) {
	if r.Retries == nil {
		return
	}
	b.WriteString("\nclient retries:\n")
	b.WriteString(wrap(r.Retries.Bought()+" "+r.Retries.Cost(), 100))
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(retryHead, "\t")+"\t")
	for _, row := range retryRows(r) {
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
}

// textStreams writes the streaming answers per phase and in total, and
// per timeline bucket; nothing without streams.
func textStreams(b *strings.Builder, r *results.Report) {
	rows := streamRows(r)
	if rows == nil {
		return
	}
	b.WriteString("\nstreams:\n")
	if x := r.Streams.Buffering; x != nil {
		b.WriteString(wrap("WARNING: "+x.Warning, 100) + "\n")
	}
	table := func(head []string, rows [][]string) {
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
		for _, row := range rows {
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		}
		tw.Flush()
	}
	table(streamHead, rows)
	if rows := streamBucketRows(r); len(rows) > 0 && len(rows) <= maxTimelineRows {
		b.WriteString("\nstreams over time:\n")
		table(streamBucketHead, rows)
	}
}

// textAsides writes the masked faults, the correlations and the send lag.
func textAsides(b *strings.Builder, r *results.Report) {
	if m := r.Masked; m.Faults > 0 {
		fmt.Fprintf(b, "\nmasked faults: %d of %d", m.Count, m.Faults)
		if m.Count > 0 {
			fmt.Fprintf(b, " (%s; by kind: %s)", m.ReasonList(), m.KindList())
		}
		if m.Repeated > 0 {
			fmt.Fprintf(b, "; %d repeated", m.Repeated)
		}
		b.WriteString("\n")
		if t := priceTable(r); t != nil {
			b.WriteString("what the masked faults cost:\n")
			textTable(b, t)
		}
	}
	shown, same := r.Correlated()
	if len(shown) > 0 {
		b.WriteString("\ncorrelation with the 502 timeline (Pearson r):")
		for _, c := range shown {
			fmt.Fprintf(b, " %s %s", c.Kind, pearsonCell(c))
		}
		b.WriteString("\n")
	}
	if len(same) > 0 && len(shown) == 0 {
		b.WriteString("\n")
	}
	for _, w := range same {
		b.WriteString(wrap(upperFirst(w)+".", 100) + "\n")
	}
	l := r.SendLagMS
	fmt.Fprintf(b, "\nsend lag ms: p50 %s, p99 %s, max %s\n", results.Decimal(l.P50), results.Decimal(l.P99), results.Decimal(l.Max))
	if l.Behind {
		b.WriteString("WARNING: the attacker fell behind its schedule; latencies understate. Corrected (wrk2-style) latency ms:\n")
		for _, p := range r.Phases {
			c := p.CorrectedLatencyMS
			fmt.Fprintf(b, "  %s: p50 %s, p90 %s, p99 %s, max %s\n", p.Name, results.Decimal(c.P50), results.Decimal(c.P90), results.Decimal(c.P99), results.Decimal(c.Max))
		}
	}
}

// writeTimeline lists the timeline: every bucket, or in a long run those
// with a failure or a fault.
func writeTimeline(b *strings.Builder, r *results.Report, codes []string) {
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
		cells := []string{results.Secs(t.TS), t.Phase, results.Decimal(t.OfferedRate), results.Decimal(t.AchievedRate)}
		bad := t.Errors + nf
		for _, c := range failing {
			cells = append(cells, strconv.Itoa(t.Status[c]))
			bad += t.Status[c]
		}
		if !all && bad == 0 {
			continue
		}
		cells = append(cells, strconv.Itoa(t.Errors), strconv.Itoa(nf), strconv.Itoa(t.Masked), results.Decimal(t.LatencyMS.P50), results.Decimal(t.LatencyMS.P99))
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
func statusCodes(r *results.Report) []string {
	codes := make([]string, 0, len(r.Totals.Status))
	for c := range r.Totals.Status {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return codes
}

// pearsonCell writes a correlation's r with two decimals, or "n/a".
func pearsonCell(c results.Correlation) string {
	if c.Pearson == nil {
		return "n/a"
	}
	return strconv.FormatFloat(*c.Pearson, 'f', 2, 64)
}

// upperFirst writes s with its first letter upper case.
func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
