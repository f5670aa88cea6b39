package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Options are a run's settings beyond its scenario.
type Options struct {
	// Dir is the run folder; it is created when missing.
	Dir string
	// ProxyListen is the fault proxy's address; empty means a free port on
	// 127.0.0.1. The caller checks that it is on loopback.
	ProxyListen string
	// Gateway is the managed gateway's template as Check rendered and
	// checked it; nil: Run checks it.
	Gateway *lab.Template
	// Analysis are the report's settings.
	Analysis results.Options
	// Log receives what the run says while it goes (what it started and
	// where, why it aborted); nil discards it.
	Log io.Writer
	// Progress, when not nil, is called once as the attack starts, with
	// the plan's length and what runs when; what it returns is told of
	// every result, and stopped when the attack ends.
	Progress func(total time.Duration, phaseAt func(time.Duration) (phase string, offered float64)) Progress

	// SHARDS (issue 17): a sharded run.
	// Shard, when not nil, makes the run shard Shard.K of Shard.N: it
	// offers 1/N of every phase's rate (attack.Pacer.Shard) under the
	// attack name ShardAttack gives, starts no upstream, fault proxy nor
	// gateway (they run once, elsewhere) and attacks target.url, which
	// needs target.gateway none; its run.json records the shard. Its
	// Attack and StartAt are filled in by Run.
	Shard *results.Shard
	// StartAt, when not zero, is when the attack starts: Run waits until
	// then, so that shards started apart share their phases' clock.
	StartAt time.Time
	// METRICS (issue 17): live Prometheus metrics.
	// Metrics, when not nil, is fed every result and fault event while
	// the attack goes, and set final from the report at the end (see
	// Metrics); a Metrics serves one run.
	Metrics *Metrics
}

// CheckShard checks that sc can run as shard (nil: not sharded): shard K
// of N with K from 1 to N, of a scenario whose gateway runs elsewhere
// (target.gateway none), since N shards cannot each start the one
// gateway and fault proxy every shard's requests must cross.
func CheckShard(sc *scenarios.Scenario, shard *results.Shard) error {
	if shard == nil {
		return nil
	}
	if shard.N < 1 || shard.K < 1 || shard.K > shard.N {
		return inputErrf("--shard %d/%d: give K/N with N at least 1 and K from 1 to N, such as --shard 1/4", shard.K, shard.N)
	}
	if sc.Target.Gateway != scenarios.GatewayNone {
		return inputErrf("--shard %d/%d: the scenario %s starts its own gateway (target.gateway: %s), but the shards of a run must all attack one gateway, in front of one fault proxy, that run elsewhere: write target.gateway: none and target.url (that gateway's address) in the scenario, run the proxy once with gatecrash proxy --scenario, and point the gateway's upstream at it",
			shard.K, shard.N, sc.Name, sc.Target.Gateway)
	}
	return nil
}

// ShardAttack returns the attack name of shard k of n of a scenario:
// NAME/shard-K-of-N, which keeps (attack, seq) unique across shards.
func ShardAttack(scenario string, k, n int) string {
	return fmt.Sprintf("%s/shard-%d-of-%d", scenario, k, n)
}

// attackName returns the run's attack name: the scenario's, or its
// shard's.
func (s *session) attackName() string {
	if sh := s.opt.Shard; sh != nil {
		return ShardAttack(s.sc.Name, sh.K, sh.N)
	}
	return s.sc.Name
}

// pacer returns the run's pacer: the scenario's, or its shard's view.
func (s *session) pacer() *attack.Pacer {
	p := attack.NewPacer(s.sc.Phases)
	if sh := s.opt.Shard; sh != nil {
		return p.Shard(sh.K, sh.N)
	}
	return p
}

