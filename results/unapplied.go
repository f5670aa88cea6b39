package results

// The faults that never bit: those the proxy's tallies show applied zero
// times, or far fewer than their probability implies; without tallies,
// the faults of the plan that no event names.

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/gatecrash/gatecrash/faults"
)

// Unapplied is a fault of the run that never applied, or applied far
// fewer times than its probability implies over what it matched: a run
// without 502s proves nothing of a fault that never bit.
type Unapplied struct {
	// Phase is the fault's phase; Fault its index in the phase's list;
	// Kind its kind.
	Phase string `json:"phase"`
	Fault int    `json:"fault"`
	Kind  string `json:"kind"`
	// Matched is how many requests (or connections, or idle waits) the
	// fault matched, Applied how many times it was applied, Probability
	// its probability and Expected Matched × Probability, all from the
	// proxy's tally. Matched, Probability and Expected are null when the
	// events hold no tally (a run written before tallies): Applied then
	// counts the fault's events, zero.
	Matched     *int     `json:"matched"`
	Applied     int      `json:"applied"`
	Probability *float64 `json:"probability"`
	Expected    *float64 `json:"expected"`
	// Never is true when the fault never applied; false when it applied
	// far fewer times than Expected (see FarFewer).
	Never bool `json:"never"`
	// Warning says it in one sentence, with what to change, e.g.
	// "keepalive (phase race) never applied: no connection was idle 50ms;
	// lower idle or the rate."
	Warning string `json:"warning"`
}

// farSigmas is how many binomial standard deviations below its expected
// count a fault's applications must fall to count as far fewer.
const farSigmas = 4

// FarFewer reports whether applied is far fewer applications than
// matched draws at probability p imply: under half the expected count
// matched×p, and more than four binomial standard deviations
// (sqrt(matched×p×(1-p))) below it. The standard deviations keep a fair
// draw from being called short (a fair one falls that low about three
// times in 100,000); the half keeps a fault whose probability is near 1,
// where the deviation vanishes, from being called short for missing a
// handful.
func FarFewer(matched, applied uint64, p float64) bool {
	mu := float64(matched) * p
	sd := math.Sqrt(mu * (1 - p))
	a := float64(applied)
	return a < mu/2 && a < mu-farSigmas*sd
}

// tallyKey names a fault of the run: its phase (interned) and index.
type tallyKey struct {
	phase uint32
	fault int
}

// tallied is what the last tally of a fault said.
type tallied struct {
	kind             string
	matched, applied uint64
	p                float64
	conditional      bool
	detail           string
}

// addTally takes a tally observation; a later tally of the same fault
// replaces an earlier one (a proxy served twice tallies twice, the
// counts cumulated).
func (ev *evidence) addTally(e *faults.Event) {
	k := tallyKey{ev.intern(e.Phase), e.Fault}
	if _, ok := ev.tallies[k]; !ok {
		ev.tallyOrder = append(ev.tallyOrder, k)
	}
	if ev.tallies == nil {
		ev.tallies = map[tallyKey]tallied{}
	}
	ev.tallies[k] = tallied{kind: e.FaultKind, matched: e.Matched, applied: e.Applied, p: e.P, conditional: e.Conditional, detail: e.Detail}
}

// unapplied lists the faults that never bit, in the plan's phase order
// (phases the plan lacks after, by name), by index within a phase.
func (a *Analyzer) unapplied(phases []PhaseReport) []Unapplied {
	ev := a.ev
	requests := map[string]int{} // per phase of the plan
	order := map[string]int{}
	for i, p := range phases {
		requests[p.Name], order[p.Name] = p.Requests, i
	}
	out := []Unapplied{}
	if len(ev.tallies) > 0 {
		for _, k := range ev.tallyOrder {
			if u, ok := fromTally(ev.names[k.phase], k.fault, ev.tallies[k], requests); ok {
				out = append(out, u)
			}
		}
	} else {
		for _, p := range a.run.Phases {
			for j, kind := range p.Faults {
				if ev.faulted[tallyKey{ev.intern(p.Name), j}] > 0 {
					continue
				}
				why := "the event log has no event of it and no tally, so how often it matched is unknown"
				if requests[p.Name] == 0 {
					why = "no request was sent in the phase"
				}
				out = append(out, Unapplied{Phase: p.Name, Fault: j, Kind: kind, Never: true, Warning: neverWords(kind, p.Name, why)})
			}
		}
	}
	slices.SortStableFunc(out, func(x, y Unapplied) int {
		ox, okx := order[x.Phase]
		oy, oky := order[y.Phase]
		switch {
		case okx && oky && ox != oy:
			return cmp.Compare(ox, oy)
		case okx != oky:
			if okx {
				return -1
			}
			return 1
		case !okx && x.Phase != y.Phase:
			return cmp.Compare(x.Phase, y.Phase)
		}
		return cmp.Compare(x.Fault, y.Fault)
	})
	return out
}

// fromTally returns the entry of a tallied fault, and whether it never
// bit: p above 0, and applied zero times, or (for a fault that applies
// whenever its draw hits) far fewer than p implies.
func fromTally(phase string, fault int, t tallied, requests map[string]int) (Unapplied, bool) {
	if !(t.p > 0) {
		return Unapplied{}, false
	}
	never := t.applied == 0
	if !never && (t.conditional || !FarFewer(t.matched, t.applied, t.p)) {
		return Unapplied{}, false
	}
	matched, p, expected := int(t.matched), t.p, round(float64(t.matched)*t.p)
	u := Unapplied{Phase: phase, Fault: fault, Kind: t.kind, Matched: &matched, Applied: int(t.applied), Probability: &p, Expected: &expected, Never: never}
	if !never {
		u.Warning = fmt.Sprintf("%s (phase %s) applied only %s in %s, far fewer than the %s its probability %s implies.",
			t.kind, phase, plural(int(t.applied), "time"), matches(matched), count(expected), prob(p))
		return u, true
	}
	n, known := requests[phase]
	var why string
	switch {
	case known && n == 0:
		why = "no request was sent in the phase"
	case t.conditional && t.detail != "":
		why = t.detail // the kind's own words (faults.Misser)
	case t.matched == 0 && known && n == 1:
		why = "it did not match the one request of the phase; check its match"
	case t.matched == 0 && known:
		why = fmt.Sprintf("it matched none of the %d requests of the phase; check its match", n)
	case t.matched == 0:
		why = "it matched nothing; check its match"
	case t.conditional:
		why = fmt.Sprintf("it matched %s but never took effect", plural(matched, "time"))
	default:
		why = fmt.Sprintf("its draw at probability %s never hit in %s (%s expected); raise the probability or the rate",
			prob(p), matches(matched), count(expected))
	}
	u.Warning = neverWords(t.kind, phase, why)
	return u, true
}

// neverWords says a fault never applied, and why.
func neverWords(kind, phase, why string) string {
	return fmt.Sprintf("%s (phase %s) never applied: %s.", kind, phase, why)
}

// matches says "1 match", "2 matches".
func matches(n int) string {
	if n == 1 {
		return "1 match"
	}
	return strconv.Itoa(n) + " matches"
}

// prob writes a probability as the scenario would: 0.25, 1.
func prob(p float64) string { return strconv.FormatFloat(p, 'g', -1, 64) }

// count writes an expected count: one decimal under 10, whole above.
func count(v float64) string {
	if v < 10 {
		return Decimal(v)
	}
	return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
}
