package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/report"
	"github.com/gatecrash/gatecrash/run"
)

// goldenReport reads the report of the recorded upstream-resets run.
func goldenReport(t *testing.T) *results.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "report-upstream-resets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r results.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// formatStarts is how each format's output begins.
var formatStarts = map[string]string{
	"text":     "scenario upstream-resets, seed 7",
	"json":     "{\n  \"schema\": \"gatecrash/report/v1\"",
	"markdown": "## gatecrash: upstream-resets",
	"html":     "<!DOCTYPE html>",
	"junit":    xml.Header,
}

func TestOutputToStdout(t *testing.T) {
	t.Setenv(stepSummaryEnv, "")
	rep := goldenReport(t)
	for _, tt := range []struct {
		formats []string
		want    []string // formats, in the order they must appear
	}{
		{nil, []string{"text"}},
		{[]string{"text"}, []string{"text"}},
		{[]string{"json"}, []string{"json"}},
		{[]string{"markdown"}, []string{"markdown"}},
		{[]string{"html"}, []string{"html"}},
		{[]string{"junit"}, []string{"junit"}},
		{[]string{"markdown", "text", "markdown"}, []string{"markdown", "text"}},
	} {
		t.Run(strings.Join(tt.formats, ","), func(t *testing.T) {
			var out bytes.Buffer
			if err := writeOutputs(rep, tt.formats, "", &out); err != nil {
				t.Fatal(err)
			}
			rest := out.String()
			for _, f := range tt.want {
				var want bytes.Buffer
				i := 0
				for ; reportFormats[i].name != f; i++ {
				}
				if err := reportFormats[i].write(&want, rep); err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(want.String(), formatStarts[f]) {
					t.Errorf("%s starts with %.60q, want %.60q", f, want.String(), formatStarts[f])
				}
				if !strings.HasPrefix(rest, want.String()) {
					t.Fatalf("stdout does not hold the %s report next; it holds %.80q", f, rest)
				}
				rest = rest[want.Len():]
			}
			if rest != "" {
				t.Errorf("stdout holds more than %v: %.80q", tt.want, rest)
			}
		})
	}
}

func TestOutputFolder(t *testing.T) {
	t.Setenv(stepSummaryEnv, "")
	rep := goldenReport(t)
	dir := t.TempDir()
	var out bytes.Buffer
	if err := writeOutputs(rep, []string{"markdown"}, dir, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), formatStarts["markdown"]) {
		t.Errorf("stdout: got %.60q, want the Markdown report", out.String())
	}
	for _, f := range reportFormats {
		b, err := os.ReadFile(filepath.Join(dir, f.file))
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		if !strings.HasPrefix(string(b), formatStarts[f.name]) {
			t.Errorf("%s starts with %.60q, want %.60q", f.file, b, formatStarts[f.name])
		}
	}
	// report.json is the same bytes the run writes.
	js, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	want, _ := os.ReadFile(filepath.Join("testdata", "report-upstream-resets.json"))
	if !bytes.Equal(js, want) {
		t.Errorf("report.json differs from the report it was written from")
	}
	var suites struct {
		Tests int `xml:"tests,attr"`
	}
	x, _ := os.ReadFile(filepath.Join(dir, "report.xml"))
	if err := xml.Unmarshal(x, &suites); err != nil || suites.Tests == 0 {
		t.Errorf("report.xml: %v, %d tests", err, suites.Tests)
	}
}

func TestOutputBadFormat(t *testing.T) {
	t.Setenv(stepSummaryEnv, "")
	dir := t.TempDir()
	var out bytes.Buffer
	err := writeOutputs(goldenReport(t), []string{"text", "pdf", "yaml"}, dir, &out)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitInput {
		t.Fatalf("got %v, want a bad-input error (exit 2)", err)
	}
	for _, want := range []string{`"pdf"`, `"yaml"`, "text, json, markdown, html, junit"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %s", err, want)
		}
	}
	if out.Len() > 0 {
		t.Errorf("wrote %d bytes to stdout before failing", out.Len())
	}
	if files, _ := os.ReadDir(dir); len(files) > 0 {
		t.Errorf("wrote %d files before failing", len(files))
	}
	if err := checkFormats([]string{"text", "json", "markdown", "html", "junit"}); err != nil {
		t.Errorf("every format: %v", err)
	}
}

