package faults

import (
	"testing"

	"github.com/gatecrash/gatecrash/scenarios"
)

// TestEveryKindHasACapability: each constructor of the kinds table gives
// a fault the proxy can ask for at least one capability, and every kind
// the scenarios know has a constructor.
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
		if len(has) == 0 {
			t.Errorf("kind %s: %T implements no capability (Refuser, Acceptor, Idler, Exchanger, Streamer)", name, f)
		}
	}
	if len(kinds) != len(scenarios.Kinds()) {
		t.Errorf("the kinds table has %d kinds, the scenarios %d", len(kinds), len(scenarios.Kinds()))
	}
}
