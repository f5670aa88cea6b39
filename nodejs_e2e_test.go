package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// nodeServer is the upstream no one here wrote: Node.js's own HTTP server,
// which reads each request's body and answers a small JSON. argv[2] is its
// server.keepAliveTimeout and argv[3] its server.timeout, in ms: Node
// closes a connection idle for keepAliveTimeout plus a fixed second
// (Node 20's HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER, "to reduce the
// likelihood of ECONNRESET errors"), and, when keepAliveTimeout is 0, one
// idle for server.timeout, with the same socket.destroy(). It prints its
// port on stdout once it listens.
const nodeServer = `'use strict';
const http = require('http');
const server = http.createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk) => { bytes += chunk.length; });
  req.on('end', () => {
    const body = JSON.stringify({method: req.method, url: req.url, bytes: bytes});
    res.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)});
    res.end(body);
  });
});
server.keepAliveTimeout = Number(process.argv[2]);
server.timeout = Number(process.argv[3]);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(server.address().port + '\n');
});
`

// nodeTimeouts are the idle timeouts nodeServer runs with.
type nodeTimeouts struct {
	keepAlive time.Duration // server.keepAliveTimeout; 0 turns it off
	socket    time.Duration // server.timeout; 0 turns it off
}

// startNode runs nodeServer with node in a process group of its own, and
// returns the host:port it listens on. t.Cleanup kills the group and
// waits for node.
func startNode(t *testing.T, to nodeTimeouts) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("%v\n(the Node.js upstream tests need Debian's nodejs: apt-get install nodejs)", err)
	}
	script := writeFile(t, "server.js", nodeServer)
	cmd := exec.Command(bin, script, strconv.FormatInt(to.keepAlive.Milliseconds(), 10), strconv.FormatInt(to.socket.Milliseconds(), 10))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Errorf("kill node's process group %d: %v", pid, err)
		}
		cmd.Wait() // killed: its exit error says so
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("node's process group %d: got %v after the kill, want it gone (ESRCH)", pid, err)
		}
	})
	type line struct {
		s   string
		err error
	}
	got := make(chan line, 1)
	go func() {
		s, err := bufio.NewReader(stdout).ReadString('\n')
		got <- line{s, err}
	}()
	select {
	case l := <-got:
		port, err := strconv.Atoi(strings.TrimSpace(l.s))
		if err != nil || port < 1 || port > 65535 {
			// The read ended with node's exit: its stderr is whole.
			cmd.Wait()
			t.Fatalf("node printed %q (%v), want its port\nstderr:\n%s", l.s, l.err, stderr.String())
		}
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	case <-time.After(10 * time.Second):
		// Cleanup kills node, which ends the read.
		t.Fatalf("node printed no port within 10s")
	}
	return ""
}

// nodeScenario is the load of every measurement: GETs and small POSTs
// (nginx retries a GET on a cached connection that fails, not a POST), at
// rates whose gaps between requests (from 1/nodeRateFrom to 1/nodeRateTo)
// sweep across node's idle timeout for sweep, so that requests keep
// meeting an upstream connection node is closing as idle.
func nodeScenario(upstream string, sweep time.Duration) string {
	return fmt.Sprintf(`name: nodejs-keepalive
seed: 7
target: {gateway: nginx, timeout: 5s}
upstream: {url: "http://%s"}
requests:
  - {method: POST, path: /v1/orders, headers: {Content-Type: application/json}, body: '{"item":"x","qty":1}'}
  - {method: GET, path: /v1/items}
phases:
  - {name: sweep, duration: %s, rate: %d/s, ramp_to: %d/s}
`, upstream, sweep, nodeRateFrom, nodeRateTo)
}

// The knobs of TestNodeUpstreamKeepAliveRace.
const (
	// nodeIdle is how long node keeps an idle connection: its
	// server.timeout, with keepAliveTimeout off, since keepAliveTimeout
	// cannot be shorter than a second (TestNodeIdleClose).
	// 1ms races often (a few percent of the requests) even under -race,
	// where 2ms and more race too seldom to tell a proxy that hides them.
	nodeIdle     = time.Millisecond
	nodeSweep    = 6 * time.Second // the attack of each measurement in the default suite
	nodeRateFrom = 300             // hits per second at its start
	nodeRateTo   = 1200            // and at its end
	// nodeAlpha is the significance level of the comparison: the rates
	// with and without the proxy differ when Welch's test says p < nodeAlpha.
	nodeAlpha = 0.001
)

