package scenarios

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCatalogList(t *testing.T) {
	var names []string
	for _, e := range Catalog() {
		names = append(names, e.Name)
		if e.Description == "" {
			t.Errorf("%s: got no description, want one", e.Name)
		}
		// The classic causes say what a user should learn from them.
		if e.Name != "upstream-resets" && e.Name != "malformed-upstream" && !strings.Contains(e.Description, "learn") {
			t.Errorf("%s: description %q does not say what a user learns", e.Name, e.Description)
		}
	}
	want := []string{"api-limits", "faulty-upstream", "firewall-blackhole", "keepalive-race", "llm-streaming", "malformed-upstream", "network-resets", "overload", "retry-storm", "timeout-mismatch", "upstream-resets"}
	if !slices.Equal(names, want) {
		t.Errorf("got %v, want %v", names, want)
	}
}

func TestCatalogEntries(t *testing.T) {
	for _, e := range Catalog() {
		t.Run(e.Name, func(t *testing.T) {
			s, err := Lookup(e.Name)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != e.Name {
				t.Errorf("got name %q, want the file's name %q", s.Name, e.Name)
			}
			if want := "catalog/" + e.Name + ".yaml"; s.File != want {
				t.Errorf("got file %q, want %q", s.File, want)
			}
			if d := s.Duration(); d <= 0 || d >= 30*time.Second {
				t.Errorf("got total duration %v, want more than 0 and under 30s", d)
			}
			if s.Seed == nil {
				t.Errorf("got no seed, want a fixed one")
			}
			if s.Target.Gateway != GatewayBuiltin || s.Upstream.Builtin == nil {
				t.Errorf("got gateway %q and upstream %+v, want both built in", s.Target.Gateway, s.Upstream)
			}
			faults := 0
			for _, p := range s.Phases {
				for _, r := range []*Rate{&p.Rate, p.RampTo} {
					if r != nil && r.PerSecond() > 1000 {
						t.Errorf("phase %s: got rate %v, want at most 1000/s", p.Name, r)
					}
				}
				faults += len(p.Faults)
			}
			if faults == 0 {
				t.Errorf("got no faults, want some")
			}
			src, ok := CatalogSource(e.Name)
			if !ok || !strings.Contains(string(src), "name: "+e.Name) {
				t.Errorf("got source %q, %v, want the file", src, ok)
			}
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, name := range []string{"nope", "../catalog/upstream-resets", "", "upstream-resets.yaml"} {
		t.Run(name, func(t *testing.T) {
			_, err := Lookup(name)
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *scenarios.Error", err)
			}
			if !strings.Contains(se.Msg, "the catalog has api-limits, faulty-upstream, firewall-blackhole, keepalive-race, llm-streaming, malformed-upstream, network-resets, overload, retry-storm, timeout-mismatch, upstream-resets") {
				t.Errorf("got %q, want it to list the catalog", se.Msg)
			}
			if _, ok := CatalogSource(name); ok {
				t.Errorf("got a source for %q, want none", name)
			}
		})
	}
}
