package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatecrash/gatecrash/results/compare"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseRunFlags(args, stdout)
	if err != nil {
		return err
	}
	opt := f.opt
	if f.baseline != "" {
		if _, err := readCompared("baseline", f.baseline); err != nil {
			return err
		}
	}
	sc, err := runScenario(f.fs, f.gateway, f.seed, &opt)
	if err != nil {
		return err
	}
	// SHARDS: a shard needs a gateway run elsewhere, and a shared seed.
	if err := checkShardRun(sc, opt); err != nil {
		return err
	}
	if err := checkBuckets(opt.Analysis.Bucket, sc.Duration(), "the scenario "+sc.Name); err != nil {
		return err
	}
	if err := prepareOut(opt.Dir, f.force); err != nil {
		return err
	}
	opt.Log = stderr
	if !f.quiet {
		opt.Progress = progressOn(stderr)
	}
	// METRICS (issue 17): live Prometheus metrics while the run goes.
	stopMetrics, err := f.metrics.serveRunMetrics(ctx, &opt, stderr)
	if err != nil {
		return err
	}
	defer stopMetrics()
	rep, err := run.Run(ctx, sc, opt)
	if err != nil {
		return err
	}
	if err := warnOnly(writeOutputs(rep, f.formats, opt.Dir, stdout), stderr); err != nil {
		return err
	}
	if !f.quiet {
		fmt.Fprintf(stderr, "written to %s\n", opt.Dir)
	}
	// SHARDS: a shard judges no expectation; gatecrash merge does.
	if opt.Shard != nil {
		return shardVerdict(rep, opt.Shard, f.quiet, stderr)
	}
	if f.baseline == "" {
		return verdict(rep)
	}
	regressed, err := compareBaseline(f.baseline, rep, f.compare, stderr, opt.Dir)
	if err != nil {
		return err
	}
	if err := verdict(rep); err != nil {
		return err
	}
	if regressed {
		return &exitError{code: exitFailed, err: fmt.Errorf("a regression against the baseline %s", f.baseline)}
	}
	return nil
}

// runFlags are run's settings, as its flags give them.
type runFlags struct {
	fs       *pflag.FlagSet // for its arguments, and which flags were set
	opt      run.Options
	seed     uint64
	gateway  string
	formats  []string
	quiet    bool
	force    bool
	baseline string
	compare  compare.Options
	// METRICS (issue 17): --metrics-listen, --metrics-linger.
	metrics *metricsFlags
}

// parseRunFlags parses and checks run's flags, without reading a file or
// touching the network; every error is bad input and names its flag.
func parseRunFlags(args []string, stdout io.Writer) (*runFlags, error) {
	fs := flagSet("run", "NAME|FILE", `Run a scenario: a name from the embedded catalog (see gatecrash list) or a
scenario file. gatecrash starts the upstream, its fault proxy and the gateway on
loopback ports, attacks the gateway with vegeta through every phase, stops
everything, prints the report and writes into the output folder:
`+folderHelp()+`
Exit codes: 0 every expectation held; 1 an expectation failed, or one with
abort: true stopped the run; 2 bad input; 3 the run broke or was
interrupted (Ctrl-C, SIGTERM), whatever the expectations.`, stdout)
	f := &runFlags{fs: fs}
	fs.StringVarP(&f.opt.Dir, "out", "o", "", "output folder (default ./gatecrash-out/NAME-UTCTIME); it must be new or empty, unless --force")
	fs.BoolVar(&f.force, "force", false, "write into an --out folder that is not empty, removing the files of an earlier run from it first")
	fs.Uint64Var(&f.seed, "seed", 0, "seed for every fault decision, overriding the scenario's (default: the scenario's, else random)")
	fs.StringVar(&f.gateway, "gateway", "", "the gateway gatecrash starts, overriding the scenario's target.gateway: builtin, nginx, haproxy or caddy (found on PATH)")
	fs.StringVar(&f.opt.ProxyListen, "proxy-listen", "127.0.0.1:0", "address of the fault proxy, overriding the scenario's proxy.listen; point your gateway's upstream here when target.gateway is none")
	fs.StringSliceVar(&f.formats, "format", nil, "what to print on stdout: "+formatNames()+"; repeat or separate with commas for several (default text); the output folder always gets every one")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no live progress on stderr")
	fs.StringVar(&f.baseline, "baseline", "", "compare this run with a report.json or run folder at the end, as gatecrash compare does: exit 1 on a regression")
	analysis := analysisFlags(fs)
	compare := compareFlags(fs)
	// consent: target.url, upstream.url and the proxy beyond loopback
	allowHostFlag(fs, runConsentHelp)
	// SHARDS: --shard, --shard-from-env, --start-at.
	shard := shardFlags(fs)
	// METRICS (issue 17)
	f.metrics = metricsFlagsOn(fs, true)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	// METRICS (issue 17)
	if err := f.metrics.check(fs); err != nil {
		return nil, err
	}
	var err error
	if f.opt.Shard, f.opt.StartAt, err = shard(f.baseline); err != nil {
		return nil, err
	}
	if f.opt.Analysis, err = analysis(); err != nil {
		return nil, err
	}
	if err := checkFormats(f.formats); err != nil {
		return nil, err
	}
	if f.compare, err = compare(); err != nil {
		return nil, err
	}
	return f, nil
}

