package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/compare"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

func cmdCompare(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs, opt, format, err := parseCompareFlags(args, stdout)
	if err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return inputErrf("compare takes two reports, BASE and NEW (report.json files or run folders), got %d; for example gatecrash compare gatecrash-out/last-night gatecrash-out/tonight", fs.NArg())
	}
	base, err := readCompared("BASE", fs.Arg(0))
	if err != nil {
		return err
	}
	cur, err := readCompared("NEW", fs.Arg(1))
	if err != nil {
		return err
	}
	c := compare.Reports(base, cur, opt)
	c.Base.File, c.New.File = fs.Arg(0), fs.Arg(1)
	if err := writeComparison(stdout, c, format); err != nil {
		return err
	}
	if c.Regression {
		return &exitError{code: exitFailed, err: fmt.Errorf("compare: %s", c.Verdict)}
	}
	return nil
}

// parseCompareFlags parses and checks compare's flags, without reading a
// file; every error is bad input and names its flag. It returns the
// FlagSet for the arguments, the options and the output format.
func parseCompareFlags(args []string, stdout io.Writer) (*pflag.FlagSet, compare.Options, string, error) {
	fs := flagSet("compare", "[flags] BASE NEW", `Compare two reports: BASE and NEW are report.json files or run folders.
Per phase and overall, every metric side by side with its change. A change
is a regression when it is beyond its limit (the --max-* flags) and
statistically significant: a one-sided Mann-Whitney U test on the per-second
timeline buckets (stratified by phase overall), at --alpha. docs/compare.md
says more. Exit 1 on a regression, 0 otherwise, 2 on bad input.`, stdout)
	format := fs.String("format", "text", "output: text, markdown (a pull-request comment) or json")
	options := compareFlags(fs)
	if err := parse(fs, args); err != nil {
		return nil, compare.Options{}, "", err
	}
	opt, err := options()
	if err != nil {
		return nil, compare.Options{}, "", err
	}
	switch *format {
	case "text", "markdown", "json":
	default:
		return nil, compare.Options{}, "", inputErrf("--format %s: give text, markdown or json", scenarios.Quote(*format))
	}
	return fs, opt, *format, nil
}

// readCompared reads a report for compare, or for run --baseline; its
// error is bad input (exit 2) and says which side it is.
func readCompared(role, path string) (*results.Report, error) {
	r, err := run.ReadReport(path)
	if err != nil {
		return nil, inputErrf("compare: %s %w", role, err)
	}
	return r, nil
}

// compareBaseline compares rep, the report of the run that just ended,
// with the baseline at basePath (a report.json or a run folder), prints
// the comparison as text to w, and says whether it found a regression
// (the caller exits 1 then). A baseline that cannot be read is bad input
// (exit 2); to fail before the run starts, call readCompared("baseline",
// path) first. opt comes from the flags compareFlags adds. When dir is not
// empty, the comparison also goes into it as compare.txt, compare.md and
// compare.json, and its Markdown is appended to GITHUB_STEP_SUMMARY when
// that is set.
func compareBaseline(basePath string, rep *results.Report, opt compare.Options, w io.Writer, dir string) (regressed bool, err error) {
	base, err := readCompared("baseline", basePath)
	if err != nil {
		return false, err
	}
	c := compare.Reports(base, rep, opt)
	c.Base.File = basePath
	if err := writeComparison(w, c, "text"); err != nil {
		return false, err
	}
	if dir != "" {
		for _, f := range []struct{ format, file string }{{"text", run.CompareTextFile}, {"markdown", run.CompareMarkdownFile}, {"json", run.CompareJSONFile}} {
			var b bytes.Buffer
			if err := writeComparison(&b, c, f.format); err != nil {
				return false, err
			}
			if err := os.WriteFile(run.Folder(dir).Path(f.file), b.Bytes(), 0o644); err != nil {
				return false, fmt.Errorf("write the comparison: %w", err)
			}
		}
		if path := os.Getenv(stepSummaryEnv); path != "" {
			if err := appendStepSummary(path, c.WriteMarkdown); err != nil {
				fmt.Fprintf(w, "gatecrash: warning: %s: %v\n", stepSummaryEnv, err)
			}
		}
	}
	return c.Regression, nil
}

