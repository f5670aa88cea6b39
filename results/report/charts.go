package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/gatecrash/gatecrash/results"
)

// maxChartBuckets is how many timeline buckets a chart draws at most: a
// longer timeline is drawn with neighbouring buckets merged, so that the
// HTML of a long run stays small (a 10-minute run at 1s buckets is drawn
// whole).
const maxChartBuckets = 600

// Colours of the charts, one per chartSeries, fixed so that a class always
// looks the same.
var (
	colOffered = color.RGBA{31, 119, 180, 255}
	col2xx     = color.RGBA{44, 160, 44, 255}
	col3xx     = color.RGBA{23, 190, 207, 255}
	col4xx     = color.RGBA{188, 189, 34, 255}
	col502     = color.RGBA{214, 39, 40, 255}
	col503     = color.RGBA{148, 103, 189, 255}
	col504     = color.RGBA{255, 127, 14, 255}
	col5xx     = color.RGBA{227, 119, 194, 255}
	colError   = color.RGBA{34, 34, 34, 255}
	colP50     = color.RGBA{31, 119, 180, 255}
	colP99     = color.RGBA{214, 39, 40, 255}
	colMasked  = color.RGBA{127, 127, 127, 255}
	colFaults  = []color.Color{
		color.RGBA{148, 103, 189, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{140, 86, 75, 255},
		color.RGBA{23, 190, 207, 255}, color.RGBA{188, 189, 34, 255}, color.RGBA{227, 119, 194, 255},
		color.RGBA{31, 119, 180, 255}, color.RGBA{44, 160, 44, 255},
	}
	colFaultPhase = color.RGBA{253, 232, 232, 255}
	colQuietPhase = []color.Color{color.RGBA{243, 245, 248, 255}, color.White}
	colGrid       = color.RGBA{225, 225, 225, 255}
)

// chartSeries is one line of a chart: a value per (merged) bucket, NaN
// where there is none.
type chartSeries struct {
	name   string
	color  color.Color
	dashed bool
	bars   bool // drawn as bars rather than a step line
	ys     []float64
}

// chartPanel is one plot of a chart; the panels of a chart share the time
// axis.
type chartPanel struct {
	ylabel string
	lines  []chartSeries
}

// chartBuckets is the report's timeline as the charts draw it: at most
// maxChartBuckets buckets, merged when there are more.
type chartBuckets struct {
	ts     []float64        // bucket starts
	width  float64          // bucket width in seconds
	merged int              // buckets of the report per bucket here
	end    float64          // the end of the time axis
	b      []results.Bucket // the merged buckets
}

// chartTimeline merges the report's buckets k at a time so that at most
// maxChartBuckets remain: counts add up, rates and p50 average, p99 is the
// largest.
func chartTimeline(r *results.Report) chartBuckets {
	w := r.Analysis.Bucket.Seconds()
	if w <= 0 {
		w = 1
	}
	k := max(1, (len(r.Timeline)+maxChartBuckets-1)/maxChartBuckets)
	tl := chartBuckets{width: w * float64(k), merged: k}
	for i := 0; i < len(r.Timeline); i += k {
		part := r.Timeline[i:min(i+k, len(r.Timeline))]
		m := results.Bucket{TS: part[0].TS, Phase: part[0].Phase, Status: map[string]int{}, Faults: map[string]int{}, Causes: map[string]int{}}
		lat, n := 0.0, 0
		ttft, nt := 0.0, 0
		for _, b := range part {
			mergeStreams(&m, b.Streams, &ttft, &nt)
			m.OfferedRate += b.OfferedRate / float64(len(part))
			m.AchievedRate += b.AchievedRate / float64(len(part))
			m.Requests += b.Requests
			m.Errors += b.Errors
			m.Masked += b.Masked
			for c, v := range b.Status {
				m.Status[c] += v
			}
			for c, v := range b.Faults {
				m.Faults[c] += v
			}
			for c, v := range b.Causes {
				m.Causes[c] += v
			}
			if x := b.Retries; x != nil {
				if m.Retries == nil {
					m.Retries = &results.Retries{}
				}
				m.Retries.Requests += x.Requests
				m.Retries.Tries += x.Tries
				m.Retries.UpstreamArrivals += x.UpstreamArrivals
				m.Retries.FirstTryFailures += x.FirstTryFailures
				m.Retries.UserFailures += x.UserFailures
			}
			if b.Requests > 0 {
				lat += b.LatencyMS.P50
				n++
				m.LatencyMS.P99 = max(m.LatencyMS.P99, b.LatencyMS.P99)
			}
		}
		if n > 0 {
			m.LatencyMS.P50 = lat / float64(n)
		}
		tl.ts = append(tl.ts, m.TS)
		tl.b = append(tl.b, m)
	}
	if n := len(r.Timeline); n > 0 {
		tl.end = r.Timeline[n-1].TS + w
	}
	for _, p := range r.Phases {
		tl.end = max(tl.end, p.EndS)
	}
	if tl.end <= 0 {
		tl.end = 1
	}
	return tl
}

// perSecond returns a series of a count per bucket, as a rate.
func (tl chartBuckets) perSecond(count func(results.Bucket) int) []float64 {
	ys := make([]float64, len(tl.b))
	for i, b := range tl.b {
		ys[i] = float64(count(b)) / tl.width
	}
	return ys
}

// bucketClass counts a bucket's answers whose code is within [lo, hi].
func bucketClass(lo, hi int) func(results.Bucket) int {
	return func(b results.Bucket) int {
		n := 0
		for c, v := range b.Status {
			if code, err := strconv.Atoi(c); err == nil && code >= lo && code <= hi {
				n += v
			}
		}
		return n
	}
}

func htmlCharts(r *results.Report) ([]htmlChart, error) {
	tl := chartTimeline(r)
	merged := ""
	if tl.merged > 1 {
		merged = fmt.Sprintf(" Each point merges %d buckets of the chartBuckets (counts add up, p99 is the largest).", tl.merged)
	}
	statusSVG, err := chartSVG(r, tl, statusPanels(r, tl))
	if err != nil {
		return nil, err
	}
	latSVG, err := chartSVG(r, tl, latencyPanels(tl))
	if err != nil {
		return nil, err
	}
	causeSVG, err := chartSVG(r, tl, causePanels(r, tl))
	if err != nil {
		return nil, err
	}
	charts := []htmlChart{
		{ID: "status", Title: "Answers over time", SVG: statusSVG,
			Caption: "Above, the offered rate and the answers per second by status class; below, the failures per second: 5xx codes and errors (no answer at all, or an answer cut after its headers). Phases are shaded, those with faults in red." + merged},
		{ID: "latency", Title: "Latency over time", SVG: latSVG,
			Caption: "p50 and p99 of the latencies of the requests sent in each bucket, in milliseconds (buckets without a request are skipped)." + merged},
		{ID: "causes", Title: "502 causes over time", SVG: causeSVG,
			Caption: "Above, the 502s per second by cause; below, the faults the proxy applied per second by kind (with each kind's Pearson correlation with the 502 timeline) and the masked ones. " + causeCaption(r) + merged},
	}
	if r.Streams != nil {
		streamSVG, err := chartSVG(r, tl, streamPanels(tl))
		if err != nil {
			return nil, err
		}
		charts = append(charts, htmlChart{ID: "streams", Title: "Streams over time", SVG: streamSVG,
			Caption: "Above, p50 and p99 of the time to first token of the streams sent in each bucket, in milliseconds; in the middle, the tokens they carried per second; below, the streams cut and stalled per second." + merged})
	}
	if r.Retries == nil {
		return charts, nil
	}
	retrySVG, err := chartSVG(r, tl, retryPanels(tl))
	if err != nil {
		return nil, err
	}
	return append(charts, htmlChart{ID: "retry-load", Title: "Offered load and the load the retries made", SVG: retrySVG,
		Caption: "Above, the offered rate (first tries), the tries per second at the gateway and the arrivals per second at the upstream (the client's and the gateway's retries); below, the requests per second whose first try failed and those whose last did, as users saw them. Each request counts in the bucket its first try was sent in, with all its tries and arrivals." + merged}), nil
}

// retryPanels are the chart of a run with a client retry policy: above,
// the load offered, at the gateway and at the upstream; below, the
// failures of first tries and those users saw.
func retryPanels(tl chartBuckets) []chartPanel {
	count := func(f func(*results.Retries) int) func(results.Bucket) int {
		return func(b results.Bucket) int {
			if b.Retries == nil {
				return 0
			}
			return f(b.Retries)
		}
	}
	offered := make([]float64, len(tl.b))
	for i, b := range tl.b {
		offered[i] = b.OfferedRate
	}
	return []chartPanel{
		{ylabel: "requests/s", lines: []chartSeries{
			{name: "offered", color: colOffered, dashed: true, ys: offered},
			{name: "gateway tries", color: col2xx, ys: tl.perSecond(count(func(x *results.Retries) int { return x.Tries }))},
			{name: "upstream arrivals", color: col502, ys: tl.perSecond(count(func(x *results.Retries) int { return x.UpstreamArrivals }))},
		}},
		{ylabel: "failures/s", lines: []chartSeries{
			{name: "first-try failures", color: col504, ys: tl.perSecond(count(func(x *results.Retries) int { return x.FirstTryFailures }))},
			{name: "user-seen failures", color: colError, ys: tl.perSecond(count(func(x *results.Retries) int { return x.UserFailures }))},
		}},
	}
}

// statusTotal counts the report's answers with a status in [lo, hi].
func statusTotal(r *results.Report, lo, hi int) int {
	n := 0
	for c, v := range r.Totals.Status {
		if code, err := strconv.Atoi(c); err == nil && code >= lo && code <= hi {
			n += v
		}
	}
	return n
}

// statusPanels are chart (a): above, the offered rate and the answers per
// second by status class; below, the failures per second.
func statusPanels(r *results.Report, tl chartBuckets) []chartPanel {
	total := func(lo, hi int) int { return statusTotal(r, lo, hi) }
	offered := make([]float64, len(tl.b))
	for i, b := range tl.b {
		offered[i] = b.OfferedRate
	}
	top := chartPanel{ylabel: "requests/s", lines: []chartSeries{
		{name: "offered", color: colOffered, dashed: true, ys: offered},
		{name: "2xx", color: col2xx, ys: tl.perSecond(bucketClass(200, 299))},
	}}
	if total(300, 399) > 0 {
		top.lines = append(top.lines, chartSeries{name: "3xx", color: col3xx, ys: tl.perSecond(bucketClass(300, 399))})
	}
	if total(400, 499) > 0 {
		top.lines = append(top.lines, chartSeries{name: "4xx", color: col4xx, ys: tl.perSecond(bucketClass(400, 499))})
	}
	bottom := chartPanel{ylabel: "failures/s", lines: []chartSeries{
		{name: "502", color: col502, ys: tl.perSecond(bucketClass(502, 502))},
	}}
	for _, c := range []struct {
		name   string
		lo, hi int
		col    color.Color
	}{{"503", 503, 503, col503}, {"504", 504, 504, col504}} {
		if total(c.lo, c.hi) > 0 {
			bottom.lines = append(bottom.lines, chartSeries{name: c.name, color: c.col, ys: tl.perSecond(bucketClass(c.lo, c.hi))})
		}
	}
	other5xx := func(b results.Bucket) int {
		return bucketClass(500, 599)(b) - bucketClass(502, 504)(b)
	}
	if total(500, 599)-total(502, 504) > 0 {
		bottom.lines = append(bottom.lines, chartSeries{name: "other 5xx", color: col5xx, ys: tl.perSecond(other5xx)})
	}
	if r.Totals.Errors > 0 {
		bottom.lines = append(bottom.lines, chartSeries{name: "error", color: colError, ys: tl.perSecond(func(b results.Bucket) int { return b.Errors })})
	}
	return []chartPanel{top, bottom}
}

// latencyPanels are chart (b): p50 and p99 per bucket.
func latencyPanels(tl chartBuckets) []chartPanel {
	p50, p99 := make([]float64, len(tl.b)), make([]float64, len(tl.b))
	for i, b := range tl.b {
		p50[i], p99[i] = math.NaN(), math.NaN()
		if b.Requests > 0 {
			p50[i], p99[i] = b.LatencyMS.P50, b.LatencyMS.P99
		}
	}
	return []chartPanel{{ylabel: "latency ms", lines: []chartSeries{
		{name: "p99", color: colP99, ys: p99},
		{name: "p50", color: colP50, ys: p50},
	}}}
}

// causePanels are chart (c): above, the 502s per second by cause, the most
// frequent first; below, the faults per kind and the masked ones.
// report.json has no per-cause count of faults per bucket, so this shows
// the faults per kind beside the 502s.
func causePanels(r *results.Report, tl chartBuckets) []chartPanel {
	causePanel := chartPanel{ylabel: "502s/s"}
	for i, c := range r.Causes {
		name := c.Cause
		causePanel.lines = append(causePanel.lines, chartSeries{name: name, color: colFaults[i%len(colFaults)], ys: tl.perSecond(func(b results.Bucket) int { return b.Causes[name] })})
	}
	if len(causePanel.lines) == 0 {
		causePanel.lines = []chartSeries{{name: "502", color: col502, bars: true, ys: tl.perSecond(bucketClass(502, 502))}}
	}
	return []chartPanel{causePanel, faultPanel(r, tl)}
}

// faultPanel shows the faults per second by kind, the most frequent
// first, each with its correlation with the 502 timeline, and the masked
// ones.
func faultPanel(r *results.Report, tl chartBuckets) chartPanel {
	kinds := map[string]int{}
	for _, b := range tl.b {
		for k, n := range b.Faults {
			kinds[k] += n
		}
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if kinds[names[i]] != kinds[names[j]] {
			return kinds[names[i]] > kinds[names[j]]
		}
		return names[i] < names[j]
	})
	pearson := map[string]string{}
	// Kinds active in the same seconds as another: no r of their own.
	shown, _ := r.Correlated()
	for _, c := range shown {
		if c.Pearson != nil {
			pearson[c.Kind] = fmt.Sprintf(" (r %.2f)", *c.Pearson)
		}
	}
	panel := chartPanel{ylabel: "faults/s"}
	for i, k := range names {
		panel.lines = append(panel.lines, chartSeries{name: k + pearson[k], color: colFaults[i%len(colFaults)], ys: tl.perSecond(func(b results.Bucket) int { return b.Faults[k] })})
	}
	if r.Masked.Count > 0 {
		panel.lines = append(panel.lines, chartSeries{name: "masked", color: colMasked, dashed: true, ys: tl.perSecond(func(b results.Bucket) int { return b.Masked })})
	}
	return panel
}

