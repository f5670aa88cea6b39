package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gatecrash/gatecrash/scenarios"
)

func cmdValidate(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := flagSet("validate", "FILE|NAME...", "Check scenario files (or catalog names) without running them. Every problem is\nreported with its file, line and field; the exit code is 2 if any file is invalid.", stdout)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return inputErrf("validate: name at least one scenario file")
	}
	var errs []error
	for _, arg := range fs.Args() {
		sc, err := scenarios.Resolve(arg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		retry := ""
		if sc.Client.Retry != nil {
			retry = "; client retry " + sc.Client.Retry.String()
		}
		fmt.Fprintf(stdout, "%s: ok (%s, %d phases, %s%s)\n", arg, sc.Name, len(sc.Phases), sc.Duration(), retry)
	}
	if len(errs) > 0 {
		return inputErr(errors.Join(errs...))
	}
	return nil
}
