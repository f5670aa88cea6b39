package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gatecrash/gatecrash/results"
)

// table is one table as every format shows it: its head, its rows, and
// the alignment of each column: 'l' for text (aligned left, escaped in
// Markdown), 'r' for figures.
type table struct {
	head  []string
	rows  [][]string
	align string
}

// isText reports whether column i holds text.
func (t *table) isText(i int) bool { return i < len(t.align) && t.align[i] == 'l' }

// slowSummary says in one sentence how many answers were slow, at what
// threshold and where it comes from, and the baseline; without a slow
// answer it says "no slow answers (threshold X)" and nothing more.
func slowSummary(s *results.Slow) string {
	th := msWords(s.ThresholdMS)
	if s.Count == 0 {
		return fmt.Sprintf("no slow answers (threshold %s).", th)
	}
	b := s.Baseline
	scope := "the phases without faults"
	if b.Scope == "untouched" {
		scope = "the answers no fault touched"
	}
	return fmt.Sprintf("%d of %d answers (%s) took at least %s, the threshold %s; baseline (%s, %d requests): p50 %s, p99 %s.",
		s.Count, s.Answers, results.Percent(ratio(s.Count, s.Answers)), th, slowFromWords(s), scope, b.Requests, msWords(b.P50MS), msWords(b.P99MS))
}

// slowFromWords says where the slow threshold comes from.
func slowFromWords(s *results.Slow) string {
	switch s.From {
	case results.SlowFromFlag:
		return "set by flag"
	case results.SlowFromExpectation:
		if s.Expectation != "" {
			return "of the expectation " + strconv.Quote(s.Expectation)
		}
		return "of an expectation"
	case results.SlowFromBaseline:
		return "from the baseline (3x its p99, at least its p99 + 50ms)"
	case results.SlowFromDefault:
		return "by default (no baseline)"
	}
	return "from " + s.From
}

// msWords writes milliseconds as "850ms" or, from a second, "1.50s".
func msWords(ms float64) string {
	if ms >= 1000 {
		return strconv.FormatFloat(ms/1000, 'f', 2, 64) + "s"
	}
	return strconv.FormatFloat(ms, 'f', -1, 64) + "ms"
}

// ratio is n over of, 0 when of is 0.
func ratio(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// rangeCell writes a range of milliseconds: "1002.0-2006.0 (p50 1504.0)".
func rangeCell(r results.Range) string {
	return results.Decimal(r.Min) + "-" + results.Decimal(r.Max) + " (p50 " + results.Decimal(r.P50) + ")"
}

// slowCauseHead heads the table of the causes of slow answers.
var slowCauseHead = []string{"cause", "count", "share", "evidence", "latency ms", "added ms"}

// slowCauseAlign aligns slowCauseHead's columns.
const slowCauseAlign = "lrrlrr"

// slowCauseCells are one cause's cells under slowCauseHead.
func slowCauseCells(c results.SlowCause) []string {
	return []string{c.Cause, strconv.Itoa(c.Count), results.Percent(c.Share), evidenceCell(c.Evidence), rangeCell(c.LatencyMS), rangeCell(c.AddedMS)}
}

// slowTable is the table of the causes of slow answers over the run; nil
// without a slow answer.
func slowTable(r *results.Report) *table {
	if r.Slow == nil || r.Slow.Count == 0 {
		return nil
	}
	t := &table{head: slowCauseHead, align: slowCauseAlign}
	for _, c := range r.Slow.Causes {
		t.rows = append(t.rows, slowCauseCells(c))
	}
	return t
}

// slowPhaseTable is the causes of slow answers per phase: a row per
// phase and cause, the phase's name and "slow of answers" on its first
// row only; a phase without a slow answer gets one row, its cause cells
// empty. Nil without a slow answer in the run, or without phases.
func slowPhaseTable(r *results.Report) *table {
	if r.Slow == nil || r.Slow.Count == 0 {
		return nil
	}
	t := &table{head: append([]string{"phase", "slow"}, slowCauseHead...), align: "lr" + slowCauseAlign}
	for _, p := range r.Phases {
		if p.Slow == nil {
			continue
		}
		first := []string{p.Name, fmt.Sprintf("%d of %d", p.Slow.Count, p.Slow.Answers)}
		if len(p.Slow.Causes) == 0 {
			t.rows = append(t.rows, append(first, "", "", "", "", "", ""))
			continue
		}
		for i, c := range p.Slow.Causes {
			lead := []string{"", ""}
			if i == 0 {
				lead = first
			}
			t.rows = append(t.rows, append(lead, slowCauseCells(c)...))
		}
	}
	if len(t.rows) == 0 {
		return nil
	}
	return t
}

// priceTable is what the masked faults cost, per kind and phase; nil
// when nothing was priced.
func priceTable(r *results.Report) *table {
	if len(r.Masked.Price) == 0 {
		return nil
	}
	t := &table{head: []string{"kind", "phase", "faults", "requests", "added ms total", "added ms mean", "added ms max", "extra attempts"}, align: "llrrrrrr"}
	for _, p := range r.Masked.Price {
		t.rows = append(t.rows, []string{p.Kind, p.Phase, strconv.Itoa(p.Faults), strconv.Itoa(p.Requests),
			results.Decimal(p.AddedMS), results.Decimal(ratioF(p.AddedMS, p.Requests)), results.Decimal(p.AddedMaxMS), strconv.Itoa(p.ExtraAttempts)})
	}
	return t
}

// ratioF is v over n, 0 when n is 0.
func ratioF(v float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return v / float64(n)
}

// adviceTable is the settings to change; nil without advice. Every cell
// is text: the configuration's values and the rule's words.
func adviceTable(r *results.Report) *table {
	if len(r.Advice) == 0 {
		return nil
	}
	t := &table{head: []string{"setting", "current", "suggest", "evidence", "rule"}, align: "lllll"}
	for _, a := range r.Advice {
		setting := a.Setting
		if a.Gateway != "" {
			setting = a.Gateway + " " + a.Setting
		}
		rule := a.Rule
		if a.Cause != "" {
			rule += " (" + a.Cause + ")"
		}
		t.rows = append(t.rows, []string{setting, a.Current, a.Suggest, a.Evidence, rule})
	}
	return t
}

// textTable writes a table for a terminal, figures aligned right.
func textTable(b *strings.Builder, t *table) {
	widths := make([]int, len(t.head))
	for _, row := range append([][]string{t.head}, t.rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	line := func(row []string) {
		var cells []string
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if t.isText(i) {
				cells = append(cells, c+pad)
			} else {
				cells = append(cells, pad+c)
			}
		}
		b.WriteString(strings.TrimRight("  "+strings.Join(cells, "  "), " ") + "\n")
	}
	line(t.head)
	for _, row := range t.rows {
		line(row)
	}
}

// mdTable writes a table in Markdown, its text cells escaped.
func mdTable(b *strings.Builder, t *table) {
	mdRow(b, t.head)
	align := make([]string, len(t.head))
	for i := range align {
		align[i] = "---:"
		if t.isText(i) {
			align[i] = "---"
		}
	}
	mdRow(b, align)
	for _, row := range t.rows {
		cells := make([]string, len(row))
		for i, c := range row {
			if t.isText(i) {
				c = mdText(c)
			}
			cells[i] = c
		}
		mdRow(b, cells)
	}
}
