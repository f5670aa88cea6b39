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
	// progress receives the live progress line while the attack runs (nil:
	// none), drawn in place when progressTTY is true.
	progress    io.Writer
	progressTTY bool
	// gateway is the managed gateway's template as checkManaged rendered
	// and checked it; nil: startManaged checks it.
	gateway *lab.Template
}

// execute runs one scenario: it starts the upstream, the fault proxy and
// the gateway, attacks the gateway, stops everything, and writes the
// results, events, plan, expectations and report into opt.out. When ctx
// ends early, or an expectation with abort: true fails for good, the
// attack stops, the requests in flight are cancelled and the report is
// marked interrupted (and aborted, with the reason). Every server it
// starts is stopped, and every record flushed, before it returns,
// whatever happened.
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

	target, version, err := startGateway(srvCtx, sc, ln.Addr().String(), opt, &cleanups)
	if err != nil {
		return nil, err
	}
	if sc.Target.Gateway == scenarios.GatewayNone {
		fmt.Fprintf(opt.stderr, "fault proxy listening on %s; your gateway's upstream must point there\n", ln.Addr())
	}

	// The attack has a context of its own, so that an expectation with
	// abort: true that fails for good stops it as Ctrl-C does: the
	// requests in flight are cancelled, and everything recorded is kept.
	pacer := attack.NewPacer(sc.Phases)
	atkCtx, stopAttack := context.WithCancel(ctx)
	defer stopAttack()
	clock := time.Now() // no later than the attack's start
	watch := results.NewWatch(plan(sc, pacer), clock, sc.Expect)
	aborted := ""
	var prog *progress
	if opt.progress != nil {
		prog = newProgress(opt.progress, opt.progressTTY, pacer.Duration(), func(d time.Duration) (string, float64) {
			if i := pacer.Phase(d); i >= 0 {
				return sc.Phases[i].Name, pacer.Rate(d)
			}
			return "", 0
		})
		go prog.Run(atkCtx)
	}
	started, aerr := attack.Run(atkCtx, pacer, attack.Options{
		Name:     sc.Name,
		BaseURL:  target,
		Requests: sc.Requests,
		Timeout:  sc.Target.Timeout.D(),
	}, func(r *vegeta.Result) error {
		if prog != nil {
			prog.Add(r.Code)
		}
		if err := w.Write(r); err != nil {
			return err
		}
		// After Ctrl-C, cancelled requests are no reason to abort; after
		// the plan's end, the run is not cut short: the report will say
		// the expectation failed.
		if why := watch.Add(r); why != "" && aborted == "" && ctx.Err() == nil && time.Since(clock) < pacer.Duration() {
			aborted = why
			if opt.stderr != nil {
				fmt.Fprintf(opt.stderr, "aborting the run: %s\n", why)
			}
			stopAttack()
		}
		return nil
	})
	if prog != nil {
		prog.Stop()
	}
	interrupted := ctx.Err() != nil || aborted != ""
	stopped := time.Since(started)

	// Stop everything and flush every record before writing the plan, so
	// that the folder is complete; write the plan even when something
	// broke, so that what was recorded can still be reported.
	stopErr := stopAll()
	run := &results.Run{
		Schema:         results.RunSchema,
		Scenario:       sc.Name,
		Attack:         sc.Name,
		Seed:           seed,
		Started:        started.UTC(),
		Interrupted:    interrupted,
		Gateway:        sc.Target.Gateway,
		GatewayVersion: version,
		Phases:         plan(sc, pacer),
	}
	if interrupted {
		run.StoppedS = stopped.Seconds()
	}
	werr := errors.Join(results.WriteRun(filepath.Join(opt.out, results.RunFile), run),
		results.WriteExpect(filepath.Join(opt.out, results.ExpectFile), sc.Expect, aborted))
	terr := writeTestimony(opt.out, sc.Target.Gateway)
	if aerr != nil {
		aerr = fmt.Errorf("attack: %w", aerr)
	}
	if stopErr != nil {
		stopErr = fmt.Errorf("stop: %w", stopErr)
	}
	if err := errors.Join(aerr, stopErr, werr, terr); err != nil {
		return nil, err
	}
	rep, err := analyzeDir(opt.out, opt.analysis)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err) // what the run just wrote: broken, not bad input
	}
	return rep, writeReport(opt.out, rep)
}

// analyzeDir builds the report of a run folder, with the verdicts of the
// expectations in its expect.json.
func analyzeDir(dir string, opt results.Options) (*results.Report, error) {
	rep, err := results.AnalyzeDir(dir, opt)
	if err != nil {
		return nil, err
	}
	exps, aborted, err := results.ReadExpect(filepath.Join(dir, results.ExpectFile))
	if err != nil {
		return nil, err
	}
	rep.SetExpectations(exps, aborted)
	return rep, nil
}

