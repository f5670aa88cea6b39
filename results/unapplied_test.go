package results

import (
	"reflect"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
)

// tallyRun is a run of three phases: spike (0-5s, 80 requests sent),
// race (5-10s, 20 requests) and late (10-15s, none sent), the kinds of
// each phase's faults as the plan lists them.
func tallyRun(spike, race, late []string) (*Run, []vegeta.Result) {
	run := &Run{Schema: RunSchema, Scenario: "s", Attack: "a", Started: t0, Phases: []PhasePlan{
		{Name: "spike", StartS: 0, EndS: 5, Planned: 80, Rate: 16, RampTo: 16, Faults: spike},
		{Name: "race", StartS: 5, EndS: 10, Planned: 20, Rate: 4, RampTo: 4, Faults: race},
		{Name: "late", StartS: 10, EndS: 15, Faults: late},
	}}
	var res []vegeta.Result
	for i := range 100 {
		ms := i * 5000 / 80
		if i >= 80 {
			ms = 5000 + (i-80)*250
		}
		res = append(res, vegeta.Result{Attack: "a", Seq: uint64(i), Code: 200, Timestamp: at(ms), Latency: time.Millisecond})
	}
	return run, res
}

// tallyOf is the tally observation of fault i of phase.
func tallyOf(phase string, i int, kind string, matched, applied uint64, p float64, detail string) faults.Event {
	return faults.Event{Time: at(15000), Type: faults.TypeObservation, Kind: faults.ObservedTally, Phase: phase, Fault: i,
		FaultKind: kind, Matched: matched, Applied: applied, P: p, Detail: detail}
}

// conditional marks a tally as a Misser's.
func conditional(e faults.Event) faults.Event {
	e.Conditional = true
	return e
}

// faultIn is a fault event of fault i of phase, for seq.
func faultIn(phase string, i int, kind string, seq uint64) faults.Event {
	return faults.Event{Time: at(1000), Type: faults.TypeFault, Attack: "a", Seq: &seq, Phase: phase, Kind: kind, Fault: i,
		Cause: "reset-before-headers", Ended: true}
}

// shown is what a test checks of an Unapplied: Matched, Probability and
// Expected as numbers, -1 for null.
type shown struct {
	Phase                 string
	Fault                 int
	Kind                  string
	Matched               int
	Applied               int
	Probability, Expected float64
	Never                 bool
	Warning               string
}

func show(us []Unapplied) []shown {
	out := []shown{}
	for _, u := range us {
		s := shown{Phase: u.Phase, Fault: u.Fault, Kind: u.Kind, Matched: -1, Applied: u.Applied, Probability: -1, Expected: -1, Never: u.Never, Warning: u.Warning}
		if u.Matched != nil {
			s.Matched = *u.Matched
		}
		if u.Probability != nil {
			s.Probability = *u.Probability
		}
		if u.Expected != nil {
			s.Expected = *u.Expected
		}
		out = append(out, s)
	}
	return out
}

