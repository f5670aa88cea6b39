package main

import (
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

// retryReportScenario resets 20% of the upstream's exchanges before the
// headers, under a client retrying 5xx and errors up to 3 tries without
// backoff. Its requests are POSTs, which the built-in gateway (Go's
// ReverseProxy) does not retry itself, so that nearly every arrival at the
// proxy is a client's try.
const retryReportScenario = `name: e2e-retry-report
description: resets before headers at 20%, a client retrying up to 3 tries
seed: 5
target: {gateway: builtin, timeout: 5s}
upstream:
  builtin: {latency: 1ms, body_bytes: 64}
client:
  retry: {max_attempts: 3, backoff: none, retry_on: [5xx, error]}
requests:
  - {method: POST, path: /v1/orders, headers: {Content-Type: application/json}, body: '{"item": 1}'}
phases:
  - name: resets
    duration: 5s
    rate: 400/s
    faults:
      - {kind: reset, at: before-headers, probability: 0.2}
expect:
  - rate(user-failure) < 5%
  - amplification < 1.5 in resets
`

// binomialRange returns the smallest lo and largest hi such that P(X <
// lo) and P(X > hi) are each at most tail, for X ~ Binomial(n, p).
func binomialRange(n int, p, tail float64) (lo, hi int) {
	b := distuv.Binomial{N: float64(n), P: p}
	for lo = 0; lo < n && b.CDF(float64(lo)) <= tail; lo++ {
	}
	for hi = n; hi > 0 && 1-b.CDF(float64(hi-1)) <= tail; hi-- {
	}
	return lo, hi
}

// TestRetryReportEndToEnd runs the scenario through gatecrash run on the
// built-in gateway and on nginx: the expectations on the new metrics hold (exit 0);
// report.json's retries put the first-try failures near 0.2 and the
// user-seen ones near 0.2^3 of the requests (binomial bounds with a chance
// of 1e-6 in each tail); per seq, the proxy's arrivals (1 + its retry and
// client-retry observations) are the sidecar's tries plus the gateway's
// own retries, and so in total; the faults the client's retries masked
// are client-retried, not gateway-retried. Neither gateway retries a POST,
// and the fault decisions depend on (seed, seq, attempt) alone, so both
// runs meet the same faults.
func TestRetryReportEndToEnd(t *testing.T) {
	file := writeFile(t, "retry-report.yaml", retryReportScenario)
	for _, gw := range []string{scenarios.GatewayBuiltin, scenarios.GatewayNginx} {
		t.Run(gw, func(t *testing.T) { checkRetryReport(t, file, gw) })
	}
}

// checkRetryReport runs the retry-report scenario on gateway and checks
// it as TestRetryReportEndToEnd says.
func checkRetryReport(t *testing.T, file, gateway string) {
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := gatecrash(t, "run", file, "--gateway", gateway, "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	rd := readRunDir(t, out)
	if rd.report.Gateway.Kind != gateway {
		t.Errorf("gateway: got %+v, want %s", rd.report.Gateway, gateway)
	}
	r := rd.report.Retries
	if r == nil {
		t.Fatal("report.json has no retries")
	}
	n := len(rd.results)
	if r.Requests != n || n < 1000 {
		t.Fatalf("retries count %d requests, the results %d; want equal, at least 1000", r.Requests, n)
	}
	for _, tt := range []struct {
		what string
		got  int
		p    float64
	}{
		{"first-try failures", r.FirstTryFailures, 0.2},
		{"user-seen failures", r.UserFailures, 0.2 * 0.2 * 0.2},
	} {
		if lo, hi := binomialRange(n, tt.p, 1e-6); tt.got < lo || tt.got > hi {
			t.Errorf("%s: got %d of %d, want %d to %d (binomial, p %g)", tt.what, tt.got, n, lo, hi, tt.p)
		}
	}
	if r.Hidden != r.FirstTryFailures-r.UserFailures {
		t.Errorf("hidden: got %d, want first-try failures %d - user failures %d (every user failure failed its first try too)", r.Hidden, r.FirstTryFailures, r.UserFailures)
	}

	// Per seq: the sidecar's tries, the proxy's observations.
	tries := map[uint64]int{}
	if err := run.Folder(out).EachTry(func(tr *attack.Try) { tries[tr.Seq]++ }); err != nil {
		t.Fatal(err)
	}
	clientRetries, gatewayRetries := map[uint64]int{}, map[uint64]int{}
	for _, e := range rd.events {
		if e.Type != faults.TypeObservation || e.Seq == nil {
			continue
		}
		switch e.Kind {
		case faults.ObservedClientRetry:
			clientRetries[*e.Seq]++
		case faults.ObservedRetry:
			gatewayRetries[*e.Seq]++
		}
	}
	gw, mismatched := 0, 0
	for seq, nt := range tries {
		arrivals := 1 + clientRetries[seq] + gatewayRetries[seq]
		gw += gatewayRetries[seq]
		if arrivals != nt+gatewayRetries[seq] {
			if mismatched++; mismatched <= 5 {
				t.Errorf("seq %d: the proxy saw %d arrivals, the sidecar has %d tries and the gateway retried %d times", seq, arrivals, nt, gatewayRetries[seq])
			}
		}
	}
	if r.GatewayRetries != gw || r.UpstreamArrivals != r.Tries+r.GatewayRetries {
		t.Errorf("total: got %d arrivals, %d tries, %d gateway retries (events: %d); want arrivals = tries + gateway retries", r.UpstreamArrivals, r.Tries, r.GatewayRetries, gw)
	}
	t.Logf("%d requests, %d tries, %d arrivals (%d gateway retries), first-try failures %d, user failures %d, amplification %.3f",
		r.Requests, r.Tries, r.UpstreamArrivals, r.GatewayRetries, r.FirstTryFailures, r.UserFailures, r.Amplification)

	m := rd.report.Masked
	if m.Reasons[scenarios.MaskedClientRetried] < r.Hidden {
		t.Errorf("masked: got %d client-retried, want at least the %d hidden errors (reasons %v)", m.Reasons[scenarios.MaskedClientRetried], r.Hidden, m.Reasons)
	}
	if m.Reasons[scenarios.MaskedRetried] > r.GatewayRetries {
		t.Errorf("masked: got %d gateway-retried, more than the gateway's %d retries", m.Reasons[scenarios.MaskedRetried], r.GatewayRetries)
	}
}