func writeComparison(w io.Writer, c *compare.Comparison, format string) error {
	switch format {
	case "markdown":
		return c.WriteMarkdown(w)
	case "json":
		b, err := c.MarshalIndent()
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return c.WriteText(w)
}

// compareLimitFlag is one limit flag: its name, unit and what it limits;
// why, when not empty, says why the limit has its unit.
type compareLimitFlag struct {
	name  string
	unit  string // "%", "pp" or "s"
	what  string
	field func(*compare.Limits) *compare.Limit
	why   string
}

var compareLimitFlags = []compareLimitFlag{
	{"max-p50-increase", "%", "a p50 latency rise", func(l *compare.Limits) *compare.Limit { return &l.P50Increase }, ""},
	{"max-p99-increase", "%", "a p99 latency rise", func(l *compare.Limits) *compare.Limit { return &l.P99Increase }, ""},
	{"max-rate-decrease", "%", "an achieved rate fall", func(l *compare.Limits) *compare.Limit { return &l.RateDecrease }, ""},
	{"max-502-increase", "pp", "a 502 share rise", func(l *compare.Limits) *compare.Limit { return &l.Share502Increase }, ""},
	{"max-503-increase", "pp", "a 503 share rise", func(l *compare.Limits) *compare.Limit { return &l.Share503Increase }, ""},
	{"max-504-increase", "pp", "a 504 share rise", func(l *compare.Limits) *compare.Limit { return &l.Share504Increase }, ""},
	{"max-error-increase", "pp", "a rise in the share of requests without an answer", func(l *compare.Limits) *compare.Limit { return &l.ErrorIncrease }, ""},
	{"max-recovery-increase", "s", "a later recovery (502 share back under the threshold) after a phase with faults", func(l *compare.Limits) *compare.Limit { return &l.RecoveryIncrease }, ""},
	{"max-user-failure-increase", "pp", "a rise in the share of requests whose user saw a failure after the client's retries (both reports with client.retry)",
		func(l *compare.Limits) *compare.Limit { return &l.UserFailureIncrease }, ""},
	{"max-amplification-increase", "%", "a rise in the amplification, arrivals at the upstream per request (both reports with client.retry)",
		func(l *compare.Limits) *compare.Limit { return &l.AmplificationIncrease },
		" (relative, as the latency limits, rather than an absolute ratio change: amplification starts at 1x, and one limit then fits a base of 1x and of 3x alike; 10% lets 1x become 1.1x, 3x become 3.3x)"},
}

// compareUnitWords say how to write a limit of each unit.
var compareUnitWords = map[string]string{
	"%":  "a percentage of the base value",
	"pp": "percentage points of the requests",
	"s":  "a duration",
}

// compareFlags adds compare's limits and test settings to fs (compare
// and run --baseline share them), and returns the function that reads
// them once fs is parsed; its errors are bad input.
func compareFlags(fs *pflag.FlagSet) func() (compare.Options, error) {
	def := compare.DefaultLimits()
	values := make([]*string, len(compareLimitFlags))
	for i, f := range compareLimitFlags {
		values[i] = fs.String(f.name, compare.FormatLimit(*f.field(&def), f.unit),
			fmt.Sprintf("a regression needs %s beyond this: %s%s, or off", f.what, compareUnitWords[f.unit], f.why))
	}
	alpha := fs.Float64("alpha", 0.01, "significance level of each test")
	minBuckets := fs.Int("min-buckets", 5, "fewest timeline buckets a side for a test; with fewer, a change beyond its limit is not enough data to test, not a regression")
	noTest := fs.Bool("no-test", false, "no statistical test: every change beyond its limit is a regression (for runs too short to test)")
	return func() (compare.Options, error) {
		opt := compare.Options{Alpha: *alpha, MinBuckets: *minBuckets, NoTest: *noTest, Limits: compare.DefaultLimits()}
		var errs []error
		for i, f := range compareLimitFlags {
			l, err := parseLimit(f.name, *values[i], f.unit)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			*f.field(&opt.Limits) = l
		}
		if !(*alpha > 0 && *alpha < 1) {
			errs = append(errs, fmt.Errorf("--alpha %v: give a significance level above 0 and below 1, for example --alpha 0.01", *alpha))
		}
		if *minBuckets < 2 {
			errs = append(errs, fmt.Errorf("--min-buckets %d: give 2 or more buckets, for example --min-buckets 5", *minBuckets))
		}
		if len(errs) > 0 {
			return opt, inputErr(errors.Join(errs...))
		}
		return opt, nil
	}
}

// parseLimit reads a limit flag's value: a number with its unit (%, pp,
// or a Go duration for s), or off.
func parseLimit(flag, s, unit string) (compare.Limit, error) {
	v := strings.TrimSpace(s)
	if strings.EqualFold(v, "off") {
		return compare.Limit{Off: true}, nil
	}
	bad := func(why string) error {
		example := map[string]string{"%": "10%", "pp": "0.5pp", "s": "1s"}[unit]
		return fmt.Errorf("--%s %s: %s; give %s, or off, for example --%s %s", flag, scenarios.Quote(s), why, compareUnitWords[unit], flag, example)
	}
	var n float64
	switch unit {
	case "s":
		d, err := time.ParseDuration(v)
		if err != nil {
			if _, nerr := strconv.ParseFloat(v, 64); nerr == nil {
				return compare.Limit{}, bad("a number without its unit")
			}
			return compare.Limit{}, bad("not a duration")
		}
		n = d.Seconds()
	default:
		num, ok := strings.CutSuffix(v, unit)
		if !ok {
			switch {
			case unit == "pp" && strings.HasSuffix(v, "%"):
				return compare.Limit{}, bad("a share moves in percentage points (pp): 0.5pp is half a percent of the requests more")
			case unit == "%" && strings.HasSuffix(v, "pp"):
				return compare.Limit{}, bad("this limit is relative to the base value, in %")
			case unit == "%" && isNumberWith(v, "x"):
				return compare.Limit{}, bad("a ratio's limit is relative to the base value, in %: 10% lets 1x become 1.1x")
			}
			if _, err := strconv.ParseFloat(v, 64); err == nil {
				return compare.Limit{}, bad("a number without its unit")
			}
			return compare.Limit{}, bad("not a number")
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil {
			return compare.Limit{}, bad("not a number")
		}
		n = f
	}
	switch {
	case math.IsNaN(n) || math.IsInf(n, 0):
		return compare.Limit{}, bad("not a number")
	case n < 0:
		return compare.Limit{}, bad("negative")
	}
	return compare.Limit{Value: n}, nil
}

// isNumberWith reports whether s is a number followed by suffix (any
// case).
func isNumberWith(s, suffix string) bool {
	if len(s) < len(suffix) || !strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return false
	}
	_, err := strconv.ParseFloat(strings.TrimSpace(s[:len(s)-len(suffix)]), 64)
	return err == nil
}
