package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

// catalogBudget is how long each catalog scenario runs in the default
// suite: its phases are shortened in proportion to fit, rates kept.
const catalogBudget = 4 * time.Second

// TestCatalogOnEveryGateway runs every catalog scenario, shortened, on the
// built-in gateway, nginx, HAProxy and Caddy. For every gateway error or
// client error whose request met a per-request fault, the report must
// give the cause with exact evidence (99% at least), and it must name the
// gateway. A gateway that is not installed fails the test with the reason:
// nothing is skipped silently.
func TestCatalogOnEveryGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every catalog scenario on every gateway")
	}
	// The gateways run side by side (two at a time, go test's -parallel
	// on these 2-core machines): a run spends most of its time waiting
	// on its phases' clock, not on the CPU.
	for _, gw := range []string{scenarios.GatewayBuiltin, "nginx", "haproxy", "caddy"} {
		t.Run(gw, func(t *testing.T) {
			t.Parallel()
			catalogOn(t, gw)
		})
	}
}

// catalogOn runs every catalog scenario, shortened, on gateway gw, one
// after the other.
func catalogOn(t *testing.T, gw string) {
	for _, e := range scenarios.Catalog() {
		t.Run(e.Name, func(t *testing.T) {
			sc, err := scenarios.Lookup(e.Name)
			if err != nil {
				t.Fatal(err)
			}
			sc.Target.Gateway = gw
			shorten(sc, catalogBudget)
			out := filepath.Join(t.TempDir(), "out")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			rep, err := run.Run(ctx, sc, run.Options{Dir: out})
			if err != nil {
				t.Fatalf("%s on %s: %v", e.Name, gw, err)
			}
			rd := readRunDir(t, out)
			if rep.Gateway.Kind != gw {
				t.Errorf("gateway: got %+v, want %s", rep.Gateway, gw)
			}
			checkExactShare(t, out, rd)
			if len(rep.Expectations) == 0 {
				t.Errorf("%s has no expectations; the catalog's hold its baseline clean", e.Name)
			}
			for _, v := range rep.Expectations.Failed() {
				t.Errorf("expectation %q failed on %s: measured %v", v.Expr, gw, v.Value)
			}
			t.Logf("%s on %s: %d requests, status %v, %d errors\n%s", e.Name, gw, rep.Totals.Requests, rep.Totals.Status, rep.Totals.Errors, rep.Diagnosis)
		})
	}
}

// shorten scales a scenario's phases so that the whole fits in budget.
func shorten(sc *scenarios.Scenario, budget time.Duration) {
	d := sc.Duration()
	if d <= budget {
		return
	}
	f := float64(budget) / float64(d)
	for i := range sc.Phases {
		p := &sc.Phases[i]
		p.Duration = scenarios.Duration(max(time.Duration(float64(p.Duration.D())*f), 200*time.Millisecond))
	}
}

// checkExactShare checks that at least 99% of the failures whose request
// met a per-request fault are tied to a cause with exact evidence.
func checkExactShare(t *testing.T, out string, rd runDir) {
	t.Helper()
	plan, err := run.Folder(out).Plan()
	if err != nil {
		t.Fatal(err)
	}
	a := results.NewAnalyzer(plan, results.Options{})
	type key struct {
		attack string
		seq    uint64
	}
	faulted := map[key]bool{}
	for i := range rd.events {
		e := &rd.events[i]
		a.AddEvent(e)
		if e.Type == faults.TypeFault && e.Seq != nil {
			faulted[key{e.Attack, *e.Seq}] = true
		}
	}
	if f, err := os.Open(filepath.Join(out, run.TestimonyFile)); err == nil {
		ts, err := results.ReadTestimony(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		a.AddTestimony(ts)
	}
	failed, exact := 0, 0
	var missed []string
	for i := range rd.results {
		r := &rd.results[i]
		if !faulted[key{r.Attack, r.Seq}] {
			continue
		}
		cause, evidence := a.Explain(r)
		if cause == "" {
			continue
		}
		failed++
		if evidence == "exact" {
			exact++
		} else if len(missed) < 5 {
			missed = append(missed, fmt.Sprintf("seq %d: %d %q: %s (%s)", r.Seq, r.Code, r.Error, cause, evidence))
		}
	}
	if float64(exact) < 0.99*float64(failed) {
		t.Errorf("%d failures met a per-request fault, %d have exact evidence; want 99%% at least; first others:\n%s", failed, exact, strings.Join(missed, "\n"))
	}
	t.Logf("%d failures met a per-request fault, %d exact", failed, exact)
}
