package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// HTML writes the report as one self-contained HTML page: inline CSS
// and inline SVG charts (drawn by gonum.org/v1/plot), no script, and a
// Content-Security-Policy that forbids loading anything, so it shows the
// same offline and can be kept as a CI artifact. Under its title, a
// banner per damaged file of the run folder and per fault that never
// bit. The charts: status
// classes and offered rate over time with the phases shaded; latency p50
// and p99 over time; the faults injected and the 502s over time. Then the
// causes of each failure class, the masked faults and their price, the
// causes of slow answers (over the run and per phase), the advice, the
// phases, the expectations, and the example requests (Report.Examples):
// every cause row, of failures and of slow answers, links to the stories
// of its first requests. Every
// string that came from the scenario or a target is escaped: the page is
// made with html/template, and the charts' text with gonum's SVG canvas,
// which escapes what it writes.
func HTML(w io.Writer, r *results.Report) error {
	return writeHTML(w, r, shownVerdicts(r))
}

func writeHTML(w io.Writer, r *results.Report, vs []shownVerdict) error {
	d, err := htmlPage(r, vs)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, d); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}

// htmlData is what the page template reads.
type htmlData struct {
	R         *results.Report
	Started   string
	Duration  string
	Verdicts  []shownVerdict
	Failed    int
	NotJudged string
	Charts    []htmlChart
	Causes    []htmlCauses
	PhaseHead []htmlCell
	Phases    [][]htmlCell
	Total     []htmlCell
	Masked    string
	Retries   *htmlRetries
	Streams   *htmlStreams
	Correl    string
	// SameSeconds say which fault kinds were active in the same seconds,
	// whose correlations Correl leaves out.
	SameSeconds []string
	SendLag     string
	// Slow is the causes of slow answers; nil for a report written
	// before they were measured.
	Slow *htmlSlow
	// Price is what the masked faults cost; Advice the settings to
	// change; nil when there is none.
	Price  *htmlTable
	Advice *htmlTable
	// Examples are the stories of Report.Examples, each with its anchor.
	Examples []htmlExample
}

// htmlTable is a table of plain cells.
type htmlTable struct {
	Head []htmlCell
	Rows [][]htmlCell
}

// htmlTableOf makes a table's cells, figures aligned right.
func htmlTableOf(t *table) *htmlTable {
	if t == nil {
		return nil
	}
	h := &htmlTable{}
	for i, name := range t.head {
		h.Head = append(h.Head, htmlCell{Text: name, Num: !t.isText(i)})
	}
	for _, row := range t.rows {
		cells := make([]htmlCell, len(row))
		for i, c := range row {
			cells[i] = htmlCell{Text: c, Num: !t.isText(i)}
		}
		h.Rows = append(h.Rows, cells)
	}
	return h
}

// htmlSlow is the section of the causes of slow answers: the summary,
// the table of causes (each row linked to its first examples), the table
// per phase.
type htmlSlow struct {
	Summary string
	Head    []htmlCell
	Rows    []htmlLinkedRow
	Phases  *htmlTable
}

// htmlLinkedRow is a row of cells and the links to its examples.
type htmlLinkedRow struct {
	Cells    []htmlCell
	Examples []htmlLink
}

// htmlLink is a link to an example's anchor on the page.
type htmlLink struct {
	Href, Text string
}

// htmlExample is one example request: its anchor, what it is an example
// of, and its story as explain tells it.
type htmlExample struct {
	ID, Title string
	Of        []string
	Story     string
}

// htmlRetries is what the client retry policy bought and cost: in
// words, and the table of it per phase.
type htmlRetries struct {
	Words string
	Head  []htmlCell
	Rows  [][]htmlCell
}

// htmlRetryTable returns the client retries section; nil without a policy.
func htmlRetryTable(r *results.Report) *htmlRetries {
	if r.Retries == nil {
		return nil
	}
	h := &htmlRetries{Words: r.Retries.Bought() + " " + r.Retries.Cost()}
	for i, name := range retryHead {
		h.Head = append(h.Head, htmlCell{Text: name, Num: i > 0})
	}
	for _, row := range retryRows(r) {
		cells := make([]htmlCell, len(row))
		for i, c := range row {
			cells[i] = htmlCell{Text: c, Num: i > 0, Bad: retryHead[i] == "user fail" && c != results.Percent(0)}
		}
		h.Rows = append(h.Rows, cells)
	}
	return h
}

