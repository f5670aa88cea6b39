package faults

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// Headers the proxy reads from every request.
const (
	// HeaderAttack and HeaderSeq are set by vegeta's attacker.
	HeaderAttack = "X-Vegeta-Attack"
	HeaderSeq    = "X-Vegeta-Seq"
)

// Phase is the proxy's rules for one phase of a run.
type Phase struct {
	// Name is reported in events.
	Name string
	// Duration is used to find the phase of a request that carries no
	// phase header, by time since Config.Start.
	Duration time.Duration
	// Rules apply in order; the first one that ends an exchange stops the
	// others.
	Rules []Rule
}

// PhasesFrom builds the proxy's phases from a validated scenario.
//
// Overload faults with the same max_inflight, queue, queue_timeout and
// reject, in any phases, share one set of slots and one queue: they are
// one upstream's capacity, which does not reset at a phase boundary, so
// the requests of a phase still in flight or queued when the next begins
// hold their slots against the next phase's requests (as a retry storm
// needs). Each rule keeps its own counters.
func PhasesFrom(s *scenarios.Scenario) ([]Phase, error) {
	phases := make([]Phase, len(s.Phases))
	capacity := map[overloadKey]Fault{}
	for i, sp := range s.Phases {
		phases[i] = Phase{Name: sp.Name, Duration: sp.Duration.D()}
		for j, f := range sp.Faults {
			r, err := NewRule(j, f)
			if err != nil {
				return nil, fmt.Errorf("phase %s: %w", sp.Name, err)
			}
			if f.Kind == scenarios.KindOverload {
				k := overloadKey{f.MaxInflight, f.Queue, f.QueueTimeout.D(), f.Reject}
				if shared, ok := capacity[k]; ok {
					r.Fault = shared
				} else {
					capacity[k] = r.Fault
				}
			}
			phases[i].Rules = append(phases[i].Rules, r)
		}
	}
	return phases, nil
}

// overloadKey is the settings that make two overload faults one capacity.
type overloadKey struct {
	maxInflight, queue int
	queueTimeout       time.Duration
	reject             string
}

// Config configures a Proxy.
type Config struct {
	// Upstream is the host:port the proxy forwards to.
	Upstream string
	// Seed fixes every fault decision.
	Seed uint64
	// Phases are the fault schedule.
	Phases []Phase
	// Start is when the first phase began; a zero Start means the time
	// Serve was called. Only requests without a phase header use it.
	Start time.Time
	// Events receives one event per applied fault and per observation; nil
	// discards them.
	Events *EventLog
	// DialTimeout bounds connecting to the upstream; zero means 5s.
	DialTimeout time.Duration
	// Mode is scenarios.ModeHTTP (the default) or scenarios.ModeTCP.
	Mode string
}

// Proxy is the fault proxy. Create it with New and run it with Serve,
// once. Every downstream connection gets its own upstream connection,
// dialled at its first request; heads and bodies are forwarded exactly as
// received, bodies streamed, never buffered whole.
type Proxy struct {
	cfg    Config
	start  atomic.Int64 // unix nanoseconds; see SetStart
	phases atomic.Pointer[[]Phase]

	conns   atomic.Uint64
	counter atomic.Uint64 // seq for requests without a seq header
	// requests counts the requests read (mode http), for Stats.
	requests atomic.Uint64

	mu       sync.Mutex
	attempts attempts
	seen     map[string]*seenSet // by attack; the seqs of this Serve, see recordSeen
	links    map[*link]struct{}  // the open downstream connections of mode http
}

// New returns a proxy for cfg.
func New(cfg Config) (*Proxy, error) {
	if cfg.Upstream == "" {
		return nil, errors.New("no upstream address")
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = scenarios.ModeHTTP
	case scenarios.ModeHTTP, scenarios.ModeTCP:
	default:
		return nil, fmt.Errorf("unknown proxy mode %q", cfg.Mode)
	}
	p := &Proxy{cfg: cfg}
	p.SetPhases(cfg.Phases)
	return p, nil
}