// waitStart waits until opt.StartAt, if any, or ctx ends.
func (s *session) waitStart(ctx context.Context) {
	d := time.Until(s.opt.StartAt)
	if s.opt.StartAt.IsZero() || d <= 0 {
		return
	}
	fmt.Fprintf(s.opt.Log, "waiting %s for the start at %s\n", d.Round(time.Millisecond), s.opt.StartAt.UTC().Format(time.RFC3339Nano))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Progress shows an attack while it goes.
type Progress interface {
	// Run draws until ctx ends or Stop is called; it runs in a goroutine
	// of its own.
	Run(ctx context.Context)
	// Add counts one result by its status code (0: no answer) and its
	// error (vegeta's Result.Error); it is called from the attack's
	// goroutine.
	Add(code uint16, err string)
	// Stop ends Run and draws the last state.
	Stop()
}

// Run runs one scenario: it starts the upstream, the fault proxy and the
// gateway, attacks the gateway, stops everything, and writes the results,
// events, plan, expectations, testimony and report into opt.Dir. When ctx
// ends early, or an expectation with abort: true fails for good, the
// attack stops, the requests in flight are cancelled and the report is
// marked interrupted (and aborted, with the reason). Every server it
// starts is stopped, and every record flushed, before it returns,
// whatever happened. While the attack goes, run.json says it is running
// and the results and events are flushed to their files every second,
// so that a run killed outright (SIGKILL) leaves a folder that can be
// read up to its last second; the gateway it started dies with it. An
// error the user can fix (a folder that cannot be made, a port taken, a
// gateway not installed or rejecting its template) is an *InputError.
func Run(ctx context.Context, sc *scenarios.Scenario, opt Options) (*results.Report, error) {
	if err := CheckShard(sc, opt.Shard); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, inputErrf("output folder: %w", err)
	}
	if opt.ProxyListen == "" {
		opt.ProxyListen = "127.0.0.1:0"
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	seed := rand.Uint64()
	if sc.Seed != nil {
		seed = *sc.Seed
	}
	s := newSession(ctx, sc, opt, seed)
	defer s.stopAll()
	target, version, err := s.start()
	if err != nil {
		return nil, err
	}
	out, err := s.attack(ctx, target, version)
	stopErr := s.stopAll()
	rep, err := s.finish(out, version, err, stopErr)
	if opt.Metrics != nil {
		opt.Metrics.end(rep)
	}
	return rep, err
}

// retryPolicy returns the scenario's client retry policy, or nil when it
// has none: then the attack sends no try header and the folder has no
// tries file. A policy that does not retry (policy none) is measured as
// the others are, one try per request: the baseline a policy is judged
// against, with Go's own resend of a request on a dead reused connection
// stopped as under every policy.
func retryPolicy(sc *scenarios.Scenario) *scenarios.Retry {
	return sc.Client.Retry
}

// retryName is the scenario's client retry policy in one line; empty
// without one.
func retryName(sc *scenarios.Scenario) string {
	if r := retryPolicy(sc); r != nil {
		return r.String()
	}
	return ""
}

// attackOutcome is what the attack step leaves for the folder.
type attackOutcome struct {
	started     time.Time
	stopped     time.Duration
	interrupted bool
	aborted     string // why an expectation stopped the run, or ""
	pacer       *attack.Pacer
}

// attack runs the scenario's one attack against target, recording every
// result, watching the expectations that may abort it, and feeding the
// progress.
func (s *session) attack(ctx context.Context, target, version string) (attackOutcome, error) {
	sc, opt := s.sc, s.opt
	// The attack has a context of its own, so that an expectation with
	// abort: true that fails for good stops it as Ctrl-C does: the
	// requests in flight are cancelled, and everything recorded is kept.
	out := attackOutcome{pacer: s.pacer()}
	atkCtx, stopAttack := context.WithCancel(ctx)
	defer stopAttack()
	clock := time.Now() // no later than the attack's start
	if opt.StartAt.After(clock) {
		clock = opt.StartAt // waitStart waits for it below
	}
	if s.proxy != nil {
		// The proxy's phases, on connections, begin with the attack's,
		// not when it began to serve, before the gateway started: from
		// now, and exactly from the attack's start (aopt.Started).
		s.proxy.SetStart(clock)
	}
	// run.json, written now, says the run is going: a run killed before
	// its end leaves a folder whose plan and clock can still be read.
	if err := results.WriteRun(s.dir.Path(PlanFile), s.plan(out, clock, version, true)); err != nil {
		return out, err
	}
	exps := sc.Expect
	if opt.Shard != nil {
		// A shard judges nothing and aborts nothing: it sees 1/N of the
		// load, and gatecrash merge judges the expectations over all.
		exps = nil
	}
	watch := results.NewWatch(planOf(sc, out.pacer), clock, exps)
	if opt.Metrics != nil {
		opt.Metrics.started(sc, out.pacer, clock)
	}
	stopFlush := s.flushEvery(flushInterval)
	defer stopFlush()
	// As late as can be, so that the attack starts on time.
	s.waitStart(ctx)
	prog := s.startProgress(atkCtx, out.pacer)
	aopt := attack.Options{
		Name:     s.attackName(),
		BaseURL:  target,
		Requests: sc.Requests,
		Timeout:  sc.Target.Timeout.D(),
		Retry:    retryPolicy(sc),
		Seed:     s.seed,
		// A stream that cannot be written leaves the writer's error for
		// stopAll's Close to report, as a try does.
		Streams:     func(st attack.Stream) { s.streams.Write(st) },
		StreamStall: sc.Client.StreamStall(),
	}
	if s.proxy != nil {
		aopt.Started = s.proxy.SetStart
	}
	if s.tries != nil {
		// A try that cannot be written leaves the writer's error for the
		// last flush, stopAll's, to report: the run then fails as a
		// results file that cannot be written does.
		aopt.Tries = func(t attack.Try) { s.tries.Write(t) }
	}
	started, err := attack.Run(atkCtx, out.pacer, aopt, func(r *vegeta.Result) error {
		if prog != nil {
			prog.Add(r.Code, r.Error)
		}
		if opt.Metrics != nil {
			opt.Metrics.result(r)
		}
		// A non-2xx answer's headers are kept (gateway signatures), its
		// secrets not.
		results.RedactHeader(r.Headers)
		if err := s.writeRecord(r); err != nil {
			return err
		}
		// After Ctrl-C, cancelled requests are no reason to abort; after
		// the plan's end, the run is not cut short: the report will say
		// the expectation failed.
		if why := watch.Add(r); why != "" && out.aborted == "" && ctx.Err() == nil && time.Since(clock) < out.pacer.Duration() {
			out.aborted = why
			fmt.Fprintf(opt.Log, "aborting the run: %s\n", why)
			stopAttack()
		}
		return nil
	})
	if prog != nil {
		prog.Stop()
	}
	out.started, out.stopped = started, time.Since(started)
	out.interrupted = ctx.Err() != nil || out.aborted != ""
	if err != nil {
		err = fmt.Errorf("attack: %w", err)
	}
	return out, err
}

// startProgress starts the caller's progress, if any, for the pacer's plan.
func (s *session) startProgress(ctx context.Context, pacer *attack.Pacer) Progress {
	if s.opt.Progress == nil {
		return nil
	}
	phases := s.sc.Phases
	prog := s.opt.Progress(pacer.Duration(), func(d time.Duration) (string, float64) {
		if i := pacer.Phase(d); i >= 0 {
			return phases[i].Name, pacer.Rate(d)
		}
		return "", 0
	})
	if prog != nil {
		go prog.Run(ctx)
	}
	return prog
}

// plan returns the run.json of the attack out, started at started:
// running while it goes, complete once it has ended.
func (s *session) plan(out attackOutcome, started time.Time, version string, running bool) *results.Run {
	sc := s.sc
	var shard *results.Shard
	if s.opt.Shard != nil {
		sh := *s.opt.Shard
		sh.Attack, sh.StartAt = s.attackName(), s.opt.StartAt.UTC()
		shard = &sh
	}
	return &results.Run{
		Schema:         results.RunSchema,
		Scenario:       sc.Name,
		Attack:         s.attackName(),
		Seed:           s.seed,
		Retry:          retryName(sc),
		Started:        started.UTC(),
		Running:        running,
		Interrupted:    out.interrupted,
		Gateway:        sc.Target.Gateway,
		GatewayVersion: version,
		Phases:         planOf(sc, out.pacer),
		Shard:          shard,
	}
}

// finish completes the folder once everything has stopped and every
// record is flushed: the plan, the expectations and the testimony, even
// when something broke, so that what was recorded can still be reported;
// then the report, when nothing did.
func (s *session) finish(out attackOutcome, version string, attackErr, stopErr error) (*results.Report, error) {
	sc := s.sc
	plan := s.plan(out, out.started, version, false)
	if out.interrupted {
		plan.StoppedS = out.stopped.Seconds()
	}
	werr := errors.Join(results.WriteRun(s.dir.Path(PlanFile), plan),
		results.WriteExpect(s.dir.Path(ExpectFile), sc.Expect, out.aborted))
	terr := writeTestimony(s.dir, sc.Target.Gateway)
	if stopErr != nil {
		stopErr = fmt.Errorf("stop: %w", stopErr)
	}
	if err := errors.Join(attackErr, stopErr, werr, terr); err != nil {
		return nil, err
	}
	rep, err := s.dir.Analyze(s.opt.Analysis)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err) // what the run just wrote: broken, not bad input
	}
	return rep, s.dir.WriteReport(rep)
}
