package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/scenarios"
)

// proxyOptions are the proxy command's settings.
type proxyOptions struct {
	listen, upstream, faults, events, admin, mode string
	seed                                          uint64
	// consent (--allow-host) lets the addresses beyond loopback;
	// adminToken (--admin-token, GATECRASH_ADMIN_TOKEN) guards the admin
	// API, "" for none.
	consent    scenarios.Consent
	adminToken string
	// METRICS (issue 17): --metrics-listen.
	metrics *metricsFlags
}

// proxyReadyKey is the context key of a func(proxyAddr, adminURL string)
// that cmdProxy calls once both listeners are up, so that tests learn the
// addresses without reading the output.
type proxyReadyKey struct{}

// eventsFlushEvery is how often the proxy command flushes the events file,
// so that tail -f follows it.
const eventsFlushEvery = time.Second

func cmdProxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flagSet("proxy", "--listen ADDR --upstream URL [flags]\n       gatecrash proxy --scenario FILE [--start-at T] [flags]", `Run the fault proxy alone, until interrupted: point your gateway's upstream at
--listen, and the proxy forwards to --upstream, applying the faults of --faults
(a YAML file: mode: and faults: [...], as in a scenario's phase) to every
request, all the time. The admin API on --admin lists, adds, replaces and
removes faults while it runs, counts how often each matched and was applied,
and streams events as JSON lines:
  GET /faults, POST /faults, GET|PUT|DELETE /faults/ID, GET /events, GET /healthz
With --scenario, it is the one proxy of a sharded run instead: it follows the
scenario's phases and faults from --start-at, and exits after the last phase
and --grace (see gatecrash run --shard and gatecrash merge).
Every address must be on loopback, unless --allow-host names its host; the
admin API beyond loopback needs a bearer token (--admin-token).`, stdout)
	var opt proxyOptions
	fs.StringVar(&opt.listen, "listen", "", "address the proxy listens on, such as 127.0.0.1:9000 (required); on loopback unless --allow-host names its host")
	fs.StringVar(&opt.upstream, "upstream", "", "where the proxy forwards: http://HOST:PORT or HOST:PORT (required); on loopback unless --allow-host names its host")
	fs.StringVar(&opt.faults, "faults", "", "YAML file of the faults active from the start (default: none)")
	fs.StringVar(&opt.events, "events", "", "file to append events to, one JSON line each (default: none; GET /events streams them)")
	fs.StringVar(&opt.admin, "admin", "127.0.0.1:0", "address of the admin API; port 0 picks a free one, printed at start; on loopback unless --allow-host names its host, and then --admin-token is required")
	fs.Uint64Var(&opt.seed, "seed", 0, "seed for every fault decision (default random, printed at start)")
	fs.StringVar(&opt.mode, "mode", "", "http (every fault kind) or tcp (bytes, connection-level kinds) (default: the faults file's mode, else http)")
	// consent: addresses beyond loopback, the admin API's token
	allowHostFlag(fs, "the host of --listen, --upstream or --admin, such as --allow-host 0.0.0.0 for --listen 0.0.0.0:9000")
	fs.StringVar(&opt.adminToken, "admin-token", "", "bearer `TOKEN` that every admin request must then send (Authorization: Bearer TOKEN), at least 16 characters; required when --admin is beyond loopback (default $"+faults.TokenEnv+")")
	// SHARDS: --scenario, --start-at, --grace: the proxy of a sharded run.
	sp := scenarioProxyFlags(fs)
	// METRICS (issue 17)
	opt.metrics = metricsFlagsOn(fs, false)
	err := parse(fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return inputErrf("proxy takes flags only, got %s; run gatecrash proxy --help", scenarios.Quote(fs.Arg(0)))
	}
	if !fs.Changed("seed") {
		opt.seed = rand.Uint64()
	}
	if opt.consent, err = consentOf(fs); err != nil {
		return err
	}
	if !fs.Changed("admin-token") {
		opt.adminToken = os.Getenv(faults.TokenEnv)
	}
	// METRICS (issue 17)
	if err := opt.metrics.check(fs); err != nil {
		return err
	}
	// SHARDS: with --scenario, the scenario's phases from --start-at.
	if parseOnly(ctx) {
		return nil
	}
	if sp.scenario != "" {
		return serveScenario(ctx, fs, sp, opt, stdout)
	}
	if err := sp.unused(fs); err != nil {
		return err
	}
	upstream, err := checkProxyFlags(&opt, fs.Changed("admin-token"))
	if err != nil {
		return err
	}
	specs, mode, err := loadFaultSet(opt.faults, opt.mode)
	if err != nil {
		return err
	}
	return serveProxy(ctx, opt, upstream, mode, specs, stdout)
}

