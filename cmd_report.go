package main

import (
	"context"
	"io"
	"os"

	"github.com/gatecrash/gatecrash/results"
)

func cmdReport(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := flagSet("report", "DIR", `Rebuild the report of a run folder from its results, events.jsonl and
run.json alone: it rewrites DIR/report.json and prints the report.`, stdout)
	asJSON := fs.Bool("json", false, "print the report as JSON instead of text")
	analysis := analysisFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	opt, err := analysis()
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return inputErrf("report takes one run folder, got %d", fs.NArg())
	}
	dir := fs.Arg(0)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return inputErrf("report: %s is not a run folder; give the folder gatecrash run wrote", dir)
	}
	rep, err := buildReport(dir, opt)
	if err != nil {
		return err
	}
	if *asJSON {
		b, err := rep.MarshalIndent()
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	return results.WriteText(stdout, rep)
}
