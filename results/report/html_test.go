package report

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/internal/golden"
	"github.com/gatecrash/gatecrash/internal/htmltest"
	"github.com/gatecrash/gatecrash/results"
)

// chartRE matches one inline SVG chart.
var chartRE = regexp.MustCompile(`(?s)<svg .*?</svg>`)

func renderHTML(t *testing.T, r *results.Report, vs []shownVerdict) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeHTML(&b, r, vs); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestHTMLGolden compares the page with a golden file, each chart cut
// down to a placeholder (TestHTMLCharts checks the charts), so that the
// file stays readable and a new gonum release does not move it.
func TestHTMLGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		vs   []shownVerdict
	}{
		{"report.html", nil},
		{"report-expectations.html", fixtureVerdicts()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			page := renderHTML(t, outputFixture(), tt.vs)
			n := 0
			page = chartRE.ReplaceAllStringFunc(page, func(s string) string {
				n++
				return fmt.Sprintf("<svg><!-- chart %d --></svg>", n)
			})
			if n != 3 {
				t.Errorf("got %d charts, want 3", n)
			}
			golden.Check(t, tt.name, []byte(page))
		})
	}
}

// TestHTMLCharts checks that the three charts are there, drawn by gonum
// (text, paths), with the series and phase names they must show.
func TestHTMLCharts(t *testing.T) {
	page := renderHTML(t, outputFixture(), nil)
	charts := chartRE.FindAllString(page, -1)
	if len(charts) != 3 {
		t.Fatalf("got %d charts, want 3", len(charts))
	}
	for i, want := range [][]string{
		{">offered<", ">2xx<", ">502<", ">503<", ">504<", ">error<", ">requests/s<", ">failures/s<", ">baseline<", ">resets<", ">recover<", ">seconds from the start<"},
		{">p50<", ">p99<", ">latency ms<", ">resets<"},
		{">reset (r 0.91)<", ">latency (r 0.42)<", ">masked<", ">reset-before-headers<", ">gateway-local<", ">faults/s<", ">502s/s<"},
	} {
		c := charts[i]
		if !strings.Contains(c, "<path") || !strings.Contains(c, `viewBox="0 0 `) {
			t.Errorf("chart %d has no path or no viewBox", i)
		}
		for _, w := range want {
			if !strings.Contains(c, w) {
				t.Errorf("chart %d does not show %q", i, w)
			}
		}
		if strings.Contains(c, "<?xml") {
			t.Errorf("chart %d keeps its XML declaration", i)
		}
	}
	for _, id := range []string{`id="status"`, `id="latency"`, `id="causes"`, `id="cause-table"`, `id="phases"`, `id="expectations"`} {
		if !strings.Contains(page, id) {
			t.Errorf("the page has no section %s", id)
		}
	}
}

// TestHTMLEscapes renders a report whose phase names, scenario name,
// gateway words, gateway evidence, diagnosis, fault kinds and
// expectations hold markup, and parses the page as a browser does: no
// script element, no event handler attribute, and the strings show as
// written.
func TestHTMLEscapes(t *testing.T) {
	r := evilFixture()
	vs := []shownVerdict{{Expr: "p99 < 1s in <script>alert(4)</script>", OK: false, Value: "<b>2s</b>"}}
	page := renderHTML(t, r, vs)
	if strings.Contains(strings.ToLower(page), "<script") {
		i := strings.Index(strings.ToLower(page), "<script")
		t.Errorf("the page holds an unescaped <script>: ...%s...", page[max(0, i-200):min(len(page), i+100)])
	}
	if strings.Contains(page, "<img") {
		t.Errorf("the page holds an unescaped <img>")
	}
	all := htmltest.Inert(t, page)
	for _, want := range []string{
		"<script>alert(1)</script>",             // a phase name, in the table and the charts
		"p99 < 1s in <script>alert(4)</script>", // an expectation
		"<b>2s</b>",                             // its measured value
		"<script>alert(3)</script>",             // the gateway's evidence
		`"<script>alert(1)</script> & \"quoted\" </td></tr></table>" (3)`, // the gateway's words
		// A fault that never bit, in its banner.
		"Warning: keepalive (phase <script>alert(1)</script>) never applied: *no* `connection` was idle 50ms | [x](y).",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the page does not show %q as text", want)
		}
	}
	// The chart that names the phases names the evil one, escaped.
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the escaped phase name is missing")
	}
}