// checkProxyFlags checks the addresses, the admin token and the mode, and
// returns the upstream's host:port. tokenFlag says the token came from
// --admin-token, not the environment, for the messages.
func checkProxyFlags(opt *proxyOptions, tokenFlag bool) (string, error) {
	var errs []error
	if opt.listen == "" {
		errs = append(errs, errors.New("--listen is required: the loopback address your gateway's upstream points at, such as --listen 127.0.0.1:9000"))
	} else if err := listenConsented(opt.listen, opt.consent); err != nil {
		errs = append(errs, fmt.Errorf("--listen: %w", err))
	}
	upstream, err := upstreamAddr(opt.upstream, opt.consent)
	if err != nil {
		errs = append(errs, fmt.Errorf("--upstream: %w", err))
	}
	if err := checkAdmin(opt, tokenFlag); err != nil {
		errs = append(errs, err)
	}
	switch opt.mode {
	case "", scenarios.ModeHTTP, scenarios.ModeTCP:
	default:
		errs = append(errs, fmt.Errorf("--mode: unknown mode %s; write --mode http or --mode tcp", scenarios.Quote(opt.mode)))
	}
	if len(errs) > 0 {
		return "", inputErr(errors.Join(errs...))
	}
	return upstream, nil
}

// upstreamAddr returns the host:port of an --upstream value, which must
// be on loopback or on a host that consent allows.
func upstreamAddr(s string, consent scenarios.Consent) (string, error) {
	if s == "" {
		return "", errors.New("--upstream is required: the server to forward to, such as --upstream http://127.0.0.1:8080")
	}
	addr := s
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			// Not wrapped: url's error repeats the whole value.
			return "", fmt.Errorf("%s is not a URL; write http://HOST:PORT or HOST:PORT, such as http://127.0.0.1:8080", scenarios.Quote(s))
		}
		if u.User != nil {
			// Not quoted: the value holds a password.
			return "", fmt.Errorf("the URL holds credentials (user:password@); the proxy forwards each request's own headers, so send an Authorization header from the client instead (in a scenario, in requests[].headers, which gatecrash keeps out of every output), and write --upstream http://%s", scenarios.Cut(hostPort(u, "80")))
		}
		q := scenarios.Quote(s)
		switch {
		case u.Scheme == "https":
			return "", fmt.Errorf("%s: the proxy speaks plain HTTP to its upstream; for a TLS upstream use --mode tcp --upstream %s", q, scenarios.Cut(hostPort(u, "443")))
		case u.Scheme != "http":
			return "", fmt.Errorf("%s: unknown scheme %s; write http://HOST:PORT or HOST:PORT", q, scenarios.Quote(u.Scheme))
		case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
			return "", fmt.Errorf("%s: the proxy forwards each request's own path; write only http://%s", q, scenarios.Cut(hostPort(u, "80")))
		}
		addr = hostPort(u, "80")
	} else if strings.Contains(s, "@") {
		return "", errors.New("the address holds credentials (user:password@); the proxy forwards each request's own headers, so send an Authorization header from the client instead (in a scenario, in requests[].headers, which gatecrash keeps out of every output), and write --upstream HOST:PORT, such as 127.0.0.1:8080")
	}
	q := scenarios.Quote(s)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%s is neither http://HOST:PORT nor HOST:PORT, such as 127.0.0.1:8080", q)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("%s: port %s is not a number from 0 to 65535", q, scenarios.Quote(port))
	}
	if !consent.Allows(host) {
		return "", fmt.Errorf("%s is not on loopback; gatecrash sends traffic to loopback only unless the command line consents: run the upstream on 127.0.0.1 or [::1], or %s", q, scenarios.RefusedHost(host))
	}
	return addr, nil
}

// hostPort returns the host:port of u, with def when u has no port.
func hostPort(u *url.URL, def string) string {
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), def)
	}
	return u.Host
}

// loadFaultSet reads the faults file, if any, and returns its faults and
// the proxy's mode: the flag's, else the file's, else http. A file and a
// flag that name different modes are bad input.
func loadFaultSet(file, flagMode string) ([]scenarios.Fault, string, error) {
	if file == "" {
		return nil, cmp.Or(flagMode, scenarios.ModeHTTP), nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "", inputErrf("--faults: %w", err)
	}
	set, err := scenarios.DecodeFaults(file, data, flagMode)
	if err != nil {
		return nil, "", inputErr(err)
	}
	if len(set.Faults) > faults.MaxFaults {
		return nil, "", inputErrf("--faults: %s holds %d faults, more than the %d the proxy keeps at once; keep at most %d", file, len(set.Faults), faults.MaxFaults, faults.MaxFaults)
	}
	return set.Faults, set.Mode, nil
}

