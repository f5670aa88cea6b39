package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// runOptions are the run command's settings beyond the scenario.
type runOptions struct {
	out         string
	proxyListen string
	analysis    results.Options
	stderr      io.Writer
}

// execute runs one scenario: it starts the upstream, the fault proxy and
// the gateway, attacks the gateway, stops everything, and writes the
// results, events, plan and report into opt.out. When ctx ends early the
// attack stops, the requests in flight are cancelled and the report is
// marked interrupted. Every server it starts is stopped, and every record
// flushed, before it returns, whatever happened.
func execute(ctx context.Context, sc *scenarios.Scenario, opt runOptions) (*results.Report, error) {
	if err := os.MkdirAll(opt.out, 0o755); err != nil {
		return nil, inputErrf("output folder: %w", err)
	}
	seed := rand.Uint64()
	if sc.Seed != nil {
		seed = *sc.Seed
	}

	// Servers live on their own context, so that they outlast an interrupt
	// until the results are in. Cleanups run last in first out.
	srvCtx, stopServers := context.WithCancel(context.WithoutCancel(ctx))
	var cleanups []func() error
	stopAll := func() error {
		stopServers()
		var err error
		for i := len(cleanups) - 1; i >= 0; i-- {
			err = errors.Join(err, cleanups[i]())
		}
		cleanups = nil
		return err
	}
	defer stopAll()

	upstream, err := startUpstream(sc, &cleanups)
	if err != nil {
		return nil, err
	}
	resultsFile, err := os.Create(filepath.Join(opt.out, results.RecordFile))
	if err != nil {
		return nil, fmt.Errorf("create results: %w", err)
	}
	cleanups = append(cleanups, resultsFile.Close)
	w := results.NewWriter(resultsFile)
	cleanups = append(cleanups, w.Flush)
	eventsFile, err := os.Create(filepath.Join(opt.out, results.EventsFile))
	if err != nil {
		return nil, fmt.Errorf("create events: %w", err)
	}
	cleanups = append(cleanups, eventsFile.Close)
	events := faults.NewEventLog(eventsFile)

	phases, err := faults.PhasesFrom(sc)
	if err != nil {
		return nil, err
	}
	proxy, err := faults.New(faults.Config{Upstream: upstream, Seed: seed, Phases: phases, Events: events, Mode: sc.Proxy.Mode})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opt.proxyListen)
	if err != nil {
		return nil, inputErrf("fault proxy: listen on %s: %w; pick a free loopback address with --proxy-listen", opt.proxyListen, err)
	}
	proxyDone := make(chan error, 1)
	go func() { proxyDone <- proxy.Serve(srvCtx, ln) }()
	cleanups = append(cleanups, func() error {
		stopServers()
		return errors.Join(<-proxyDone, events.Close())
	})

	target, err := startGateway(sc, "http://"+ln.Addr().String(), opt.out, &cleanups)
	if err != nil {
		return nil, err
	}
	if sc.Target.Gateway == scenarios.GatewayNone {
		fmt.Fprintf(opt.stderr, "fault proxy listening on %s; your gateway's upstream must point there\n", ln.Addr())
	}

	pacer := attack.NewPacer(sc.Phases)
	started, aerr := attack.Run(ctx, pacer, attack.Options{
		Name:     sc.Name,
		BaseURL:  target,
		Requests: sc.Requests,
		Timeout:  sc.Target.Timeout.D(),
	}, func(r *vegeta.Result) error { return w.Write(r) })
	interrupted := ctx.Err() != nil
	stopped := time.Since(started)

	// Stop everything and flush every record before writing the plan, so
	// that the folder is complete; write the plan even when something
	// broke, so that what was recorded can still be reported.
	stopErr := stopAll()
	run := &results.Run{
		Schema:      results.RunSchema,
		Scenario:    sc.Name,
		Attack:      sc.Name,
		Seed:        seed,
		Started:     started.UTC(),
		Interrupted: interrupted,
		Gateway:     sc.Target.Gateway,
		Phases:      plan(sc, pacer),
	}
	if interrupted {
		run.StoppedS = stopped.Seconds()
	}
	werr := results.WriteRun(filepath.Join(opt.out, results.RunFile), run)
	if aerr != nil {
		aerr = fmt.Errorf("attack: %w", aerr)
	}
	if stopErr != nil {
		stopErr = fmt.Errorf("stop: %w", stopErr)
	}
	if err := errors.Join(aerr, stopErr, werr); err != nil {
		return nil, err
	}
	return buildReport(opt.out, opt.analysis)
}

