package attack_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/montanaflynn/stats"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Flags of BenchmarkAttackerRetries.
var (
	retryRate     = flag.Int("retry-rate", 2000, "BenchmarkAttackerRetries: first tries per second to hold")
	retryDuration = flag.Duration("retry-duration", 10*time.Second, "BenchmarkAttackerRetries: how long to hold -retry-rate")
	retryFail     = flag.Float64("retry-fail", 0.2, "BenchmarkAttackerRetries: the share of tries the server answers 502")
)

// BenchmarkAttackerRetries measures whether the retrying client costs
// the attacker its rate, as issue 14's Performance section asks: against
// a loopback server that answers -retry-fail of the tries 502
// (independently by seq and try), with max_attempts 3, exponential
// backoff (base 10ms, cap 100ms) with full jitter and retry_on 5xx, and
// every try written to a tries.jsonl in a temporary folder, it holds
// -retry-rate first tries per second for -retry-duration and prints the
// first-try rate achieved, the send lag of the first tries (p50, p99,
// max: Result.Timestamp - (start + pacer.Due(Seq)), nearest rank), the
// tries per second and the share of requests the users saw fail. The
// criteria are those of BenchmarkAttackerFidelity (achieved/offered >=
// 0.99, send lag p99 < 5ms); it prints a verdict and never fails on it.
// Run it with -benchtime 1x (b.N is ignored).
func BenchmarkAttackerRetries(b *testing.B) {
	rate, d, pf := *retryRate, *retryDuration, *retryFail
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq, _ := strconv.ParseUint(r.Header.Get("X-Vegeta-Seq"), 10, 64)
		try, _ := strconv.ParseUint(r.Header.Get(scenarios.HeaderTry), 10, 64)
		if rand.New(rand.NewPCG(seq, try)).Float64() < pf {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Write(make([]byte, 512))
	}))
	defer srv.Close()
	f, err := os.Create(filepath.Join(b.TempDir(), "tries.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	tw := attack.NewTryWriter(f)
	var tries atomic.Int64
	p := attack.NewPacer([]scenarios.Phase{{
		Name: "retries", Duration: scenarios.Duration(d), Rate: scenarios.Rate{Freq: rate, Per: time.Second},
	}})
	planned := int(math.Ceil(p.Planned(p.Duration()) - 1e-6))
	opt := attack.Options{
		Name: "retries", BaseURL: srv.URL, Requests: []scenarios.Request{{Method: "GET", Path: "/"}}, Timeout: 5 * time.Second,
		Retry: &scenarios.Retry{
			MaxAttempts: 3, Backoff: scenarios.BackoffExponential, Jitter: scenarios.JitterFull,
			Base: scenarios.Duration(10 * time.Millisecond), Cap: scenarios.Duration(100 * time.Millisecond),
			RetryOn: []string{"5xx"},
		},
		Seed: 14,
		Tries: func(t attack.Try) {
			tries.Add(1)
			tw.Write(t)
		},
	}
	type hit struct {
		at   time.Time
		seq  uint64
		code uint16
	}
	hits := make([]hit, 0, planned)
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stdout, format+"\n", args...) }
	logf("\nretrying attacker on %s/%s, GOMAXPROCS %d (%d CPUs), loopback server at %s answering %.0f%% of tries 502; load average before: %s",
		runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(), srv.URL, 100*pf, loadavg())
	b.ResetTimer()
	start, err := attack.Run(context.Background(), p, opt, func(r *vegeta.Result) error {
		hits = append(hits, hit{r.Timestamp, r.Seq, r.Code})
		return nil
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if err := tw.Flush(); err != nil {
		b.Fatal(err)
	}
	if len(hits) == 0 {
		b.Fatal("no results")
	}
	inTime, failed := 0, 0
	lags := make(stats.Float64Data, len(hits))
	for i, h := range hits {
		at := h.at.Sub(start)
		if at < p.Duration() {
			inTime++
		}
		if h.code != 200 {
			failed++
		}
		due, _ := p.Due(h.seq)
		lags[i] = float64(at - due)
	}
	pct := func(q float64) time.Duration {
		v, err := stats.PercentileNearestRank(lags, q)
		if err != nil {
			b.Fatal(err)
		}
		return time.Duration(v).Round(time.Microsecond)
	}
	ratio := float64(inTime) / float64(planned)
	p50, p99, pmax := pct(50), pct(99), pct(100)
	verdict := "FAIL"
	if ratio >= fidelityMinRatio && p99 < fidelityMaxLagP99 {
		verdict = "PASS"
	}
	n := tries.Load()
	logf("first tries: offered %d at %d/s for %s, achieved %d in time (%.1f/s), achieved/offered %.4f; send lag p50 %s p99 %s max %s: %s",
		planned, rate, d, inTime, float64(inTime)/d.Seconds(), ratio, p50, p99, pmax, verdict)
	logf("tries: %d in %s (%.1f/s, %.3f per request); requests the users saw fail: %d of %d (%.4f; %.4f expected, %.2f^3)",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), float64(n)/float64(len(hits)), failed, len(hits),
		float64(failed)/float64(len(hits)), math.Pow(pf, 3), pf)
	logf("load average after: %s", loadavg())
	logf("reproduce: go test -run '^$' -bench BenchmarkAttackerRetries -benchtime 1x -timeout 10m ./attack -retry-rate %d -retry-duration %s -retry-fail %g", rate, d, pf)
	b.ReportMetric(ratio, "achieved/offered")
	b.ReportMetric(float64(p99)/float64(time.Millisecond), "lag-p99-ms")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "tries/s")
}
