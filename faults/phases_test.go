package faults

import (
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// TestPhasesFromSharedCapacity: overload faults of the same settings in
// several phases are one capacity (the same slots and queue), so that
// requests of one phase still hold their slots when the next begins;
// other settings are another capacity.
func TestPhasesFromSharedCapacity(t *testing.T) {
	capacity := func(n, q int, qt time.Duration, reject string) scenarios.Fault {
		return scenarios.Fault{Kind: scenarios.KindOverload, MaxInflight: n, Queue: q,
			QueueTimeout: scenarios.Duration(qt), Reject: reject}
	}
	lat := scenarios.Fault{Kind: scenarios.KindLatency, Delay: scenarios.Duration(time.Second)}
	a := capacity(5, 400, 5*time.Second, "503")
	for _, tt := range []struct {
		name   string
		first  []scenarios.Fault
		second []scenarios.Fault
		shared bool
	}{
		{"same settings", []scenarios.Fault{a}, []scenarios.Fault{a}, true},
		{"same settings, another index", []scenarios.Fault{a}, []scenarios.Fault{lat, a}, true},
		{"other max_inflight", []scenarios.Fault{a}, []scenarios.Fault{capacity(6, 400, 5*time.Second, "503")}, false},
		{"other queue", []scenarios.Fault{a}, []scenarios.Fault{capacity(5, 100, 5*time.Second, "503")}, false},
		{"other queue_timeout", []scenarios.Fault{a}, []scenarios.Fault{capacity(5, 400, time.Second, "503")}, false},
		{"other reject", []scenarios.Fault{a}, []scenarios.Fault{capacity(5, 400, 5*time.Second, "reset")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &scenarios.Scenario{Phases: []scenarios.Phase{
				{Name: "one", Duration: scenarios.Duration(time.Second), Faults: tt.first},
				{Name: "two", Duration: scenarios.Duration(time.Second), Faults: tt.second},
			}}
			phases, err := PhasesFrom(s)
			if err != nil {
				t.Fatal(err)
			}
			one := phases[0].Rules[len(phases[0].Rules)-1]
			two := phases[1].Rules[len(phases[1].Rules)-1]
			o1, ok1 := one.Fault.(*Overload)
			o2, ok2 := two.Fault.(*Overload)
			if !ok1 || !ok2 {
				t.Fatalf("got %T and %T, want two *Overload", one.Fault, two.Fault)
			}
			if got := o1 == o2; got != tt.shared {
				t.Errorf("got shared %v, want %v", got, tt.shared)
			}
			if one.counts == two.counts {
				t.Error("the two rules share their counters, want each its own")
			}
		})
	}
}