// The flags of make bench-node. In the default suite (no
// -node-compare-rates) the test measures A once and B once, nodeSweep
// each, and checks everything but the rates' comparison.
var (
	nodeCompareRates = flag.Bool("node-compare-rates", false, "TestNodeUpstreamKeepAliveRace: measure in ABBA blocks and fail when the 502 rates with and without the proxy differ beyond the run-to-run noise (Welch's t-test, p < 0.001)")
	nodeRounds       = flag.Int("node-rounds", 3, "TestNodeUpstreamKeepAliveRace with -node-compare-rates: how many ABBA blocks (each 2 measurements without the proxy, 2 with)")
	nodeCompareBusy  = flag.Bool("node-compare-busy", false, "TestNodeUpstreamKeepAliveRace with -node-compare-rates: compare even when the machine was oversubscribed (to try the test out on a shared machine; its verdict means little then)")
	nodeRoundSweep   = flag.Duration("node-sweep", 2*time.Second, "TestNodeUpstreamKeepAliveRace with -node-compare-rates: the attack of each measurement")
)

// TestNodeUpstreamKeepAliveRace puts a real upstream, Node.js's HTTP
// server with a short idle timeout, behind nginx, and measures its 502s
// (the keep-alive race: nginx sends a request on an idle connection just
// as node closes it) with the same load, with one node process: A with
// nginx straight at node, B through gatecrash run, with the fault proxy
// between nginx and node and no fault. The proxy is transparent, so its
// B's 502s must be attributed to node's own close with exact evidence,
// and A must race often enough that a proxy hiding the race shows.
//
// With -node-compare-rates (make bench-node) it measures -node-rounds
// blocks of A B B A, after one measurement without the proxy to warm node
// up, and fails when the B rates differ from the A rates
// beyond the noise between measurements (see welchT); it skips the
// comparison when the machine was oversubscribed (see nodeOversubscribed).
func TestNodeUpstreamKeepAliveRace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Node.js and nginx under load")
	}
	if _, err := lab.LookPath(scenarios.GatewayNginx); err != nil {
		t.Fatalf("%v\n(the Node.js upstream test needs nginx installed)", err)
	}
	plan, sweep := "AB", nodeSweep
	if *nodeCompareRates {
		if *nodeRounds < 1 {
			t.Fatalf("-node-rounds %d: want at least 1 ABBA block", *nodeRounds)
		}
		// W: a first measurement without the proxy, left out of the
		// comparison: node's first seconds of load race far more often
		// than the next (its JIT warms up).
		plan, sweep = "W"+strings.Repeat("ABBA", *nodeRounds), *nodeRoundSweep
	}
	load0 := readLoadavg(t)
	node := startNode(t, nodeTimeouts{socket: nodeIdle})
	file := writeFile(t, "nodejs.yaml", nodeScenario(node, sweep))

	cpu0 := sampleCPU(t)
	var as, bs []measurement
	var lines []string
	for i, c := range plan {
		var m measurement
		switch c {
		case 'W':
			m = measureDirect(t, file, node)
		case 'A':
			m = measureDirect(t, file, node)
			as = append(as, m)
		default:
			m = measureProxied(t, file)
			bs = append(bs, m)
		}
		line := fmt.Sprintf("%2d %c: %4d 502s of %5d requests (%.2f%%), other answers %v", i+1, c, m.n502, m.requests, 100*share(m.n502, m.requests), m.other)
		if c != 'B' {
			line += fmt.Sprintf("; nginx's error log: %v", m.words)
		} else {
			line += "; causes: " + m.causes
		}
		lines = append(lines, line)
	}
	cpu1 := sampleCPU(t)
	load1 := readLoadavg(t)
	busy := cpu1.sub(cpu0)
	ra, rb := rates(as), rates(bs)
	sa, sb := sum502(as), sum502(bs)
	var w welch
	verdict := "one measurement each: rates not compared (make bench-node compares them)"
	if len(ra) >= 2 && len(rb) >= 2 {
		w = welchT(rb, ra)
		verdict = fmt.Sprintf("Welch's t-test, B against A: t = %.2f, df = %.1f, p = %.3g", w.t, w.df, w.p)
	}
	t.Logf("node idle timeout %v, %v from %d/s to %d/s per measurement, half POSTs; A without the proxy, B with it:\n  %s\n"+
		"  A: %d 502s of %d requests (%.2f%%), mean of the measurements %.2f%% (sd %.2f)\n"+
		"  B: %d 502s of %d requests (%.2f%%), mean of the measurements %.2f%% (sd %.2f); B/A %.2f\n"+
		"  %s\n"+
		"  machine: %d CPUs; load average %s at the start, %s at the end; busy %.2f CPUs, %.2f of them this test's, %.2f others'",
		nodeIdle, sweep, nodeRateFrom, nodeRateTo, strings.Join(lines, "\n  "),
		sa.n502, sa.requests, 100*share(sa.n502, sa.requests), 100*mean(ra), 100*sd(ra),
		sb.n502, sb.requests, 100*share(sb.n502, sb.requests), 100*mean(rb), 100*sd(rb), mean(rb)/mean(ra),
		verdict,
		runtime.NumCPU(), load0, load1, busy.all(), busy.ours(), busy.others())

	// Not vacuous: A has enough 502s that a proxy hiding them all would
	// be told apart, and they are node's closes, by nginx's own words (a
	// line per failed try; nginx retries GETs, so there can be more).
	if p0 := twoProportionP(sa.n502, sa.requests, 0, sb.requests); p0 >= nodeAlpha {
		t.Errorf("A without the proxy: got %d 502s of %d requests, too few to tell even none of %d apart (p = %.3g >= %g): node's keep-alive race hardly happened; tune the sweep", sa.n502, sa.requests, sb.requests, p0, nodeAlpha)
	}
	for i, a := range as {
		if said := a.words[nginxPremature] + a.words[nginxReset]; said < a.n502 {
			t.Errorf("A%d without the proxy: nginx's error log says the upstream closed or reset %d times (%v), want at least once per 502 (%d)", i+1, said, a.words, a.n502)
		}
	}
	// B's 502s are node's own closes, tied to their requests exactly: on a
	// pooled connection as the next request came, or reset; node's timer
	// runs from the accept, so it may close a fresh connection before its
	// first request too (upstream-closed).
	for i, b := range bs {
		exact := 0
		for _, c := range b.report.Causes {
			switch c.Cause {
			case causes.UpstreamClosedIdle, causes.UpstreamReset, causes.UpstreamClosed:
				exact += c.Evidence.Exact
			}
		}
		if b.n502 == 0 || float64(exact) < 0.99*float64(b.n502) {
			t.Errorf("B%d with the proxy: got %d of %d 502s attributed to the upstream's own close or reset with exact evidence (causes: %s), want at least 99%% of them, and some 502s", i+1, exact, b.n502, b.causes)
		}
	}
	if !*nodeCompareRates {
		return
	}
	if why := nodeOversubscribed(load0, busy, append(as, bs...)); why != "" {
		if !*nodeCompareBusy {
			t.Skipf("the machine was oversubscribed (%s): the rates measure the machine's load, not the proxy; comparison skipped", why)
		}
		t.Logf("the machine was oversubscribed (%s); comparing anyway (-node-compare-busy)", why)
	}
	if w.p < nodeAlpha {
		t.Errorf("502 rate with the proxy %.2f%% against %.2f%% without (B/A %.2f, means of %d measurements each): Welch's t = %.2f, df = %.1f, p = %.3g < %g, want the same rate within the noise between measurements: the proxy is not transparent to node's keep-alive closes",
			100*mean(rb), 100*mean(ra), mean(rb)/mean(ra), len(rb), w.t, w.df, w.p, nodeAlpha)
	}
}