func TestUnapplied(t *testing.T) {
	const idle10s = "no connection was idle 10s; lower idle or the rate"
	for _, tt := range []struct {
		name              string
		spike, race, late []string
		events            []faults.Event
		want              []shown
	}{
		{"tally: a fault whose match matched nothing", []string{"status"}, nil, nil,
			[]faults.Event{tallyOf("spike", 0, "status", 0, 0, 0.5, "matched 0, applied 0, probability 0.5")},
			[]shown{{"spike", 0, "status", 0, 0, 0.5, 0, true,
				"status (phase spike) never applied: it matched none of the 80 requests of the phase; check its match."}}},
		{"tally: keepalive says why, in its own words", nil, []string{"keepalive"}, nil,
			[]faults.Event{conditional(tallyOf("race", 0, "keepalive", 40, 0, 1, idle10s))},
			[]shown{{"race", 0, "keepalive", 40, 0, 1, 40, true,
				"keepalive (phase race) never applied: no connection was idle 10s; lower idle or the rate."}}},
		{"tally: a Misser that matched nothing still says why", nil, []string{"keepalive"}, nil,
			[]faults.Event{conditional(tallyOf("race", 0, "keepalive", 0, 0, 1, idle10s))},
			[]shown{{"race", 0, "keepalive", 0, 0, 1, 0, true,
				"keepalive (phase race) never applied: no connection was idle 10s; lower idle or the rate."}}},
		{"tally: matched, but the draw never hit", []string{"status", "reset"}, nil, nil,
			[]faults.Event{tallyOf("spike", 0, "status", 80, 80, 1, ""), tallyOf("spike", 1, "reset", 80, 0, 0.01, "")},
			[]shown{{"spike", 1, "reset", 80, 0, 0.01, 0.8, true,
				"reset (phase spike) never applied: its draw at probability 0.01 never hit in 80 matches (0.8 expected); raise the probability or the rate."}}},
		{"tally: far fewer than the probability implies", []string{"reset"}, nil, nil,
			[]faults.Event{tallyOf("spike", 0, "reset", 1000, 100, 0.5, "")},
			[]shown{{"spike", 0, "reset", 1000, 100, 0.5, 500, false,
				"reset (phase spike) applied only 100 times in 1000 matches, far fewer than the 500 its probability 0.5 implies."}}},
		{"tally: a fair shortfall is no warning", []string{"reset"}, nil, nil,
			[]faults.Event{tallyOf("spike", 0, "reset", 1000, 450, 0.5, "")}, []shown{}},
		{"tally: a Misser applied rarely is no warning", nil, []string{"keepalive"}, nil,
			[]faults.Event{conditional(tallyOf("race", 0, "keepalive", 1000, 10, 1, ""))}, []shown{}},
		{"tally: probability 0 is no warning", []string{"reset"}, nil, nil,
			[]faults.Event{tallyOf("spike", 0, "reset", 80, 0, 0, "")}, []shown{}},
		{"tally: a phase without requests", nil, nil, []string{"status"},
			[]faults.Event{tallyOf("late", 0, "status", 0, 0, 1, "")},
			[]shown{{"late", 0, "status", 0, 0, 1, 0, true, "status (phase late) never applied: no request was sent in the phase."}}},
		{"tally: the last tally of a fault counts", []string{"reset"}, nil, nil,
			[]faults.Event{tallyOf("spike", 0, "reset", 0, 0, 0.5, ""), tallyOf("spike", 0, "reset", 10, 5, 0.5, "")}, []shown{}},
		{"tally: in the plan's phase order, then other phases, by index", []string{"status", "status"}, nil, nil,
			[]faults.Event{
				tallyOf("proxy", 0, "status", 0, 0, 1, ""),
				tallyOf("spike", 1, "status", 0, 0, 1, ""),
				conditional(tallyOf("race", 0, "keepalive", 3, 0, 1, idle10s)),
				tallyOf("spike", 0, "status", 0, 0, 1, ""),
			},
			[]shown{
				{"spike", 0, "status", 0, 0, 1, 0, true, "status (phase spike) never applied: it matched none of the 80 requests of the phase; check its match."},
				{"spike", 1, "status", 0, 0, 1, 0, true, "status (phase spike) never applied: it matched none of the 80 requests of the phase; check its match."},
				{"race", 0, "keepalive", 3, 0, 1, 3, true, "keepalive (phase race) never applied: no connection was idle 10s; lower idle or the rate."},
				{"proxy", 0, "status", 0, 0, 1, 0, true, "status (phase proxy) never applied: it matched nothing; check its match."},
			}},
		{"tallies: the plan is not read", []string{"reset", "status"}, nil, nil,
			[]faults.Event{tallyOf("spike", 0, "reset", 80, 20, 0.25, "")}, []shown{}},
		{"no tally: a planned fault without an event", []string{"reset", "status"}, []string{"keepalive"}, nil,
			[]faults.Event{faultIn("spike", 0, "reset", 3), faultIn("race", 0, "keepalive", 90)},
			[]shown{{"spike", 1, "status", -1, 0, -1, -1, true,
				"status (phase spike) never applied: the event log has no event of it and no tally, so how often it matched is unknown."}}},
		{"no tally: a phase without requests", nil, nil, []string{"latency"}, nil,
			[]shown{{"late", 0, "latency", -1, 0, -1, -1, true, "latency (phase late) never applied: no request was sent in the phase."}}},
		{"no tally: an event of another index does not count", []string{"reset", "reset"}, nil, nil,
			[]faults.Event{faultIn("spike", 1, "reset", 3)},
			[]shown{{"spike", 0, "reset", -1, 0, -1, -1, true,
				"reset (phase spike) never applied: the event log has no event of it and no tally, so how often it matched is unknown."}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			run, res := tallyRun(tt.spike, tt.race, tt.late)
			rep := Analyze(run, res, tt.events, Options{})
			if got := show(rep.Unapplied); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			// One sentence each in the diagnosis, in order, after the 502s.
			d := rep.Diagnosis
			last := strings.Index(d, "No 502 Bad Gateway answers in 100 requests.")
			if last < 0 {
				t.Fatalf("diagnosis %q: no word of the 502s", d)
			}
			for _, w := range tt.want {
				i := strings.Index(d[last:], w.Warning)
				if i < 0 {
					t.Errorf("diagnosis %q lacks %q after what came before", d, w.Warning)
					continue
				}
				last += i + len(w.Warning)
			}
			if len(tt.want) == 0 && strings.Contains(d, "applied") {
				t.Errorf("diagnosis %q: got a word of a fault that never bit, want none", d)
			}
		})
	}
}

func TestFarFewer(t *testing.T) {
	for _, tt := range []struct {
		matched, applied uint64
		p                float64
		want             bool
	}{
		{0, 0, 0.5, false},
		{1000, 100, 0.5, true},  // 500 expected, 15.8 the deviation
		{1000, 249, 0.5, true},  // under half: the half decides at this size
		{1000, 251, 0.5, false}, // 11 deviations short, but not half
		{20, 1, 0.5, true},      // 10 expected, 2.2 the deviation: 4 of them decide
		{20, 2, 0.5, false},     // under half, yet a fair draw may fall there
		{100, 49, 1, true},      // no deviation at p 1: the half decides
		{100, 60, 1, false},     // short of 100, but more than half
		{10, 0, 0.1, false},     // 1 expected: none is no surprise (the never-applied warning says it)
		{100000, 999, 0.01, false},
		{100000, 400, 0.01, true},
	} {
		if got := FarFewer(tt.matched, tt.applied, tt.p); got != tt.want {
			t.Errorf("FarFewer(%d, %d, %v): got %v, want %v", tt.matched, tt.applied, tt.p, got, tt.want)
		}
	}
}
