package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

// managedScenario is a clean second, then a second in which the upstream
// resets one request in five before its headers.
const managedScenario = `name: managed-e2e
seed: 11
target: {timeout: 5s}
upstream:
  builtin: {latency: 1ms, body_bytes: 256}
requests:
  - {method: GET, path: /v1/items}
phases:
  - {name: clean, duration: 1s, rate: 50/s}
  - name: resets
    duration: 1s
    rate: 50/s
    faults:
      - {kind: reset, at: before-headers, probability: 0.2}
`

// TestManagedGatewaysEndToEnd runs a scenario with each real gateway
// started by gatecrash: every gateway must be installed (a missing one
// fails the test, naming the package to install).
func TestManagedGatewaysEndToEnd(t *testing.T) {
	file := writeFile(t, "managed.yaml", managedScenario)
	tests := []struct {
		kind    string
		version string // the start of run.json's gateway_version
	}{
		{"nginx", "nginx/"},
		{"haproxy", "HAProxy/"},
		{"caddy", "Caddy/"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			if _, err := lab.LookPath(tt.kind); err != nil {
				t.Fatalf("%v\n(the managed gateway tests need nginx, haproxy and caddy installed)", err)
			}
			out := filepath.Join(t.TempDir(), "out")
			start := time.Now()
			code, stdout, stderr := gatecrash(t, "run", file, "--gateway", tt.kind, "--out", out)
			if code != exitOK {
				t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			took := time.Since(start)
			checkStopped(t, stderr)

			rd := readRunDir(t, out)
			rep := rd.report
			if rep.Gateway.Kind != tt.kind || !strings.HasPrefix(rep.Gateway.Evidence, "started by gatecrash") {
				t.Errorf("report gateway: got %+v, want kind %s, started by gatecrash", rep.Gateway, tt.kind)
			}
			plan, err := run.Folder(out).Plan()
			if err != nil {
				t.Fatal(err)
			}
			if plan.Gateway != tt.kind || !strings.HasPrefix(plan.GatewayVersion, tt.version) {
				t.Errorf("run.json: got gateway %q version %q, want %s and %s...", plan.Gateway, plan.GatewayVersion, tt.kind, tt.version)
			}
			if rep.Totals.Requests != 100 || len(rd.results) != 100 {
				t.Errorf("got %d requests in the report, %d results; want 100 (2s at 50/s)", rep.Totals.Requests, len(rd.results))
			}
			if rep.Masked.Faults == 0 {
				t.Errorf("got no faults applied, want resets in the second phase")
			}

			// Every failure has a cause.
			failures := map[string]int{scenarios.ClassError: rep.Totals.Errors}
			for code, n := range rep.Totals.Status {
				if strings.HasPrefix(code, "5") {
					failures[code] = n
				}
			}
			var said []string
			for _, class := range slices.Sorted(maps.Keys(failures)) {
				n := failures[class]
				if n == 0 {
					continue
				}
				cs := rep.OtherCauses[class]
				if class == "502" {
					cs = rep.Causes
				}
				attributed := 0
				var names []string
				for _, c := range cs {
					names = append(names, fmt.Sprintf("%s %d (exact %d, temporal %d, signature %d, none %d)",
						c.Cause, c.Count, c.Evidence.Exact, c.Evidence.Temporal, c.Evidence.Signature, c.Evidence.None))
					if c.Cause == causes.Unattributed || c.Evidence.None > 0 {
						t.Errorf("%s: %d without a cause: %+v", class, c.Count, c)
						continue
					}
					attributed += c.Count
				}
				if attributed != n {
					t.Errorf("%s: got %d attributed of %d (%s), want all", class, attributed, n, strings.Join(names, "; "))
				}
				said = append(said, fmt.Sprintf("%s x%d: %s", class, n, strings.Join(names, "; ")))
			}
			t.Logf("%s (%s) answered %v to 100 requests, %d client errors, in %.1fs; %d faults, %d masked (%v); causes: %s",
				tt.kind, plan.GatewayVersion, rep.Totals.Status, rep.Totals.Errors, took.Seconds(), rep.Masked.Faults, rep.Masked.Count, rep.Masked.Reasons, strings.Join(said, " | "))

			// The gateway's access log has one line per request of the
			// attack, in the documented format.
			lines := accessLines(t, tt.kind, filepath.Join(out, run.AccessLogFile), "managed-e2e")
			if lines != rep.Totals.Requests {
				t.Errorf("%s: got %d lines of the attack, want one per request (%d)", run.AccessLogFile, lines, rep.Totals.Requests)
			}
			for _, name := range []string{run.ErrorLogFile, run.GatewayConfigFile} {
				if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Size() == 0 {
					t.Errorf("%s: got %v, want it written", name, err)
				}
			}
		})
	}
}

// The access log lines of a request of the attack, for nginx and HAProxy.
var (
	nginxLine   = regexp.MustCompile(`^gc1 \d+\.\d{3} \d+ \d+ "(\S+)" "(\d+)" (\d{3}) "[^"]*" "[^"]*" \d+\.\d{3} "(-|\d+)" "[^"]*"$`)
	haproxyLine = regexp.MustCompile(`^gc1 \d+\.\d{3} (\S+) (\d+) (-?\d+) \S{4} \d+ -?\d+ -?\d+ -?\d+ -?\d+ \S+/\S+ (-|\d+)$`)
)