// startUpstream starts the built-in upstream, or returns the host:port of
// the scenario's own.
func startUpstream(sc *scenarios.Scenario, cleanups *[]func() error) (string, error) {
	if sc.Upstream.URL != "" {
		u, err := url.Parse(sc.Upstream.URL)
		if err != nil {
			return "", inputErrf("upstream.url: %w", err)
		}
		if u.Port() == "" {
			return net.JoinHostPort(u.Hostname(), "80"), nil
		}
		return u.Host, nil
	}
	b := sc.Upstream.Builtin
	if b == nil {
		b = &scenarios.BuiltinUpstream{BodyBytes: 512}
	}
	srv, err := lab.Start(lab.Upstream{Latency: b.Latency.D(), BodyBytes: b.BodyBytes})
	if err != nil {
		return "", fmt.Errorf("built-in upstream: %w", err)
	}
	*cleanups = append(*cleanups, srv.Close)
	return srv.Addr(), nil
}

// startGateway starts the built-in gateway in front of proxyURL, or
// returns the URL of the scenario's own gateway.
func startGateway(sc *scenarios.Scenario, proxyURL, out string, cleanups *[]func() error) (string, error) {
	if sc.Target.Gateway == scenarios.GatewayNone {
		return sc.Target.URL, nil
	}
	logFile, err := os.Create(filepath.Join(out, results.GatewayLog))
	if err != nil {
		return "", fmt.Errorf("create gateway log: %w", err)
	}
	*cleanups = append(*cleanups, logFile.Close)
	gw, err := lab.NewGateway(proxyURL, sc.Target.UpstreamTimeout.D(), logFile)
	if err != nil {
		return "", err
	}
	srv, err := lab.Start(gw)
	if err != nil {
		return "", fmt.Errorf("built-in gateway: %w", err)
	}
	*cleanups = append(*cleanups, srv.Close)
	return srv.URL(), nil
}

// plan returns the phases as the pacer plans them.
func plan(sc *scenarios.Scenario, p *attack.Pacer) []results.PhasePlan {
	var out []results.PhasePlan
	var at time.Duration
	for _, ph := range sc.Phases {
		end := at + ph.Duration.D()
		out = append(out, results.PhasePlan{
			Name:    ph.Name,
			StartS:  at.Seconds(),
			EndS:    end.Seconds(),
			Planned: p.Planned(end) - p.Planned(at),
			Rate:    ph.Rate.PerSecond(),
			RampTo:  ph.Rate.PerSecond(),
			Faults:  kinds(ph.Faults),
		})
		if ph.RampTo != nil {
			out[len(out)-1].RampTo = ph.RampTo.PerSecond()
		}
		at = end
	}
	return out
}

// buildReport reads a run folder back and writes its report.json.
func buildReport(dir string, opt results.Options) (*results.Report, error) {
	rep, err := results.AnalyzeDir(dir, opt)
	if err != nil {
		return nil, inputErr(err)
	}
	b, err := rep.MarshalIndent()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, results.ReportFile), b, 0o644); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	return rep, nil
}

// kinds lists the kinds of faults, without repeats, in their order.
func kinds(fs []scenarios.Fault) []string {
	var out []string
	for _, f := range fs {
		if !slices.Contains(out, f.Kind) {
			out = append(out, f.Kind)
		}
	}
	return out
}
