package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// shownVerdict is one expectation as the Markdown, HTML and JUnit outputs
// show it: the expression as written, whether it held, the measured value
// (or why there is none), whether it aborts the run when it fails.
type shownVerdict struct {
	Expr  string
	OK    bool
	Value string
	Abort bool
}

// shownVerdicts returns the report's expectations and their verdicts, in
// the scenario's order, with the measured value as the text report words
// it; nil when the scenario has none.
func shownVerdicts(r *results.Report) []shownVerdict {
	if len(r.Expectations) == 0 {
		return nil
	}
	out := make([]shownVerdict, 0, len(r.Expectations))
	for _, v := range r.Expectations {
		m := v.Measured()
		if v.Value != nil && v.Detail != "" {
			m += " (" + v.Detail + ")"
		}
		out = append(out, shownVerdict{Expr: v.Expr, OK: v.OK, Value: m, Abort: v.Abort})
	}
	return out
}

// failedShown counts the expectations that did not hold.
func failedShown(vs []shownVerdict) int {
	n := 0
	for _, v := range vs {
		if !v.OK {
			n++
		}
	}
	return n
}

// Markdown writes a GitHub-flavoured Markdown summary of the report,
// short enough for a CI job summary or a pull-request comment: the
// verdict of the expectations, the diagnosis, a warning per fault that
// never bit, a table of the phases, the
// causes of every failure class with their evidence, the causes of slow
// answers (over the run and per phase), the advice, the masked faults
// with their price and the expectations one by one. Every string that came from the scenario
// or a target (phase names, the gateway's words) is escaped, so it shows
// as written and cannot inject markup.
func Markdown(w io.Writer, r *results.Report) error {
	return writeMarkdown(w, r, shownVerdicts(r))
}

func writeMarkdown(w io.Writer, r *results.Report, vs []shownVerdict) error {
	var b strings.Builder
	mdHead(&b, r, vs)
	mdPhases(&b, r)
	for _, cc := range causeSections(r) {
		fmt.Fprintf(&b, "\n### Causes of %s\n\n", cc.what)
		mdRow(&b, []string{"cause", "count", "share", "evidence", "the gateway said"})
		mdRow(&b, []string{"---", "---:", "---:", "---", "---"})
		for _, c := range cc.causes {
			mdRow(&b, []string{mdCode(c.Cause), strconv.Itoa(c.Count), results.Percent(c.Share), evidenceCell(c.Evidence), mdText(saidCell(c.GatewayWords))})
		}
	}
	mdSlow(&b, r)
	if t := adviceTable(r); t != nil {
		b.WriteString("\n### Advice: gateway settings to change\n\n")
		mdTable(&b, t)
	}
	if m := r.Masked; m.Faults > 0 {
		b.WriteString("\n### Masked faults\n\n" + maskedSentence(m, mdText) + "\n")
		if t := priceTable(r); t != nil {
			b.WriteString("\nWhat they cost:\n\n")
			mdTable(&b, t)
		}
	}
	if x := r.Retries; x != nil {
		b.WriteString("\n### Client retries\n\n" + mdText(x.Bought()+" "+x.Cost()) + "\n\n")
		mdRow(&b, retryHead)
		align := []string{"---"}
		for range retryHead[1:] {
			align = append(align, "---:")
		}
		mdRow(&b, align)
		for _, row := range retryRows(r) {
			row[0] = mdText(row[0])
			mdRow(&b, row)
		}
	}
	mdStreams(&b, r)
	mdExpectations(&b, vs)
	_, err := io.WriteString(w, b.String())
	return err
}

// mdSlow writes the causes of slow answers, over the run and per phase;
// one line without a slow answer; nothing for a report written before
// slow answers were measured.
func mdSlow(b *strings.Builder, r *results.Report) {
	if r.Slow == nil {
		return
	}
	b.WriteString("\n### Causes of slow answers\n\n" + mdText(slowSummary(r.Slow)) + "\n")
	if t := slowTable(r); t != nil {
		b.WriteString("\n")
		mdTable(b, t)
	}
	if t := slowPhaseTable(r); t != nil {
		b.WriteString("\n<details><summary>Slow answers per phase</summary>\n\n")
		mdTable(b, t)
		b.WriteString("\n</details>\n")
	}
}

