package attack_test

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/gatecrash/gatecrash/scenarios"
)

// binomialBounds returns the smallest lo and largest hi such that
// P(X < lo) and P(X > hi) are each at most tail, for X ~ Binomial(n, p).
func binomialBounds(n int, p, tail float64) (lo, hi int) {
	b := distuv.Binomial{N: float64(n), P: p}
	for lo = 0; lo < n && b.CDF(float64(lo)) <= tail; lo++ {
	}
	for hi = n; hi > 0 && 1-b.CDF(float64(hi-1)) <= tail; hi-- {
	}
	return lo, hi
}

// TestRetriesHideFailures: a loopback server fails 20% of the tries it
// sees (half resets before headers, half 502s), independently by (seq,
// try); with max_attempts 3 and retry_on [5xx, error], the first tries
// fail at about 0.2 and the users see failures at about 0.2^3, each
// within binomial bounds (a chance of 1e-6 in each tail), and the server
// saw each seq exactly as many times as tries were recorded for it, once
// per try number.
func TestRetriesHideFailures(t *testing.T) {
	const (
		n    = 2000
		rate = 250 // low enough for -race on a loaded 2-core machine
		pf   = 0.2
		seed = 14
	)
	fails := func(seq uint64, try int) bool {
		// splitmix64's finalizer, so that neighbouring (seq, try) draw
		// independently.
		z := seq<<8 | uint64(try) + 0x9e3779b97f4a7c15
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		return rand.New(rand.NewPCG(seed, z^z>>31)).Float64() < pf
	}
	srv := newTryServer(t, func(seq uint64, try int, w http.ResponseWriter, _ *http.Request) {
		if !fails(seq, try) {
			return
		}
		if seq%2 == 0 {
			reset(w)
			return
		}
		w.WriteHeader(http.StatusBadGateway)
	})
	policy := &scenarios.Retry{
		MaxAttempts: 3, Backoff: scenarios.BackoffExponential, Jitter: scenarios.JitterFull,
		Base: scenarios.Duration(time.Millisecond), Cap: scenarios.Duration(10 * time.Millisecond),
		RetryOn: []string{"5xx", scenarios.RetryOnError},
	}
	run := runRetry(t, srv.URL, policy, 10*time.Second, scenarios.Request{Method: "GET", Path: "/"}, n, rate)
	if len(run.results) != n {
		t.Fatalf("got %d results, want %d", len(run.results), n)
	}
	firstFailed, userFailed, resends := 0, 0, 0
	tries := map[uint64]map[int]int{}
	for _, tr := range run.tries {
		if tries[tr.Seq] == nil {
			tries[tr.Seq] = map[int]int{}
		}
		tries[tr.Seq][tr.Try]++
		if tr.Try == 1 && tr.Code != 200 {
			firstFailed++
		}
		if strings.Contains(tr.Error, "resend") {
			resends++
		}
	}
	t.Logf("tries whose transport resend was stopped (reused connection reset): %d", resends)
	for _, r := range run.results {
		if r.Code != 200 {
			userFailed++
			if !fails(r.Seq, 1) || !fails(r.Seq, 2) || !fails(r.Seq, 3) {
				t.Logf("seq %d: the user saw %d %q though the server failed only some of its tries (%v)", r.Seq, r.Code, r.Error, tries[r.Seq])
			}
		}
	}
	for _, c := range []struct {
		what string
		got  int
		p    float64
	}{{"first tries failed", firstFailed, pf}, {"requests the users saw fail", userFailed, math.Pow(pf, 3)}} {
		lo, hi := binomialBounds(n, c.p, 1e-6)
		t.Logf("%s: %d of %d (%.4f), want in [%d, %d] (Binomial(%d, %g))", c.what, c.got, n, float64(c.got)/n, lo, hi, n, c.p)
		if c.got < lo || c.got > hi {
			t.Errorf("%s: got %d of %d, want in [%d, %d] (Binomial(%d, %g), 1e-6 each tail)", c.what, c.got, n, lo, hi, n, c.p)
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for seq := range run.results {
		seen := map[int]int{}
		for _, a := range srv.seen[seq] {
			var k int
			for _, ch := range a.try {
				k = 10*k + int(ch-'0')
			}
			seen[k]++
		}
		rec := tries[seq]
		if len(seen) != len(rec) {
			t.Errorf("seq %d: the server saw tries %v, the sidecar recorded %v", seq, seen, rec)
			continue
		}
		for k, m := range rec {
			if m != 1 || seen[k] != 1 {
				t.Errorf("seq %d try %d: recorded %d times, seen %d times by the server, want 1 and 1", seq, k, m, seen[k])
			}
		}
	}
}
