package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/scenarios"
)

// scenarioProxy is proxy's --scenario mode: the fault proxy of a sharded
// run, following a scenario's phases from a shared start.
type scenarioProxy struct {
	scenario string
	startAt  string
	grace    time.Duration
}

// scenarioProxyFlags adds proxy's --scenario, --start-at and --grace to
// fs.
func scenarioProxyFlags(fs *pflag.FlagSet) *scenarioProxy {
	var sp scenarioProxy
	fs.StringVar(&sp.scenario, "scenario", "", "follow this scenario's phases and faults (a catalog name or a file), from --start-at, then exit: the one proxy of a sharded run (gatecrash run --shard); --upstream defaults to the scenario's upstream.url, else the built-in upstream is started; --seed to the scenario's seed")
	fs.StringVar(&sp.startAt, "start-at", "", "with --scenario: when its first phase starts, RFC 3339 or unix seconds, the same as the shards' --start-at (default: now)")
	fs.DurationVar(&sp.grace, "grace", 0, "with --scenario: how long the proxy keeps serving after the last phase, for the requests in flight (default: the scenario's target.timeout plus 1s)")
	return &sp
}

// serveScenario runs the proxy of a sharded run: the scenario's phase
// schedule from the start, its events to opt.events, until the schedule's
// end plus the grace, or ctx ends; then it records the tallies and the
// seen ranges, flushes, and returns nil.
func serveScenario(ctx context.Context, fs *pflag.FlagSet, sp *scenarioProxy, opt proxyOptions, stdout io.Writer) (err error) {
	sc, err := opt.consent.Resolve(sp.scenario)
	if err != nil {
		return inputErr(err)
	}
	var errs []error
	for _, name := range []string{"faults", "admin", "admin-token", "mode"} {
		if fs.Changed(name) {
			errs = append(errs, fmt.Errorf("--%s: with --scenario the faults, their phases and the mode are the scenario's, and there is no admin API; remove --%s", name, name))
		}
	}
	start := time.Now()
	if sp.startAt != "" {
		if start, err = parseStartAt(sp.startAt, time.Now()); err != nil {
			errs = append(errs, fmt.Errorf("--start-at: %w", err))
		}
	}
	if sp.grace < 0 {
		errs = append(errs, fmt.Errorf("--grace %s: give a duration of 0 or more, such as --grace 5s", sp.grace))
	}
	if !fs.Changed("grace") {
		sp.grace = sc.Target.Timeout.D() + time.Second
	}
	switch {
	case fs.Changed("seed"):
	case sc.Seed != nil:
		opt.seed = *sc.Seed
	default:
		errs = append(errs, fmt.Errorf("--scenario %s: the scenario has no seed, and the proxy must draw its faults as the shards' run.json say: give --seed N, the same as the shards', or write seed: in the scenario", sc.Name))
	}
	opt.listen = cmp.Or(opt.listen, sc.Proxy.Listen)
	if opt.listen == "" {
		errs = append(errs, errors.New("--listen is required (the scenario has no proxy.listen): the address your gateway's upstream points at, such as --listen 127.0.0.1:9000"))
	} else if err := listenConsented(opt.listen, opt.consent); err != nil {
		errs = append(errs, fmt.Errorf("--listen: %w", err))
	}
	opt.upstream = cmp.Or(opt.upstream, sc.Upstream.URL)
	var upstream string
	if opt.upstream != "" {
		if upstream, err = upstreamAddr(opt.upstream, opt.consent); err != nil {
			errs = append(errs, fmt.Errorf("--upstream: %w", err))
		}
	}
	phases, err := faults.PhasesFrom(sc)
	if err != nil {
		errs = append(errs, fmt.Errorf("--scenario %s: %w", sp.scenario, err))
	}
	if len(errs) > 0 {
		return inputErr(errors.Join(errs...))
	}

	if upstream == "" {
		srv, err := startBuiltinUpstream(sc)
		if err != nil {
			return err
		}
		defer srv.Close()
		upstream = srv.Addr()
		fmt.Fprintf(stdout, "built-in upstream on %s\n", upstream)
	}
	events, closeEvents, err := openEvents(opt.events)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeEvents(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	proxy, err := faults.New(faults.Config{Upstream: upstream, Seed: opt.seed, Phases: phases, Start: start, Events: events, Mode: sc.Proxy.Mode})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opt.listen)
	if err != nil {
		return inputErrf("--listen: %w; pick a free loopback address, such as --listen 127.0.0.1:0 for any free port", err)
	}
	// METRICS (issue 17): served until the proxy has stopped.
	stopMetrics, err := opt.metrics.serveProxyMetrics(ctx, proxy, events, stdout)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() {
		if merr := stopMetrics(); merr != nil && err == nil {
			err = merr
		}
	}()
	end := start.Add(sc.Duration() + sp.grace)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	proxyDone := make(chan error, 1)
	go func() { proxyDone <- proxy.Serve(ctx, ln) }()
	flushDone := make(chan struct{})
	go func() {
		defer close(flushDone)
		flushEvents(ctx, events)
	}()
	fmt.Fprintf(stdout, "proxy listening on %s, upstream %s, mode %s, seed %d, scenario %s: %d phases from %s until %s\n",
		ln.Addr(), upstream, cmp.Or(sc.Proxy.Mode, scenarios.ModeHTTP), opt.seed, sc.Name, len(phases),
		start.UTC().Format(time.RFC3339Nano), end.UTC().Format(time.RFC3339Nano))
	if ready, ok := ctx.Value(proxyReadyKey{}).(func(string, string)); ok {
		ready(ln.Addr().String(), "")
	}
	err = <-proxyDone
	cancel()
	<-flushDone
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	fmt.Fprintf(stdout, "proxy stopped after %d events\n", events.Count())
	return nil
}

// startBuiltinUpstream starts the scenario's built-in upstream on
// loopback, as gatecrash run does.
func startBuiltinUpstream(sc *scenarios.Scenario) (*lab.Server, error) {
	b := sc.Upstream.Builtin
	if b == nil {
		b = &scenarios.BuiltinUpstream{BodyBytes: 512}
	}
	var h http.Handler = lab.Upstream{Latency: b.Latency.D(), BodyBytes: b.BodyBytes}
	if b.LLM != nil {
		h = lab.NewLLM(lab.LLMConfigOf(*b.LLM))
	}
	srv, err := lab.Start(h)
	if err != nil {
		return nil, fmt.Errorf("built-in upstream: %w", err)
	}
	return srv, nil
}

// unused refuses --start-at and --grace without --scenario.
func (sp *scenarioProxy) unused(fs *pflag.FlagSet) error {
	for _, name := range []string{"start-at", "grace"} {
		if fs.Changed(name) {
			return inputErrf("--%s goes with --scenario FILE, whose phases it times; add --scenario, or remove --%s", name, name)
		}
	}
	return nil
}

// parseOnlyKey is the context key of a true that makes proxy return once
// its flags are parsed, before it checks them against files and the
// network: the examples' test runs their command lines through the real
// flag parser that way.
type parseOnlyKey struct{}

// parseOnly reports whether ctx asks for a parse only.
func parseOnly(ctx context.Context) bool {
	only, _ := ctx.Value(parseOnlyKey{}).(bool)
	return only
}