// prepareOut checks the output folder before a run: it must be new or
// empty, so that the run's files do not mix with an earlier run's. With
// force, the files a run writes are removed from it instead, and any
// other file is left alone.
func prepareOut(dir string, force bool) error { return prepareFolder("--out", dir, force) }

// prepareFolder is prepareOut for a folder the user gave as what (a flag,
// or an argument's name).
func prepareFolder(what, dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return inputErrf("%s %s: %w; give a folder gatecrash can write", what, scenarios.Cut(dir), err)
	case len(entries) == 0:
		return nil
	case !force:
		names := make([]string, 0, 3)
		for _, e := range entries[:min(3, len(entries))] {
			names = append(names, scenarios.Cut(e.Name()))
		}
		return inputErrf("%s %s: the folder is not empty (%s, such as %s): a run would mix its files with theirs; give a new folder, or add --force to remove the files of an earlier run (%s, ...) from it first",
			what, scenarios.Cut(dir), entryCount(len(entries)), strings.Join(names, ", "), strings.Join(run.Files()[:3], ", "))
	}
	for _, name := range run.Files() {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return inputErrf("--force: %w; remove it yourself, or give a new %s folder", err, what)
		}
	}
	return nil
}

// folderHelp says what the run folder holds, for run's help.
func folderHelp() string {
	var b strings.Builder
	for _, f := range []struct{ name, what string }{
		{run.ResultsFile, "every request's vegeta result (vegeta report/plot read it)"},
		{run.EventsFile, "one JSON line per fault the proxy applied or retry it saw"},
		{run.PlanFile, "the plan and clock of the run"},
		{run.ExpectFile, "the scenario's expectations, and why the run was aborted"},
		{run.ReportFile, "the report (schema gatecrash/report/v1)"},
		{run.GatewayLogFile, "the built-in gateway's error answers"},
		{run.TriesFile, "with client.retry: one JSON line per try"},
		{run.StreamsFile, "with streamed answers: one JSON line per stream"},
	} {
		fmt.Fprintf(&b, "  %-13s  %s\n", f.name, f.what)
	}
	fmt.Fprintf(&b, "  %s, %s, %s\n", run.AccessLogFile, run.ErrorLogFile, run.GatewayConfigFile)
	b.WriteString("                 nginx's, HAProxy's or Caddy's logs and configuration, when\n")
	b.WriteString("                 gatecrash started one (target.gateway, or --gateway)\n")
	return b.String()
}

// runScenario resolves run's one argument into the scenario to run, with
// the flags that override it applied, checks that what it needs is there,
// and completes opt from it.
func runScenario(fs *pflag.FlagSet, gateway string, seed uint64, opt *run.Options) (*scenarios.Scenario, error) {
	if fs.NArg() != 1 {
		return nil, inputErrf("%s takes one scenario (a catalog name or a file), got %d; see gatecrash list", fs.Name(), fs.NArg())
	}
	consent, err := consentOf(fs)
	if err != nil {
		return nil, err
	}
	sc, err := consent.Resolve(fs.Arg(0))
	if err != nil {
		return nil, inputErr(err)
	}
	if fs.Changed("gateway") {
		if err := overrideGateway(sc, gateway); err != nil {
			return nil, err
		}
	}
	if opt.Gateway, err = run.Check(sc); err != nil {
		return nil, err
	}
	if !fs.Changed("proxy-listen") && sc.Proxy.Listen != "" {
		opt.ProxyListen = sc.Proxy.Listen
	}
	if err := proxyListenConsented(opt.ProxyListen, sc.Target.Gateway, consent); err != nil {
		return nil, inputErrf("--proxy-listen: %w", err)
	}
	if fs.Changed("seed") {
		sc.Seed = &seed
	}
	if opt.Dir == "" {
		opt.Dir = filepath.Join("gatecrash-out", sc.Name+"-"+time.Now().UTC().Format("20060102T150405Z"))
	}
	return sc, nil
}

// overrideGateway applies --gateway to the scenario.
func overrideGateway(sc *scenarios.Scenario, gateway string) error {
	switch {
	case gateway == scenarios.GatewayNone:
		return inputErrf("--gateway none: --gateway names a gateway for gatecrash to start; for one you run, write target.gateway: none and target.url in the scenario; give builtin, nginx, haproxy or caddy")
	case gateway != scenarios.GatewayBuiltin && !scenarios.Managed(gateway):
		return inputErrf("--gateway %q: give builtin, nginx, haproxy or caddy", gateway)
	case sc.Target.Gateway == scenarios.GatewayNone:
		return inputErrf("--gateway %s: the scenario's target.gateway is none, a gateway you run at %s, which --gateway cannot replace; remove --gateway to attack yours, or set target.gateway in the scenario", gateway, sc.Target.URL)
	case sc.Target.Config != "" && gateway != sc.Target.Gateway:
		return inputErrf("--gateway %s: the scenario's target.config (%s) is a template for %s; remove --gateway, or target.config to use gatecrash's own %s template", gateway, sc.Target.Config, sc.Target.Gateway, gateway)
	}
	sc.Target.Gateway = gateway
	return nil
}

// entryCount says how many entries a folder holds.
func entryCount(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}
