package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/run"
)

const killScenario = `name: kill-e2e
seed: 5
target: {timeout: 5s}
upstream:
  builtin: {latency: 1ms, body_bytes: 64}
requests:
  - {path: /v1/items, headers: {X-Api-Key: sekret-killed-7777}}
phases:
  - {name: long, duration: 60s, rate: 50/s}
`

// TestKilledRunLeavesNothingRunning runs the real binary with each
// managed gateway, kills it with SIGKILL a second or more into the
// attack, and checks that no process it started is left (found by the
// process tree under the killed pid, walked in /proc before the kill),
// that the run folder holds a run.json that says running and the results
// of the first second, readable by vegeta's decoder, and that the next
// start of a gateway removes the private folder the killed run left,
// once it has redacted the secret headers in the logs it named.
func TestKilledRunLeavesNothingRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	file := writeFile(t, "kill.yaml", killScenario)
	bin := gatecrashBinary(t)
	for _, kind := range lab.Kinds() {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			if _, err := lab.LookPath(kind); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "run", file, "--gateway", kind, "--out", out, "--quiet")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waited := false
			defer func() {
				if !waited {
					cmd.Process.Kill()
					cmd.Wait()
				}
			}()
			// Until the results hold a second of the attack (50 results).
			n := 0
			for n < 50 {
				if ctx.Err() != nil {
					t.Fatalf("the results never held 50 records (got %d); stderr:\n%s", n, stderr.String())
				}
				n = countResults(t, filepath.Join(out, run.ResultsFile))
				time.Sleep(20 * time.Millisecond)
			}
			tree := descendants(cmd.Process.Pid)
			gw := 0
			for pid := range tree {
				if strings.Contains(comm(pid), kind) {
					gw++
				}
			}
			// nginx: its master and at least one worker.
			if want := map[string]int{"nginx": 2}[kind]; gw < max(want, 1) {
				t.Fatalf("got %d %s processes under gatecrash (%v), want at least %d", gw, kind, tree, max(want, 1))
			}
			var private string
			for pid := range tree {
				if d, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd")); err == nil && strings.Contains(filepath.Base(d), "gatecrash-"+kind+"-") {
					private = d
				}
			}
			if private == "" {
				t.Fatalf("no process of %v runs in a private folder gatecrash-%s-*", tree, kind)
			}

			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			waited = true
			killed := time.Now()

			// Every process the killed run started goes (bounded).
			deadline := time.Now().Add(10 * time.Second)
			for {
				var left []string
				for pid, start := range tree {
					if now, alive := procStart(pid); alive && now == start {
						left = append(left, strconv.Itoa(pid)+" "+comm(pid))
					}
				}
				if len(left) == 0 {
					t.Logf("%s: %d processes under gatecrash (%d %s), all gone %v after its SIGKILL; %d results recorded before it",
						kind, len(tree), gw, kind, time.Since(killed).Round(time.Millisecond), n)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("10s after gatecrash was killed, its processes are left: %v", left)
				}
				time.Sleep(20 * time.Millisecond)
			}

			// The folder says the run was going, and keeps its first
			// second.
			plan, err := run.Folder(out).Plan()
			if err != nil {
				t.Fatalf("run.json of the killed run: %v", err)
			}
			if !plan.Running || plan.Gateway != kind || len(plan.Phases) != 1 {
				t.Errorf("run.json: got running %v, gateway %q, %d phases; want running, %s, 1", plan.Running, plan.Gateway, len(plan.Phases), kind)
			}
			if got := countResults(t, filepath.Join(out, run.ResultsFile)); got < 50 {
				t.Errorf("results after the kill: got %d records, want at least the 50 seen before it", got)
			}

			// The next start removes the private folder the kill left.
			if _, err := os.Stat(private); err != nil {
				t.Logf("%s: already gone before the next start (%v)", private, err)
			}
			startAndStop(t, kind)
			if _, err := os.Stat(private); !os.IsNotExist(err) {
				t.Errorf("%s after the next start: got %v, want it removed", private, err)
			}
			// ... and redacts the logs it named (Caddy's JSON log
			// holds the request headers).
			entries, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if b, err := os.ReadFile(filepath.Join(out, e.Name())); err == nil && bytes.Contains(b, []byte("sekret-killed-7777")) {
					t.Errorf("%s after the next start: holds the X-Api-Key value, want it redacted", e.Name())
				}
			}
		})
	}
}

// countResults returns how many whole records vegeta's decoder reads in
// the results file at path; a missing file holds none.
func countResults(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return 0
	}
	dec := vegeta.DecoderFor(bytes.NewReader(b))
	if dec == nil {
		t.Fatalf("%s: vegeta.DecoderFor does not recognise it", path)
	}
	n := 0
	for {
		var r vegeta.Result
		if dec.Decode(&r) != nil {
			return n
		}
		n++
	}
}

// startAndStop starts a kind gateway in front of nothing, and stops it.
func startAndStop(t *testing.T, kind string) {
	t.Helper()
	tmpl, err := lab.RenderDefault(kind)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m, err := lab.StartManaged(context.Background(), lab.ManagedConfig{
		Template: tmpl, Upstream: "127.0.0.1:9",
		Config: filepath.Join(dir, "conf"), AccessLog: filepath.Join(dir, "access"), ErrorLog: filepath.Join(dir, "error"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// descendants returns every live process under pid, by the parents
// /proc gives, with its start time.
func descendants(pid int) map[int]string {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := procStat(p); len(f) > 1 {
			parent[p], _ = strconv.Atoi(f[1])
		}
	}
	out := map[int]string{}
	for changed := true; changed; {
		changed = false
		for p, pp := range parent {
			if _, in := out[p]; in {
				continue
			}
			if _, under := out[pp]; pp == pid || under {
				if start, alive := procStart(p); alive {
					out[p] = start
					changed = true
				}
			}
		}
	}
	return out
}

// procStat returns the fields of /proc/PID/stat after the command name:
// the state, the parent, ...; nil when there is no such process.
func procStat(pid int) []string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// procStart returns the start time of the process pid and whether it
// lives (a zombie does not).
func procStart(pid int) (string, bool) {
	f := procStat(pid)
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return "", false
	}
	return f[19], true
}

// comm returns the command name of the process pid.
func comm(pid int) string {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	return strings.TrimSpace(string(b))
}