// htmlStreams is the streaming answers' section: the buffering warning,
// and the table per phase.
type htmlStreams struct {
	Buffered string
	Head     []htmlCell
	Rows     [][]htmlCell
}

// htmlStreamTable returns the streams section; nil without streams.
func htmlStreamTable(r *results.Report) *htmlStreams {
	rows := streamRows(r)
	if rows == nil {
		return nil
	}
	h := &htmlStreams{}
	if x := r.Streams.Buffering; x != nil {
		h.Buffered = x.Warning
	}
	for i, name := range streamHead {
		h.Head = append(h.Head, htmlCell{Text: name, Num: i > 0})
	}
	for _, row := range rows {
		cells := make([]htmlCell, len(row))
		for i, c := range row {
			cells[i] = htmlCell{Text: c, Num: i > 0, Bad: (streamHead[i] == "cut" || streamHead[i] == "stalled") && c != "0"}
		}
		h.Rows = append(h.Rows, cells)
	}
	return h
}

type htmlChart struct {
	ID, Title, Caption string
	SVG                template.HTML
}

type htmlCauses struct {
	What string
	Rows []htmlCauseRow
}

type htmlCauseRow struct {
	Cause, Meaning, Count, Share, Gateway string
	Exact, Temporal, Signature, None      int
	// Examples link to the first requests of the cause.
	Examples []htmlLink
}

// htmlCell is one cell of a table; Num aligns it right, Bad marks a
// failure count above zero.
type htmlCell struct {
	Text     string
	Num, Bad bool
}

func htmlPage(r *results.Report, vs []shownVerdict) (*htmlData, error) {
	d := &htmlData{
		R:        r,
		Started:  r.Started.UTC().Format("2006-01-02T15:04:05Z"),
		Duration: results.Secs(r.DurationS),
		Verdicts: vs,
		Failed:   failedShown(vs),
	}
	if len(vs) > 0 {
		d.NotJudged = notJudged(len(vs))
	}
	charts, err := htmlCharts(r)
	if err != nil {
		return nil, err
	}
	d.Charts = charts
	d.Causes = htmlCauseTables(r)
	d.Slow = htmlSlowSection(r)
	d.Price = htmlTableOf(priceTable(r))
	d.Advice = htmlTableOf(adviceTable(r))
	d.Examples = htmlExamples(r)
	d.PhaseHead, d.Phases, d.Total = htmlPhaseTable(r)
	d.Retries = htmlRetryTable(r)
	d.Streams = htmlStreamTable(r)
	if r.Masked.Faults > 0 {
		d.Masked = maskedSentence(r.Masked, func(s string) string { return s })
	}
	var cs []string
	shown, same := r.Correlated()
	for _, c := range shown {
		cs = append(cs, c.Kind+" "+pearsonCell(c))
	}
	d.Correl = strings.Join(cs, ", ")
	for _, w := range same {
		d.SameSeconds = append(d.SameSeconds, upperFirst(w)+".")
	}
	l := r.SendLagMS
	d.SendLag = fmt.Sprintf("p50 %s, p99 %s, max %s", results.Decimal(l.P50), results.Decimal(l.P99), results.Decimal(l.Max))
	if l.Behind {
		d.SendLag += ": the attacker fell behind its schedule, so plain latencies understate (report.json has the corrected ones)"
	}
	return d, nil
}

// htmlCauseTables are the tables of causes, one per failure class.
func htmlCauseTables(r *results.Report) []htmlCauses {
	var out []htmlCauses
	for _, cc := range causeSections(r) {
		hc := htmlCauses{What: cc.what}
		for _, c := range cc.causes {
			hc.Rows = append(hc.Rows, htmlCauseRow{
				Cause: c.Cause, Meaning: causes.Meaning(c.Cause), Count: strconv.Itoa(c.Count), Share: results.Percent(c.Share),
				Gateway: saidCell(c.GatewayWords),
				Exact:   c.Evidence.Exact, Temporal: c.Evidence.Temporal, Signature: c.Evidence.Signature, None: c.Evidence.None,
				Examples: exampleLinks(r, func(st *results.Story) bool { return st.Cause == c.Cause && storyClass(st) == cc.class }),
			})
		}
		out = append(out, hc)
	}
	return out
}

