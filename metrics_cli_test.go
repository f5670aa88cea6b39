package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestMetricsFlagErrors: every mistake in the metrics flags is bad input
// (exit 2) naming the flag and the fix, before any traffic.
func TestMetricsFlagErrors(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := taken.Addr().String()
	out := func() string { return filepath.Join(t.TempDir(), "out") }
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--metrics-listen", "0.0.0.0:9464", "upstream-resets"}, `--metrics-listen: "0.0.0.0:9464" is not a loopback address; use 127.0.0.1:PORT`},
		{[]string{"run", "--metrics-listen", "9464", "upstream-resets"}, `--metrics-listen: "9464" is not host:port`},
		{[]string{"run", "--metrics-listen", "127.0.0.1:0", "--metrics-linger", "-1s", "upstream-resets"}, "--metrics-linger -1s: negative; give 0 (stop with the run) or a duration such as 15s"},
		{[]string{"run", "--metrics-linger", "5s", "upstream-resets"}, "--metrics-linger 5s: no metrics to serve; add --metrics-listen 127.0.0.1:PORT"},
		{[]string{"run", "--metrics-linger", "soon", "upstream-resets"}, `invalid argument "soon" for "--metrics-linger"`},
		{[]string{"run", "-o", out(), "--metrics-listen", busy, "upstream-resets"}, "--metrics-listen: listen tcp " + busy + ": bind: address already in use; pick a free loopback address"},
		{[]string{"policies", "--metrics-listen", "0.0.0.0:9464", "retry-storm"}, `--metrics-listen: "0.0.0.0:9464" is not a loopback address`},
		{[]string{"policies", "--metrics-linger", "1s", "retry-storm"}, "--metrics-linger 1s: no metrics to serve"},
		{[]string{"policies", "-o", out(), "--metrics-listen", busy, "retry-storm"}, "--metrics-listen: listen tcp " + busy + ": bind: address already in use"},
		{[]string{"proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--metrics-listen", "10.0.0.1:9464"}, `--metrics-listen: "10.0.0.1:9464" is not a loopback address`},
		{[]string{"proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--metrics-listen", busy}, "--metrics-listen: listen tcp " + busy + ": bind: address already in use"},
		{[]string{"proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--metrics-linger", "1s"}, "unknown flag: --metrics-linger"},
		// Consent for another host is not consent for every host.
		{[]string{"run", "--allow-host", "10.0.0.2", "--metrics-listen", "10.0.0.1:9464", "upstream-resets"}, `--metrics-listen: "10.0.0.1:9464" is not a loopback address`},
		{[]string{"run", "--allow-host", "", "--metrics-listen", "0.0.0.0:9464", "upstream-resets"}, "--allow-host"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := gatecrash(t, tt.args...)
			if code != exitInput {
				t.Errorf("exit %d, want 2; stderr: %s", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q lacks %q", stderr, tt.want)
			}
		})
	}
}

// scrape reads a text exposition into "name{labels}" -> value.
func scrape(t *testing.T, url string) (map[string]float64, error) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	got := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
		got[line[:i]] = v
	}
	return got, sc.Err()
}