// nodeOversubscribed says why the measurements ms, made between a 1-minute
// load average of load0 and the CPU use busy, do not measure the proxy,
// or "" when they do. Measurements compete with every other process on
// the machine, and once the CPUs are short the race's rate follows the
// load (even its sign against the proxy flips), so any of these makes
// the comparison meaningless:
//   - a 504 or a request without an answer: nginx or the attacker waited
//     for a CPU for seconds;
//   - a load average above the number of CPUs as the test started;
//   - other processes than this test's taking more than nodeOthersMax
//     of a CPU on average during the measurements (the load average
//     cannot tell: by the second run of -count it counts this test's own
//     previous run).
func nodeOversubscribed(load0 loadavg, busy cpuUse, ms []measurement) string {
	var why []string
	late := 0
	for _, m := range ms {
		late += m.other[504] + m.other[0]
	}
	if late > 0 {
		why = append(why, fmt.Sprintf("%d 504s or unanswered requests", late))
	}
	if cpus := runtime.NumCPU(); load0.one > float64(cpus) {
		why = append(why, fmt.Sprintf("load average %.2f > %d CPUs at the start", load0.one, cpus))
	}
	if o := busy.others(); o > nodeOthersMax {
		why = append(why, fmt.Sprintf("other processes took %.2f CPUs > %.2f during the measurements", o, nodeOthersMax))
	}
	return strings.Join(why, "; ")
}

