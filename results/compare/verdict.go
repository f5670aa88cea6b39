package compare

import (
	"fmt"
	"strings"
)

// verdict sums the checks up.
func (c *Comparison) verdict() {
	sc := c.scan()
	c.Checks = sc.checks
	c.Regressions = c.Regressions[:0]
	for _, r := range sc.regressions {
		c.Regressions = append(c.Regressions, describe(r.where, r.m, "->"))
	}
	c.Regression = len(c.Regressions) > 0
	var s string
	if c.Regression {
		s = fmt.Sprintf("REGRESSION in %d of %d checks: %s", len(c.Regressions), c.Checks, c.Regressions[0])
		if n := len(c.Regressions) - 1; n > 0 {
			s += fmt.Sprintf(" (and %d more)", n)
		}
	} else {
		s = fmt.Sprintf("no regression in %d checks", c.Checks)
	}
	for _, part := range c.asides() {
		s += "; " + part
	}
	c.Verdict = s
}

// place is one metric and where it is.
type place struct {
	where string // "in phase NAME" or "overall"
	m     *MetricChange
}

// scanned is what the checks of a comparison found.
type scanned struct {
	checks                      int
	regressions, notSig, noData []place
}

func (c *Comparison) scan() scanned {
	var sc scanned
	each := func(where string, ms []MetricChange) {
		for i := range ms {
			m := &ms[i]
			switch m.Verdict {
			case MetricRegression:
				sc.regressions = append(sc.regressions, place{where, m})
			case MetricNotSignificant:
				sc.notSig = append(sc.notSig, place{where, m})
			case MetricNotEnoughData:
				sc.noData = append(sc.noData, place{where, m})
			case MetricOK:
			default:
				continue
			}
			sc.checks++
		}
	}
	for i := range c.Phases {
		each("in phase "+c.Phases[i].Name, c.Phases[i].Metrics)
	}
	each("overall", c.Overall.Metrics)
	return sc
}

// asides are what the verdict adds after its first words: the changes
// beyond their limits that are not regressions, the phases not compared.
func (c *Comparison) asides() []string {
	sc := c.scan()
	names := func(ws []place) string {
		s := make([]string, len(ws))
		for i, w := range ws {
			s[i] = labelOf(w.m.Metric) + " " + w.where
		}
		return strings.Join(s, ", ")
	}
	var out []string
	if len(sc.notSig) > 0 {
		out = append(out, fmt.Sprintf("beyond its limit but not significant at alpha %g: %s", c.Test.Alpha, names(sc.notSig)))
	}
	if len(sc.noData) > 0 {
		out = append(out, "beyond its limit, not enough data to test: "+names(sc.noData))
	}
	for _, side := range []struct {
		name string
		s    Side
	}{{"BASE", c.Base}, {"NEW", c.New}} {
		if len(side.s.Damaged) > 0 {
			out = append(out, fmt.Sprintf("%s is a damaged run (%s): it covers only what was recorded", side.name, strings.Join(side.s.Damaged, ", ")))
		}
	}
	if len(c.OnlyInBase)+len(c.OnlyInNew) > 0 {
		var parts []string
		if len(c.OnlyInBase) > 0 {
			parts = append(parts, "only in BASE: "+strings.Join(c.OnlyInBase, ", "))
		}
		if len(c.OnlyInNew) > 0 {
			parts = append(parts, "only in NEW: "+strings.Join(c.OnlyInNew, ", "))
		}
		out = append(out, "phases not compared ("+strings.Join(parts, "; ")+")")
	}
	return out
}

// describe says one regression in a line.
func describe(where string, m *MetricChange, arrow string) string {
	s := fmt.Sprintf("%s %s: %s %s %s (%s, limit %s", labelOf(m.Metric), where,
		valueText(m.Base, m.Unit, m.BaseState), arrow, valueText(m.New, m.Unit, m.NewState), changeText(m), limitText(m))
	if m.Test != nil && m.Test.P != nil {
		s += ", p " + pText(*m.Test.P, true)
	}
	return s + ")"
}
