package faults

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// phaseOf builds a phase of the given faults.
func phaseOf(t *testing.T, name string, d time.Duration, specs ...scenarios.Fault) Phase {
	t.Helper()
	ph := onlyPhase(t, specs...)
	ph.Name, ph.Duration = name, d
	return ph
}

// get sends one GET to path with a seq, on a connection of its own, and
// returns the status.
func get(t *testing.T, addr, path string, seq int) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(HeaderAttack, "a")
	req.Header.Set(HeaderSeq, strconv.Itoa(seq))
	req.Close = true
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// tallies returns the tally events of evs, and checks their form.
func tallies(t *testing.T, evs []Event) []Event {
	t.Helper()
	var out []Event
	for _, e := range evs {
		if e.Kind != ObservedTally {
			if e.FaultKind != "" || e.Matched != 0 || e.Applied != 0 || e.P != 0 || e.Conditional {
				t.Errorf("got tally fields on a %s event: %+v", e.Kind, e)
			}
			continue
		}
		if e.Type != TypeObservation || e.Seq != nil || e.Time.IsZero() || e.FaultKind == "" {
			t.Errorf("got tally %+v, want an observation with no seq, a time and a fault kind", e)
		}
		out = append(out, e)
	}
	return out
}

// tallyWant is what one tally must say.
type tallyWant struct {
	phase            string
	fault            int
	kind             string
	matched, applied uint64
	p                float64
	conditional      bool
	detail           string
}

func checkTallies(t *testing.T, got []Event, want []tallyWant) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tallies, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Phase != w.phase || g.Fault != w.fault || g.FaultKind != w.kind || g.Matched != w.matched || g.Applied != w.applied ||
			g.P != w.p || g.Conditional != w.conditional || g.Detail != w.detail {
			t.Errorf("tally %d: got phase %q fault %d kind %q matched %d applied %d p %v conditional %v detail %q,\nwant phase %q fault %d kind %q matched %d applied %d p %v conditional %v detail %q",
				i, g.Phase, g.Fault, g.FaultKind, g.Matched, g.Applied, g.P, g.Conditional, g.Detail,
				w.phase, w.fault, w.kind, w.matched, w.applied, w.p, w.conditional, w.detail)
		}
	}
}

// TestTallyModeHTTP serves requests through a schedule of two phases and
// checks the tallies recorded as Serve returns: one per rule of every
// phase, in order, before the seen events, with the counts of each: a
// fault whose match matches nothing (matched 0), one that applied to every
// request it matched, one drawn at a probability, a keepalive fault that
// never closed a connection (its Missed text), and the faults of a phase
// that never ran.
func TestTallyModeHTTP(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(hello))
	t.Cleanup(up.Close)
	half := 0.5
	first := phaseOf(t, "first", time.Hour,
		scenarios.Fault{Kind: scenarios.KindStatus, Code: 500, Match: scenarios.Match{Method: http.MethodDelete}},
		scenarios.Fault{Kind: scenarios.KindStatus, Code: 418, Match: scenarios.Match{PathPrefix: "/teapot"}},
		scenarios.Fault{Kind: scenarios.KindLatency, Delay: scenarios.Duration(time.Millisecond), Probability: &half, Match: scenarios.Match{PathPrefix: "/v1"}},
		scenarios.Fault{Kind: scenarios.KindKeepalive, Idle: scenarios.Duration(time.Hour)},
	)
	second := phaseOf(t, "second", time.Hour, scenarios.Fault{Kind: scenarios.KindReset, At: scenarios.AtBeforeHeaders})
	rig, addr := newTallyRig(t, Config{Upstream: up.Listener.Addr().String(), Phases: []Phase{first, second}})
	const teapots, items = 3, 20
	for i := range teapots {
		if code := get(t, addr, "/teapot", i); code != 418 {
			t.Fatalf("/teapot: got %d, want 418", code)
		}
	}
	var delayed uint64
	for i := teapots; i < teapots+items; i++ {
		// The latency fault's draw: attack a, seq i, attempt 0, index 2.
		if NewDraw(1, "a", uint64(i), 0, 2).Hit(half) {
			delayed++
		}
		get(t, addr, "/v1/items", i)
	}
	if delayed == 0 || delayed == items {
		t.Fatalf("the draws hit %d of %d: pick another seed, the test needs some of each", delayed, items)
	}
	evs := rig.events()
	got := tallies(t, evs)
	// The keepalive fault draws once per wait for a request: how many
	// waits there were depends on when each request's bytes arrived.
	if len(got) == 5 && got[3].Matched == 0 {
		t.Errorf("keepalive tally: got matched 0, want the waits for a request counted")
	}
	var kaMatched uint64
	if len(got) == 5 {
		kaMatched = got[3].Matched
	}
	checkTallies(t, got, []tallyWant{
		{"first", 0, scenarios.KindStatus, 0, 0, 1, false, "matched 0, applied 0, probability 1"},
		{"first", 1, scenarios.KindStatus, teapots, teapots, 1, false, "matched 3, applied 3, probability 1"},
		{"first", 2, scenarios.KindLatency, items, delayed, 0.5, false, "matched 20, applied " + strconv.FormatUint(delayed, 10) + ", probability 0.5"},
		{"first", 3, scenarios.KindKeepalive, kaMatched, 0, 1, true, "no connection was idle 1h0m0s; lower idle or the rate"},
		{"second", 0, scenarios.KindReset, 0, 0, 1, false, "matched 0, applied 0, probability 1"},
	})
	// The tallies come after every fault event, just before the seen one.
	i := 0
	for i < len(evs) && evs[i].Kind != ObservedTally {
		i++
	}
	rest := evs[i:]
	if len(rest) != 6 || rest[5].Kind != ObservedSeen {
		t.Errorf("got %+v after the first tally, want the 5 tallies, then the seen event", rest)
	}
}