// mdStreams writes the streaming answers per phase and in total, and per
// timeline bucket (up to maxTimelineRows of them); nothing without
// streams.
func mdStreams(b *strings.Builder, r *results.Report) {
	rows := streamRows(r)
	if rows == nil {
		return
	}
	b.WriteString("\n### Streams\n\n")
	if x := r.Streams.Buffering; x != nil {
		b.WriteString("> **Buffered**: " + mdText(x.Warning) + "\n\n")
	}
	table := func(head []string, rows [][]string, text int) {
		mdRow(b, head)
		align := make([]string, len(head))
		for i := range align {
			align[i] = "---:"
			if i < text {
				align[i] = "---"
			}
		}
		mdRow(b, align)
		for _, row := range rows {
			for i := 0; i < text; i++ {
				row[i] = mdText(row[i])
			}
			mdRow(b, row)
		}
	}
	table(streamHead, rows, 1)
	if rows := streamBucketRows(r); len(rows) > 0 && len(rows) <= maxTimelineRows {
		b.WriteString("\n<details><summary>Streams over time</summary>\n\n")
		table(streamBucketHead, rows, 2)
		b.WriteString("\n</details>\n")
	}
}

// mdHead writes the title, the run's facts, its state, the verdict of the
// expectations, the diagnosis and the warnings of the faults that never
// bit.
func mdHead(b *strings.Builder, r *results.Report, vs []shownVerdict) {
	fmt.Fprintf(b, "## gatecrash: %s\n\n", mdText(r.Scenario))
	fmt.Fprintf(b, "seed %d · started %s · %s · gateway %s\n\n", r.Seed, r.Started.UTC().Format("2006-01-02T15:04:05Z"), results.Secs(r.DurationS), mdText(r.Gateway.Kind))
	switch {
	case r.Aborted != nil:
		fmt.Fprintf(b, "> **Aborted**: %s; the report covers what ran.\n\n", mdText(*r.Aborted))
	case r.Interrupted:
		b.WriteString("> **Interrupted**: the run was stopped before its end; the report covers what ran.\n\n")
	}
	if len(vs) > 0 {
		if len(r.Damaged) > 0 {
			fmt.Fprintf(b, "**❌ %s judged: the run is damaged.**\n\n", notJudged(len(vs)))
		} else if n := failedShown(vs); n > 0 {
			fmt.Fprintf(b, "**❌ %d of %d expectations failed.**\n\n", n, len(vs))
		} else {
			fmt.Fprintf(b, "**✅ all %d expectations held.**\n\n", len(vs))
		}
	}
	b.WriteString(mdText(r.Diagnosis))
	b.WriteString("\n\n")
	for _, d := range r.Damaged {
		fmt.Fprintf(b, "> **⚠ Damaged**: %s\n\n", mdText(d.Warning))
	}
	for _, u := range r.Unapplied {
		fmt.Fprintf(b, "> **⚠ Warning**: %s\n\n", mdText(u.Warning))
	}
}

// mdPhases writes the table of phases and the total.
func mdPhases(b *strings.Builder, r *results.Report) {
	codes := statusCodes(r)
	b.WriteString("### Phases\n\n")
	head := []string{"phase", "start", "end", "faults", "offered/s", "achieved/s", "requests"}
	head = append(head, codes...)
	head = append(head, "errors", "p50 ms", "p99 ms", "recovery")
	mdRow(b, head)
	align := make([]string, len(head))
	for i := range align {
		align[i] = "---:"
	}
	align[0], align[3] = "---", "---"
	mdRow(b, align)
	for _, p := range r.Phases {
		cells := []string{mdText(p.Name), results.Secs(p.StartS), results.Secs(p.EndS), mdText(strings.Join(p.Faults, ", ")), results.Decimal(p.OfferedRate), results.Decimal(p.AchievedRate), strconv.Itoa(p.Requests)}
		for _, c := range codes {
			cells = append(cells, strconv.Itoa(p.Status[c]))
		}
		cells = append(cells, strconv.Itoa(p.Errors), results.Decimal(p.LatencyMS.P50), results.Decimal(p.LatencyMS.P99), recoveryCell(p))
		mdRow(b, cells)
	}
	cells := []string{"**total**", results.Secs(0), results.Secs(r.DurationS), "", "", "", strconv.Itoa(r.Totals.Requests)}
	for _, c := range codes {
		cells = append(cells, strconv.Itoa(r.Totals.Status[c]))
	}
	cells = append(cells, strconv.Itoa(r.Totals.Errors), "", "", "")
	mdRow(b, cells)
}

// mdExpectations writes the table of expectations, if any.
func mdExpectations(b *strings.Builder, vs []shownVerdict) {
	if len(vs) == 0 {
		return
	}
	b.WriteString("\n### Expectations\n\n")
	mdRow(b, []string{"", "expectation", "measured"})
	mdRow(b, []string{":---:", "---", "---:"})
	for _, v := range vs {
		mark := "✅"
		if !v.OK {
			mark = "❌"
		}
		expr := mdCode(v.Expr)
		if v.Abort {
			expr += " (abort)"
		}
		mdRow(b, []string{mark, expr, mdText(v.Value)})
	}
}

