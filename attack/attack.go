package attack

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/scenarios"
)

// Options configure an attack.
type Options struct {
	// Name is the attack's name, sent as X-Vegeta-Attack.
	Name string
	// BaseURL is the gateway's URL; request paths are appended to it.
	BaseURL string
	// Requests are used round robin.
	Requests []scenarios.Request
	// Timeout is the per-request timeout; zero means vegeta's default.
	Timeout time.Duration
	// IdleTimeout closes a keep-alive connection to the gateway left idle
	// this long; zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Retry is the client's retry policy, validated and with its defaults
	// (scenarios does both); nil means one try per request, no
	// scenarios.HeaderTry, and nothing else changes. With a policy, each hit is one
	// logical request whose tries go out with the same X-Vegeta-Seq and
	// scenarios.HeaderTry; Timeout bounds each try, and the policy's deadline all
	// of them with their waits; the Result is the last try's, with the
	// whole latency. The pacer schedules first tries only: a request
	// waiting to retry holds a worker, and vegeta starts another for the
	// next hit due (its MaxWorkers is left unbounded).
	Retry *scenarios.Retry
	// Seed is the run's seed: a request's jitter draws from a source
	// seeded with it and the request's seq, so that a run repeats them.
	Seed uint64
	// Tries, when not nil, is told of every try of every request when
	// Retry is set (the sidecar, tries.jsonl), from the attack's workers
	// concurrently: it must be safe for concurrent use.
	Tries func(Try)
	// Streams, when not nil, is told of every streaming answer (a 2xx
	// text/event-stream), one per try, when its body ends (the sidecar,
	// streams.jsonl), from the attack's workers concurrently: it must be
	// safe for concurrent use. Whether or not it is set, a stream that
	// ends without its end marker, or stalls, fails its Result (code 0,
	// the error ErrStreamCut or ErrStreamStall and what happened).
	Streams func(Stream)
	// StreamStall is how long a stream may go without a token (from its
	// headers, or its last token) before the attacker gives up on it
	// with a stream-stall error; zero or less means never (the scenario's
	// client.stream.stall, 5s when the file leaves it out, is what
	// gatecrash run passes).
	StreamStall time.Duration
	// Started, when not nil, is called with the moment the attack begins
	// (the zero of the pacer's clock, which Run returns) before the first
	// request: for whatever must keep the same clock, such as the fault
	// proxy's phases.
	Started func(time.Time)
}

// DefaultIdleTimeout is how long the attacker keeps a connection to the
// gateway idle before it closes it. vegeta keeps idle connections for
// ever, so that a moment when the gateway slowed down, and the attacker
// opened thousands of connections to keep its rate, would leave them all
// open, with their buffers and goroutines at every hop, until the run's
// end: a long run would keep its worst moment's memory (in the soak
// benchmark, a slowdown of a few seconds left 13,000 goroutines and 300 MB
// resident for the rest of the run). 30 s is below the keep-alive timeouts
// gateways give their clients (nginx 75 s, Caddy 5 min), so the attacker
// closes an idle connection before the gateway would, and never races
// the gateway's close itself.
const DefaultIdleTimeout = 30 * time.Second

// Targeter returns a vegeta.Targeter that walks reqs round robin against
// base, stamping each target with the phase the pacer is in at that moment
// (measured from start; before the first phase the first, after the last
// the last). It is safe for concurrent use.
func Targeter(base string, reqs []scenarios.Request, p *Pacer, start time.Time) (vegeta.Targeter, error) {
	if len(reqs) == 0 {
		return nil, errors.New("no requests")
	}
	base = strings.TrimRight(base, "/")
	tgts := make([]vegeta.Target, len(reqs))
	for i, r := range reqs {
		h := make(http.Header, len(r.Headers)+1)
		for k, v := range r.Headers {
			h.Set(k, v)
		}
		method := r.Method
		if method == "" {
			method = http.MethodGet
		}
		tgts[i] = vegeta.Target{Method: method, URL: base + r.Path, Header: h}
		if r.Body != "" {
			tgts[i].Body = []byte(r.Body)
		}
	}
	var next atomic.Uint64
	return func(t *vegeta.Target) error {
		src := tgts[(next.Add(1)-1)%uint64(len(tgts))]
		*t = src
		t.Header = src.Header.Clone()
		t.Header.Set(scenarios.HeaderPhase, strconv.Itoa(p.PhaseClamped(time.Since(start))))
		return nil
	}, nil
}

// Run attacks opt.BaseURL with one vegeta attack paced by p and passes
// every result to out, in the order they complete, until the pacer ends,
// ctx is done, or out fails. It returns when the attack has stopped and
// every result has been passed on, along with the moment the attack began
// (the zero of the pacer's clock). An error from out stops the attack and
// is returned.
//
// When ctx ends, the attack stops sending and the requests in flight are
// cancelled; their results (with the error "context canceled") are still
// passed on.
func Run(ctx context.Context, p *Pacer, opt Options, out func(*vegeta.Result) error) (time.Time, error) {
	// vegeta's own transport settings, with every request bound to ctx,
	// and idle connections closed (see DefaultIdleTimeout).
	idle := opt.IdleTimeout
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: vegeta.DefaultConnections,
		MaxConnsPerHost:     vegeta.DefaultMaxConnections,
		IdleConnTimeout:     idle,
	}
	defer tr.CloseIdleConnections()
	// Each try's streaming answer is measured below the retrier, so that
	// a stream cut or stalled is a failed try it may retry.
	client := &http.Client{Timeout: vegeta.DefaultTimeout, Transport: streamTransport{
		base: ctxTransport{ctx: ctx, base: tr}, stall: max(opt.StreamStall, 0), out: opt.Streams,
	}}
	if opt.Timeout > 0 {
		client.Timeout = opt.Timeout
	}
	if opt.Retry != nil {
		// The client's timeout would bound all the tries together: the
		// retrier bounds each try with it instead.
		client.Transport = newRetrier(ctx, client.Transport, opt.Retry, client.Timeout, opt.Seed, opt.Tries)
		client.Timeout = 0
	}
	atk := vegeta.NewAttacker(vegeta.Client(client)) // keep-alive: http.Transport's default
	start := time.Now()
	if opt.Started != nil {
		opt.Started(start)
	}
	targeter, err := Targeter(opt.BaseURL, opt.Requests, p, start)
	if err != nil {
		return start, err
	}
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	var outErr error
	// The duration is a backstop: the pacer itself stops once every planned
	// hit is out. An attacker that fell behind (a loaded machine) still
	// sends its late hits, so the plan's count holds and the report's send
	// lag shows how late they went, up to half the plan (at least 5s) late.
	for r := range atk.Attack(targeter, p, p.Duration()+max(5*time.Second, p.Duration()/2), opt.Name) {
		if outErr != nil {
			continue // drain so the attacker's workers can finish
		}
		if err := out(r); err != nil {
			outErr = err
			atk.Stop()
		}
	}
	return start, outErr
}

// ctxTransport binds every request to ctx as well as to its own context,
// so that ending ctx cancels the requests in flight.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rctx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(t.ctx, cancel)
	done := func() { stop(); cancel() }
	resp, err := t.base.RoundTrip(req.WithContext(rctx))
	if err != nil {
		done()
		return nil, err
	}
	resp.Body = &doneBody{ReadCloser: resp.Body, done: done}
	return resp, nil
}

// doneBody calls done once the body is closed.
type doneBody struct {
	io.ReadCloser
	done func()
}

func (b *doneBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}
