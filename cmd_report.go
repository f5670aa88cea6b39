package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

func cmdReport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseReportFlags(args, stdout)
	if err != nil {
		return err
	}
	if f.fs.NArg() != 1 {
		return inputErrf("report takes one run folder, got %d", f.fs.NArg())
	}
	dir := f.fs.Arg(0)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return inputErrf("report: %s is not a run folder; give the folder gatecrash run wrote", scenarios.Cut(dir))
	}
	// The width is checked against the plan before any bucket is made;
	// a run.json that cannot be read is Analyze's to report.
	if plan, err := run.Folder(dir).Plan(); err == nil {
		if err := checkBuckets(f.opt.Bucket, results.TimelineLength(plan), "the run in "+scenarios.Cut(dir)); err != nil {
			return err
		}
	}
	rep, err := run.Folder(dir).Analyze(f.opt)
	if err != nil {
		return inputErr(err)
	}
	if err := run.Folder(dir).WriteReport(rep); err != nil {
		return err
	}
	if err := warnOnly(writeOutputs(rep, f.formats, dir, stdout), stderr); err != nil {
		return err
	}
	return verdict(rep)
}

// reportFlags are report's settings, as its flags give them.
type reportFlags struct {
	fs      *pflag.FlagSet // for its arguments
	opt     results.Options
	formats []string
}

// parseReportFlags parses and checks report's flags, without reading a
// file; every error is bad input and names its flag.
func parseReportFlags(args []string, stdout io.Writer) (*reportFlags, error) {
	fs := flagSet("report", "DIR", `Rebuild the report of a run folder from its results, events.jsonl, run.json
and expect.json alone: it rewrites DIR/report.json and prints the report.

Exit codes, as gatecrash run's: 0 every expectation held; 1 an expectation
failed, or the run was aborted by one; 2 bad input; 3 the run was
interrupted, or its folder is damaged (a file cut, empty or missing, or
the run killed: the report says which, and judges no expectation).`, stdout)
	asJSON := fs.Bool("json", false, "print the report as JSON instead of text (as --format json)")
	formats := fs.StringSlice("format", nil, "what to print on stdout: "+formatNames()+"; repeat or separate with commas for several (default text); DIR always gets every one")
	analysis := analysisFlags(fs)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	opt, err := analysis()
	if err != nil {
		return nil, err
	}
	if err := checkFormats(*formats); err != nil {
		return nil, err
	}
	if *asJSON {
		*formats = append([]string{"json"}, *formats...)
	}
	return &reportFlags{fs: fs, opt: opt, formats: *formats}, nil
}

// verdict returns the error that gives a report's exit code, once
// everything is written: 3 when the run was interrupted (which takes
// precedence, the run being incomplete), 1 when it was aborted or an
// expectation failed, nil when every expectation held.
func verdict(rep *results.Report) error {
	var why []string
	if rep.Aborted != nil {
		why = append(why, "aborted: "+*rep.Aborted)
	}
	if failed := rep.Expectations.Failed(); len(failed) > 0 {
		exprs := make([]string, len(failed))
		for i, v := range failed {
			exprs[i] = v.Expr
		}
		why = append(why, fmt.Sprintf("%d of %d expectations failed: %s", len(failed), len(rep.Expectations), strings.Join(exprs, "; ")))
	}
	switch {
	case rep.Interrupted && rep.Aborted == nil:
		return &exitError{code: exitBroken, err: errors.New("interrupted; the report covers what ran")}
	case len(rep.Damaged) > 0 && rep.Aborted == nil:
		files := make([]string, len(rep.Damaged))
		for i, d := range rep.Damaged {
			files[i] = d.File + " " + d.Problem
		}
		return &exitError{code: exitBroken, err: fmt.Errorf("the run folder is damaged (%s); the report covers what was recorded, and judges no expectation", strings.Join(files, ", "))}
	case len(why) > 0:
		return &exitError{code: exitFailed, err: errors.New(strings.Join(why, "; "))}
	}
	return nil
}
