package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatecrash/gatecrash/results/policies"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Files of a policies folder, beside one run folder per policy.
const (
	policiesText     = "policies.txt"
	policiesJSON     = "policies.json"
	policiesMarkdown = "policies.md"
)

// policiesFormats are the formats of the side-by-side table.
var policiesFormats = []outputFormat[*policies.Table]{
	{"text", policiesText, policies.Text},
	{"json", policiesJSON, policies.JSON},
	{"markdown", policiesMarkdown, policies.Markdown},
}

// policyArg is one policy to run: as given, and as read.
type policyArg struct {
	given string
	retry *scenarios.Retry
	dir   string // the name of its run folder
}

func cmdPolicies(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parsePoliciesFlags(args, stdout)
	if err != nil {
		return err
	}
	// Resolve once to check the scenario and the flags, and fix the seed
	// and the folder that every run shares.
	opt := f.opt
	sc, err := runScenario(f.fs, f.gateway, f.seed, &opt)
	if err != nil {
		return err
	}
	if err := checkBuckets(opt.Analysis.Bucket, sc.Duration(), "the scenario "+sc.Name); err != nil {
		return err
	}
	seed := rand.Uint64()
	if sc.Seed != nil {
		seed = *sc.Seed
	}
	dir := f.opt.Dir
	if dir == "" {
		dir = filepath.Join("gatecrash-out", sc.Name+"-policies-"+time.Now().UTC().Format("20060102T150405Z"))
	}
	if err := preparePoliciesOut(dir, f.force, f.policies); err != nil {
		return err
	}
	// METRICS (issue 17): every policy's run on one endpoint, labelled
	// policy="0-none", "1-naive", ... (its run folder's name).
	metricsFor, stopMetrics, err := f.metrics.serveRunsMetrics(ctx, stderr)
	if err != nil {
		return err
	}
	defer stopMetrics()
	var runs []policies.Run
	for i, p := range f.policies {
		ropt := f.opt
		ropt.Dir = filepath.Join(dir, p.dir)
		ropt.Log = stderr
		sc, err := runScenario(f.fs, f.gateway, seed, &ropt)
		if err != nil {
			return err
		}
		sc.Seed = &seed
		sc.Client.Retry = p.retry
		// METRICS (issue 17)
		if ropt.Metrics, err = metricsFor(prometheus.Labels{"policy": p.dir}); err != nil {
			return err
		}
		if !f.quiet {
			fmt.Fprintf(stderr, "policy %d of %d, %s: %s\n", i+1, len(f.policies), p.given, p.retry)
			ropt.Progress = progressOn(stderr)
		}
		rep, err := run.Run(ctx, sc, ropt)
		if err != nil {
			return fmt.Errorf("policy %s: %w", p.given, err)
		}
		if err := warnOnly(writeOutputs(rep, nil, ropt.Dir, io.Discard), stderr); err != nil {
			return err
		}
		runs = append(runs, policies.Run{Policy: p.given, Retry: p.retry, Dir: ropt.Dir, Report: rep})
		if rep.Interrupted && rep.Aborted == nil {
			break // Ctrl-C: the table of the runs so far
		}
	}
	t := policies.Build(runs)
	if err := writePolicies(t, f.formats, dir, stdout); err != nil {
		return warnOnly(err, stderr)
	}
	if !f.quiet {
		fmt.Fprintf(stderr, "written to %s\n", dir)
	}
	return policiesVerdict(t, len(f.policies))
}

// policiesVerdict is the exit code of gatecrash policies: 3 when a run was
// interrupted or damaged, or not every policy ran; 1 when an expectation
// failed under some policy; else 0.
func policiesVerdict(t *policies.Table, want int) error {
	var broken, failed []string
	for _, r := range t.Rows {
		switch r.Verdict {
		case policies.Broken:
			broken = append(broken, r.Policy)
		case policies.Fail:
			why := strings.Join(r.Failed, "; ")
			if why == "" {
				why = "aborted"
			}
			failed = append(failed, fmt.Sprintf("%s (%s)", r.Policy, why))
		}
	}
	switch {
	case len(broken) > 0 || len(t.Rows) < want:
		return &exitError{code: exitBroken, err: fmt.Errorf("interrupted or broken under %s; the table covers %d of %d policies", strings.Join(broken, ", "), len(t.Rows), want)}
	case len(failed) > 0:
		return &exitError{code: exitFailed, err: fmt.Errorf("expectations failed under %d of %d policies: %s", len(failed), len(t.Rows), strings.Join(failed, "; "))}
	}
	return nil
}

// writePolicies writes the table to stdout in each of formats (text when
// none), into dir in every format, and to GITHUB_STEP_SUMMARY in
// Markdown when it names a file.
func writePolicies(t *policies.Table, formats []string, dir string, stdout io.Writer) error {
	return writeFormats(t, "table", policiesFormats, formats, dir, stdout, policies.Markdown)
}

