package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/run"
)

// metricsFlags are --metrics-listen and, on run, --metrics-linger.
type metricsFlags struct {
	listen string
	linger time.Duration
}

// metricsFlagsOn adds the metrics flags to fs: --metrics-linger only
// with linger (a command that ends on its own).
func metricsFlagsOn(fs *pflag.FlagSet, linger bool) *metricsFlags {
	f := &metricsFlags{}
	fs.StringVar(&f.listen, "metrics-listen", "", "serve live Prometheus metrics at http://`ADDR`/metrics, such as 127.0.0.1:9464 (default: none); on loopback unless --allow-host names its host")
	if linger {
		fs.DurationVar(&f.linger, "metrics-linger", 0, "with --metrics-listen: keep serving the final values this long after the run ends, so that Prometheus scrapes them; give at least twice the scrape interval (default 0: the endpoint goes with the run, and only a scrape that falls after the report is made sees the final values; Ctrl-C ends the wait)")
	}
	return f
}

// check checks the flags of fs without touching the network: the
// address must be on loopback, or on a host that fs's --allow-host
// consents to (Prometheus in another container scrapes 0.0.0.0:PORT). A
// nil f (a command without the flags) is fine.
func (f *metricsFlags) check(fs *pflag.FlagSet) error {
	if f == nil {
		return nil
	}
	consent, err := consentOf(fs)
	if err != nil {
		return err
	}
	var errs []error
	if f.listen != "" {
		if err := listenConsented(f.listen, consent); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-listen: %w", err))
		}
	}
	if f.linger < 0 {
		errs = append(errs, fmt.Errorf("--metrics-linger %s: negative; give 0 (stop with the run) or a duration such as 15s", f.linger))
	}
	if f.linger > 0 && f.listen == "" {
		errs = append(errs, fmt.Errorf("--metrics-linger %s: no metrics to serve; add --metrics-listen 127.0.0.1:PORT, or remove --metrics-linger", f.linger))
	}
	if len(errs) > 0 {
		return inputErr(errors.Join(errs...))
	}
	return nil
}

// metricsServer serves one registry until stopped.
type metricsServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// serveMetrics listens on addr and serves reg at /metrics; a port taken is
// bad input naming the flag.
func serveMetrics(addr string, reg *prometheus.Registry) (*metricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, inputErrf("--metrics-listen: %w; pick a free loopback address, such as --metrics-listen 127.0.0.1:0 for any free port", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s := &metricsServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		ln:   ln,
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// url is where the metrics are served.
func (s *metricsServer) url() string { return "http://" + s.ln.Addr().String() + "/metrics" }

// stop shuts the server down, letting scrapes in progress finish, and
// waits for it.
func (s *metricsServer) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	if err := <-s.done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("--metrics-listen: %w", err)
	}
	return nil
}

// metricsReadyKey is the context key of a func(metricsURL string) that
// run and proxy call once their metrics are served, so that tests learn
// the address without reading the output.
type metricsReadyKey struct{}

// serveRunMetrics, with --metrics-listen, makes the run's metrics, sets
// them in opt and serves them; the function it returns ends the serving,
// after --metrics-linger unless ctx ends first. Without the flag it does
// nothing, as a nil f does.
func (f *metricsFlags) serveRunMetrics(ctx context.Context, opt *run.Options, stderr io.Writer) (stop func(), err error) {
	metricsFor, stop, err := f.serveRunsMetrics(ctx, stderr)
	if err != nil {
		return nil, err
	}
	if opt.Metrics, err = metricsFor(nil); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// serveRunsMetrics is serveRunMetrics for several runs served together
// (gatecrash policies): metricsFor makes the metrics of one run, set apart
// from the others' by labels, and returns nil without --metrics-listen.
func (f *metricsFlags) serveRunsMetrics(ctx context.Context, stderr io.Writer) (metricsFor func(labels prometheus.Labels) (*run.Metrics, error), stop func(), err error) {
	if f == nil || f.listen == "" {
		return func(prometheus.Labels) (*run.Metrics, error) { return nil, nil }, func() {}, nil
	}
	reg := prometheus.NewRegistry()
	metricsFor = func(labels prometheus.Labels) (*run.Metrics, error) {
		return run.NewMetrics(prometheus.WrapRegistererWith(labels, reg))
	}
	s, err := serveMetrics(f.listen, reg)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stderr, "metrics on %s\n", s.url())
	if ready, ok := ctx.Value(metricsReadyKey{}).(func(string)); ok {
		ready(s.url())
	}
	return metricsFor, func() {
		if f.linger > 0 {
			fmt.Fprintf(stderr, "serving the final metrics for %s more (--metrics-linger; Ctrl-C ends it)\n", f.linger)
			t := time.NewTimer(f.linger)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		if err := s.stop(); err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
		}
	}, nil
}

// serveProxyMetrics, with --metrics-listen, serves the proxy's metrics
// until the function it returns is called. Without the flag it does
// nothing, as a nil f does.
func (f *metricsFlags) serveProxyMetrics(ctx context.Context, p *faults.Proxy, events *faults.EventLog, stdout io.Writer) (stop func() error, err error) {
	if f == nil || f.listen == "" {
		return func() error { return nil }, nil
	}
	reg := prometheus.NewRegistry()
	if _, err := faults.NewMetrics(reg, p, events); err != nil {
		return nil, err
	}
	s, err := serveMetrics(f.listen, reg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "metrics on %s\n", s.url())
	if ready, ok := ctx.Value(metricsReadyKey{}).(func(string)); ok {
		ready(s.url())
	}
	return s.stop, nil
}
