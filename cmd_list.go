package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/gatecrash/gatecrash/scenarios"
)

func cmdList(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := flagSet("list", "", "List the scenarios embedded in the binary, one line each: name, then description.\nRun one with gatecrash run NAME.", stdout)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return inputErrf("list takes no arguments, got %q", fs.Args())
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, e := range scenarios.Catalog() {
		fmt.Fprintf(tw, "%s\t%s\n", e.Name, e.Description)
	}
	return tw.Flush()
}
