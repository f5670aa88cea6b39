package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

func cmdMerge(_ context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseMergeFlags(args, stdout)
	if err != nil {
		return err
	}
	if f.fs.NArg() < 2 {
		return inputErrf("merge takes the output folder and the folders of every shard, got %d arguments; write gatecrash merge OUT SHARD-DIR... [--events FILE]", f.fs.NArg())
	}
	out, dirs := f.fs.Arg(0), f.fs.Args()[1:]
	// Before --force removes anything from OUT: OUT must not be a shard's
	// folder (OUT forgotten, the first shard taken for it).
	if err := notAShard(out, dirs); err != nil {
		return err
	}
	if err := prepareFolder("OUT", out, f.force); err != nil {
		return err
	}
	f.opt.Log = stderr
	rep, err := run.Merge(out, dirs, f.opt)
	if err != nil {
		return err
	}
	if err := warnOnly(writeOutputs(rep, f.formats, out, stdout), stderr); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d shards merged into %s\n", len(dirs), out)
	return verdict(rep)
}

// mergeFlags are merge's settings, as its flags give them.
type mergeFlags struct {
	fs      *pflag.FlagSet // for its arguments
	opt     run.MergeOptions
	formats []string
	force   bool
}

// parseMergeFlags parses and checks merge's flags, without reading a
// file; every error is bad input and names its flag.
func parseMergeFlags(args []string, stdout io.Writer) (*mergeFlags, error) {
	fs := flagSet("merge", "OUT SHARD-DIR... [flags]", `Join the folders of the N shards of a sharded run (gatecrash run --shard K/N
--start-at T, each on its own machine) and the events of the one fault proxy
they went through (gatecrash proxy --scenario FILE --start-at T --events FILE)
into the run folder OUT, then report it as gatecrash report does: counts add,
histograms merge, the timeline, onset and recovery come from every shard's
requests, every failure is attributed by (attack, seq), the scenario's
expectations are judged once over the whole. gatecrash report and compare
work on OUT as on any run folder.

Every shard must be there, once, of the same scenario, seed, N and start.
Exit codes: 0 every expectation held; 1 one failed; 2 bad input (a shard
missing, twice, or of another run); 3 a shard was interrupted.`, stdout)
	f := &mergeFlags{fs: fs}
	fs.StringArrayVar(&f.opt.Events, "events", nil, "the proxy's events file (gatecrash proxy --events); repeat for several proxies")
	fs.BoolVar(&f.force, "force", false, "write into an OUT folder that is not empty, removing the files of an earlier run from it first")
	fs.StringSliceVar(&f.formats, "format", nil, "what to print on stdout: "+formatNames()+"; repeat or separate with commas for several (default text); OUT always gets every one")
	analysis := analysisFlags(fs)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	var err error
	if f.opt.Analysis, err = analysis(); err != nil {
		return nil, err
	}
	if err := checkFormats(f.formats); err != nil {
		return nil, err
	}
	return f, nil
}

// notAShard refuses an OUT folder that is one of the shards' folders, or
// holds a shard's run: merging into it would remove the shard's files.
func notAShard(out string, dirs []string) error {
	oi, err := os.Stat(out)
	if err != nil {
		return nil // a new folder: prepareFolder says the rest
	}
	for _, d := range dirs {
		if di, err := os.Stat(d); err == nil && os.SameFile(oi, di) {
			return inputErrf("OUT %s is also a shard's folder; give a new folder first: gatecrash merge OUT SHARD-DIR...", scenarios.Cut(out))
		}
	}
	// Read loosely: a shard's run.json, whole or not, is not to remove.
	var plan struct {
		Shard *results.Shard `json:"shard"`
	}
	if b, err := os.ReadFile(run.Folder(out).Path(run.PlanFile)); err == nil && json.Unmarshal(b, &plan) == nil && plan.Shard != nil {
		return inputErrf("OUT %s holds shard %d/%d of a run; give a new folder first: gatecrash merge OUT SHARD-DIR...", scenarios.Cut(out), plan.Shard.K, plan.Shard.N)
	}
	return nil
}