// preparePoliciesOut checks the policies folder as prepareOut checks a
// run folder, and each policy's run folder in it.
func preparePoliciesOut(dir string, force bool, ps []policyArg) error {
	if err := prepareOut(dir, force); err != nil {
		return err
	}
	if !force {
		return nil
	}
	for _, name := range []string{policiesText, policiesJSON, policiesMarkdown} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return inputErrf("--force: %w; remove it yourself, or give a new --out folder", err)
		}
	}
	for _, p := range ps {
		if err := prepareOut(filepath.Join(dir, p.dir), true); err != nil {
			return err
		}
	}
	return nil
}

// policiesFlags are the settings of gatecrash policies.
type policiesFlags struct {
	runFlags
	policies []policyArg
}

// parsePoliciesFlags parses and checks the flags of gatecrash policies,
// without reading a file or touching the network.
func parsePoliciesFlags(args []string, stdout io.Writer) (*policiesFlags, error) {
	fs := flagSet("policies", "NAME|FILE", `Run a scenario (a catalog name or a file) once under each client retry
policy given, always with none (one try, no retry) first as the baseline,
with the same seed, and print one side-by-side table: per policy, the
failures users saw, the errors the retries hid, the tries per request at the
gateway and the arrivals per request at the upstream (amplification), the
p99 latency users saw, how soon the failures fell back after each phase whose
faults ended, and the verdict of the scenario's expectations; then which
policy recovered soonest, and why the slowest did not. A --policy is a
built-in name (none, naive, exponential) or a mapping with the fields of
client.retry, such as --policy '{policy: exponential, max_attempts: 5}'.
The output folder holds one run folder per policy (0-none, 1-naive, ...),
and the table as policies.txt, policies.md and policies.json.
Exit codes: 0 every expectation held under every policy; 1 one failed
under some policy; 2 bad input; 3 a run broke or was interrupted.`, stdout)
	f := &policiesFlags{runFlags: runFlags{fs: fs}}
	var given []string
	fs.StringArrayVar(&given, "policy", nil, "a client retry policy to run, besides none; repeat for several (default: naive and exponential)")
	fs.StringVarP(&f.opt.Dir, "out", "o", "", "output folder (default ./gatecrash-out/NAME-policies-UTCTIME); it must be new or empty, unless --force")
	fs.BoolVar(&f.force, "force", false, "write into an --out folder that is not empty, removing the files of an earlier policies run from it first")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of every run, overriding the scenario's (default: the scenario's, else one drawn at random for all)")
	fs.StringVar(&f.gateway, "gateway", "", "the gateway gatecrash starts, overriding the scenario's target.gateway: builtin, nginx, haproxy or caddy")
	fs.StringVar(&f.opt.ProxyListen, "proxy-listen", "127.0.0.1:0", "address of the fault proxy, overriding the scenario's proxy.listen")
	fs.StringSliceVar(&f.formats, "format", nil, "what to print on stdout: text, markdown or json; repeat or separate with commas for several (default text); the output folder always gets every one")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no live progress on stderr")
	// consent: target.url, upstream.url and the proxy beyond loopback
	allowHostFlag(fs, runConsentHelp)
	analysis := analysisFlags(fs)
	// METRICS (issue 17)
	f.metrics = metricsFlagsOn(fs, true)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	var err error
	if f.opt.Analysis, err = analysis(); err != nil {
		return nil, err
	}
	// METRICS (issue 17)
	if err := f.metrics.check(fs); err != nil {
		return nil, err
	}
	for _, name := range f.formats {
		if !slices.ContainsFunc(policiesFormats, func(pf outputFormat[*policies.Table]) bool { return pf.name == name }) {
			return nil, inputErrf("--format %s: not a format of policies; give text, markdown or json", scenarios.Quote(name))
		}
	}
	if f.policies, err = readPolicies(given); err != nil {
		return nil, err
	}
	return f, nil
}

// readPolicies reads the --policy values into the policies to run: none
// first, then each given (naive and exponential when none is given),
// without repeats.
func readPolicies(given []string) ([]policyArg, error) {
	if len(given) == 0 {
		given = []string{scenarios.PolicyNaive, scenarios.PolicyExponential}
	}
	none, _ := scenarios.LookupPolicy(scenarios.PolicyNone)
	out := []policyArg{{given: scenarios.PolicyNone, retry: none}}
	var errs []error
	for _, g := range given {
		p := policyArg{given: strings.Join(strings.Fields(g), " ")}
		if r, ok := scenarios.LookupPolicy(p.given); ok {
			p.retry = r
		} else if r, err := scenarios.DecodeRetry("--policy "+scenarios.Cut(p.given), []byte(g)); err == nil {
			p.retry = r
		} else if !strings.ContainsAny(g, "{:") {
			errs = append(errs, inputErrf("--policy %s: not a built-in policy; give none, naive or exponential, or a mapping such as --policy '{policy: exponential, max_attempts: 5}'", scenarios.Quote(g)))
			continue
		} else {
			errs = append(errs, err)
			continue
		}
		if slices.ContainsFunc(out, func(q policyArg) bool { return q.given == p.given }) {
			continue // none again, or a repeat
		}
		out = append(out, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for i := range out {
		name := out[i].given
		if _, ok := scenarios.LookupPolicy(name); !ok {
			name = "custom"
		}
		out[i].dir = fmt.Sprintf("%d-%s", i, name)
	}
	return out, nil
}
