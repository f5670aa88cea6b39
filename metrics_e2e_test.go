package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/faults"
)

// prometheusPackage is the Debian package .ci/run installs for
// TestMetricsWithPrometheus.
const prometheusPackage = "prometheus"

// promServer is a real Prometheus the test started.
type promServer struct {
	api string // http://127.0.0.1:PORT
}

// startPrometheus starts Debian's prometheus scraping the targets (job
// name -> host:port) every 250ms, its storage in a temporary folder, its
// web API on a free loopback port; it waits until it is ready.
// t.Cleanup stops it by its PID (SIGTERM, then SIGKILL after 10s) and
// waits for it.
func startPrometheus(t *testing.T, targets map[string]string) *promServer {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("%v\n(this test needs Debian's %s package: apt-get install -y %s; .ci/run does)", err, prometheusPackage, prometheusPackage)
	}
	dir := t.TempDir()
	cfg := "global:\n  scrape_interval: 250ms\n  scrape_timeout: 200ms\nscrape_configs:\n"
	for job, addr := range targets {
		cfg += fmt.Sprintf("  - job_name: %s\n    static_configs:\n      - targets: [%q]\n", job, addr)
	}
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	web := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web, "--log.level=warn")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		defer logFile.Close()
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	p := &promServer{api: "http://" + web}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.api + "/-/ready")
		if err == nil {
			resp.Body.Close()
			// Ready is not scraping yet: the scrape manager applies the
			// targets some seconds later (Prometheus throttles discovery
			// updates to one per 5s); every target then has an up series,
			// 0 while it does not answer.
			if resp.StatusCode == http.StatusOK {
				if v, ok := p.one(t, "count(up)"); ok && int(v) == len(targets) {
					return p
				}
			}
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("prometheus exited: %v\n%s", err, log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("prometheus not ready within 20s: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// promSample is one series of an instant query's vector.
type promSample struct {
	Metric map[string]string
	Value  float64
}

// query runs an instant query through the HTTP API.
func (p *promServer) query(t *testing.T, q string) []promSample {
	t.Helper()
	resp, err := http.Get(p.api + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Status != "success" {
		t.Fatalf("query %s: %v %s: %s", q, err, out.Error, body)
	}
	var samples []promSample
	for _, r := range out.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("query %s: value %v: %v", q, r.Value, err)
		}
		samples = append(samples, promSample{r.Metric, v})
	}
	return samples
}

// by runs q and returns its samples by the value of label.
func (p *promServer) by(t *testing.T, q, label string) map[string]float64 {
	t.Helper()
	m := map[string]float64{}
	for _, s := range p.query(t, q) {
		m[s.Metric[label]] = s.Value
	}
	return m
}

// one runs q, which must give one sample, or none (then ok is false).
func (p *promServer) one(t *testing.T, q string) (v float64, ok bool) {
	t.Helper()
	s := p.query(t, q)
	switch len(s) {
	case 0:
		return 0, false
	case 1:
		return s[0].Value, true
	}
	t.Fatalf("query %s: got %d samples, want one", q, len(s))
	return 0, false
}

// TestMetricsWithPrometheus: a real Prometheus scrapes a run on the
// built-in gateway and a gatecrash proxy process between the run's fault
// proxy and the upstream; afterwards its HTTP API gives report.json's
// counts (requests by class, failures by class and cause) and the events
// files' (faults applied by kind, for each proxy), and the README's
// queries answer, and the phase and offered-rate gauges went through the
// plan. The 502s come from malformed status lines: most resets are
// retried by the built-in gateway's Go Transport, and their cause then
// comes from the report, not live. The run lingers (--metrics-linger) until Prometheus
// holds its final values, then is ended as Ctrl-C does.
func TestMetricsWithPrometheus(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "from upstream")
	}))
	defer up.Close()
	runMetrics, proxyMetrics := freeAddr(t), freeAddr(t)
	prom := startPrometheus(t, map[string]string{"run": runMetrics, "proxy": proxyMetrics})

	// The standalone proxy answers 503 for a share of what reaches it.
	tmp := t.TempDir()
	faultsFile := writeFile(t, "faults.yaml", "faults:\n  - {kind: status, code: 503, probability: 0.1}\n")
	proxyEvents := filepath.Join(tmp, "proxy-events.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	proxyCtx, stopProxy := context.WithCancel(ctx)
	defer stopProxy()
	px := startProxyCommand(t, proxyCtx, "--listen", "127.0.0.1:0", "--upstream", up.URL,
		"--faults", faultsFile, "--events", proxyEvents, "--seed", "9", "--metrics-listen", proxyMetrics)

	scenario := writeFile(t, "prom.yaml", fmt.Sprintf(`name: prom-e2e
seed: 5
target: {gateway: builtin}
upstream: {url: "http://%s"}
requests: [{path: /}]
phases:
  - {name: warm, duration: 1s, rate: 50/s}
  - name: faults
    duration: 2s
    rate: 50/s
    faults:
      - {kind: reset, at: before-headers, probability: 0.1}
      - {kind: malformed, variant: status-line, probability: 0.1}
      - {kind: status, code: 500, probability: 0.1}
`, px.proxy))
	dir := filepath.Join(tmp, "out")
	runCtx, endLinger := context.WithCancel(ctx)
	defer endLinger()
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		done <- cli(runCtx, []string{"run", "-q", "-o", dir, "--metrics-listen", runMetrics, "--metrics-linger", "20s", scenario}, io.Discard, &stderr)
	}()

	// Prometheus holds the run's final values once it scraped
	// gatecrash_run_ended 1; the proxy's, once it scraped the proxy after
	// that (no request reaches it any more) and they equal the proxy's own.
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ok() {
			select {
			case code := <-done:
				t.Fatalf("the run exited %d while waiting for %s; stderr: %s", code, what, stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 20s; run stderr: %s", what, stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("Prometheus scraping the run's end", func() bool {
		v, ok := prom.one(t, `gatecrash_run_ended{job="run"}`)
		return ok && v == 1
	})
	direct, err := scrape(t, "http://"+proxyMetrics+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	waitFor("Prometheus scraping the proxy's last requests", func() bool {
		v, ok := prom.one(t, `gatecrash_proxy_requests_total{job="proxy"}`)
		return ok && v == direct["gatecrash_proxy_requests_total"]
	})

	// Everything is queried while both still serve: a target that goes
	// away leaves stale series, which instant queries no longer return.
	requests := prom.by(t, `sum by (class) (gatecrash_requests_total{job="run"})`, "class")
	failures := prom.query(t, `gatecrash_failures_total{job="run"}`)
	runFaults := prom.by(t, `sum by (kind) (gatecrash_proxy_faults_total{job="run"})`, "kind")
	proxyFaults := prom.by(t, `sum by (kind) (gatecrash_proxy_faults_total{job="proxy"})`, "kind")
	latencyCount, _ := prom.one(t, `sum(gatecrash_request_duration_seconds_count{job="run"})`)
	pending, _ := prom.one(t, `gatecrash_failures_pending{job="run"}`)
	p99, p99ok := prom.one(t, `histogram_quantile(0.99, sum by (le) (rate(gatecrash_request_duration_seconds_bucket{job="run"}[1m])))`)
	rate502 := prom.by(t, `sum by (phase) (rate(gatecrash_requests_total{job="run",class="502"}[1m]))`, "phase")
	share, shareOK := prom.one(t, `sum(rate(gatecrash_requests_total{job="run",class!~"2xx|3xx|4xx"}[1m])) / sum(rate(gatecrash_requests_total{job="run"}[1m]))`)
	byCause := prom.by(t, `sum by (cause) (increase(gatecrash_failures_total{job="run",class="502"}[5m]))`, "cause")
	// While it went: each phase was the current one, at the planned rate.
	phases := prom.by(t, `max_over_time(gatecrash_phase{job="run"}[1m])`, "phase")
	offered, _ := prom.one(t, `max_over_time(gatecrash_offered_requests_per_second{job="run"}[1m])`)
	proxyPhase := prom.by(t, `max_over_time(gatecrash_proxy_phase{job="run"}[1m])`, "phase")

	endLinger() // as Ctrl-C does
	if code := <-done; code != exitOK && code != exitFailed {
		t.Fatalf("run exited %d; stderr: %s", code, stderr.String())
	}
	stopProxy()
	px.wait(t)

	rd := readRunDir(t, dir)
	rep := rd.report
	want := map[string]float64{}
	for code, n := range rep.Totals.Status {
		c, _ := strconv.Atoi(code)
		switch {
		case c == 0:
		case c >= 500:
			want[code] += float64(n)
		default:
			want[code[:1]+"xx"] += float64(n)
		}
	}
	if rep.Totals.Errors > 0 {
		want["error"] = float64(rep.Totals.Errors)
	}
	if want["502"] == 0 || want["503"] == 0 || want["500"] == 0 {
		t.Errorf("report classes %v: want 500s, 502s and 503s", want)
	}
	assertMap(t, "requests by class", requests, want)

	wantFailures := map[string]float64{}
	for _, c := range rep.Causes {
		wantFailures["502/"+c.Cause] += float64(c.Count)
	}
	for class, cs := range rep.OtherCauses {
		for _, c := range cs {
			wantFailures[class+"/"+c.Cause] += float64(c.Count)
		}
	}
	gotFailures := map[string]float64{}
	for _, s := range failures {
		gotFailures[s.Metric["class"]+"/"+s.Metric["cause"]] += s.Value
	}
	assertMap(t, "failures by class/cause", gotFailures, wantFailures)

	assertMap(t, "the run's proxy: faults by kind", runFaults, faultKinds(rd.events))
	evs, err := os.Open(proxyEvents)
	if err != nil {
		t.Fatal(err)
	}
	defer evs.Close()
	pe, err := faults.ReadEvents(evs)
	if err != nil {
		t.Fatal(err)
	}
	assertMap(t, "the proxy command: faults by kind", proxyFaults, faultKinds(pe))
	if proxyFaults["status"] != want["503"] {
		t.Errorf("the proxy command's status faults: got %v, want the report's 503s, %v", proxyFaults["status"], want["503"])
	}
	if int(latencyCount) != rep.Totals.Requests || pending != 0 {
		t.Errorf("latency histogram count %v, pending %v; want %d and 0", latencyCount, pending, rep.Totals.Requests)
	}
	if !p99ok || math.IsNaN(p99) || p99 <= 0 || p99 > 30 {
		t.Errorf("p99 latency from the histogram: got %v (%v), want a number of seconds", p99, p99ok)
	}
	if !shareOK || share <= 0 || share >= 1 {
		t.Errorf("failed share: got %v (%v), want a share above 0 and below 1", share, shareOK)
	}
	if byCause["malformed-status-line"] <= 0 {
		t.Errorf("502s by cause: got %v, want some malformed-status-line", byCause)
	}
	assertMap(t, "phases seen current", phases, map[string]float64{"warm": 1, "faults": 1})
	assertMap(t, "the run's proxy: phases seen current", proxyPhase, map[string]float64{"warm": 1, "faults": 1})
	if offered != 50 {
		t.Errorf("offered rate: got at most %v, want 50", offered)
	}
	if rate502["faults"] <= 0 || rate502["warm"] != 0 {
		t.Errorf("502 rate by phase: got %v, want some in faults and none in warm", rate502)
	}
}

// faultKinds counts the faults of evs by kind.
func faultKinds(evs []faults.Event) map[string]float64 {
	m := map[string]float64{}
	for _, e := range evs {
		if e.Type == faults.TypeFault {
			m[e.Kind]++
		}
	}
	return m
}

// assertMap fails on each key whose values differ.
func assertMap(t *testing.T, what string, got, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s: got %v, want %v", what, k, got[k], w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok && g != 0 {
			t.Errorf("%s: %s: got %v, want none", what, k, g)
		}
	}
}
