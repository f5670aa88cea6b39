package faults

import (
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/scenarios"
)

// capabilities are what each kind acts on: the listener (Refuser), a
// connection as it is accepted (Acceptor), an idle connection (Idler), an
// exchange (Exchanger), mode tcp's bytes (Streamer).
var capabilities = map[string]string{
	scenarios.KindLatency:     "Exchanger Streamer",
	scenarios.KindSlowBody:    "Exchanger Streamer",
	scenarios.KindSlowHeaders: "Exchanger",
	scenarios.KindHang:        "Exchanger Streamer",
	scenarios.KindReset:       "Acceptor Exchanger Streamer",
	scenarios.KindClose:       "Acceptor Exchanger Streamer",
	scenarios.KindStatus:      "Exchanger",
	scenarios.KindMalformed:   "Exchanger",
	scenarios.KindRefuse:      "Refuser",
	scenarios.KindBlackhole:   "Exchanger Streamer",
	scenarios.KindKeepalive:   "Idler Exchanger",
	scenarios.KindOverload:    "Exchanger",
	scenarios.KindSSECut:      "Exchanger",
	scenarios.KindSSEStall:    "Exchanger",
}

// TestEveryKindHasACapability: each constructor of the kinds table gives
// a fault with exactly the capabilities its kind acts through (a kind
// with one too many would act twice), and every kind the scenarios know
// has a constructor.
func TestEveryKindHasACapability(t *testing.T) {
	for _, name := range scenarios.Kinds() {
		build, ok := kinds[name]
		if !ok {
			t.Errorf("kind %s: no constructor in the kinds table", name)
			continue
		}
		f := build(scenarios.Fault{Kind: name, MaxInflight: 1})
		var has []string
		if _, ok := f.(Refuser); ok {
			has = append(has, "Refuser")
		}
		if _, ok := f.(Acceptor); ok {
			has = append(has, "Acceptor")
		}
		if _, ok := f.(Idler); ok {
			has = append(has, "Idler")
		}
		if _, ok := f.(Exchanger); ok {
			has = append(has, "Exchanger")
		}
		if _, ok := f.(Streamer); ok {
			has = append(has, "Streamer")
		}
		if got, want := strings.Join(has, " "), capabilities[name]; got != want {
			t.Errorf("kind %s: %T implements %q, want %q", name, f, got, want)
		}
	}
	if len(kinds) != len(scenarios.Kinds()) {
		t.Errorf("the kinds table has %d kinds, the scenarios %d", len(kinds), len(scenarios.Kinds()))
	}
}