// TestRunServesMetrics runs a short scenario with --metrics-listen and
// --metrics-linger, scrapes the endpoint over loopback while the run
// lingers, and finds the final values: the run ended, its requests by
// class as report.json counts them. Ctrl-C (the context) ends the linger.
func TestRunServesMetrics(t *testing.T) {
	file := writeFile(t, "m.yaml", `name: metrics-cli
seed: 3
requests: [{path: /}]
phases:
  - {name: warm, duration: 300ms, rate: 30/s}
  - name: hot
    duration: 300ms
    rate: 30/s
    faults: [{kind: status, code: 502, probability: 0.5}]
`)
	dir := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	urls := make(chan string, 1)
	ctx = context.WithValue(ctx, metricsReadyKey{}, func(u string) { urls <- u })
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		done <- cli(ctx, []string{"run", "-q", "-o", dir, "--metrics-listen", "127.0.0.1:0", "--metrics-linger", "50s", file}, io.Discard, &stderr)
	}()
	var url string
	select {
	case url = <-urls:
	case code := <-done:
		t.Fatalf("exit %d before serving metrics; stderr: %s", code, stderr.String())
	}
	// Scrape until the run has ended (bounded by the linger: after it
	// the endpoint is gone and scrape fails).
	var got map[string]float64
	for {
		m, err := scrape(t, url)
		if err != nil {
			t.Fatalf("scrape: %v; stderr: %s", err, stderr.String())
		}
		if m["gatecrash_run_ended"] == 1 {
			got = m
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel() // ends the linger, as Ctrl-C does
	if code := <-done; code != exitOK {
		t.Errorf("exit %d, want 0; stderr: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "serving the final metrics for 50s more") {
		t.Errorf("stderr lacks the linger notice: %s", stderr.String())
	}
	if _, err := scrape(t, url); err == nil {
		t.Error("the metrics are still served after the run returned")
	}
	rep := readRunDir(t, dir).report
	sum := func(prefix string) float64 {
		var n float64
		for k, v := range got {
			if strings.HasPrefix(k, prefix) {
				n += v
			}
		}
		return n
	}
	if g := sum("gatecrash_requests_total{"); int(g) != rep.Totals.Requests || g == 0 {
		t.Errorf("gatecrash_requests_total: got %v, want the report's %d", g, rep.Totals.Requests)
	}
	if g, w := sum(`gatecrash_requests_total{class="502"`), rep.Totals.Status["502"]; int(g) != w || w == 0 {
		t.Errorf(`gatecrash_requests_total{class="502"}: got %v, want the report's %d (> 0)`, g, w)
	}
	if g, w := got[`gatecrash_failures_total{cause="upstream-5xx-passthrough",class="502"}`], rep.Totals.Status["502"]; int(g) != w {
		t.Errorf("502s passed through: got %v, want %d", g, w)
	}
	if g := sum(`gatecrash_proxy_faults_total{kind="status",phase="hot"}`); int(g) != rep.Totals.Status["502"] {
		t.Errorf("status faults: got %v, want %d", g, rep.Totals.Status["502"])
	}
}

// TestPoliciesServeMetrics: gatecrash policies serves every policy's run
// on one endpoint, each labelled with its run folder's name, with the
// counts of its own report.
func TestPoliciesServeMetrics(t *testing.T) {
	file := writeFile(t, "p.yaml", `name: metrics-policies
seed: 3
requests: [{path: /}]
phases:
  - name: hot
    duration: 300ms
    rate: 30/s
    faults: [{kind: status, code: 502, probability: 0.3}]
`)
	dir := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	urls := make(chan string, 1)
	ctx = context.WithValue(ctx, metricsReadyKey{}, func(u string) { urls <- u })
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		done <- cli(ctx, []string{"policies", "-q", "-o", dir, "--policy", "naive", "--metrics-listen", "127.0.0.1:0", "--metrics-linger", "50s", file}, io.Discard, &stderr)
	}()
	var url string
	select {
	case url = <-urls:
	case code := <-done:
		t.Fatalf("exit %d before serving metrics; stderr: %s", code, stderr.String())
	}
	var got map[string]float64
	for {
		m, err := scrape(t, url)
		if err != nil {
			t.Fatalf("scrape: %v; stderr: %s", err, stderr.String())
		}
		if m[`gatecrash_run_ended{policy="1-naive"}`] == 1 {
			got = m
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d, want 0; stderr: %s", code, stderr.String())
	}
	for _, policy := range []string{"0-none", "1-naive"} {
		rep := readRunDir(t, filepath.Join(dir, policy)).report
		var n float64
		for k, v := range got {
			if strings.HasPrefix(k, "gatecrash_requests_total{") && strings.Contains(k, `policy="`+policy+`"`) {
				n += v
			}
		}
		if int(n) != rep.Totals.Requests || n == 0 {
			t.Errorf("policy %s: gatecrash_requests_total: got %v, want its report's %d", policy, n, rep.Totals.Requests)
		}
		if got[`gatecrash_run_ended{policy="`+policy+`"}`] != 1 {
			t.Errorf("policy %s: gatecrash_run_ended: got %v, want 1", policy, got[`gatecrash_run_ended{policy="`+policy+`"}`])
		}
	}
}

// TestMetricsListenConsent: --metrics-listen beyond loopback needs
// --allow-host for its host, as every other server's address does;
// checked without listening.
func TestMetricsListenConsent(t *testing.T) {
	tests := []struct {
		listen string
		allow  []string
		ok     bool
	}{
		{"127.0.0.1:9464", nil, true},
		{"[::1]:9464", nil, true},
		{"0.0.0.0:9464", nil, false},
		{"0.0.0.0:9464", []string{"0.0.0.0"}, true},
		{"10.0.0.1:9464", []string{"10.0.0.1"}, true},
		{"10.0.0.1:9464", []string{"10.0.0.2"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.listen+" "+strings.Join(tt.allow, ","), func(t *testing.T) {
			fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
			allowHostFlag(fs, "test")
			f := metricsFlagsOn(fs, true)
			args := []string{"--metrics-listen", tt.listen}
			for _, a := range tt.allow {
				args = append(args, "--allow-host", a)
			}
			if err := fs.Parse(args); err != nil {
				t.Fatal(err)
			}
			err := f.check(fs)
			if (err == nil) != tt.ok {
				t.Errorf("got %v, want ok %v", err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "--allow-host") {
				t.Errorf("%v: want the message to name --allow-host", err)
			}
		})
	}
}

// TestScenarioProxyServesMetrics: the proxy of a sharded run (proxy
// --scenario) serves its metrics too: the phase of the scenario running
// now by its clock, and the faults it applied in it.
func TestScenarioProxyServesMetrics(t *testing.T) {
	file := writeFile(t, "sp.yaml", `name: metrics-scenario-proxy
seed: 4
requests: [{path: /}]
phases:
  - {name: first, duration: 200ms, rate: 10/s}
  - name: second
    duration: 20s
    rate: 10/s
    faults: [{kind: status, code: 503}]
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	urls := make(chan string, 1)
	ctx = context.WithValue(ctx, metricsReadyKey{}, func(u string) { urls <- u })
	px := startProxyCommand(t, ctx, "--scenario", file, "--listen", "127.0.0.1:0", "--grace", "0s", "--metrics-listen", "127.0.0.1:0")
	url := <-urls
	// Wait, bounded by the second phase's 20s, for the second phase.
	for {
		m, err := scrape(t, url)
		if err != nil {
			t.Fatal(err)
		}
		if m[`gatecrash_proxy_phase{phase="second"}`] == 1 {
			if m[`gatecrash_proxy_phase{phase="first"}`] != 0 {
				t.Errorf("both phases current: %v", m)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get("http://" + px.proxy + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	m, err := scrape(t, url)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 503 || m[`gatecrash_proxy_faults_total{kind="status",phase="second"}`] != 1 || m["gatecrash_proxy_requests_total"] != 1 {
		t.Errorf("got %d and faults %v, requests %v; want a 503, one status fault in second, one request", resp.StatusCode,
			m[`gatecrash_proxy_faults_total{kind="status",phase="second"}`], m["gatecrash_proxy_requests_total"])
	}
	cancel()
	px.wait(t)
}