// SetPhases replaces the fault schedule; requests already past their
// decisions are not affected. It is safe to call while the proxy serves.
func (p *Proxy) SetPhases(phases []Phase) {
	cp := append([]Phase(nil), phases...)
	p.phases.Store(&cp)
}

// Phases returns the fault schedule in force. The caller must not change
// it.
func (p *Proxy) Phases() []Phase { return *p.phases.Load() }

// Serve accepts connections on ln until ctx is done, then closes ln and
// every connection and returns once all of them are finished. It returns
// nil when ctx ended it, and an error when accepting failed for good.
// Before it returns, however it ends, the proxy records the tally of
// every fault of the schedule in force (see ObservedTally) and then, in
// mode http, the seen observations of the requests it received (see
// ObservedSeen).
//
// While a phase with a refuse fault runs, the listener is closed, so that
// connecting is refused for real, and (in mode http) the open connections
// end, as an upstream that died; the listener opens again on the same address when
// the phase ends.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	switch {
	case !p.cfg.Start.IsZero():
		p.start.CompareAndSwap(0, p.cfg.Start.UnixNano())
	default:
		p.start.CompareAndSwap(0, time.Now().UnixNano())
	}
	// Deferred first, so run last: once every connection has ended, no
	// request can be received, nor a fault applied, any more.
	defer func() {
		p.recordTally()
		p.recordSeen()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	// The refuse loop ends with Serve, however Serve ends.
	loopCtx, endLoop := context.WithCancel(ctx)
	defer endLoop()
	lc := &listenerControl{ln: ln, addr: ln.Addr().String(), reopened: make(chan struct{})}
	defer lc.close()
	stop := context.AfterFunc(ctx, lc.close)
	defer stop()
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.refuseLoop(loopCtx, lc)
	}()
	var backoff time.Duration
	for {
		ln, reopened := lc.current()
		if ln == nil {
			select {
			case <-reopened:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				if cur, _ := lc.current(); cur != ln {
					continue // closed by a refuse fault, or reopened
				}
				return fmt.Errorf("accept: %w", err)
			}
			// Out of file descriptors and the like: back off and go on,
			// as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			if !sleep(ctx, backoff) {
				return nil
			}
			continue
		}
		backoff = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p.cfg.Mode == scenarios.ModeTCP {
				p.serveTCP(ctx, c)
				return
			}
			p.serveConn(ctx, c)
		}()
	}
}

// phaseOf returns the phase of a request: the one its phase header names,
// else the one running now; nil after the last phase.
func (p *Proxy) phaseOf(h *head) *Phase {
	phases := p.Phases()
	if i, ok := parseSeq(h.phase); ok && i < uint64(len(phases)) {
		return &phases[i]
	}
	return p.phaseNow()
}

// SetStart sets when the first phase begins by the proxy's clock, which
// the requests without a phase header and the faults on connections
// (refuse, and mode tcp's) go by: the moment the attack starts, known
// only once the gateway is up, after Serve began. Until then the first
// phase runs. Without it, Config.Start, else the moment Serve was called,
// is the start. It is safe to call while the proxy serves.
func (p *Proxy) SetStart(t time.Time) { p.start.Store(t.UnixNano()) }

// phaseNow returns the phase running now by the proxy's clock; nil after
// the last phase. A phase with a zero Duration never ends.
func (p *Proxy) phaseNow() *Phase {
	phases := p.Phases()
	elapsed := time.Since(time.Unix(0, p.start.Load()))
	for i := range phases {
		if phases[i].Duration <= 0 || elapsed < phases[i].Duration {
			return &phases[i]
		}
		elapsed -= phases[i].Duration
	}
	return nil
}

func (p *Proxy) record(e Event) {
	if p.cfg.Events != nil {
		p.cfg.Events.Record(e)
	}
}
