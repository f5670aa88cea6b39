package faults

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// Fault is one kind of upstream misbehaviour, applied to one exchange after
// the proxy has decided that it happens. It returns what it did.
type Fault interface {
	Apply(ctx context.Context, x *Exchange) (Outcome, error)
}

// Outcome is what a Fault did to an exchange.
type Outcome struct {
	// Detail says what was done, for the event log.
	Detail string
	// Cause is the stable cause name of a gateway error this fault leads
	// to, such as reset-before-headers.
	Cause string
	// Ended means the fault answered or broke the exchange: the request is
	// not forwarded and no later fault applies.
	Ended bool
	// Close means the downstream connection must not be used again.
	Close bool
}

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
}

// NewRule builds the rule for a validated fault spec at index i of its phase.
func NewRule(i int, spec scenarios.Fault) (Rule, error) {
	f, err := newFault(spec)
	if err != nil {
		return Rule{}, fmt.Errorf("fault %d (%s): %w", i, spec.Kind, err)
	}
	return Rule{Index: i, Kind: spec.Kind, Probability: spec.P(), Match: spec.Match, Fault: f}, nil
}

// newFault is the table from a kind's name to its constructor.
func newFault(spec scenarios.Fault) (Fault, error) {
	switch spec.Kind {
	case scenarios.KindLatency:
		return Latency{Delay: spec.Delay.D(), Jitter: spec.Jitter.D()}, nil
	case scenarios.KindReset:
		return Reset{At: spec.At}, nil
	case scenarios.KindStatus:
		return Status{Code: spec.Code, Body: spec.Body, Headers: spec.Headers}, nil
	case scenarios.KindMalformed:
		return Malformed{Variant: spec.Variant}, nil
	case scenarios.KindHang:
		return Hang{For: spec.For.D()}, nil
	}
	return nil, fmt.Errorf("unknown fault kind %q", spec.Kind)
}

// Matches reports whether the rule may hit req.
func (r Rule) Matches(req *http.Request) bool {
	m := r.Match
	if m.Method != "" && m.Method != req.Method {
		return false
	}
	if m.PathPrefix != "" && !strings.HasPrefix(req.URL.Path, m.PathPrefix) {
		return false
	}
	for k, v := range m.Header {
		if req.Header.Get(k) != v {
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