// nodeOthersMax is how much of a CPU, on average, other processes than the
// test may take while it measures the race.
const nodeOthersMax = 0.5

// loadavg is /proc/loadavg.
type loadavg struct {
	one  float64 // the 1-minute load average
	text string  // the whole first three fields
}

func (l loadavg) String() string { return l.text }

// readLoadavg reads /proc/loadavg.
func readLoadavg(t *testing.T) loadavg {
	t.Helper()
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		t.Fatalf("/proc/loadavg: %q, want three load averages", b)
	}
	one, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		t.Fatalf("/proc/loadavg: %v", err)
	}
	return loadavg{one: one, text: strings.Join(f[:3], " ")}
}

// cpuUse is a sample of CPU time in clock ticks (USER_HZ): the machine's
// busy time (every CPU's, from /proc/stat) and this test's (the test
// process, its waited-for children and its live descendants: node, nginx),
// and when it was taken. sub turns two samples into the use between them.
type cpuUse struct {
	busy, test float64
	at         time.Time
	wall       time.Duration // after sub: the time between the samples
}

// clockTick is USER_HZ, the unit of /proc's CPU times: 100 on Linux.
const clockTick = 100

func (c cpuUse) sub(before cpuUse) cpuUse {
	return cpuUse{busy: c.busy - before.busy, test: c.test - before.test, wall: c.at.Sub(before.at)}
}

// all, ours and others are the CPUs busy on average over the interval:
// in all, of this test and of every other process.
func (c cpuUse) all() float64  { return c.busy / clockTick / c.wall.Seconds() }
func (c cpuUse) ours() float64 { return c.test / clockTick / c.wall.Seconds() }
func (c cpuUse) others() float64 {
	return math.Max(0, c.all()-c.ours())
}

// sampleCPU takes a cpuUse sample.
func sampleCPU(t *testing.T) cpuUse {
	t.Helper()
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		t.Fatalf("/proc/stat: first line %q, want the cpu totals", line)
	}
	var use cpuUse
	for i, s := range f[1:] {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("/proc/stat: %q: %v", line, err)
		}
		if i != 3 && i != 4 && i < 8 { // not idle, iowait; guest is in user already
			use.busy += v
		}
	}
	// This process and its descendants: a parent's cutime and cstime hold
	// the children it has waited for.
	parent := map[int]int{}
	ticks := map[int]float64{}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid ... utime stime cutime cstime: fields 4, 14-17.
		s := string(b)
		rest := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(rest) < 15 {
			continue
		}
		parent[pid], _ = strconv.Atoi(rest[1])
		for _, x := range rest[11:15] {
			v, _ := strconv.ParseFloat(x, 64)
			ticks[pid] += v
		}
	}
	self := os.Getpid()
	for pid, v := range ticks {
		for p := pid; p > 1; p = parent[p] {
			if p == self {
				use.test += v
				break
			}
		}
	}
	use.at = time.Now()
	return use
}