// causeCaption sums up the 502s' causes over the whole run.
func causeCaption(r *results.Report) string {
	var shares []string
	for _, c := range r.Causes {
		shares = append(shares, fmt.Sprintf("%s %s", results.Percent(c.Share), c.Cause))
	}
	if len(shares) > 0 {
		return "The 502s' causes over the whole run: " + strings.Join(shares, ", ") + "."
	}
	return "No 502s."
}

// chartWidth and the other lengths lay out every chart.
const (
	chartWidth  = 10 * vg.Inch
	panelHeight = 2.3 * vg.Inch
	legendWidth = 1.6 * vg.Inch
)

// chartSVG draws panels, one above the other, over the run's time axis
// with the phases shaded and named, each with its legend on the right,
// and returns the SVG element.
func chartSVG(r *results.Report, tl chartBuckets, panels []chartPanel) (template.HTML, error) {
	height := panelHeight*vg.Length(len(panels)) + 0.4*vg.Inch
	c := vgsvg.New(chartWidth, height)
	dc := draw.New(c)
	area := draw.Crop(dc, 0, -legendWidth, 0, 0)
	legendArea := draw.Crop(dc, chartWidth-legendWidth+8, 0, 0, 0)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadTop: 6, PadBottom: 4, PadLeft: 4, PadRight: 8, PadY: 10}

	plots := make([][]*plot.Plot, len(panels))
	legends := make([]plot.Legend, len(panels))
	for i, pn := range panels {
		p := plot.New()
		styleFonts(p)
		if i == len(panels)-1 {
			p.X.Label.Text = "seconds from the start"
		}
		p.Y.Label.Text = pn.ylabel

		ymax := 0.0
		for _, s := range pn.lines {
			for _, y := range s.ys {
				if !math.IsNaN(y) {
					ymax = max(ymax, y)
				}
			}
		}
		if ymax <= 0 {
			ymax = 1
		}
		ymax *= 1.18 // room for the phase names

		if err := shadePhases(p, r.Phases, ymax, i == 0); err != nil {
			return "", err
		}
		grid := plotter.NewGrid()
		grid.Vertical.Width = 0
		grid.Horizontal.Color = colGrid
		p.Add(grid)

		legends[i] = plot.NewLegend()
		legends[i].TextStyle.Font = chartFont(9)
		legends[i].Top, legends[i].Left = true, true
		legends[i].Padding = vg.Points(3)
		for _, s := range pn.lines {
			thumbs, err := addSeries(p, tl, s)
			if err != nil {
				return "", err
			}
			if len(thumbs) > 0 {
				legends[i].Add(s.name, thumbs[0])
			}
		}
		p.X.Tick.Marker = secondTicks{}
		p.Y.Tick.Marker = plainTicks{}
		p.X.Min, p.X.Max = 0, tl.end
		p.Y.Min, p.Y.Max = 0, ymax
		plots[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(plots, tiles, area)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
		legends[i].Draw(tiles.At(legendArea, 0, i))
	}
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("html report: chart: %w", err)
	}
	return inlineSVG(b.String()), nil
}

