package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// session is one run while it goes: what it started, and how to stop it.
type session struct {
	sc   *scenarios.Scenario
	opt  Options
	dir  Folder
	seed uint64

	// Servers live on their own context, so that they outlast an
	// interrupt until the results are in.
	srvCtx      context.Context
	stopServers context.CancelFunc
	cleanups    []func() error // run last in first out

	// records is the results file's writer; recMu guards it, for the
	// attack's goroutine writes to it while flushEvery flushes it.
	recMu   sync.Mutex
	records *results.Writer
	events  *faults.EventLog
	// tries is the tries file's writer, nil without a retry policy; it
	// is safe for concurrent use.
	tries *attack.TryWriter
	// streams is the streams file's writer, which creates the file at
	// the first streaming answer; it is safe for concurrent use.
	streams *attack.StreamWriter
	// proxy is the fault proxy, nil until startProxy.
	proxy *faults.Proxy
}

func newSession(ctx context.Context, sc *scenarios.Scenario, opt Options, seed uint64) *session {
	srvCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	return &session{sc: sc, opt: opt, dir: Folder(opt.Dir), seed: seed, srvCtx: srvCtx, stopServers: stop}
}

// onStop adds a cleanup; stopAll runs them in reverse order.
func (s *session) onStop(f func() error) { s.cleanups = append(s.cleanups, f) }

// stopAll stops every server and closes every file the session opened,
// once; later calls do nothing.
func (s *session) stopAll() error {
	s.stopServers()
	var err error
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		err = errors.Join(err, s.cleanups[i]())
	}
	s.cleanups = nil
	return err
}

// start starts everything the attack needs, in order: the upstream, the
// record files, the fault proxy and the gateway. It returns the URL the
// attack goes to and, for a managed gateway, its version.
func (s *session) start() (target, version string, err error) {
	if s.opt.Shard != nil {
		// The upstream, the proxy and the gateway run once, elsewhere.
		if _, err := s.openRecords(); err != nil {
			return "", "", err
		}
		return s.sc.Target.URL, "", nil
	}
	upstream, err := s.startUpstream()
	if err != nil {
		return "", "", err
	}
	events, err := s.openRecords()
	if err != nil {
		return "", "", err
	}
	proxyAddr, err := s.startProxy(upstream, events)
	if err != nil {
		return "", "", err
	}
	target, version, err = s.startGateway(proxyAddr)
	if err != nil {
		return "", "", err
	}
	if s.sc.Target.Gateway == scenarios.GatewayNone {
		fmt.Fprintf(s.opt.Log, "fault proxy listening on %s; your gateway's upstream must point there\n", proxyAddr)
	}
	return target, version, nil
}

// startUpstream starts the built-in upstream, or returns the host:port of
// the scenario's own.
func (s *session) startUpstream() (string, error) {
	if raw := s.sc.Upstream.URL; raw != "" {
		u, err := url.Parse(raw)
		if err != nil {
			return "", inputErrf("upstream.url: %w", err)
		}
		if u.Port() == "" {
			return net.JoinHostPort(u.Hostname(), "80"), nil
		}
		return u.Host, nil
	}
	b := s.sc.Upstream.Builtin
	if b == nil {
		b = &scenarios.BuiltinUpstream{BodyBytes: 512}
	}
	var h http.Handler = lab.Upstream{Latency: b.Latency.D(), BodyBytes: b.BodyBytes}
	if b.LLM != nil {
		h = lab.NewLLM(lab.LLMConfigOf(*b.LLM))
	}
	srv, err := lab.Start(h)
	if err != nil {
		return "", fmt.Errorf("built-in upstream: %w", err)
	}
	s.onStop(srv.Close)
	return srv.Addr(), nil
}

// openRecords creates the results and events files; both are flushed and
// closed by stopAll.
func (s *session) openRecords() (*faults.EventLog, error) {
	resultsFile, err := os.Create(s.dir.Path(ResultsFile))
	if err != nil {
		return nil, fmt.Errorf("create results: %w", err)
	}
	s.onStop(resultsFile.Close)
	s.records = results.NewWriter(resultsFile)
	s.onStop(func() error {
		s.recMu.Lock()
		defer s.recMu.Unlock()
		return s.records.Flush()
	})
	eventsFile, err := os.Create(s.dir.Path(EventsFile))
	if err != nil {
		return nil, fmt.Errorf("create events: %w", err)
	}
	s.onStop(eventsFile.Close)
	s.events = faults.NewEventLog(eventsFile)
	if retryPolicy(s.sc) != nil {
		triesFile, err := os.Create(s.dir.Path(TriesFile))
		if err != nil {
			return nil, fmt.Errorf("create tries: %w", err)
		}
		s.onStop(triesFile.Close)
		s.tries = attack.NewTryWriter(triesFile)
		s.onStop(s.tries.Flush)
	}
	// streams.jsonl only once a stream comes: a run without streams has none.
	s.streams = attack.NewStreamWriter(func() (io.WriteCloser, error) { return os.Create(s.dir.Path(StreamsFile)) })
	s.onStop(s.streams.Close)
	return s.events, nil
}

// flushInterval is how often flushEvery writes the buffered records out
// while the attack goes: a run killed (SIGKILL) loses at most this much.
const flushInterval = time.Second

// writeRecord writes one result to the results file.
func (s *session) writeRecord(r *vegeta.Result) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return s.records.Write(r)
}

// flushEvery flushes the results, the events and the tries to their files every
// interval, until the function it returns is called; that call returns
// once the flushing has stopped. A flush that fails is left for the last
// flush, stopAll's, to report.
func (s *session) flushEvery(interval time.Duration) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			s.recMu.Lock()
			s.records.Flush()
			s.recMu.Unlock()
			s.events.Flush()
			if s.tries != nil {
				s.tries.Flush()
			}
			s.streams.Flush()
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-stopped
		})
	}
}

// startProxy starts the fault proxy in front of upstream, with the
// scenario's faults, and returns its address. It stops, and the events
// are flushed, when the session stops.
func (s *session) startProxy(upstream string, events *faults.EventLog) (string, error) {
	phases, err := faults.PhasesFrom(s.sc)
	if err != nil {
		return "", err
	}
	proxy, err := faults.New(faults.Config{Upstream: upstream, Seed: s.seed, Phases: phases, Events: events, Mode: s.sc.Proxy.Mode})
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", s.opt.ProxyListen)
	if err != nil {
		return "", inputErrf("fault proxy: listen on %s: %w; pick a free loopback address with --proxy-listen", s.opt.ProxyListen, err)
	}
	s.proxy = proxy
	if s.opt.Metrics != nil {
		if err := s.opt.Metrics.proxyStarted(proxy, events); err != nil {
			ln.Close()
			return "", fmt.Errorf("metrics: %w", err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- proxy.Serve(s.srvCtx, ln) }()
	s.onStop(func() error {
		s.stopServers()
		return errors.Join(<-done, events.Close())
	})
	return ln.Addr().String(), nil
}