// accessLines counts the lines of a kind gateway's access log about
// requests of attack; the log may hold others (the readiness probe's).
func accessLines(t *testing.T, kind, path, attack string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch kind {
		case "nginx", "haproxy":
			re := nginxLine
			if kind == "haproxy" {
				re = haproxyLine
			}
			if m := re.FindStringSubmatch(line); m != nil && m[1] == attack {
				n++
			} else if strings.Contains(line, attack) {
				t.Errorf("%s: line %q is not in the documented format", filepath.Base(path), line)
			}
		case "caddy":
			var l struct {
				Logger  string `json:"logger"`
				Status  int    `json:"status"`
				Request struct {
					Headers map[string][]string `json:"headers"`
				} `json:"request"`
			}
			if json.Unmarshal([]byte(line), &l) != nil {
				t.Errorf("%s: line %q is not JSON", filepath.Base(path), line)
				continue
			}
			if h := l.Request.Headers; strings.HasPrefix(l.Logger, "http.log.access") && slices.Equal(h["X-Vegeta-Attack"], []string{attack}) && len(h["X-Vegeta-Seq"]) == 1 && l.Status > 0 {
				n++
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

var pidRE = regexp.MustCompile(`\(pid (\d+)\)`)

// checkStopped checks that the gateway whose pid the run printed, and its
// process group, are gone.
func checkStopped(t *testing.T, stderr string) {
	t.Helper()
	m := pidRE.FindStringSubmatch(stderr)
	if m == nil {
		t.Errorf("stderr names no gateway pid: %q", stderr)
		return
	}
	pid, _ := strconv.Atoi(m[1])
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("gateway process %d: got %v after the run, want it gone (ESRCH)", pid, err)
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("gateway process group %d: got %v after the run, want it gone (ESRCH)", pid, err)
	}
}

// TestManagedInputExit2 checks the bad input about managed gateways: in
// the scenario (run and validate) and in --gateway (run), each exit 2
// with the file, line, field and fix, and nothing started.
func TestManagedInputExit2(t *testing.T) {
	const phases = "requests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n"
	const template = "listen {{.Listen}};\nproxy_pass http://{{.Upstream}};\n"
	tests := []struct {
		name     string
		scenario string
		tmpl     string   // written as gw.tmpl beside the scenario
		flags    []string // run only, with these flags; nil: run and validate
		path     string   // PATH for the run; "" leaves it
		want     []string
	}{
		{name: "misspelt gateway", scenario: "name: t\ntarget: {gateway: ngnix}\n" + phases,
			want: []string{"bad.yaml:2: target.gateway:", `unknown gateway "ngnix"; did you mean nginx?`}},
		{name: "config with builtin", scenario: "name: t\ntarget:\n  gateway: builtin\n  config: gw.tmpl\n" + phases, tmpl: template,
			want: []string{"bad.yaml:4: target.config:", "config applies only to gateway: nginx, haproxy or caddy"}},
		{name: "config missing", scenario: "name: t\ntarget:\n  gateway: nginx\n  config: nope.tmpl\n" + phases,
			want: []string{"bad.yaml:4: target.config:", "cannot read the nginx template", "nope.tmpl: no such file or directory; check the path, which is relative to the scenario file"}},
		{name: "config with an unknown placeholder", scenario: "name: t\ntarget:\n  gateway: nginx\n  config: gw.tmpl\n" + phases, tmpl: "listen {{.Lisen}};\n",
			want: []string{"bad.yaml:4: target.config:", `map has no entry for key "Lisen"`, "placeholders are {{.AccessLog}}"}},
		{name: "connect timeout zero", scenario: "name: t\ntarget:\n  gateway: caddy\n  connect_timeout: 0s\n" + phases,
			want: []string{"bad.yaml:4: target.connect_timeout:", "connect_timeout must be more than 0; write one such as 1s"}},
		{name: "--gateway bogus", scenario: "name: t\n" + phases, flags: []string{"--gateway", "envoy"},
			want: []string{`--gateway "envoy": give builtin, nginx, haproxy or caddy`}},
		{name: "--gateway none", scenario: "name: t\n" + phases, flags: []string{"--gateway", "none"},
			want: []string{"--gateway none: --gateway names a gateway for gatecrash to start"}},
		{name: "--gateway over none", scenario: "name: t\ntarget: {gateway: none, url: 'http://127.0.0.1:1'}\n" + phases, flags: []string{"--gateway", "nginx"},
			want: []string{"--gateway nginx: the scenario's target.gateway is none, a gateway you run at http://127.0.0.1:1, which --gateway cannot replace"}},
		{name: "--gateway against config", scenario: "name: t\ntarget:\n  gateway: nginx\n  config: gw.tmpl\n" + phases, tmpl: template, flags: []string{"--gateway", "haproxy"},
			want: []string{"--gateway haproxy: the scenario's target.config (gw.tmpl) is a template for nginx"}},
		{name: "gateway not installed", scenario: "name: t\n" + phases, flags: []string{"--gateway", "caddy"}, path: "empty",
			want: []string{"caddy is not installed: no caddy executable on PATH", "install it with apt-get install caddy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "bad.yaml")
			if err := os.WriteFile(file, []byte(tt.scenario), 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.tmpl != "" {
				if err := os.WriteFile(filepath.Join(dir, "gw.tmpl"), []byte(tt.tmpl), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.path != "" {
				t.Setenv("PATH", t.TempDir())
			}
			out := filepath.Join(dir, "out")
			runs := [][]string{append([]string{"run", file, "--out", out}, tt.flags...)}
			if tt.flags == nil {
				runs = append(runs, []string{"validate", file})
			}
			for _, args := range runs {
				code, _, stderr := gatecrash(t, args...)
				if code != exitInput {
					t.Errorf("%s: exit %d, want 2; stderr: %s", args[0], code, stderr)
				}
				for _, w := range tt.want {
					if !strings.Contains(stderr, w) {
						t.Errorf("%s: stderr %q lacks %q", args[0], stderr, w)
					}
				}
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("output folder: got %v, want none made: nothing may start on bad input", err)
			}
		})
	}
}