// TestHTMLSelfContained checks that the page loads nothing: no URL but
// the SVG namespaces, no external resource, and a CSP that forbids
// loading anything.
func TestHTMLSelfContained(t *testing.T) {
	page := renderHTML(t, outputFixture(), fixtureVerdicts())
	rest := strings.NewReplacer("http://www.w3.org/2000/svg", "", "http://www.w3.org/1999/xlink", "").Replace(page)
	for _, bad := range []string{"http:", "https:", "//cdn", "<link", "@import", "url(", "src=", "<script"} {
		if strings.Contains(rest, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	if !strings.Contains(page, `content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`) {
		t.Errorf("the page has no Content-Security-Policy that forbids loading")
	}
}

// longReport is a run of n one-second buckets at 200/s with a burst of
// 502s in its middle, as a 10-minute (n=600) or longer run gives.
func longReport(n int) *results.Report {
	r := outputFixture()
	r.Timeline = nil
	third := float64(n / 3)
	r.Phases[0].EndS, r.Phases[1].StartS, r.Phases[1].EndS, r.Phases[2].StartS, r.Phases[2].EndS = third, third, 2*third, 2*third, float64(n)
	for i := range n {
		b := results.Bucket{TS: float64(i), Phase: "resets", OfferedRate: 200, AchievedRate: 200, Requests: 200,
			Status: map[string]int{"200": 200}, Faults: map[string]int{}, LatencyMS: results.BucketLatency{P50: 1.2 + float64(i%7)/10, P99: 3 + float64(i%13)/3}}
		if float64(i) >= third && float64(i) < 2*third {
			b.Status["200"], b.Status["502"] = 190+i%5, 10-i%5
			b.Faults["reset"], b.Faults["latency"] = 40+i%9, 20+i%4
			b.Masked = 30 + i%6
		}
		r.Timeline = append(r.Timeline, b)
	}
	r.DurationS = float64(n)
	return r
}

// TestHTMLSize keeps the page of a long run small: a 10-minute run is
// drawn bucket by bucket, an hour-long one merged to at most
// maxChartBuckets points a series.
func TestHTMLSize(t *testing.T) {
	for _, tt := range []struct {
		buckets  int
		maxBytes int
		merged   bool
	}{
		{600, 600 << 10, false},
		{3600, 600 << 10, true},
	} {
		t.Run(fmt.Sprint(tt.buckets), func(t *testing.T) {
			start := time.Now()
			page := renderHTML(t, longReport(tt.buckets), fixtureVerdicts())
			t.Logf("%d buckets: %d bytes in %v", tt.buckets, len(page), time.Since(start))
			if len(page) > tt.maxBytes {
				t.Errorf("%d buckets: the page is %d bytes, want at most %d", tt.buckets, len(page), tt.maxBytes)
			}
			if got := strings.Contains(page, "Each point merges"); got != tt.merged {
				t.Errorf("%d buckets: says it merged buckets: %v, want %v", tt.buckets, got, tt.merged)
			}
		})
	}
}

func TestChartTimelineMerge(t *testing.T) {
	tl := chartTimeline(longReport(1250))
	if tl.merged != 3 || len(tl.b) != 417 || tl.width != 3 {
		t.Fatalf("1250 buckets: got %d merged buckets of %d (width %v), want 417 of 3 (width 3)", len(tl.b), tl.merged, tl.width)
	}
	r := longReport(1250)
	sum := 0
	for _, b := range r.Timeline {
		sum += b.Status["502"]
	}
	got := 0
	for _, b := range tl.b {
		got += b.Status["502"]
	}
	if got != sum {
		t.Errorf("502s after merging: got %d, want %d", got, sum)
	}
	if tl.end != 1250 {
		t.Errorf("end: got %v, want 1250", tl.end)
	}
}

func TestHTMLEmptyReport(t *testing.T) {
	r := &results.Report{Schema: results.Schema, Scenario: "empty", Diagnosis: "No requests were recorded."}
	page := renderHTML(t, r, nil)
	if n := len(chartRE.FindAllString(page, -1)); n != 3 {
		t.Errorf("an empty report: got %d charts, want 3", n)
	}
}

func TestSecondTicks(t *testing.T) {
	for _, tt := range []struct {
		lo, hi float64
		want   string
	}{
		{0, 8, "0 1 2 3 4 5 6 7 8"},
		{0, 12.5, "0 2 4 6 8 10 12"},
		{0, 600, "0 60 120 180 240 300 360 420 480 540 600"},
		{0, 3601, "0 600 1200 1800 2400 3000 3600"},
		{0, 0.8, "0.0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8"},
	} {
		var labels []string
		minor := 0
		for _, tk := range (secondTicks{}).Ticks(tt.lo, tt.hi) {
			if tk.Label == "" {
				minor++
				continue
			}
			labels = append(labels, tk.Label)
		}
		if got := strings.Join(labels, " "); got != tt.want {
			t.Errorf("%v..%v: got labels %q, want %q", tt.lo, tt.hi, got, tt.want)
		}
		if minor == 0 {
			t.Errorf("%v..%v: no minor ticks", tt.lo, tt.hi)
		}
	}
}