// inlineSVG readies gonum's SVG document for inlining in HTML: no XML
// declaration, and fonts that fall back to Arial's metrics and then to
// any sans-serif font where Liberation Sans is not installed. Every text
// in it went through gonum's canvas, which escapes it.
func inlineSVG(s string) template.HTML {
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	s = strings.ReplaceAll(s, "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif;")
	s = strings.Replace(s, "<svg ", `<svg role="img" class="chart" `, 1)
	return template.HTML(s) // #nosec: made by gonum's canvas, which escapes text
}

// addSeries adds s to p as step lines (broken where a value is NaN) or as
// bars, and returns what its legend entry shows.
func addSeries(p *plot.Plot, tl chartBuckets, s chartSeries) ([]plot.Thumbnailer, error) {
	if s.bars {
		var bins []plotter.HistogramBin
		for i, y := range s.ys {
			if !math.IsNaN(y) && y > 0 {
				bins = append(bins, plotter.HistogramBin{Min: tl.ts[i], Max: tl.ts[i] + tl.width, Weight: y})
			}
		}
		h := &plotter.Histogram{Bins: bins, Width: tl.width, FillColor: s.color}
		h.LineStyle.Width = 0
		p.Add(h)
		return []plot.Thumbnailer{h}, nil
	}
	var out []plot.Thumbnailer
	var seg plotter.XYs
	flush := func(end float64) error {
		if len(seg) == 0 {
			return nil
		}
		// A step line holds each value over its bucket.
		seg = append(seg, plotter.XY{X: end, Y: seg[len(seg)-1].Y})
		l, err := plotter.NewLine(seg)
		if err != nil {
			return fmt.Errorf("html report: chart: %w", err)
		}
		l.StepStyle = plotter.PostStep
		l.LineStyle.Color = s.color
		l.LineStyle.Width = vg.Points(1.4)
		if s.dashed {
			l.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(l)
		out = append(out, l)
		seg = nil
		return nil
	}
	for i, y := range s.ys {
		if math.IsNaN(y) {
			if err := flush(tl.ts[i]); err != nil {
				return nil, err
			}
			continue
		}
		seg = append(seg, plotter.XY{X: tl.ts[i], Y: y})
	}
	if len(tl.ts) > 0 {
		if err := flush(tl.ts[len(tl.ts)-1] + tl.width); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		// Nothing to draw: the legend still names the chartSeries.
		l := &plotter.Line{LineStyle: draw.LineStyle{Color: s.color, Width: vg.Points(1.4)}}
		if s.dashed {
			l.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		out = append(out, l)
	}
	return out, nil
}
