package compare

import (
	"fmt"
	"io"
	"strings"
)

// mdEscape escapes text for Markdown, inside a table cell too; it keeps
// HTML out.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '|', '#', '~', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func markOf(m *MetricChange) string {
	switch m.Verdict {
	case MetricRegression:
		return "❌"
	case MetricOK:
		return "✅"
	case MetricNotSignificant:
		return "✅ within noise"
	case MetricNotEnoughData:
		return "✅ not enough data to test"
	case MetricOff:
		return "limit off"
	}
	return ""
}

// WriteMarkdown writes the comparison for a pull-request comment or a CI
// summary: a verdict line, then one table with a mark per metric.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	sc := c.scan()
	if c.Regression {
		fmt.Fprintf(&b, "### ❌ gatecrash compare: regression in %d of %d checks\n\n", len(sc.regressions), sc.checks)
		for _, r := range sc.regressions {
			fmt.Fprintf(&b, "- %s\n", mdEscape(describe(r.where, r.m, "→")))
		}
		b.WriteString("\n")
	} else {
		fmt.Fprintf(&b, "### ✅ gatecrash compare: no regression in %d checks\n\n", sc.checks)
	}
	if as := c.asides(); len(as) > 0 {
		fmt.Fprintf(&b, "%s.\n\n", mdEscape(strings.ToUpper(as[0][:1])+strings.Join(as, "; ")[1:]))
	}
	b.WriteString("| phase | metric | base | new | change | limit | p | |\n|---|---|---|---|---|---|---|---|\n")
	phases := append(append([]PhaseChange{}, c.Phases...), c.Overall)
	for i := range phases {
		p := &phases[i]
		name := mdEscape(p.Name)
		if p.Name == "overall" {
			name = "**overall**"
		}
		for k := range p.Metrics {
			m := &p.Metrics[k]
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", name, labelOf(m.Metric),
				valueText(m.Base, m.Unit, m.BaseState), valueText(m.New, m.Unit, m.NewState),
				changeText(m), limitText(m), strings.ReplaceAll(testText(m), "<", "&lt;"), markOf(m))
		}
	}
	if len(c.Causes) > 0 {
		b.WriteString("\n<details><summary>causes of 502s</summary>\n\n| cause | base | new | change |\n|---|---|---|---|\n")
		for _, cc := range c.Causes {
			fmt.Fprintf(&b, "| %s | %s (%d) | %s (%d) | %spp |\n", mdEscape(cc.Cause), valueText(&cc.Base, "share", ""), cc.BaseCount,
				valueText(&cc.New, "share", ""), cc.NewCount, signed(cc.ChangePP, 2))
		}
		b.WriteString("\n</details>\n")
	}
	if len(c.OnlyInBase) > 0 || len(c.OnlyInNew) > 0 || len(c.Notes) > 0 {
		b.WriteString("\n")
	}
	if len(c.OnlyInBase) > 0 {
		fmt.Fprintf(&b, "- only in BASE, not compared: %s\n", mdEscape(strings.Join(c.OnlyInBase, ", ")))
	}
	if len(c.OnlyInNew) > 0 {
		fmt.Fprintf(&b, "- only in NEW, not compared: %s\n", mdEscape(strings.Join(c.OnlyInNew, ", ")))
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "- %s\n", mdEscape(n))
	}
	test, rule := c.testLines()
	fmt.Fprintf(&b, "\n<sub>test: %s; %s. base: %s. new: %s.</sub>\n", mdEscape(test), mdEscape(rule), mdEscape(sideText(c.Base)), mdEscape(sideText(c.New)))
	_, err := io.WriteString(w, b.String())
	return err
}
