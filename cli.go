package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Exit codes, as documented in the README.
const (
	exitOK     = 0 // every expectation held
	exitFailed = 1 // an expectation or a compare threshold failed
	exitInput  = 2 // bad input: usage, scenario, unreadable file
	exitBroken = 3 // the run itself broke, or was interrupted
)

// exitError carries the exit code of an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// inputErr marks err as bad input (exit 2).
func inputErr(err error) error { return &exitError{code: exitInput, err: err} }

// inputErrf is inputErr with a format.
func inputErrf(format string, args ...any) error { return inputErr(fmt.Errorf(format, args...)) }

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "run a scenario (a catalog name or a file) and report when and why 502s appeared", cmdRun},
		{"validate", "check scenario files without running them", cmdValidate},
		{"list", "list the scenarios in the embedded catalog", cmdList},
		{"report", "rebuild the report of a run folder from its records", cmdReport},
		{"explain", "tell each request's story: the attempts the proxy saw, what the gateway logged, its cause and why", cmdExplain},
		{"proxy", "run the fault proxy alone; change its faults at runtime through its admin API", cmdProxy},
		{"policies", "run a scenario under several client retry policies and set what each hid and cost side by side", cmdPolicies},
		{"merge", "join the folders of a sharded run's shards (run --shard) and the proxy's events into one run folder, and report it", cmdMerge},
		{"compare", "compare two reports or run folders, metric by metric; exit 1 on a significant regression beyond its limits", cmdCompare},
		{"matrix", "run every fault kind against a gateway and print what the client got, what the gateway logged, whether it retried", cmdMatrix},
	}
}

// cli is the whole CLI; it returns the exit code.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitInput
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return exitCode(c.run(ctx, args[1:], stdout, stderr), stderr)
		}
	}
	fmt.Fprintf(stderr, "gatecrash: unknown command %q; run gatecrash --help for the list\n", args[0])
	return exitInput
}

// exitCode prints err, if any, and maps it to its exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "gatecrash: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var se *scenarios.Error
	var ie *run.InputError
	if errors.As(err, &se) || errors.As(err, &ie) {
		return exitInput
	}
	return exitBroken
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString(`gatecrash load-tests an HTTP gateway while its upstream misbehaves, and reports
when 502 Bad Gateway answers appeared and why.

Usage:
  gatecrash COMMAND [flags] [args]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Run gatecrash COMMAND --help for a command's flags.

Exit codes: 0 all expectations held; 1 an expectation failed, or compare
(or run --baseline) found a regression; 2 bad input (usage, scenario,
unreadable file); 3 the run itself broke or was interrupted.
`)
	io.WriteString(w, b.String())
}

// flagSet returns a FlagSet for a subcommand that prints its own usage to
// stdout on --help and nothing by itself on errors.
func flagSet(name, argsUsage, summary string, stdout io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: gatecrash %s %s\n\n%s\n", name, argsUsage, summary)
		if fs.HasFlags() {
			fmt.Fprintf(stdout, "\nFlags:\n%s", fs.FlagUsages())
		}
	}
	return fs
}

// parse parses args; --help prints usage and returns pflag.ErrHelp, any
// other problem is bad input.
func parse(fs *pflag.FlagSet, args []string) error {
	fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fs.Usage()
			return err
		}
		return inputErrf("%s: %s; run gatecrash %s --help", fs.Name(), cutArgs(flagProblem(err, args), args), fs.Name())
	}
	if h, _ := fs.GetBool("help"); h {
		fs.Usage()
		return pflag.ErrHelp
	}
	return nil
}

// analysisFlags adds the analysis settings to fs.
func analysisFlags(fs *pflag.FlagSet) func() (results.Options, error) {
	bucket := fs.Duration("bucket", time.Second, "width of a timeline bucket")
	threshold := fs.Float64("threshold", 0.01, "share of a bucket's requests (0.01 = 1%) from which it counts as failing")
	sustain := fs.Int("sustain", 3, "failing buckets in a row that make a sustained onset")
	slow := fs.Duration("slow-threshold", 0, "answers that took at least this long are slow and get a cause (0: the scenario's smallest latency bound, else 3x the fault-free baseline's p99 and at least 50ms over it)")
	return func() (results.Options, error) {
		switch {
		case *slow < 0:
			return results.Options{}, inputErrf("--slow-threshold %s: negative; give a duration, for example --slow-threshold 500ms, or 0 to derive it", *slow)
		case *bucket < time.Millisecond:
			return results.Options{}, inputErrf("--bucket %s: too small; give 1ms or more, for example --bucket 1s", *bucket)
		case !(*threshold > 0 && *threshold <= 1): // NaN too
			return results.Options{}, inputErrf("--threshold %v: not a share; give a number above 0 and at most 1, for example --threshold 0.01", *threshold)
		case *sustain < 1:
			return results.Options{}, inputErrf("--sustain %d: give 1 or more buckets, for example --sustain 3", *sustain)
		}
		return results.Options{Bucket: *bucket, Threshold: *threshold, Sustain: *sustain, Slow: *slow}, nil
	}
}

// cutArgs cuts, in a message of pflag's, every long argument (or value
// after a =) that it repeats, as scenarios.Cut does: pflag quotes them
// whole, a file's worth of them.
func cutArgs(msg string, args []string) string {
	for _, a := range args {
		parts := []string{a}
		if _, v, ok := strings.Cut(a, "="); ok {
			parts = append(parts, v)
		}
		for _, p := range parts {
			if p == scenarios.Cut(p) {
				continue
			}
			q := strconv.Quote(p)
			msg = strings.ReplaceAll(msg, q[1:len(q)-1], scenarios.Cut(p))
			msg = strings.ReplaceAll(msg, p, scenarios.Cut(p))
		}
	}
	return msg
}

// checkBuckets refuses a --bucket width with which the timeline of what,
// d long, would have more than results.MaxBuckets buckets.
func checkBuckets(width, d time.Duration, what string) error {
	n := results.Buckets(d, width)
	if n <= results.MaxBuckets {
		return nil
	}
	return inputErrf("--bucket %s: the timeline of %s, %s long, would have %d buckets, more than %d; give --bucket %s or wider",
		width, what, d, n, results.MaxBuckets, results.MinBucket(d))
}

// flagProblem is pflag's message, but for a problem with a shorthand it
// names the argument as given: pflag names what follows the shorthands
// it read ("-0" for -h0, "-o" for -qo).
func flagProblem(err error, args []string) string {
	msg := err.Error()
	var short string
	var ne *pflag.NotExistError
	var ve *pflag.ValueRequiredError
	switch {
	case errors.As(err, &ne):
		short = ne.GetSpecifiedShortnames()
	case errors.As(err, &ve):
		short = ve.GetSpecifiedShortnames()
	}
	if short == "" || !strings.HasSuffix(msg, " in -"+short) {
		return msg
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.HasSuffix(a, short) {
			return strings.TrimSuffix(msg, "-"+short) + a
		}
	}
	return msg
}