// serveProxy runs the proxy and its admin API until ctx ends.
func serveProxy(ctx context.Context, opt proxyOptions, upstream, mode string, specs []scenarios.Fault, stdout io.Writer) (err error) {
	events, closeEvents, err := openEvents(opt.events)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeEvents(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	proxy, err := faults.New(faults.Config{Upstream: upstream, Seed: opt.seed, Events: events, Mode: mode})
	if err != nil {
		return err
	}
	admin, err := faults.NewAdmin(proxy, events, specs)
	if err != nil {
		return err
	}
	ln, adminLn, err := listenProxy(opt)
	if err != nil {
		return err
	}
	// METRICS (issue 17): served until the proxy has stopped.
	stopMetrics, err := opt.metrics.serveProxyMetrics(ctx, proxy, events, stdout)
	if err != nil {
		ln.Close()
		adminLn.Close()
		return err
	}
	defer func() {
		if merr := stopMetrics(); merr != nil && err == nil {
			err = merr
		}
	}()

	// Both servers and the flusher stop when ctx ends, or when one of
	// them fails.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	proxyDone := make(chan error, 1)
	go func() { proxyDone <- proxy.Serve(ctx, ln) }()
	var handler http.Handler = admin
	if opt.adminToken != "" {
		handler = faults.RequireToken(admin, opt.adminToken)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx }, // ends /events streams
	}
	adminDone := make(chan error, 1)
	go func() { adminDone <- srv.Serve(adminLn) }()
	flushDone := make(chan struct{})
	go func() {
		defer close(flushDone)
		flushEvents(ctx, events)
	}()

	adminURL := "http://" + adminLn.Addr().String()
	printProxyStart(stdout, ln.Addr().String(), adminURL, upstream, mode, opt.seed, len(specs), opt.adminToken != "")
	if ready, ok := ctx.Value(proxyReadyKey{}).(func(string, string)); ok {
		ready(ln.Addr().String(), adminURL)
	}

	select {
	case <-ctx.Done():
	case err := <-proxyDone:
		proxyDone <- err
	case err := <-adminDone:
		adminDone <- err
	}
	cancel()
	err = stopProxy(ctx, srv, proxyDone, adminDone)
	<-flushDone
	fmt.Fprintf(stdout, "proxy stopped after %d events\n", events.Count())
	return err
}

// openEvents opens the events file, if any, for appending, and returns
// the event log that writes to it and the function that closes both.
func openEvents(path string) (*faults.EventLog, func() error, error) {
	var f *os.File
	var out io.Writer
	if path != "" {
		var err error
		if f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
			return nil, nil, inputErrf("--events: %w", err)
		}
		out = f
	}
	events := faults.NewEventLog(out)
	closeAll := func() error {
		var err error
		if cerr := events.Close(); cerr != nil {
			err = fmt.Errorf("--events %s: %w", path, cerr)
		}
		if f != nil {
			if cerr := f.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("--events: %w", cerr)
			}
		}
		return err
	}
	return events, closeAll, nil
}

// listenProxy opens the proxy's listener and the admin API's.
func listenProxy(opt proxyOptions) (ln, adminLn net.Listener, err error) {
	ln, err = net.Listen("tcp", opt.listen)
	if err != nil {
		return nil, nil, inputErrf("--listen: %w; pick a free loopback address, such as --listen 127.0.0.1:0 for any free port", err)
	}
	adminLn, err = net.Listen("tcp", opt.admin)
	if err != nil {
		ln.Close()
		return nil, nil, inputErrf("--admin: %w; pick a free loopback address, such as --admin 127.0.0.1:0 for any free port", err)
	}
	return ln, adminLn, nil
}

// flushEvents flushes the event log every eventsFlushEvery until ctx ends.
func flushEvents(ctx context.Context, events *faults.EventLog) {
	t := time.NewTicker(eventsFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = events.Flush() // the error is kept and returned by Close
		case <-ctx.Done():
			return
		}
	}
}

// printProxyStart prints where the proxy and its admin API listen.
func printProxyStart(stdout io.Writer, addr, adminURL, upstream, mode string, seed uint64, nfaults int, token bool) {
	nf := fmt.Sprintf("%d faults", nfaults)
	if nfaults == 1 {
		nf = "1 fault"
	}
	fmt.Fprintf(stdout, "proxy listening on %s, upstream %s, mode %s, seed %d, %s\n", addr, upstream, mode, seed, nf)
	if token {
		// Never the token itself.
		fmt.Fprintf(stdout, "admin on %s (bearer token required)\n", adminURL)
		return
	}
	fmt.Fprintf(stdout, "admin on %s\n", adminURL)
}

// stopProxy shuts the admin server down, waits for both servers and
// returns what ended them, if it was not the stop itself.
func stopProxy(ctx context.Context, srv *http.Server, proxyDone, adminDone <-chan error) error {
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
	}
	proxyErr, adminErr := <-proxyDone, <-adminDone
	if errors.Is(adminErr, http.ErrServerClosed) {
		adminErr = nil
	}
	if proxyErr != nil {
		proxyErr = fmt.Errorf("proxy: %w", proxyErr)
	}
	if adminErr != nil {
		adminErr = fmt.Errorf("admin: %w", adminErr)
	}
	return errors.Join(proxyErr, adminErr)
}