// TestNodeIdleClose measures when node closes a keep-alive connection
// left idle after one answer: server.keepAliveTimeout gets a second on
// top, so only server.timeout gives the short idle close the race needs.
func TestNodeIdleClose(t *testing.T) {
	tests := []struct {
		name   string
		to     nodeTimeouts
		lo, hi time.Duration // the close comes after lo, before hi
	}{
		{"keepAliveTimeout 50ms closes after 1.05s", nodeTimeouts{keepAlive: 50 * time.Millisecond}, time.Second, 2 * time.Second},
		// 20ms, not nodeIdle: node's timer runs from the accept, and
		// 1ms can close the connection before its first request.
		{"server.timeout 20ms closes after 20ms", nodeTimeouts{socket: 20 * time.Millisecond}, 15 * time.Millisecond, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := net.Dial("tcp", startNode(t, tt.to))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, "GET /x HTTP/1.1\r\nHost: node\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != 200 || resp.Close {
				t.Fatalf("got %d (close %v, body %v), want a 200 on a kept-alive connection", resp.StatusCode, resp.Close, err)
			}
			answered := time.Now()
			c.SetReadDeadline(answered.Add(tt.hi))
			n, err := br.Read(make([]byte, 1))
			idle := time.Since(answered)
			if n != 0 || !errors.Is(err, io.EOF) {
				t.Fatalf("after %v idle: got %d bytes, %v; want node's close (EOF) before %v", idle, n, err, tt.hi)
			}
			if idle < tt.lo {
				t.Errorf("node closed after %v idle, want after %v", idle, tt.lo)
			}
			t.Logf("node closed the idle connection after %v", idle)
		})
	}
}

// What nginx's error log says of an upstream connection closed or reset
// under a request.
const (
	nginxPremature = "upstream prematurely closed connection"
	nginxReset     = "Connection reset by peer"
)

// measurement is one measurement's figures.
type measurement struct {
	n502, requests int
	other          map[int]int     // the other answers by code (0: no answer)
	words          map[string]int  // A: nginx's error lines about its upstream, by what they say
	report         *results.Report // B: report.json
	causes         string          // B: the 502s' causes, in words
}

