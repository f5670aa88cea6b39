package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/scenarios"
)

// TestProxyScenario runs gatecrash proxy --scenario: each request gets
// the faults of the phase it names, the proxy ends by itself after the
// schedule and its grace, and its events file holds the faults, the
// tallies and the seen ranges a run folder needs.
func TestProxyScenario(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "from upstream")
	}))
	defer up.Close()
	sc := writeFile(t, "sc.yaml", fmt.Sprintf(`name: proxied
seed: 4
target: {gateway: none, url: http://127.0.0.1:1, timeout: 1s}
upstream: {url: %s}
requests: [{path: /}]
phases:
  - name: broken
    duration: 200ms
    rate: 10/s
    faults: [{kind: status, code: 503, probability: 1}]
  - {name: fine, duration: 200ms, rate: 10/s}
`, up.URL))
	events := writeFile(t, "events.jsonl", "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now().Add(200 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	p := startProxyCommand(t, ctx, "--scenario", sc, "--listen", "127.0.0.1:0", "--start-at", start, "--grace", "100ms", "--events", events)
	client := &http.Client{Timeout: 10 * time.Second}
	for i, want := range []int{503, 200, 503} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+p.proxy+"/", nil)
		req.Header.Set("X-Vegeta-Attack", "proxied/shard-1-of-2")
		req.Header.Set("X-Vegeta-Seq", fmt.Sprint(i))
		req.Header.Set(scenarios.HeaderPhase, fmt.Sprint(i%2))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("request %d, phase %d: got %d, want %d", i, i%2, resp.StatusCode, want)
		}
	}
	client.CloseIdleConnections()
	p.wait(t) // ends by itself: no cancel
	if !strings.Contains(p.stdout.String(), "scenario proxied: 2 phases from ") {
		t.Errorf("stdout: %s", p.stdout.String())
	}
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := faults.ReadEvents(f)
	if err != nil {
		t.Fatal(err)
	}
	var faulted, tally, seen int
	for _, e := range evs {
		switch {
		case e.Type == faults.TypeFault && e.Phase == "broken" && e.Attack == "proxied/shard-1-of-2":
			faulted++
		case e.Kind == faults.ObservedTally:
			tally++
		case e.Kind == faults.ObservedSeen:
			seen++
		}
	}
	if faulted != 2 || tally == 0 || seen != 1 {
		t.Errorf("events: %d faults, %d tallies, %d seen, want 2, some, 1: %+v", faulted, tally, seen, evs)
	}
}

// TestProxyScenarioErrors checks proxy --scenario's bad invocations, exit
// 2 each, with the flag to fix.
func TestProxyScenarioErrors(t *testing.T) {
	noSeed := writeFile(t, "noseed.yaml", "name: x\ntarget: {gateway: none, url: http://127.0.0.1:1}\nrequests: [{path: /}]\nphases: [{name: p, duration: 1s, rate: 1/s}]\n")
	seeded := writeFile(t, "seeded.yaml", "name: x\nseed: 1\ntarget: {gateway: none, url: http://127.0.0.1:1}\nrequests: [{path: /}]\nphases: [{name: p, duration: 1s, rate: 1/s}]\n")
	faultsFile := writeFile(t, "faults.yaml", "faults: []\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no seed", []string{"--scenario", noSeed, "--listen", "127.0.0.1:0"}, "the scenario has no seed"},
		{"faults too", []string{"--scenario", seeded, "--listen", "127.0.0.1:0", "--faults", faultsFile}, "--faults: with --scenario"},
		{"no listen", []string{"--scenario", seeded}, "--listen is required"},
		{"past", []string{"--scenario", seeded, "--listen", "127.0.0.1:0", "--start-at", "1000"}, "--start-at: \"1000\" is"},
		{"negative grace", []string{"--scenario", seeded, "--listen", "127.0.0.1:0", "--grace", "-1s"}, "--grace -1s"},
		{"start-at alone", []string{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--start-at", "1000"}, "--start-at goes with --scenario"},
		{"no scenario", []string{"--scenario", "no-such-scenario", "--listen", "127.0.0.1:0"}, "no-such-scenario"},
		{"every interface without consent", []string{"--scenario", seeded, "--listen", "0.0.0.0:0"}, "--listen: \"0.0.0.0:0\" is not a loopback address; use 127.0.0.1:PORT or [::1]:PORT, or pass --allow-host 0.0.0.0"},
		{"upstream beyond loopback", []string{"--scenario", seeded, "--listen", "127.0.0.1:0", "--upstream", "http://10.1.2.3:80"}, "--allow-host 10.1.2.3"},
		{"admin token", []string{"--scenario", seeded, "--listen", "127.0.0.1:0", "--admin-token", "0123456789abcdef0123"}, "--admin-token: with --scenario"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := gatecrash(t, append([]string{"proxy"}, tt.args...)...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("got exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

// TestProxyScenarioInterrupted stops gatecrash proxy --scenario before its
// schedule ends, as SIGTERM does: it exits 0 with its events flushed,
// the tallies and the seen ranges included.
func TestProxyScenarioInterrupted(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	sc := writeFile(t, "sc.yaml", fmt.Sprintf(`name: long
seed: 4
target: {gateway: none, url: http://127.0.0.1:1}
upstream: {url: %s}
requests: [{path: /}]
phases:
  - name: slow
    duration: 1h
    rate: 1/s
    faults: [{kind: status, code: 500, probability: 1}]
`, up.URL))
	events := filepath.Join(t.TempDir(), "events.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := startProxyCommand(t, ctx, "--scenario", sc, "--listen", "127.0.0.1:0", "--events", events)
	req, _ := http.NewRequest(http.MethodGet, "http://"+p.proxy+"/", nil)
	req.Header.Set("X-Vegeta-Attack", "long/shard-1-of-1")
	req.Header.Set("X-Vegeta-Seq", "0")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("got %d, want the fault's 500 (the phase runs from now without --start-at)", resp.StatusCode)
	}
	cancel()
	p.wait(t)
	checkEventsFile(t, events, []string{"slow fault status fault 0", "slow observation tally fault 0", " observation seen fault -1"})
}