// maskedSentence says what became of the faults that broke an attempt or
// a connection, as the Markdown and HTML reports write it; esc escapes the
// lists of reasons and kinds for the output.
func maskedSentence(m results.Masked, esc func(string) string) string {
	s := fmt.Sprintf("%d of %d faults that broke an attempt or a connection were masked", m.Count, m.Faults)
	if m.Count > 0 {
		s += fmt.Sprintf(" (%s; by kind: %s)", esc(m.ReasonList()), esc(m.KindList()))
	}
	s += "."
	if m.Repeated > 0 {
		s += " " + m.RepeatedWords() + "."
	}
	if m.GatewayConfirmed > 0 {
		s += fmt.Sprintf(" The gateway's log confirms %d of the retries.", m.GatewayConfirmed)
	}
	return s
}

// causeSection is the causes of one failure class, as the reports list
// them.
type causeSection struct {
	class  string
	what   string // e.g. "502s", "answers cut after their headers"
	causes []results.Cause
}

// causeSections lists the causes of 502s, then of every other failure
// class seen, in order; classes without a cause are left out. The error
// class has two: the requests with no answer at all, and the answers cut
// after their headers (results.SplitErrorCauses), each with its shares.
func causeSections(r *results.Report) []causeSection {
	var out []causeSection
	for _, class := range append([]string{"502"}, r.OtherClasses()...) {
		cs := r.Causes
		if class != "502" {
			cs = r.OtherCauses[class]
		}
		if len(cs) == 0 {
			continue
		}
		what := class + "s"
		switch class {
		case scenarios.ClassError:
			// No answer at all apart from answers cut after their
			// headers.
			none, cut := results.SplitErrorCauses(cs)
			if len(none) > 0 {
				out = append(out, causeSection{class, "requests with no answer at all", none})
			}
			if len(cut) > 0 {
				out = append(out, causeSection{class, "answers cut after their headers", cut})
			}
			continue
		case scenarios.ClassStreamCut:
			what = "streams cut"
		case scenarios.ClassStreamStall:
			what = "streams stalled"
		}
		out = append(out, causeSection{class, what, cs})
	}
	return out
}

// recoveryCell says how a phase recovered, as the text report does.
func recoveryCell(p results.PhaseReport) string {
	switch {
	case p.Recovery == "recovered" && p.RecoveryS != nil:
		return results.Secs(*p.RecoveryS)
	case p.Recovery == "not-recovered":
		return "never"
	}
	return ""
}

// evidenceCell says e.g. "4 exact, 1 temporal".
func evidenceCell(e results.Evidence) string {
	var out []string
	for _, l := range []struct {
		n    int
		name string
	}{{e.Exact, "exact"}, {e.Temporal, "temporal"}, {e.Signature, "signature"}, {e.None, "none"}} {
		if l.n > 0 {
			out = append(out, strconv.Itoa(l.n)+" "+l.name)
		}
	}
	return strings.Join(out, ", ")
}

// saidCell says what the gateway logged, e.g. `"upstream prematurely
// closed connection" (12)`.
func saidCell(ws []results.Words) string {
	var out []string
	for _, w := range ws {
		out = append(out, fmt.Sprintf("%q (%d)", w.Words, w.Count))
	}
	return strings.Join(out, "; ")
}

// mdEscaper escapes what Markdown (and the HTML GitHub allows in it)
// would read as markup, and what would break a table row.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"|", `\|`, "#", `\#`, "~", `\~`,
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	"\r\n", " ", "\n", " ", "\r", " ",
)

// mdText escapes s for Markdown text, table cells included; control
// characters become spaces.
func mdText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, mdEscaper.Replace(s))
}

// mdCode writes s as an inline code span, safe in a table cell: the fence
// is longer than any run of backticks in s, and pipes are escaped (GitHub
// reads `\|` as a pipe even inside a code span in a table).
func mdCode(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ReplaceAll(s, "|", `\|`))
	run, longest := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 || strings.HasPrefix(s, " ") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// mdRow writes one table row.
func mdRow(b *strings.Builder, cells []string) {
	b.WriteString("| ")
	b.WriteString(strings.Join(cells, " | "))
	b.WriteString(" |\n")
}

// notJudged says "The expectation was not", "None of the 3 expectations
// was": what a damaged run's banner says of its expectations.
func notJudged(n int) string {
	if n == 1 {
		return "The expectation was not"
	}
	return fmt.Sprintf("None of the %d expectations was", n)
}

// MarkdownText escapes s for Markdown text and table cells, as every
// Markdown report of gatecrash does.
func MarkdownText(s string) string { return mdText(s) }

// MarkdownCode writes s as an inline code span, safe in a table cell.
func MarkdownCode(s string) string { return mdCode(s) }
