package faults

import (
	"context"
	"fmt"
	"time"
)

// exchange handles one request and reports whether the connection may
// carry another.
func (p *Proxy) exchange(ctx context.Context, l *link, h *head) bool {
	base, again := p.identify(l, h)
	if base.Attempt > 0 {
		e := base
		e.Time = time.Now()
		e.Type, e.Kind, e.Fault = TypeObservation, ObservedRetry, -1
		switch {
		case base.Try == 0:
			e.Detail = fmt.Sprintf("seen %d times before: the gateway or the client retried", base.Attempt)
		case again:
			e.Detail = fmt.Sprintf("seen %d times before, try %d too: the gateway retried", base.Attempt, base.Try)
		default:
			e.Kind = ObservedClientRetry
			e.Detail = fmt.Sprintf("seen %d times before, not as try %d: the client retried", base.Attempt, base.Try)
		}
		p.record(e)
	}
	phase := p.phaseOf(h)
	if phase != nil {
		base.Phase = phase.Name
	}
	if phase == nil || len(phase.Rules) == 0 {
		// The pass-through path allocates no Exchange.
		return p.forward(ctx, l, h, base, nil)
	}
	x := &Exchange{Conn: l.down, req: h, reader: l.br, plan: newPlan(), idle: l.idle, reused: !l.lastEnd.IsZero()}
	defer x.finish()
	if keep, ended := p.applyRules(ctx, x, phase, base); ended {
		return keep
	}
	keep := p.forward(ctx, l, h, base, x.plan)
	p.recordEffects(base, x.plan)
	return keep
}

// applyRules applies the phase's Exchangers to the request, in order, each
// that matches and is drawn. ended reports that one ended the exchange
// (the request is not forwarded), keep then whether the connection may
// carry another request.
func (p *Proxy) applyRules(ctx context.Context, x *Exchange, phase *Phase, base Event) (keep, ended bool) {
	for _, r := range phase.Rules {
		f, ok := r.Fault.(Exchanger)
		if !ok || !r.Matches(x) || onAccept(r) != "" {
			continue
		}
		x.Draw = NewDraw(p.cfg.Seed, base.Attack, *base.Seq, base.Attempt, r.Index)
		if !x.Draw.Hit(r.Probability) {
			r.count(false)
			continue
		}
		x.rule = r
		e := base
		e.Time = time.Now()
		r.count(true) // before the fault answers, so counters never lag it
		out, err := f.Apply(ctx, x)
		if out.Skip {
			r.uncount() // it did nothing after all
		}
		if out.Skip || (out.Pending && err == nil) {
			continue
		}
		e.Type, e.Kind, e.Fault, e.Cause, e.Detail, e.Ended = TypeFault, r.Kind, r.Index, out.Cause, out.Detail, out.Ended
		e.Status = out.Status
		if err != nil {
			e.Detail += ": " + err.Error()
		}
		p.record(e)
		if out.Ended || err != nil {
			p.recordEffects(base, x.plan) // faults planned before this one
			return !out.Close && err == nil, true
		}
	}
	return false, false
}

// recordEffects logs one event for each fault that planned something on
// the answer: what it did, or that it had no effect.
func (p *Proxy) recordEffects(base Event, pl *plan) {
	for _, r := range pl.pending {
		e := base
		e.Type, e.Kind, e.Fault = TypeFault, r.Kind, r.Index
		found := false
		for _, ef := range pl.effects {
			if ef.rule.Index == r.Index {
				found = true
				e.Time, e.Detail, e.Cause, e.Ended = ef.time, ef.detail, ef.cause, ef.ended
				break
			}
		}
		if !found {
			e.Time, e.Detail = time.Now(), "no effect: the answer ended first"
		}
		p.record(e)
	}
}
