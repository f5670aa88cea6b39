package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/report"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

// outputFormat is one way to write a V (a report, a policies table), and
// the file it goes to in an output folder.
type outputFormat[V any] struct {
	name  string
	file  string
	write func(io.Writer, V) error
}

// reportFormat is one way to write a report.
type reportFormat = outputFormat[*results.Report]

// reportFormats are the formats of --format, in the order the output
// folder gets them.
var reportFormats = []reportFormat{
	{"text", run.TextFile, report.Text},
	{"json", run.ReportFile, writeJSON},
	{"markdown", run.MarkdownFile, report.Markdown},
	{"html", run.HTMLFile, report.HTML},
	{"junit", run.JUnitFile, report.JUnit},
}

// stepSummaryEnv names the file GitHub Actions shows as a job's summary.
const stepSummaryEnv = "GITHUB_STEP_SUMMARY"

func writeJSON(w io.Writer, r *results.Report) error {
	b, err := r.MarshalIndent()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// formatNames lists the formats, for help texts and errors.
func formatNames() string {
	names := make([]string, len(reportFormats))
	for i, f := range reportFormats {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// checkFormats checks the values of --format, so that a command can
// reject a bad one before it starts anything; a bad one is bad input.
func checkFormats(formats []string) error {
	var errs []string
	for _, f := range formats {
		if !slices.ContainsFunc(reportFormats, func(rf reportFormat) bool { return rf.name == f }) {
			errs = append(errs, scenarios.Quote(f))
		}
	}
	if len(errs) > 0 {
		return inputErrf("--format %s: not a report format; give one of %s (repeat --format for several)", strings.Join(errs, ", "), formatNames())
	}
	return nil
}

// writeOutputs writes a report out:
//   - each format in formats goes to stdout, in the order given (a format
//     named twice is written once); no format means text;
//   - when dir is not empty, every format goes into it, as report.txt,
//     report.json, report.md, report.html and report.xml (JUnit), whatever
//     formats says, so a run folder always holds them all;
//   - when GITHUB_STEP_SUMMARY names a file, the Markdown summary is
//     appended to it, so a GitHub Actions job shows it.
//
// A bad format name is bad input (exit 2) and nothing is written.
func writeOutputs(rep *results.Report, formats []string, dir string, stdout io.Writer) error {
	if err := checkFormats(formats); err != nil {
		return err
	}
	all, warn := reportFormats, error(nil)
	if dir != "" {
		all, warn = withExamples(rep, run.Folder(dir))
	}
	if err := writeFormats(rep, "report", all, formats, dir, stdout, report.Markdown); err != nil {
		return err
	}
	return warn
}

// withExamples returns reportFormats with the HTML report written from a
// copy of rep that holds the example requests of the run folder dir
// (run.Folder.Examples: one more pass over its files, made only here,
// where the HTML report is written, so that the analysis stays one pass;
// report.json and the other formats go without them). A folder without
// run.json (a report written elsewhere) gets no examples; a folder whose
// examples cannot be gathered gets none either, and a warning.
func withExamples(rep *results.Report, dir run.Folder) ([]reportFormat, error) {
	if _, err := os.Stat(dir.Path(run.PlanFile)); err != nil {
		return reportFormats, nil
	}
	x := *rep
	if err := dir.Examples(&x); err != nil {
		return reportFormats, &outputWarning{fmt.Errorf("the HTML report goes without example requests: %w", err)}
	}
	all := slices.Clone(reportFormats)
	for i := range all {
		if all[i].name == "html" {
			all[i].write = func(w io.Writer, _ *results.Report) error { return report.HTML(w, &x) }
		}
	}
	return all, nil
}

// outputWarning is a problem of an output that is worth a warning, not a
// reason to change the run's exit code.
type outputWarning struct{ err error }

func (e *outputWarning) Error() string { return e.err.Error() }
func (e *outputWarning) Unwrap() error { return e.err }

// writeFormats writes v, a what (report, table), in each of formats to
// stdout (text when none; a format named twice is written once), in
// every one of all into dir (unless dir is empty), and in Markdown with
// markdown to GITHUB_STEP_SUMMARY when it names a file. Every name in
// formats must be in all.
func writeFormats[V any](v V, what string, all []outputFormat[V], formats []string, dir string, stdout io.Writer, markdown func(io.Writer, V) error) error {
	if len(formats) == 0 {
		formats = []string{"text"}
	}
	var done []string
	for _, name := range formats {
		if slices.Contains(done, name) {
			continue
		}
		done = append(done, name)
		i := slices.IndexFunc(all, func(f outputFormat[V]) bool { return f.name == name })
		if err := all[i].write(stdout, v); err != nil {
			return fmt.Errorf("write the %s %s: %w", name, what, err)
		}
	}
	if dir != "" {
		for _, f := range all {
			var b bytes.Buffer
			if err := f.write(&b, v); err != nil {
				return fmt.Errorf("write the %s %s: %w", f.name, what, err)
			}
			if err := os.WriteFile(filepath.Join(dir, f.file), b.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write the %s %s: %w", f.name, what, err)
			}
		}
	}
	if path := os.Getenv(stepSummaryEnv); path != "" {
		if err := appendStepSummary(path, func(w io.Writer) error { return markdown(w, v) }); err != nil {
			return &stepSummaryError{fmt.Errorf("%s: %w", stepSummaryEnv, err)}
		}
	}
	return nil
}

// stepSummaryError is a failure to append to GITHUB_STEP_SUMMARY: worth a
// warning, not a reason to change the run's exit code.
type stepSummaryError struct{ err error }

func (e *stepSummaryError) Error() string { return e.err.Error() }
func (e *stepSummaryError) Unwrap() error { return e.err }

// warnOnly prints a step-summary failure or an output warning as a
// warning and returns nil;
// any other error it returns as is.
func warnOnly(err error, stderr io.Writer) error {
	var se *stepSummaryError
	var ow *outputWarning
	if errors.As(err, &se) || errors.As(err, &ow) {
		fmt.Fprintf(stderr, "gatecrash: warning: %v\n", err)
		return nil
	}
	return err
}

// appendStepSummary appends the Markdown summary to path, after a blank
// line when the file already holds something.
func appendStepSummary(path string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		b.WriteString("\n")
	}
	if err := write(&b); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