// writeTestimony reads the logs of the gateway gatecrash started and
// writes what they say about each request into the run folder's
// testimony.jsonl.
func writeTestimony(dir, gateway string) error {
	var access, errs string
	switch {
	case gateway == scenarios.GatewayBuiltin:
		access = results.GatewayLog
	case scenarios.Managed(gateway):
		access, errs = lab.AccessLogFile, lab.ErrorLogFile
	default:
		return nil
	}
	open := func(name string) (*os.File, error) {
		if name == "" {
			return nil, nil
		}
		f, err := os.Open(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			return nil, nil
		}
		return f, err
	}
	af, err := open(access)
	if err != nil {
		return fmt.Errorf("gateway testimony: %w", err)
	}
	ef, err := open(errs)
	if err != nil {
		return fmt.Errorf("gateway testimony: %w", err)
	}
	var ar, er io.Reader
	if af != nil {
		defer af.Close()
		ar = af
	}
	if ef != nil {
		defer ef.Close()
		er = ef
	}
	ts, err := lab.ReadTestimony(gateway, ar, er)
	if err != nil {
		return fmt.Errorf("gateway testimony: %w", err)
	}
	out, err := os.Create(filepath.Join(dir, results.TestimonyFile))
	if err != nil {
		return fmt.Errorf("gateway testimony: %w", err)
	}
	if err := results.WriteTestimony(out, ts); err != nil {
		out.Close()
		return err
	}
	return out.Close()
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

// startGateway starts the gateway under test in front of the fault proxy
// at proxyAddr: the built-in one, or nginx, HAProxy or Caddy from their
// template. It returns the URL the attack goes to and, for a managed
// gateway, its version. With gateway none it starts nothing and returns
// the scenario's URL. What it starts stops when ctx ends or the cleanups
// run, whichever comes first.
func startGateway(ctx context.Context, sc *scenarios.Scenario, proxyAddr string, opt runOptions, cleanups *[]func() error) (target, version string, err error) {
	kind := sc.Target.Gateway
	switch {
	case kind == scenarios.GatewayNone:
		return sc.Target.URL, "", nil
	case scenarios.Managed(kind):
		m, err := startManaged(ctx, sc, opt.gateway, proxyAddr, opt.out)
		if err != nil {
			return "", "", err
		}
		*cleanups = append(*cleanups, m.Close)
		if opt.stderr != nil {
			fmt.Fprintf(opt.stderr, "%s started on %s (pid %d), forwarding to the fault proxy on %s; its logs: %s, %s\n",
				m.Version(), m.Addr(), m.PID(), proxyAddr,
				filepath.Join(opt.out, lab.AccessLogFile), filepath.Join(opt.out, lab.ErrorLogFile))
		}
		return m.URL(), m.Version(), nil
	}
	logFile, err := os.Create(filepath.Join(opt.out, results.GatewayLog))
	if err != nil {
		return "", "", fmt.Errorf("create gateway log: %w", err)
	}
	*cleanups = append(*cleanups, logFile.Close)
	gw, err := lab.NewGateway("http://"+proxyAddr, sc.Target.UpstreamTimeout.D(), logFile)
	if err != nil {
		return "", "", err
	}
	srv, err := lab.Start(gw)
	if err != nil {
		return "", "", fmt.Errorf("built-in gateway: %w", err)
	}
	*cleanups = append(*cleanups, srv.Close)
	return srv.URL(), "", nil
}

// startManaged starts the scenario's nginx, HAProxy or Caddy from tmpl,
// its template as checkManaged rendered and checked it (nil: checked
// here). A gateway that is not installed, and a template of the user's
// that does not render or that the gateway rejects, are bad input.
func startManaged(ctx context.Context, sc *scenarios.Scenario, tmpl *lab.Template, proxyAddr, out string) (*lab.Managed, error) {
	if tmpl == nil {
		var err error
		if tmpl, err = checkManaged(sc); err != nil {
			return nil, err
		}
	}
	m, err := lab.StartManaged(ctx, lab.ManagedConfig{
		Template:       tmpl,
		Upstream:       proxyAddr,
		ConnectTimeout: sc.Target.ConnectTimeout.D(),
		ReadTimeout:    sc.Target.UpstreamTimeout.D(),
		Dir:            out,
	})
	if err != nil {
		var missing *lab.NotInstalledError
		var bad *lab.TemplateError
		if errors.As(err, &missing) || errors.As(err, &bad) {
			return nil, inputErr(err)
		}
		return nil, fmt.Errorf("start %s: %w", tmpl.Kind(), err)
	}
	return m, nil
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
	rep, err := analyzeDir(dir, opt)
	if err != nil {
		return nil, inputErr(err)
	}
	return rep, writeReport(dir, rep)
}

// writeReport writes report.json into a run folder.
func writeReport(dir string, rep *results.Report) error {
	b, err := rep.MarshalIndent()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, results.ReportFile), b, 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
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