// htmlSlowSection is the section of the causes of slow answers; nil for
// a report without Slow.
func htmlSlowSection(r *results.Report) *htmlSlow {
	if r.Slow == nil {
		return nil
	}
	h := &htmlSlow{Summary: upperFirst(slowSummary(r.Slow))}
	t := slowTable(r)
	if t == nil {
		return h
	}
	plain := htmlTableOf(t)
	h.Head = plain.Head
	for ri, cells := range plain.Rows {
		cause := r.Slow.Causes[ri].Cause
		h.Rows = append(h.Rows, htmlLinkedRow{Cells: cells, Examples: exampleLinks(r, func(st *results.Story) bool { return st.Slow == cause })})
	}
	h.Phases = htmlTableOf(slowPhaseTable(r))
	return h
}

// exampleID is the anchor of the i-th example of the report.
func exampleID(i int) string { return "example-" + strconv.Itoa(i+1) }

// exampleLinks links to the examples of the report that of picks, in
// their order (by send time), at most results.ExamplesPerCause.
func exampleLinks(r *results.Report, of func(*results.Story) bool) []htmlLink {
	var out []htmlLink
	for i := range r.Examples {
		if len(out) == results.ExamplesPerCause {
			break
		}
		if st := &r.Examples[i]; of(st) {
			out = append(out, htmlLink{Href: "#" + exampleID(i), Text: "seq " + strconv.FormatUint(st.Seq, 10)})
		}
	}
	return out
}

// htmlExamples are the report's example requests with their stories.
func htmlExamples(r *results.Report) []htmlExample {
	var out []htmlExample
	for i := range r.Examples {
		st := &r.Examples[i]
		var b strings.Builder
		StoryText(&b, st)
		x := htmlExample{ID: exampleID(i), Title: fmt.Sprintf("seq %d at %s", st.Seq, results.Secs(st.TimeS)), Story: b.String()}
		if st.Attack != "" {
			x.Title += " (attack " + st.Attack + ")"
		}
		if st.Cause != "" {
			x.Of = append(x.Of, st.Cause+" ("+classWords(storyClass(st))+")")
		}
		if st.Slow != "" {
			x.Of = append(x.Of, st.Slow+" (slow answers)")
		}
		out = append(out, x)
	}
	return out
}

// storyClass is the failure class of a story's answer, as the report
// counts it; "" for an answer that did not fail.
func storyClass(st *results.Story) string {
	return results.ClassOf(uint16(min(max(st.Status, 0), 1<<16-1)), st.Error)
}

// classWords names a failure class as the cause sections do.
func classWords(class string) string {
	switch class {
	case scenarios.ClassError:
		return "requests without an answer"
	case scenarios.ClassStreamCut:
		return "streams cut"
	case scenarios.ClassStreamStall:
		return "streams stalled"
	}
	return class + "s"
}

