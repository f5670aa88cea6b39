package compare

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// labels name the metrics in words.
var labels = map[string]string{
	"recovery_s":        "recovery",
	"onset_first_s":     "first 502",
	"onset_sustained_s": "sustained 502s",
}

func labelOf(key string) string {
	for _, defs := range [][]metricDef{metricDefs, retryMetricDefs} {
		for i := range defs {
			if defs[i].key == key {
				return defs[i].label
			}
		}
	}
	if l, ok := labels[key]; ok {
		return l
	}
	return key
}

// valueText writes a value in its unit.
func valueText(v *float64, unit, state string) string {
	if v == nil {
		switch state {
		case "not-recovered":
			return "never"
		case "not-measured":
			return "not measured"
		}
		return "none"
	}
	switch unit {
	case "ms":
		return strconv.FormatFloat(*v, 'f', -1, 64) + " ms"
	case "/s":
		return strconv.FormatFloat(*v, 'f', -1, 64) + "/s"
	case "share":
		return strconv.FormatFloat(100**v, 'f', 2, 64) + "%"
	case "x":
		return strconv.FormatFloat(*v, 'f', -1, 64) + "x"
	case "count":
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	return strconv.FormatFloat(*v, 'f', -1, 64) + "s"
}

func changeText(m *MetricChange) string {
	if m.Change == nil {
		switch {
		case m.Base == nil && m.New == nil:
			return "-"
		case m.Base != nil && m.New == nil && m.NewState == "not-recovered":
			return "never recovered"
		case m.Base == nil && m.New != nil && m.BaseState == "not-recovered":
			return "recovered"
		case m.Base == nil || m.New == nil:
			return "-"
		}
		return "new from 0"
	}
	v := *m.Change
	switch m.ChangeUnit {
	case "%":
		return signed(v, 1) + "%"
	case "pp":
		return signed(v, 2) + "pp"
	case "count":
		return signed(v, -1)
	}
	return signed(v, -1) + "s"
}

func signed(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

func limitText(m *MetricChange) string {
	switch {
	case m.Verdict == MetricOff:
		return "off"
	case m.Limit == nil:
		return "-"
	}
	sign := "+"
	if m.Worse == "lower" {
		sign = "-"
	}
	return sign + strconv.FormatFloat(*m.Limit, 'f', -1, 64) + m.ChangeUnit
}

// pText writes a p-value; words puts "= " before a number.
func pText(p float64, words bool) string {
	if p < 0.0001 {
		if words {
			return "< 0.0001"
		}
		return "<0.0001"
	}
	s := strconv.FormatFloat(p, 'f', 4, 64)
	if words {
		return "= " + s
	}
	return s
}

// notEnough says why a metric could not be tested.
func notEnough(m *MetricChange, t Test) string {
	switch {
	case m.Test == nil:
		return "not enough data to test"
	case m.Test.PMin != nil:
		return fmt.Sprintf("not enough data to test (%d and %d buckets cannot give p below alpha %g: at best %s)", m.Test.NBase, m.Test.NNew, t.Alpha, pText(*m.Test.PMin, false))
	}
	return fmt.Sprintf("not enough data to test (%d and %d buckets, %d needed a side)", m.Test.NBase, m.Test.NNew, t.MinBuckets)
}

func testText(m *MetricChange) string {
	switch {
	case m.Test == nil:
		return "-"
	case m.Test.P == nil:
		return fmt.Sprintf("n=%d+%d", m.Test.NBase, m.Test.NNew)
	}
	return pText(*m.Test.P, false)
}

func verdictText(m *MetricChange, t Test) string {
	switch m.Verdict {
	case MetricRegression:
		return "REGRESSION"
	case MetricNotSignificant:
		return fmt.Sprintf("ok: beyond the limit, not significant (p >= %g)", t.Alpha)
	case MetricNotEnoughData:
		return "ok: beyond the limit, " + notEnough(m, t)
	case MetricNoLimit:
		return "no limit"
	case MetricOff:
		return "limit off"
	}
	return m.Verdict
}

// testLines say which test and alpha decided, and the rule.
func (c *Comparison) testLines() (test, rule string) {
	if c.Test.NoTest {
		return "none (--no-test)", "a change beyond its limit is a regression"
	}
	return fmt.Sprintf("%s, alpha %g", testWords, c.Test.Alpha),
		fmt.Sprintf("a regression is a change beyond its limit and significant at alpha %g; fewer than %d buckets a side, or too few to reach alpha: not enough data to test, no regression", c.Test.Alpha, c.Test.MinBuckets)
}

func sideText(s Side) string {
	name := s.File
	if name == "" {
		name = "this run"
	}
	t := fmt.Sprintf("%s: scenario %s, started %s, seed %d", name, s.Scenario, s.Started.UTC().Format(time.RFC3339), s.Seed)
	if s.Interrupted {
		t += ", interrupted"
	}
	if len(s.Damaged) > 0 {
		t += ", damaged (" + strings.Join(s.Damaged, ", ") + ")"
	}
	return t
}

func phaseHead(p *PhaseChange) string {
	if p.Name == "overall" {
		return fmt.Sprintf("overall (the phases both have; %d and %d buckets)", p.BaseBuckets, p.NewBuckets)
	}
	return fmt.Sprintf("phase %s (%gs-%gs; %d and %d buckets)", p.Name, p.StartS, p.EndS, p.BaseBuckets, p.NewBuckets)
}

// WriteText writes the comparison for a terminal: the verdict, the test,
// then every phase's metrics side by side.
func (c *Comparison) WriteText(w io.Writer) error {
	var b strings.Builder
	sc := c.scan()
	if c.Regression {
		fmt.Fprintf(&b, "gatecrash compare: REGRESSION in %d of %d checks\n", len(sc.regressions), sc.checks)
		for _, r := range sc.regressions {
			fmt.Fprintf(&b, "  %s\n", describe(r.where, r.m, "->"))
		}
	} else {
		fmt.Fprintf(&b, "gatecrash compare: no regression in %d checks\n", sc.checks)
	}
	for _, a := range c.asides() {
		fmt.Fprintf(&b, "  %s\n", a)
	}
	test, rule := c.testLines()
	fmt.Fprintf(&b, "base: %s\nnew:  %s\ntest: %s\nrule: %s\n", sideText(c.Base), sideText(c.New), test, rule)
	phases := append(append([]PhaseChange{}, c.Phases...), c.Overall)
	for i := range phases {
		p := &phases[i]
		fmt.Fprintf(&b, "\n%s\n", phaseHead(p))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  metric\tbase\tnew\tchange\tlimit\tp\tverdict")
		for k := range p.Metrics {
			m := &p.Metrics[k]
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", labelOf(m.Metric),
				valueText(m.Base, m.Unit, m.BaseState), valueText(m.New, m.Unit, m.NewState),
				changeText(m), limitText(m), testText(m), verdictText(m, c.Test))
		}
		tw.Flush()
	}
	if len(c.Causes) > 0 {
		b.WriteString("\ncauses of 502s (share of the 502s)\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  cause\tbase\tnew\tchange")
		for _, cc := range c.Causes {
			fmt.Fprintf(tw, "  %s\t%s (%d)\t%s (%d)\t%spp\n", cc.Cause, valueText(&cc.Base, "share", ""), cc.BaseCount,
				valueText(&cc.New, "share", ""), cc.NewCount, signed(cc.ChangePP, 2))
		}
		tw.Flush()
	}
	if len(c.OnlyInBase) > 0 {
		fmt.Fprintf(&b, "\nonly in BASE, not compared: %s\n", strings.Join(c.OnlyInBase, ", "))
	}
	if len(c.OnlyInNew) > 0 {
		fmt.Fprintf(&b, "\nonly in NEW, not compared: %s\n", strings.Join(c.OnlyInNew, ", "))
	}
	if len(c.Notes) > 0 {
		b.WriteString("\nnotes:\n")
		for _, n := range c.Notes {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