// TestTallyScheduleInForce checks that the tallies are those of the
// schedule in force when Serve returns: a phase SetPhases replaced gets
// none, and the counts are the rules' own, so a rule kept across the
// change keeps its counts.
func TestTallyScheduleInForce(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(hello))
	t.Cleanup(up.Close)
	old := phaseOf(t, "old", 0, scenarios.Fault{Kind: scenarios.KindStatus, Code: 503})
	rig, addr := newTallyRig(t, Config{Upstream: up.Listener.Addr().String(), Phases: []Phase{old}})
	if code := get(t, addr, "/", 0); code != 503 {
		t.Fatalf("got %d, want 503", code)
	}
	kept := old.Rules[0]
	kept.Index = 1
	added := phaseOf(t, "new", 0, scenarios.Fault{Kind: scenarios.KindStatus, Code: 429, Match: scenarios.Match{Method: http.MethodPost}})
	added.Rules = append(added.Rules, kept)
	rig.p.SetPhases([]Phase{added})
	if code := get(t, addr, "/", 1); code != 503 {
		t.Fatalf("got %d, want 503 from the kept rule", code)
	}
	checkTallies(t, tallies(t, rig.events()), []tallyWant{
		{"new", 0, scenarios.KindStatus, 0, 0, 1, false, "matched 0, applied 0, probability 1"},
		{"new", 1, scenarios.KindStatus, 2, 2, 1, false, "matched 2, applied 2, probability 1"},
	})
}

// TestTallyModeTCP checks the tallies of the proxy of mode tcp, which
// records no seen events: a close at connect drawn at one half over n
// connections.
func TestTallyModeTCP(t *testing.T) {
	up := startTCPUpstream(t, func(c *net.TCPConn) { _, _ = c.Write([]byte("ok")); _ = c.CloseWrite() })
	half := 0.5
	ph := phaseOf(t, "only", time.Hour, scenarios.Fault{Kind: scenarios.KindClose, At: scenarios.AtConnect, Probability: &half})
	rig, addr := newTallyRig(t, Config{Upstream: up.addr, Phases: []Phase{ph}, Mode: scenarios.ModeTCP})
	const n = 20
	var hits uint64
	for id := uint64(1); id <= n; id++ {
		if NewDraw(1, "tcp", id, 0, 0).Hit(half) {
			hits++
		}
		// One connection at a time, so that ids follow the dial order.
		c := dialTCP(t, addr)
		_, _ = io.ReadAll(c)
		c.Close()
	}
	evs := rig.events()
	checkTallies(t, tallies(t, evs), []tallyWant{
		{"only", 0, scenarios.KindClose, n, hits, 0.5, false, "matched 20, applied " + strconv.FormatUint(hits, 10) + ", probability 0.5"},
	})
	if last := evs[len(evs)-1]; last.Kind != ObservedTally {
		t.Errorf("got %+v last, want the tally: mode tcp records no seen events", last)
	}
}

// TestTallyMissers checks the Detail and Conditional of the kinds that
// can say why they never applied, against a plain kind, from the rule's
// counters alone.
func TestTallyMissers(t *testing.T) {
	at := time.Unix(1, 0)
	for _, tt := range []struct {
		name             string
		spec             scenarios.Fault
		matched, applied uint64
		conditional      bool
		detail           string
	}{
		{"keepalive never applied", scenarios.Fault{Kind: scenarios.KindKeepalive, Idle: scenarios.Duration(50 * time.Millisecond)}, 12, 0, true,
			"no connection was idle 50ms; lower idle or the rate"},
		{"keepalive applied", scenarios.Fault{Kind: scenarios.KindKeepalive, Idle: scenarios.Duration(50 * time.Millisecond)}, 12, 2, true,
			"matched 12, applied 2, probability 1"},
		{"overload never applied", scenarios.Fault{Kind: scenarios.KindOverload, MaxInflight: 4}, 30, 0, true,
			"the requests in flight never filled its 4 slots; raise the rate or lower max_inflight"},
		{"overload with a queue", scenarios.Fault{Kind: scenarios.KindOverload, MaxInflight: 4, Queue: 2, QueueTimeout: scenarios.Duration(time.Second)}, 30, 0, true,
			"the requests in flight never filled its 4 slots and its queue of 2; raise the rate or lower max_inflight"},
		{"status never applied", scenarios.Fault{Kind: scenarios.KindStatus, Code: 500}, 0, 0, false,
			"matched 0, applied 0, probability 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRule(2, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.matched {
				r.count(i < tt.applied)
			}
			e := tally(at, "p", r)
			if e.Kind != ObservedTally || e.Fault != 2 || e.Phase != "p" || e.FaultKind != tt.spec.Kind || e.Matched != tt.matched || e.Applied != tt.applied ||
				e.Conditional != tt.conditional || e.Detail != tt.detail {
				t.Errorf("got %+v, want fault 2 of phase p, kind %s, matched %d, applied %d, conditional %v, detail %q",
					e, tt.spec.Kind, tt.matched, tt.applied, tt.conditional, tt.detail)
			}
		})
	}
}