func TestOutputStepSummary(t *testing.T) {
	rep := goldenReport(t)
	path := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(path, []byte("# earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(stepSummaryEnv, path)
	var out bytes.Buffer
	for range 2 {
		if err := writeOutputs(rep, []string{"json"}, "", &out); err != nil {
			t.Fatal(err)
		}
	}
	var md bytes.Buffer
	if err := report.Markdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "# earlier step\n\n" + md.String() + "\n" + md.String()
	if string(got) != want {
		t.Errorf("the step summary:\ngot:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(out.String(), "## gatecrash") {
		t.Errorf("the summary went to stdout as well")
	}

	t.Setenv(stepSummaryEnv, filepath.Join(t.TempDir(), "missing-dir", "summary.md"))
	if err := writeOutputs(rep, []string{"json"}, "", &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), stepSummaryEnv) {
		t.Errorf("an unwritable summary: got %v, want an error naming %s", err, stepSummaryEnv)
	}
	// It is a warning for the commands, not a change of exit code.
	var warned bytes.Buffer
	if err := warnOnly(writeOutputs(rep, []string{"json"}, "", &bytes.Buffer{}), &warned); err != nil || !strings.Contains(warned.String(), "warning: "+stepSummaryEnv) {
		t.Errorf("warnOnly: got %v and %q, want nil and a warning", err, warned.String())
	}
}

// TestOutputExamples checks that the HTML report of a run folder links
// its causes to example requests gathered from the folder, that
// report.json goes without them, and that a folder whose examples cannot
// be gathered still gets every report, with a warning.
func TestOutputExamples(t *testing.T) {
	t.Setenv(stepSummaryEnv, "")
	dir := t.TempDir()
	for _, f := range []string{run.PlanFile, run.ResultsFile, run.EventsFile, run.ExpectFile} {
		b, err := os.ReadFile(filepath.Join("testdata", "runs", "upstream-resets", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := run.Folder(dir).Analyze(results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := writeOutputs(rep, []string{"json"}, dir, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(filepath.Join(dir, run.HTMLFile))
	for _, want := range []string{`<a href="#example-1">seq `, `<div class="example" id="example-1">`, "Example of <code>reset-before-headers (502s)</code>."} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if js, _ := os.ReadFile(filepath.Join(dir, run.ReportFile)); bytes.Contains(js, []byte(`"examples"`)) {
		t.Errorf("report.json holds the examples")
	}
	if rep.Examples != nil {
		t.Errorf("writeOutputs changed the report's examples")
	}

	// The results gone after the analysis: no examples, a warning.
	if err := os.Remove(filepath.Join(dir, run.ResultsFile)); err != nil {
		t.Fatal(err)
	}
	err = writeOutputs(rep, nil, dir, &bytes.Buffer{})
	var warned bytes.Buffer
	if err == nil || warnOnly(err, &warned) != nil || !strings.Contains(warned.String(), "warning: the HTML report goes without example requests") {
		t.Errorf("got %v, warned %q; want a warning", err, warned.String())
	}
	page, _ = os.ReadFile(filepath.Join(dir, run.HTMLFile))
	if !strings.Contains(string(page), "reset-before-headers") || strings.Contains(string(page), `id="example-1"`) {
		t.Errorf("report.html: want the report without examples")
	}
}

// BenchmarkExamples times, on a synthetic run folder of 200,000 requests
// with one fault event each (1% of them 502s), the analysis
// (run.Folder.Analyze) and the extra pass that gathers the HTML report's
// example requests (run.Folder.Examples), and prints both side by side.
//
//	go test -run '^$' -bench BenchmarkExamples -benchtime 3x .
func BenchmarkExamples(b *testing.B) {
	n := *benchExplainN
	dir := b.TempDir()
	if err := writeExplainRun(dir, n); err != nil {
		b.Fatal(err)
	}
	var analyze, examples time.Duration
	for range b.N {
		start := time.Now()
		rep, err := run.Folder(dir).Analyze(results.Options{})
		if err != nil {
			b.Fatal(err)
		}
		analyze += time.Since(start)
		start = time.Now()
		if err := run.Folder(dir).Examples(rep); err != nil {
			b.Fatal(err)
		}
		examples += time.Since(start)
		if len(rep.Examples) == 0 {
			b.Fatal("no examples")
		}
	}
	b.Logf("%d requests with one event each: Analyze %s, Examples %s (%.2fx the analysis)", n,
		(analyze / time.Duration(b.N)).Round(time.Millisecond), (examples / time.Duration(b.N)).Round(time.Millisecond), float64(examples)/float64(analyze))
}