// htmlPhaseTable is the table of phases: its head, a row per phase, the
// total.
func htmlPhaseTable(r *results.Report) (head []htmlCell, phases [][]htmlCell, total []htmlCell) {
	codes := statusCodes(r)
	names := []string{"phase", "start", "end", "faults", "offered/s", "achieved/s", "requests"}
	names = append(names, codes...)
	names = append(names, "errors", "p50 ms", "p90 ms", "p99 ms", "max ms", "recovery")
	for i, h := range names {
		head = append(head, htmlCell{Text: h, Num: i != 0 && i != 3})
	}
	row := func(name, faults string, start, end float64, rates []string, requests int, status map[string]int, errs int, lat []string, rec string) []htmlCell {
		cells := []htmlCell{{Text: name}, {Text: results.Secs(start), Num: true}, {Text: results.Secs(end), Num: true}, {Text: faults}}
		for _, s := range rates {
			cells = append(cells, htmlCell{Text: s, Num: true})
		}
		cells = append(cells, htmlCell{Text: strconv.Itoa(requests), Num: true})
		for _, c := range codes {
			n, _ := strconv.Atoi(c)
			cells = append(cells, htmlCell{Text: strconv.Itoa(status[c]), Num: true, Bad: n >= 500 && status[c] > 0})
		}
		cells = append(cells, htmlCell{Text: strconv.Itoa(errs), Num: true, Bad: errs > 0})
		for _, s := range lat {
			cells = append(cells, htmlCell{Text: s, Num: true})
		}
		return append(cells, htmlCell{Text: rec, Num: true, Bad: rec == "never"})
	}
	for _, p := range r.Phases {
		l := p.LatencyMS
		phases = append(phases, row(p.Name, strings.Join(p.Faults, ", "), p.StartS, p.EndS,
			[]string{results.Decimal(p.OfferedRate), results.Decimal(p.AchievedRate)}, p.Requests, p.Status, p.Errors,
			[]string{results.Decimal(l.P50), results.Decimal(l.P90), results.Decimal(l.P99), results.Decimal(l.Max)}, recoveryCell(p)))
	}
	total = row("total", "", 0, r.DurationS, []string{"", ""}, r.Totals.Requests, r.Totals.Status, r.Totals.Errors, []string{"", "", "", ""}, "")
	return head, phases, total
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="gatecrash">
<title>gatecrash: {{.R.Scenario}}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Liberation Sans", Arial, sans-serif; color: #1b1f23; margin: 0 auto; max-width: 1000px; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e1e4e8; padding-bottom: 4px; }
.meta { color: #586069; margin: 0 0 12px; }
.banner { padding: 8px 12px; border-radius: 4px; font-weight: 600; margin: 8px 0; }
.bad { background: #ffeef0; color: #86181d; }
.good { background: #e6ffed; color: #144620; }
.warn { background: #fffbdd; color: #735c0f; }
.banner a { color: inherit; }
.diagnosis { background: #f6f8fa; border-left: 4px solid #d73a49; padding: 10px 14px; margin: 0; }
figure { margin: 0; }
figcaption p { color: #586069; margin: 0 0 6px; }
svg.chart { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 6px 0 10px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #e1e4e8; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; }
td.bad { color: #b31d28; font-weight: 600; background: #fff5f5; }
tr.total td { font-weight: 600; background: #fafbfc; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; white-space: nowrap; }
.ok { color: #22863a; font-weight: 700; }
.fail { color: #cb2431; font-weight: 700; }
pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; background: #f6f8fa; padding: 8px 10px; overflow-x: auto; white-space: pre-wrap; }
.example:target h3 { background: #fffbdd; }
footer { color: #959da5; margin-top: 32px; font-size: 12px; }
</style>
</head>
<body>
<header>
<h1>gatecrash: {{.R.Scenario}}</h1>
<p class="meta">seed {{.R.Seed}} · started {{.Started}} · {{.Duration}} · {{.R.Totals.Requests}} requests · gateway {{.R.Gateway.Kind}} ({{.R.Gateway.Evidence}})</p>
{{if .R.Aborted}}<p class="banner bad">Aborted: {{.R.Aborted}}; the report covers what ran.</p>
{{else if .R.Interrupted}}<p class="banner bad">Interrupted: the run was stopped before its end; the report covers what ran.</p>
{{end}}{{if .Verdicts}}{{if .R.Damaged}}<p class="banner bad"><a href="#expectations">{{.NotJudged}} judged: the run is damaged.</a></p>
{{else if .Failed}}<p class="banner bad"><a href="#expectations">{{.Failed}} of {{len .Verdicts}} expectations failed.</a></p>
{{else}}<p class="banner good"><a href="#expectations">All {{len .Verdicts}} expectations held.</a></p>
{{end}}{{end}}{{range .R.Damaged}}<p class="banner bad">Damaged: {{.Warning}}</p>
{{end}}{{range .R.Unapplied}}<p class="banner warn">Warning: {{.Warning}}</p>
{{end}}</header>
<main>
<section id="diagnosis">
<h2>Diagnosis</h2>
<p class="diagnosis">{{.R.Diagnosis}}</p>
</section>
{{range .Charts}}<section id="{{.ID}}">
<figure>
<figcaption><h2>{{.Title}}</h2><p>{{.Caption}}</p></figcaption>
{{.SVG}}</figure>
</section>
{{end}}<section id="cause-table">
<h2>Causes</h2>
{{range .Causes}}<h3>Causes of {{.What}}</h3>
<table>
<thead><tr><th>cause</th><th>meaning</th><th class="num">count</th><th class="num">share</th><th class="num">exact</th><th class="num">temporal</th><th class="num">signature</th><th class="num">none</th><th>the gateway said</th>{{if $.Examples}}<th>first requests</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr><td><code>{{.Cause}}</code></td><td>{{.Meaning}}</td><td class="num">{{.Count}}</td><td class="num">{{.Share}}</td><td class="num">{{.Exact}}</td><td class="num">{{.Temporal}}</td><td class="num">{{.Signature}}</td><td class="num">{{.None}}</td><td>{{.Gateway}}</td>{{if $.Examples}}<td>{{template "links" .Examples}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{else}}<p>No failures: nothing to explain.</p>
{{end}}{{if .Masked}}<p><strong>Masked faults:</strong> {{.Masked}}</p>
{{with .Price}}<p>What the masked faults cost:</p>
{{template "table" .}}{{end}}{{end}}{{if .Correl}}<p><strong>Correlation with the 502 timeline</strong> (Pearson r): {{.Correl}}</p>
{{end}}{{range .SameSeconds}}<p>{{.}}</p>
{{end}}<p><strong>Send lag</strong> (ms): {{.SendLag}}</p>
</section>
{{with .Slow}}<section id="slow">
<h2>Causes of slow answers</h2>
<p>{{.Summary}}</p>
{{if .Rows}}<table>
<thead><tr>{{range .Head}}<th{{if .Num}} class="num"{{end}}>{{.Text}}</th>{{end}}{{if $.Examples}}<th>first requests</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{template "cells" .Cells}}{{if $.Examples}}<td>{{template "links" .Examples}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}{{with .Phases}}<h3>Slow answers per phase</h3>
{{template "table" .}}{{end}}</section>
{{end}}{{with .Advice}}<section id="advice">
<h2>Advice: gateway settings to change</h2>
{{template "table" .}}</section>
{{end}}<section id="phases">
<h2>Phases</h2>
<table>
<thead><tr>{{range .PhaseHead}}<th{{if .Num}} class="num"{{end}}>{{.Text}}</th>{{end}}</tr></thead>
<tbody>
{{range .Phases}}<tr>{{template "cells" .}}</tr>
{{end}}<tr class="total">{{template "cells" .Total}}</tr>
</tbody>
</table>
</section>
{{with .Retries}}<section id="retries">
<h2>Client retries</h2>
<p>{{.Words}}</p>
<table>
<thead><tr>{{range .Head}}<th{{if .Num}} class="num"{{end}}>{{.Text}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{template "cells" .}}</tr>
{{end}}</tbody>
</table>
</section>
{{end}}{{with .Streams}}<section id="streams-table">
<h2>Streams</h2>
{{if .Buffered}}<p class="banner warn">Buffered: {{.Buffered}}</p>
{{end}}<table>
<thead><tr>{{range .Head}}<th{{if .Num}} class="num"{{end}}>{{.Text}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{template "cells" .}}</tr>
{{end}}</tbody>
</table>
</section>
{{end}}<section id="expectations">
<h2>Expectations</h2>
{{if .Verdicts}}<table>
<thead><tr><th></th><th>expectation</th><th class="num">measured</th></tr></thead>
<tbody>
{{range .Verdicts}}<tr><td>{{if .OK}}<span class="ok">✓ held</span>{{else}}<span class="fail">✗ failed</span>{{end}}</td><td><code>{{.Expr}}</code>{{if .Abort}} <small>(abort)</small>{{end}}</td><td class="num">{{.Value}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p>The scenario sets no expectations.</p>
{{end}}</section>
{{if .Examples}}<section id="examples">
<h2>Example requests</h2>
<p>The first requests (by send time) of each cause, as <code>gatecrash explain</code> tells them.</p>
{{range .Examples}}<div class="example" id="{{.ID}}">
<h3>{{.Title}}</h3>
{{if .Of}}<p>Example of {{range $i, $o := .Of}}{{if $i}}; {{end}}<code>{{$o}}</code>{{end}}.</p>
{{end}}<pre>{{.Story}}</pre>
</div>
{{end}}</section>
{{end}}</main>
<footer>gatecrash report, schema {{.R.Schema}}. Self-contained: no script, nothing loaded from the network.</footer>
</body>
</html>
{{define "table"}}<table>
<thead><tr>{{range .Head}}<th{{if .Num}} class="num"{{end}}>{{.Text}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{template "cells" .}}</tr>
{{end}}</tbody>
</table>
{{end}}{{define "links"}}{{range $i, $l := .}}{{if $i}}, {{end}}<a href="{{$l.Href}}">{{$l.Text}}</a>{{end}}{{end}}{{define "cells"}}{{range .}}<td{{if .Bad}} class="num bad"{{else if .Num}} class="num"{{end}}>{{.Text}}</td>{{end}}{{end}}`))
