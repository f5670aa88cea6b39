package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/run"
)

// haproxyGiveUp is how long HAProxy retries a refused connect before it
// answers 503: gatecrash's template sets retries 3, and HAProxy waits
// min(timeout connect, 1s) before each retry; the scenarios below set
// connect_timeout: 1s.
const haproxyGiveUp = 3 * time.Second

// refuseScenario is a clean half second, a refusal of the given length,
// and a clean half second, at 40/s.
func refuseScenario(refusal time.Duration) string {
	return fmt.Sprintf(`name: refuse-haproxy
seed: 5
target: {timeout: 10s, upstream_timeout: 1s, connect_timeout: 1s}
upstream:
  builtin: {latency: 1ms, body_bytes: 64}
requests:
  - {method: GET, path: /v1/items}
phases:
  - {name: before, duration: 500ms, rate: 40/s}
  - name: refused
    duration: %s
    rate: 40/s
    faults:
      - {kind: refuse}
  - {name: after, duration: 500ms, rate: 40/s}
`, refusal)
}

// TestHAProxyRefusalLength checks the length of refusal that separates
// HAProxy's two answers to refused connects (the README and the
// firewall-blackhole scenario say it): a request sent less than 3s before
// the refusal ends gets a 200 once a retry finds the listener open again,
// a whole number of seconds late; one sent earlier gets a 503 after its
// 3 retries, 3s late. The lengths are 1.5s either side of 3s, and
// requests sent within margin of a boundary are not judged.
func TestHAProxyRefusalLength(t *testing.T) {
	if _, err := lab.LookPath("haproxy"); err != nil {
		t.Fatalf("%v\n(this test needs haproxy installed)", err)
	}
	const margin = 250 * time.Millisecond
	tests := []struct {
		name    string
		refusal time.Duration
		want503 bool // some requests sent in the refusal's first refusal-3s get 503
	}{
		{"1.5s refusal: 200s, late", 1500 * time.Millisecond, false},
		{"4.5s refusal: 503s, then 200s, late", 4500 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, "refuse.yaml", refuseScenario(tt.refusal))
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := gatecrash(t, "run", file, "--gateway", "haproxy", "--out", out, "--quiet")
			if code != exitOK {
				t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			checkStopped(t, stderr)
			rd := readRunDir(t, out)
			var start, end float64
			for _, p := range rd.report.Phases {
				if p.Name == "refused" {
					start, end = p.StartS, p.EndS
				}
			}
			if end-start != tt.refusal.Seconds() {
				t.Fatalf("report: refused phase from %gs to %gs, want %v long", start, end, tt.refusal)
			}
			// Judge the requests by when they were sent, leaving out those
			// within margin of a boundary.
			giveUp := end - haproxyGiveUp.Seconds() // sent before: 503
			m := margin.Seconds()
			windows := []struct {
				what     string
				from, to float64 // seconds since the attack began
				code     uint16
				min, max time.Duration
			}{
				{"before the refusal", -1, start - m, 200, 0, 500 * time.Millisecond},
				{"more than 3s before the refusal ends", start + m, giveUp - m, 503, haproxyGiveUp - 100*time.Millisecond, haproxyGiveUp + time.Second},
				{"less than 3s before the refusal ends", max(start, giveUp) + m, end - m, 200, 900 * time.Millisecond, haproxyGiveUp + 200*time.Millisecond},
				{"after the refusal", end + m, end + 10, 200, 0, 500 * time.Millisecond},
			}
			judged := map[string]int{}
			for _, w := range windows {
				var bad []string
				n := 0
				for _, r := range rd.results {
					at := r.Timestamp.Sub(rd.report.Started).Seconds()
					if at <= w.from || at >= w.to {
						continue
					}
					n++
					if r.Code != w.code || r.Latency < w.min || r.Latency > w.max {
						bad = append(bad, fmt.Sprintf("seq %d sent at %.3fs: %d %q in %v", r.Seq, at, r.Code, r.Error, r.Latency.Round(time.Millisecond)))
					}
				}
				if len(bad) > 0 {
					t.Errorf("%s: %d of %d requests got other than %d in %v to %v; first: %s", w.what, len(bad), n, w.code, w.min, w.max, strings.Join(bad[:min(len(bad), 3)], "; "))
				}
				judged[fmt.Sprintf("%d %s", w.code, w.what)] = n
			}
			if late := judged["200 less than 3s before the refusal ends"]; late < 20 {
				t.Errorf("judged %d requests sent less than 3s before the refusal ends, want 20 at least", late)
			}
			if early := judged["503 more than 3s before the refusal ends"]; tt.want503 != (early > 0) || tt.want503 && early < 20 {
				t.Errorf("judged %d requests sent more than 3s before the refusal ends, want 20 at least: %v", early, tt.want503)
			}
			if n := rd.report.Totals.Status["503"]; !tt.want503 && n > 0 {
				t.Errorf("got %d 503s, want none: the refusal is shorter than HAProxy's %v of retries", n, haproxyGiveUp)
			}
			// HAProxy's own log: every 503 after 3 retries, each refused.
			logged, wrong := 0, 0
			for _, l := range haproxyRefusals(t, run.Folder(out).Path(run.AccessLogFile), rd.report.Scenario) {
				if l.status != 503 {
					continue
				}
				logged++
				if l.retries != 3 || l.state != "SC--" {
					wrong++
					if wrong == 1 {
						t.Errorf("access log: a 503 with %d retries, state %s; want 3 retries, SC--", l.retries, l.state)
					}
				}
			}
			if wrong > 1 {
				t.Errorf("access log: %d of %d 503s were not after 3 refused retries", wrong, logged)
			}
			if want := rd.report.Totals.Status["503"]; logged != want {
				t.Errorf("access log: got %d lines of 503s, want the %d the client got", logged, want)
			}
			t.Logf("refusal %v: judged %v; the refused phase's status %v, latency p50 %.0fms p99 %.0fms",
				tt.refusal, judged, rd.report.Phases[1].Status, rd.report.Phases[1].LatencyMS.P50, rd.report.Phases[1].LatencyMS.P99)
		})
	}
}

// haproxyLog is what an access log line of gatecrash's HAProxy template
// says about one request.
type haproxyLog struct {
	status  int
	state   string // %tsc, the termination state
	retries int    // %rc
}

// haproxyRefusals reads the access log lines of attack's requests.
func haproxyRefusals(t *testing.T, path, attack string) []haproxyLog {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ls []haproxyLog
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := haproxyLine.FindStringSubmatch(sc.Text())
		if m == nil || m[1] != attack {
			continue
		}
		// gc1 time attack seq status state retries ...
		fs := strings.Fields(sc.Text())
		status, err1 := strconv.Atoi(fs[4])
		retries, err2 := strconv.Atoi(fs[6])
		if err1 != nil || err2 != nil {
			t.Fatalf("access log line %q: status or retries not a number", sc.Text())
		}
		ls = append(ls, haproxyLog{status: status, state: fs[5], retries: retries})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ls) == 0 {
		t.Fatalf("%s: no line about attack %s", path, attack)
	}
	return ls
}
