package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/results"
)

// shardE2EScenario is the scenario of TestShardsEndToEnd: nginx, which
// the test runs, at %[1]s in front of the fault proxy at %[2]s, in front
// of the built-in upstream.
const shardE2EScenario = `name: sharded-e2e
seed: 17
target: {gateway: none, url: "%[1]s", timeout: 5s}
proxy: {listen: "%[2]s"}
requests:
  - {method: GET, path: /}
phases:
  - {name: clean, duration: 1s, rate: 200/s}
  - name: faulty
    duration: 2s
    rate: 200/s
    faults:
      - {kind: reset, at: before-headers, probability: 0.25}
      - {kind: status, code: 503, probability: 0.15}
  - {name: recover, duration: 1s, rate: 200/s}
`

// shardE2EPlanned is the scenario's planned count: 4s at 200/s.
const shardE2EPlanned = 800

// TestShardsEndToEnd runs a scenario as 4 shard processes and one proxy
// process (gatecrash proxy --scenario) against nginx, merges them, and
// compares the merged report with a single process's run of the same
// scenario against the same nginx: the count is the plan's, the failure
// shares of every class and cause agree within binomial noise, the
// latency percentiles within a stated tolerance, and every failure is
// attributed.
func TestShardsEndToEnd(t *testing.T) {
	if _, err := lab.LookPath("nginx"); err != nil {
		t.Fatalf("%v\n(the sharded end-to-end test needs nginx installed)", err)
	}
	bin := gatecrashBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmp := t.TempDir()

	// The proxy's address is fixed before nginx starts, which points its
	// upstream there: the proxy process, then the single run's own proxy,
	// listen on it in turn.
	proxyAddr := freeAddr(t)
	tmpl, err := lab.RenderDefault("nginx")
	if err != nil {
		t.Fatal(err)
	}
	nginx, err := lab.StartManaged(ctx, lab.ManagedConfig{
		Template: tmpl, Upstream: proxyAddr,
		Config: filepath.Join(tmp, "nginx.conf"), AccessLog: filepath.Join(tmp, "access.log"), ErrorLog: filepath.Join(tmp, "error.log"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer nginx.Close()
	sc := filepath.Join(tmp, "sharded.yaml")
	if err := os.WriteFile(sc, []byte(fmt.Sprintf(shardE2EScenario, nginx.URL(), proxyAddr)), 0o644); err != nil {
		t.Fatal(err)
	}

	// The proxy, then the 4 shards, from a shared start a moment ahead.
	start := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	events := filepath.Join(tmp, "events.jsonl")
	proxy := startBin(ctx, t, bin, "proxy", "--scenario", sc, "--start-at", start, "--events", events, "--grace", "2s")
	var shards []*binProcess
	var dirs []string
	for k := 1; k <= 4; k++ {
		dir := filepath.Join(tmp, fmt.Sprintf("shard-%d", k))
		dirs = append(dirs, dir)
		shards = append(shards, startBin(ctx, t, bin, "run", sc, "--shard", fmt.Sprintf("%d/4", k), "--start-at", start, "-q", "-o", dir))
	}
	for k, s := range shards {
		if code := s.wait(); code != exitOK {
			t.Fatalf("shard %d/4: exit %d\n%s", k+1, code, s.out.String())
		}
	}
	if code := proxy.wait(); code != exitOK {
		t.Fatalf("proxy: exit %d\n%s", code, proxy.out.String())
	}

	merged := filepath.Join(tmp, "merged")
	if code, stdout, stderr := gatecrash(t, append([]string{"merge", merged, "--events", events, "--format", "json"}, dirs...)...); code != exitOK {
		t.Fatalf("merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	single := filepath.Join(tmp, "single")
	if code, stdout, stderr := gatecrash(t, "run", sc, "-q", "-o", single); code != exitOK {
		t.Fatalf("single run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// report and compare take the merged folder as any run folder.
	if code, _, stderr := gatecrash(t, "report", merged); code != exitOK {
		t.Errorf("report %s: exit %d\n%s", merged, code, stderr)
	}
	if code, _, stderr := gatecrash(t, "compare", single, merged); code != exitOK && code != exitFailed {
		t.Errorf("compare: exit %d\n%s", code, stderr)
	}

	m, s := readRunDir(t, merged), readRunDir(t, single)
	mr, sr := m.report, s.report
	t.Logf("merged: %d requests, status %v, errors %d; single: %d, %v, %d", mr.Totals.Requests, mr.Totals.Status, mr.Totals.Errors, sr.Totals.Requests, sr.Totals.Status, sr.Totals.Errors)
	for name, rep := range map[string]*results.Report{"merged": mr, "single": sr} {
		if d := math.Abs(float64(rep.Totals.Requests - shardE2EPlanned)); d > shardE2EPlanned/100 {
			t.Errorf("%s: %d requests, want %d within 1%%", name, rep.Totals.Requests, shardE2EPlanned)
		}
		if len(m.results) != mr.Totals.Requests {
			t.Errorf("merged: vegeta's decoder read %d results, the report counts %d", len(m.results), mr.Totals.Requests)
		}
	}
	// Every failure has its cause; none is unattributed.
	for class, cs := range allCauses(mr) {
		for cause := range cs {
			if cause == "unattributed" {
				t.Errorf("merged: %d %s failures unattributed", cs[cause], class)
			}
		}
	}
	// Each class's and cause's share of the requests: within 4 standard
	// deviations of the difference of two binomial shares.
	mc, scs := allCauses(mr), allCauses(sr)
	share := func(n, of int) float64 { return float64(n) / float64(of) }
	for _, class := range union(mc, scs) {
		for _, cause := range union(mc[class], scs[class]) {
			pm, ps := share(mc[class][cause], mr.Totals.Requests), share(scs[class][cause], sr.Totals.Requests)
			p := (pm + ps) / 2
			sd := math.Sqrt(p * (1 - p) * (1/float64(mr.Totals.Requests) + 1/float64(sr.Totals.Requests)))
			if math.Abs(pm-ps) > 4*sd+1e-9 {
				t.Errorf("%s caused by %s: %.3f of the merged run's requests, %.3f of the single run's: more than 4 sd (%.3f) apart", class, cause, pm, ps, sd)
			} else {
				t.Logf("%s caused by %s: merged %.3f, single %.3f (4 sd %.3f)", class, cause, pm, ps, 4*sd)
			}
		}
	}
	if mc["502"]["reset-before-headers"] == 0 {
		t.Errorf("merged: no 502 caused by reset-before-headers: %+v", mc)
	}
	// Latency percentiles of the clean phase: loopback answers of a few
	// milliseconds, within 20ms of each other (the tolerance stated: the
	// two runs are minutes apart on a shared machine).
	for i := range mr.Phases {
		ml, sl := mr.Phases[i].LatencyMS, sr.Phases[i].LatencyMS
		t.Logf("phase %s: p50 %.2f/%.2f ms, p90 %.2f/%.2f ms (merged/single)", mr.Phases[i].Name, ml.P50, sl.P50, ml.P90, sl.P90)
		if math.Abs(ml.P50-sl.P50) > 20 || math.Abs(ml.P90-sl.P90) > 20 {
			t.Errorf("phase %s: p50 %.2f vs %.2f ms, p90 %.2f vs %.2f ms: more than 20ms apart", mr.Phases[i].Name, ml.P50, sl.P50, ml.P90, sl.P90)
		}
	}
	if mr.SendLagMS.P99 > 100 {
		t.Errorf("merged send lag p99 %vms: the shards' lag is not measured against their own views", mr.SendLagMS.P99)
	}
}

// allCauses returns the failures of a report by class and cause.
func allCauses(rep *results.Report) map[string]map[string]int {
	out := map[string]map[string]int{"502": {}}
	for _, c := range rep.Causes {
		out["502"][c.Cause] += c.Count
	}
	for class, cs := range rep.OtherCauses {
		if out[class] == nil {
			out[class] = map[string]int{}
		}
		for _, c := range cs {
			out[class][c.Cause] += c.Count
		}
	}
	return out
}

// union returns the keys of two maps.
func union[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]V{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// freeAddr returns a loopback address free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// binProcess is the built gatecrash running as its own process.
type binProcess struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan int
}

// startBin starts the built binary with args; ctx's end kills it.
func startBin(ctx context.Context, t *testing.T, bin string, args ...string) *binProcess {
	t.Helper()
	p := &binProcess{cmd: exec.CommandContext(ctx, bin, args...), out: &bytes.Buffer{}, done: make(chan int, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.done <- p.cmd.ProcessState.ExitCode()
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait returns the process's exit code once it has exited.
func (p *binProcess) wait() int {
	code := <-p.done
	p.done <- code
	return code
}
