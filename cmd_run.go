package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

// loopback checks that a listen address is on loopback.
func loopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s is not host:port; use 127.0.0.1:PORT or [::1]:PORT", scenarios.Quote(addr))
	}
	if !scenarios.LoopbackHost(host) {
		return fmt.Errorf("%s is not a loopback address; use 127.0.0.1:PORT or [::1]:PORT", scenarios.Quote(addr))
	}
	return nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flagSet("run", "NAME|FILE", `Run a scenario: a name from the embedded catalog (see gatecrash list) or a
scenario file. gatecrash starts the upstream, its fault proxy and the gateway on
loopback ports, attacks the gateway with vegeta through every phase, stops
everything, prints the report and writes into the output folder:
`+folderHelp()+`
Exit codes: 0 every expectation held; 1 an expectation failed, or one with
abort: true stopped the run; 2 bad input; 3 the run broke or was
interrupted (Ctrl-C, SIGTERM), whatever the expectations.`, stdout)
	var opt run.Options
	var err error
	fs.StringVarP(&opt.Dir, "out", "o", "", "output folder (default ./gatecrash-out/NAME-UTCTIME)")
	seed := fs.Uint64("seed", 0, "seed for every fault decision, overriding the scenario's (default: the scenario's, else random)")
	gateway := fs.String("gateway", "", "the gateway gatecrash starts, overriding the scenario's target.gateway: builtin, nginx, haproxy or caddy (found on PATH)")
	fs.StringVar(&opt.ProxyListen, "proxy-listen", "127.0.0.1:0", "address of the fault proxy, overriding the scenario's proxy.listen; point your gateway's upstream here when target.gateway is none")
	formats := fs.StringSlice("format", nil, "what to print on stdout: "+formatNames()+"; repeat or separate with commas for several (default text); the output folder always gets every one")
	quiet := fs.BoolP("quiet", "q", false, "no live progress on stderr")
	baseline := fs.String("baseline", "", "compare this run with a report.json or run folder at the end, as gatecrash compare does: exit 1 on a regression")
	analysis := analysisFlags(fs)
	compare := compareFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if opt.Analysis, err = analysis(); err != nil {
		return err
	}
	if err := checkFormats(*formats); err != nil {
		return err
	}
	copt, err := compare()
	if err != nil {
		return err
	}
	if *baseline != "" {
		if _, err := readCompared("baseline", *baseline); err != nil {
			return err
		}
	}
	sc, err := runScenario(fs, *gateway, *seed, &opt)
	if err != nil {
		return err
	}
	opt.Log = stderr
	if !*quiet {
		opt.Progress = progressOn(stderr)
	}
	rep, err := run.Run(ctx, sc, opt)
	if err != nil {
		return err
	}
	if err := warnOnly(writeOutputs(rep, *formats, opt.Dir, stdout), stderr); err != nil {
		return err
	}
	if !*quiet {
		fmt.Fprintf(stderr, "written to %s\n", opt.Dir)
	}
	if *baseline == "" {
		return verdict(rep)
	}
	regressed, err := compareBaseline(*baseline, rep, copt, stderr, opt.Dir)
	if err != nil {
		return err
	}
	if err := verdict(rep); err != nil {
		return err
	}
	if regressed {
		return &exitError{code: exitFailed, err: fmt.Errorf("a regression against the baseline %s", *baseline)}
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
	} {
		fmt.Fprintf(&b, "  %-12s  %s\n", f.name, f.what)
	}
	fmt.Fprintf(&b, "  %s, %s, %s\n", run.AccessLogFile, run.ErrorLogFile, run.GatewayConfigFile)
	b.WriteString("                nginx's, HAProxy's or Caddy's logs and configuration, when\n")
	b.WriteString("                gatecrash started one (target.gateway, or --gateway)\n")
	return b.String()
}

// runScenario resolves run's one argument into the scenario to run, with
// the flags that override it applied, checks that what it needs is there,
// and completes opt from it.
func runScenario(fs *pflag.FlagSet, gateway string, seed uint64, opt *run.Options) (*scenarios.Scenario, error) {
	if fs.NArg() != 1 {
		return nil, inputErrf("run takes one scenario (a catalog name or a file), got %d; see gatecrash list", fs.NArg())
	}
	sc, err := scenarios.Resolve(fs.Arg(0))
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
	if err := loopback(opt.ProxyListen); err != nil {
		return nil, inputErrf("--proxy-listen: %v", err)
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
