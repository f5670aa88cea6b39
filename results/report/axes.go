package report

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/gatecrash/gatecrash/results"
)

// The frame of every chart: fonts, the shaded phases, the ticks.

// chartFont is the font of every text in the charts: Liberation Sans,
// which gonum measures text with, and which has Arial's metrics.
func chartFont(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// styleFonts sets every text style of p to the chart font.
func styleFonts(p *plot.Plot) {
	p.Title.TextStyle.Font = chartFont(11)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = chartFont(10)
		a.Tick.Label.Font = chartFont(9)
		a.LineStyle.Color = colMasked
		a.Tick.LineStyle.Color = colMasked
	}
}

// shadePhases shades each phase, red for those with faults, and names it
// at the top when named is true, cut to the width the phase has.
func shadePhases(p *plot.Plot, phases []results.PhaseReport, ymax float64, named bool) error {
	quiet := 0
	var xys plotter.XYs
	var labels []string
	for _, ph := range phases {
		if ph.EndS <= ph.StartS {
			continue
		}
		col := colFaultPhase
		var fill color.Color = col
		if len(ph.Faults) == 0 {
			fill = colQuietPhase[quiet%len(colQuietPhase)]
			quiet++
		}
		poly, err := plotter.NewPolygon(plotter.XYs{{X: ph.StartS, Y: 0}, {X: ph.EndS, Y: 0}, {X: ph.EndS, Y: ymax}, {X: ph.StartS, Y: ymax}})
		if err != nil {
			return fmt.Errorf("html report: chart: %w", err)
		}
		poly.Color = fill
		poly.LineStyle.Width = 0
		p.Add(poly)
		xys = append(xys, plotter.XY{X: (ph.StartS + ph.EndS) / 2, Y: ymax})
		labels = append(labels, ph.Name)
	}
	if !named || len(xys) == 0 {
		return nil
	}
	style := text.Style{Color: colError, Font: chartFont(9), XAlign: draw.XCenter, YAlign: draw.YTop, Handler: p.TextHandler}
	// The data area is about the chart's width less its legend and axis.
	span := 0.0
	for _, ph := range phases {
		span = max(span, ph.EndS)
	}
	dataWidth := chartWidth - legendWidth - 0.8*vg.Inch
	for i, ph := range phases {
		if i >= len(labels) || span <= 0 {
			break
		}
		room := dataWidth * vg.Length((ph.EndS-ph.StartS)/span)
		labels[i] = fitText(style, labels[i], room-4)
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return fmt.Errorf("html report: chart: %w", err)
	}
	for i := range l.TextStyle {
		l.TextStyle[i] = style
	}
	l.Offset = vg.Point{Y: -3}
	p.Add(l)
	return nil
}

// secondTicks marks a time axis in seconds every 1, 2, 5, 10, 15, 30
// seconds or whole minutes, about ten labelled ticks whatever the run's
// length (gonum's default gives three), with unlabelled ones between.
type secondTicks struct{}

// Ticks implements plot.Ticker.
func (secondTicks) Ticks(lo, hi float64) []plot.Tick {
	steps := []struct{ major, minor float64 }{
		{0.1, 0.05}, {0.2, 0.1}, {0.5, 0.1}, {1, 0.5}, {2, 1}, {5, 1}, {10, 5}, {15, 5}, {30, 10},
		{60, 15}, {120, 30}, {300, 60}, {600, 120}, {900, 300}, {1800, 600}, {3600, 900}, {7200, 1800},
	}
	st := steps[len(steps)-1]
	for _, s := range steps {
		if (hi-lo)/s.major <= 10 {
			st = s
			break
		}
	}
	var ticks []plot.Tick
	for i := math.Ceil(lo / st.minor); i*st.minor <= hi+st.minor/1000; i++ {
		v := i * st.minor
		t := plot.Tick{Value: v}
		if r := math.Round(v / st.major); math.Abs(v-r*st.major) < st.minor/1000 {
			decimals := 0
			if st.major < 1 {
				decimals = 1
			}
			t.Label = strconv.FormatFloat(r*st.major, 'f', decimals, 64)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// plainTicks are gonum's default ticks labelled without trailing zeros
// ("25", not "25.00").
type plainTicks struct{}

// Ticks implements plot.Ticker.
func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(math.Round(t.Value*1e6)/1e6, 'f', -1, 64)
		}
	}
	return ticks
}

// fitText cuts s, with an ellipsis, to fit in width; "" when nothing fits.
func fitText(st text.Style, s string, width vg.Length) string {
	if st.Width(s) <= width {
		return s
	}
	rs := []rune(s)
	for n := len(rs) - 1; n > 0; n-- {
		if t := string(rs[:n]) + "…"; st.Width(t) <= width {
			return t
		}
	}
	return ""
}
