package faults

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// Rule is the envelope every fault shares: which requests it may hit, how
// likely, and the fault itself.
type Rule struct {
	// Index is the fault's position in its phase's list, part of every
	// decision's inputs.
	Index int
	// Kind is the fault kind's name.
	Kind string
	// Probability is in [0, 1].
	Probability float64
	// Match limits the requests the fault may hit.
	Match scenarios.Match
	// Fault is the kind's behaviour.
	Fault Fault

	counts *counts
}

// counts are a rule's counters, shared by the copies of a Rule.
type counts struct {
	matched, applied atomic.Uint64
}

// Matched returns how many requests (or connections) the rule matched.
func (r Rule) Matched() uint64 {
	if r.counts == nil {
		return 0
	}
	return r.counts.matched.Load()
}

// Applied returns how many times the fault was applied.
func (r Rule) Applied() uint64 {
	if r.counts == nil {
		return 0
	}
	return r.counts.applied.Load()
}

// applied counts one application on its own.
func (r Rule) applied() {
	if r.counts != nil {
		r.counts.applied.Add(1)
	}
}

// uncount takes back one application.
func (r Rule) uncount() {
	if r.counts != nil {
		r.counts.applied.Add(^uint64(0))
	}
}

// count records one match, and one application when applied.
func (r Rule) count(applied bool) {
	if r.counts == nil {
		return
	}
	r.counts.matched.Add(1)
	if applied {
		r.counts.applied.Add(1)
	}
}

// NewRule builds the rule for a validated fault spec at index i of its phase.
func NewRule(i int, spec scenarios.Fault) (Rule, error) {
	build, ok := kinds[spec.Kind]
	if !ok {
		return Rule{}, fmt.Errorf("fault %d: unknown fault kind %q", i, spec.Kind)
	}
	return Rule{Index: i, Kind: spec.Kind, Probability: spec.P(), Match: spec.Match, Fault: build(spec), counts: &counts{}}, nil
}

// kinds maps each fault kind's name to its constructor: adding a kind is
// its file and one line here. It is never changed after initialisation.
var kinds = map[string]func(scenarios.Fault) Fault{
	scenarios.KindLatency:     newLatency,
	scenarios.KindSlowBody:    func(s scenarios.Fault) Fault { return SlowBody{BytesPerSecond: s.BytesPerSecond} },
	scenarios.KindSlowHeaders: func(s scenarios.Fault) Fault { return SlowHeaders{Duration: s.Duration.D()} },
	scenarios.KindHang:        func(s scenarios.Fault) Fault { return Hang{For: s.For.D()} },
	scenarios.KindReset:       func(s scenarios.Fault) Fault { return Reset{Point{At: s.At, AfterBytes: s.AfterBytes}} },
	scenarios.KindClose:       func(s scenarios.Fault) Fault { return Close{Point{At: s.At, AfterBytes: s.AfterBytes}} },
	scenarios.KindStatus:      func(s scenarios.Fault) Fault { return Status{Code: s.Code, Body: s.Body, Headers: s.Headers} },
	scenarios.KindMalformed:   func(s scenarios.Fault) Fault { return Malformed{Variant: s.Variant, Size: s.Size, Bytes: s.Bytes} },
	scenarios.KindRefuse:      func(scenarios.Fault) Fault { return Refuse{} },
	scenarios.KindBlackhole:   func(scenarios.Fault) Fault { return Blackhole{} },
	scenarios.KindKeepalive:   func(s scenarios.Fault) Fault { return Keepalive{Idle: s.Idle.D(), When: s.When, Close: s.Close} },
	scenarios.KindOverload:    newOverload,
	scenarios.KindSSECut:      func(s scenarios.Fault) Fault { return SSECut{Events: s.Events, Cut: s.Cut} },
	scenarios.KindSSEStall:    func(s scenarios.Fault) Fault { return SSEStall{Events: s.Events, For: s.For.D()} },
}

// Matches reports whether the rule may hit the exchange's request.
func (r Rule) Matches(x *Exchange) bool {
	m := r.Match
	if m.Method != "" && m.Method != x.Method() {
		return false
	}
	if m.PathPrefix != "" && !strings.HasPrefix(x.Path(), m.PathPrefix) {
		return false
	}
	for k, v := range m.Header {
		if x.Header(k) != v {
			return false
		}
	}
	return true
}

// sleep waits for d or until ctx is done, whichever comes first, and
// reports whether the whole wait happened.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