// measureDirect is measurement A: nginx, started from its default
// template with node as its upstream, attacked with the scenario's load.
func measureDirect(t *testing.T, file, node string) measurement {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Decode(file, data)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := lab.RenderDefault(scenarios.GatewayNginx)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	errLog := filepath.Join(dir, "error.log")
	m, err := lab.StartManaged(ctx, lab.ManagedConfig{
		Template:       tmpl,
		Upstream:       node,
		ConnectTimeout: sc.Target.ConnectTimeout.D(),
		ReadTimeout:    sc.Target.UpstreamTimeout.D(),
		Config:         filepath.Join(dir, "nginx.conf"),
		AccessLog:      filepath.Join(dir, "access.log"),
		ErrorLog:       errLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close() // on t.Fatal; the Close below reports how nginx stopped
	got := measurement{other: map[int]int{}, words: map[string]int{}}
	_, err = attack.Run(ctx, attack.NewPacer(sc.Phases), attack.Options{
		Name: sc.Name + "-direct", BaseURL: m.URL(), Requests: sc.Requests, Timeout: sc.Target.Timeout.D(),
	}, func(r *vegeta.Result) error {
		got.requests++
		if r.Code == 502 {
			got.n502++
		} else if r.Code != 200 {
			got.other[int(r.Code)]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("stop nginx: %v", err)
	}
	b, err := os.ReadFile(errLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		for _, w := range []string{nginxPremature, nginxReset} {
			if strings.Contains(line, w) {
				got.words[w]++
			}
		}
	}
	return got
}

// measureProxied is measurement B: gatecrash run of the scenario, with the
// fault proxy between nginx and node and no fault.
func measureProxied(t *testing.T, file string) measurement {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := gatecrash(t, "run", file, "--out", out)
	if code != exitOK {
		t.Fatalf("gatecrash run: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	checkStopped(t, stderr)
	rd := readRunDir(t, out)
	got := measurement{other: map[int]int{}, report: rd.report}
	for _, r := range rd.results {
		if r.Code != 502 && r.Code != 200 {
			got.other[int(r.Code)]++
		}
	}
	got.requests = rd.report.Totals.Requests
	got.n502 = rd.report.Totals.Status["502"]
	var cs []string
	for _, c := range rd.report.Causes {
		cs = append(cs, fmt.Sprintf("%s %d (exact %d, temporal %d, signature %d, none %d)",
			c.Cause, c.Count, c.Evidence.Exact, c.Evidence.Temporal, c.Evidence.Signature, c.Evidence.None))
	}
	got.causes = strings.Join(cs, "; ")
	if got.causes == "" {
		got.causes = "none"
	}
	return got
}

// share is x of n, 0 when n is.
func share(x, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(x) / float64(n)
}

// twoProportionP is the two-sided p-value of the pooled two-proportion
// z-test that x1 of n1 and x2 of n2 come from the same rate: 1 when the
// pooled rate is 0 or 1 (nothing to tell apart).
func twoProportionP(x1, n1, x2, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	p := float64(x1+x2) / float64(n1+n2)
	se := math.Sqrt(p * (1 - p) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 1
	}
	z := (share(x1, n1) - share(x2, n2)) / se
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}

// TestTwoProportionP checks the statistic against worked values: z from
// the pooled rate, then p = 2(1 - Φ(|z|)) = erfc(|z|/√2).
func TestTwoProportionP(t *testing.T) {
	tests := []struct {
		x1, n1, x2, n2 int
		want           float64
	}{
		{50, 1000, 50, 1000, 1},           // z = 0
		{0, 0, 3, 10, 1},                  // no sample
		{0, 100, 0, 100, 1},               // nothing to tell apart
		{500, 1000, 500, 1000, 1},         // equal halves
		{60, 1000, 40, 1000, 0.04017},     // z = 2.052
		{40, 1000, 60, 1000, 0.04017},     // two-sided
		{30, 500, 24, 500, 0.4012},        // z = 0.8395
		{100, 2000, 130, 2000, 0.04159},   // z = -2.038
		{1, 10000, 0, 10000, 0.3173},      // z = 1.000
		{10, 10, 0, 10, 7.744e-06},        // z = 4.472
		{40, 1000, 0, 1000, 1.672e-10},    // z = 6.389
		{200, 1000, 100, 1000, 3.795e-10}, // z = 6.262
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d of %d vs %d of %d", tt.x1, tt.n1, tt.x2, tt.n2), func(t *testing.T) {
			got := twoProportionP(tt.x1, tt.n1, tt.x2, tt.n2)
			if math.Abs(got-tt.want) > 0.001*tt.want {
				t.Errorf("got p = %.4g, want %.4g", got, tt.want)
			}
		})
	}
}

// sum502 adds the 502s and requests of ms up.
func sum502(ms []measurement) measurement {
	var s measurement
	for _, m := range ms {
		s.n502 += m.n502
		s.requests += m.requests
	}
	return s
}

// rates are the 502 rates of ms, one per measurement.
func rates(ms []measurement) []float64 {
	r := make([]float64, len(ms))
	for i, m := range ms {
		r[i] = share(m.n502, m.requests)
	}
	return r
}

// mean is the mean of xs, NaN when empty.
func mean(xs []float64) float64 { return stat.Mean(xs, nil) }

// variance is the sample variance of xs (n-1 in the denominator), NaN
// with fewer than two.
func variance(xs []float64) float64 {
	if len(xs) < 2 {
		return math.NaN()
	}
	return stat.Variance(xs, nil)
}

// sd is the sample standard deviation of xs, 0 with fewer than two.
func sd(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	return math.Sqrt(variance(xs))
}

// welch is the outcome of Welch's t-test.
type welch struct {
	t, df, p float64
}

// welchT is Welch's unequal-variance t-test that the samples x and y
// (two or more values each) have the same mean: t = (x̄-ȳ)/√(sx²/nx +
// sy²/ny), df by Welch-Satterthwaite, p two-sided. When both samples are
// constant, p is 1 for equal means and 0 otherwise.
//
// Why this test for the 502 rates: the rate of node's keep-alive race
// moves from one measurement to the next far more than binomial noise
// allows (node warms up, the machine's load changes), so a test on the
// pooled counts (a two-proportion z-test) finds two measurements without
// the proxy "different" at p < 0.001 most of the time. Taking each
// measurement's rate as one observation puts the measured run-to-run
// variance, binomial noise included, in the denominator. Welch's form
// lets the variances differ (B's rates are higher, so vary more). The
// ABBA order makes a linear drift add equally to both means, so the drift
// widens the variances, making the test conservative, but does not bias
// it. A permutation test of the labels within ABBA blocks would be exact,
// but with k blocks it has 6^k labellings: with two its smallest p is
// 1/18, with three 1/108, and it could never fail at a strict level in a
// run of minutes; a bootstrap of so few values is as coarse. Welch's test
// on 6 against 6 (3 blocks) has about 10 degrees of freedom: it fails at
// p < 0.001 for a difference of about 4.6 standard errors (4 against 4:
// about 6, which a proxy with a 500µs late FIN passed once in three).
func welchT(x, y []float64) welch {
	nx, ny := float64(len(x)), float64(len(y))
	vx, vy := variance(x)/nx, variance(y)/ny
	d := mean(x) - mean(y)
	se := math.Sqrt(vx + vy)
	if se == 0 {
		w := welch{df: nx + ny - 2, p: 1}
		if d != 0 {
			w.t, w.p = math.Copysign(math.Inf(1), d), 0
		}
		return w
	}
	w := welch{t: d / se, df: (vx + vy) * (vx + vy) / (vx*vx/(nx-1) + vy*vy/(ny-1))}
	w.p = studentTwoSided(w.t, w.df)
	return w
}

// studentTwoSided is P(|T| >= |t|) for Student's t with df degrees of
// freedom (df > 0, not necessarily whole), from gonum's distribution.
func studentTwoSided(t, df float64) float64 {
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(t))
}

// TestWelchT checks Welch's test against values worked with mpmath
// (betainc) at 30 digits, and Wikipedia's example A1 of Welch's t-test.
func TestWelchT(t *testing.T) {
	tests := []struct {
		name     string
		x, y     []float64
		t, df, p float64
	}{
		{"close rates", []float64{0.070, 0.068, 0.072, 0.066}, []float64{0.062, 0.064, 0.060, 0.066}, 3.28634, 6.0, 0.01669},
		{"rates apart, little noise", []float64{0.080, 0.081, 0.079, 0.082}, []float64{0.060, 0.061, 0.059, 0.062}, 21.9089, 6.0, 5.90767e-7},
		{"doubled, unequal variances", []float64{0.14, 0.15, 0.13, 0.16}, []float64{0.065, 0.07, 0.06, 0.068}, 11.6348, 3.67234, 0.000496762},
		{"within noise", []float64{0.071, 0.055, 0.080, 0.062}, []float64{0.060, 0.066, 0.058, 0.070}, 0.57475, 4.44677, 0.593301},
		{"a proxy hiding every 502", []float64{0, 0, 0, 0}, []float64{0.06, 0.07, 0.065, 0.05}, -14.3457, 3.0, 0.000734104},
		{"Wikipedia A1",
			[]float64{27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4},
			[]float64{27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4},
			-2.45536, 24.9885, 0.021378},
		{"unequal sizes", []float64{1, 2, 3}, []float64{4, 5, 6, 7, 8, 9}, -4.7001, 6.79775, 0.00238844},
		{"constant and equal", []float64{0.05, 0.05}, []float64{0.05, 0.05}, 0, 2, 1},
		{"constant and apart", []float64{0.06, 0.06}, []float64{0.05, 0.05}, math.Inf(1), 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := welchT(tt.x, tt.y)
			near := func(got, want float64) bool {
				return got == want || math.Abs(got-want) <= 1e-5*math.Abs(want)
			}
			if !near(got.t, tt.t) || !near(got.df, tt.df) || !near(got.p, tt.p) {
				t.Errorf("got t = %.6g, df = %.6g, p = %.6g; want t = %.6g, df = %.6g, p = %.6g", got.t, got.df, got.p, tt.t, tt.df, tt.p)
			}
		})
	}
}

// TestStudentTwoSided checks Student's t tail against closed forms (df 1
// is Cauchy's, 1 - 2/π·atan t; df 2 is 1 - t/√(t²+2)) and mpmath's betainc.
func TestStudentTwoSided(t *testing.T) {
	tests := []struct {
		t, df, want float64
	}{
		{0, 5, 1},
		{1, 1, 0.5},
		{3, 1, 1 - 2/math.Pi*math.Atan(3)},
		{2, 2, 1 - 2/math.Sqrt(6)},
		{-2, 2, 1 - 2/math.Sqrt(6)},
		{2, 10, 0.073388035},
		{3, 5.5, 0.026723481},
		{6, 6, 0.00096453519},
		{0.5, 30, 0.620723},
		{10, 3, 0.0021283991},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("t %g df %g", tt.t, tt.df), func(t *testing.T) {
			if got := studentTwoSided(tt.t, tt.df); math.Abs(got-tt.want) > 1e-6*tt.want {
				t.Errorf("got p = %.8g, want %.8g", got, tt.want)
			}
		})
	}
}
