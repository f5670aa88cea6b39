package attack_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/montanaflynn/stats"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Flags of BenchmarkAttackerFidelity.
var (
	fidelityRate       = flag.Int("fidelity-rate", 2000, "BenchmarkAttackerFidelity: the rate to hold, hits per second; the search starts here")
	fidelityDuration   = flag.Duration("fidelity-duration", 20*time.Second, "BenchmarkAttackerFidelity: how long to hold -fidelity-rate")
	fidelitySearchStep = flag.Duration("fidelity-search-step", 5*time.Second, "BenchmarkAttackerFidelity: how long each step of the search for the highest rate held lasts; 0 skips the search")
	fidelityMaxRate    = flag.Int("fidelity-max-rate", 64000, "BenchmarkAttackerFidelity: the search tries no rate above this, hits per second")
)

// The criteria of a rate held, from the issue, and the bounds of the search.
const (
	fidelityMinRatio  = 0.99                 // achieved/offered at least this
	fidelityMaxLagP99 = 5 * time.Millisecond // send lag p99 below this
	fidelitySteps     = 12                   // the search runs at most this many steps
	fidelityPrecision = 0.05                 // the search stops when the failing rate is within this of the held one
)

// fidelity is one attack's figures.
type fidelity struct {
	rate    int           // offered, hits per second
	dur     time.Duration // of the attack
	planned int           // hits the pacer plans
	inTime  int           // results sent within dur
	sent    int           // every result
	errors  int           // results with an error
	lastErr string        // one of them
	p50     time.Duration // send lag, nearest rank
	p99     time.Duration
	max     time.Duration
}

// ratio returns achieved/offered.
func (f fidelity) ratio() float64 {
	if f.planned == 0 {
		return 0
	}
	return float64(f.inTime) / float64(f.planned)
}

// held reports whether the attack meets the criteria.
func (f fidelity) held() bool { return f.ratio() >= fidelityMinRatio && f.p99 < fidelityMaxLagP99 }

func (f fidelity) String() string {
	verdict := "FAIL"
	if f.held() {
		verdict = "PASS"
	}
	s := fmt.Sprintf("%d/s for %s: offered %d, achieved %d in time (%d sent), achieved/offered %.4f; send lag p50 %s p99 %s max %s; errors %d: %s",
		f.rate, f.dur, f.planned, f.inTime, f.sent, f.ratio(), us(f.p50), us(f.p99), us(f.max), f.errors, verdict)
	if f.errors > 0 {
		s += fmt.Sprintf(" (errors are not among the criteria; one was %q)", f.lastErr)
	}
	return s
}

// us rounds d to microseconds for printing.
func us(d time.Duration) time.Duration { return d.Round(time.Microsecond) }

// measureFidelity attacks url at rate hits per second for d, with the
// pacer and the attack gatecrash runs scenarios with, and returns its
// figures. The send lag of a hit is its Result.Timestamp minus the moment
// the pacer made it due, start + Due(Seq); the start Run returns is taken
// just before vegeta's own, so the lag is, if anything, overstated by a
// few microseconds.
func measureFidelity(ctx context.Context, url string, rate int, d time.Duration) (fidelity, error) {
	p := attack.NewPacer([]scenarios.Phase{{
		Name:     "fidelity",
		Duration: scenarios.Duration(d),
		Rate:     scenarios.Rate{Freq: rate, Per: time.Second},
	}})
	f := fidelity{rate: rate, dur: d, planned: int(math.Ceil(p.Planned(p.Duration()) - 1e-6))}
	type sent struct {
		at  time.Time
		seq uint64
	}
	hits := make([]sent, 0, f.planned)
	opt := attack.Options{
		Name:     "fidelity",
		BaseURL:  url,
		Requests: []scenarios.Request{{Method: "GET", Path: "/"}},
		Timeout:  5 * time.Second,
	}
	start, err := attack.Run(ctx, p, opt, func(r *vegeta.Result) error {
		hits = append(hits, sent{r.Timestamp, r.Seq})
		if r.Error != "" {
			f.errors++
			f.lastErr = r.Error
		}
		return nil
	})
	if err != nil {
		return f, err
	}
	f.sent = len(hits)
	if f.sent == 0 {
		return f, fmt.Errorf("%d/s: no results", rate)
	}
	lags := make(stats.Float64Data, len(hits))
	for i, h := range hits {
		at := h.at.Sub(start)
		if at < p.Duration() {
			f.inTime++
		}
		due, _ := p.Due(h.seq) // past the plan: due at its end
		lags[i] = float64(at - due)
	}
	for _, q := range []struct {
		pct float64
		to  *time.Duration
	}{{50, &f.p50}, {99, &f.p99}, {100, &f.max}} {
		v, err := stats.PercentileNearestRank(lags, q.pct)
		if err != nil {
			return f, fmt.Errorf("send lag p%v: %w", q.pct, err)
		}
		*q.to = time.Duration(v)
	}
	return f, nil
}

// BenchmarkAttackerFidelity measures how faithfully the attacker keeps
// its pace, as the issue asks: on the built-in stub upstream, reached
// directly rather than through a gateway, it holds -fidelity-rate for
// -fidelity-duration and prints achieved/offered and the send lag, then
// searches for the highest rate this machine holds by the same criteria
// (achieved/offered at least 0.99, send lag p99 under 5ms) in steps of
// -fidelity-search-step: doubling from -fidelity-rate until a step fails,
// then bisecting to about 5%. It prints figures and never fails on them.
// Run it on demand with -benchtime 1x (make bench-attack); b.N is ignored.
func BenchmarkAttackerFidelity(b *testing.B) {
	up, err := lab.Start(lab.Upstream{BodyBytes: 512})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := up.Close(); err != nil {
			b.Error(err)
		}
	}()
	ctx := b.Context()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stdout, format+"\n", args...) }
	cmd := func(rate int, d time.Duration) string {
		return fmt.Sprintf("go test -run '^$' -bench BenchmarkAttackerFidelity -benchtime 1x -timeout 20m ./attack -fidelity-rate %d -fidelity-duration %s -fidelity-search-step 0", rate, d)
	}

	logf("\nattacker fidelity on %s/%s, GOMAXPROCS %d (%d CPUs): the attacker and the target (built-in stub upstream at %s, 512-byte answers, no gateway) share this machine's cores",
		runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(), up.URL())
	logf("criteria: achieved/offered >= %.2f and send lag p99 < %s (lag = Result.Timestamp - (start + pacer.Due(Seq)), nearest rank)",
		fidelityMinRatio, fidelityMaxLagP99)
	if load := loadavg(); load != "" {
		logf("load average before: %s (other processes on these cores skew every figure)", load)
		defer func() { logf("load average after: %s", loadavg()) }()
	}

	b.ResetTimer()
	f, err := measureFidelity(ctx, up.URL(), *fidelityRate, *fidelityDuration)
	if err != nil {
		b.Fatal(err)
	}
	logf("hold: %s", f)
	b.ReportMetric(f.ratio(), "achieved/offered")
	b.ReportMetric(float64(f.p99)/float64(time.Millisecond), "lag-p99-ms")

	if *fidelitySearchStep <= 0 {
		logf("reproduce: %s", cmd(*fidelityRate, *fidelityDuration))
		return
	}
	held, failed, steps := searchFidelity(ctx, b, up.URL(), logf)
	switch {
	case held == 0:
		logf("highest rate held: none tried (down to %d/s) held for %s, in %d steps", failed, *fidelitySearchStep, steps)
	case failed == 0:
		logf("highest rate held: at least %d/s for %s (the cap, -fidelity-max-rate), in %d steps", held, *fidelitySearchStep, steps)
	default:
		logf("highest rate held: %d/s for %s (%d/s failed), in %d steps", held, *fidelitySearchStep, failed, steps)
	}
	b.ReportMetric(float64(held), "held-hits/s")
	logf("reproduce the hold and the search: go test -run '^$' -bench BenchmarkAttackerFidelity -benchtime 1x -timeout 20m ./attack -fidelity-rate %d -fidelity-duration %s -fidelity-search-step %s -fidelity-max-rate %d",
		*fidelityRate, *fidelityDuration, *fidelitySearchStep, *fidelityMaxRate)
	if held > 0 {
		logf("reproduce the highest rate held alone: %s", cmd(held, *fidelitySearchStep))
	}
}

// loadavg returns the 1, 5 and 15 minute load averages where the system
// has /proc/loadavg, and "" elsewhere.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// searchFidelity returns the highest rate held (0 if none), the lowest
// that failed (0 if none) and the number of steps it ran.
func searchFidelity(ctx context.Context, b *testing.B, url string, logf func(string, ...any)) (held, failed, steps int) {
	rate := min(*fidelityRate, *fidelityMaxRate)
	for steps < fidelitySteps && rate > 0 {
		steps++
		f, err := measureFidelity(ctx, url, rate, *fidelitySearchStep)
		if err != nil {
			b.Fatal(err)
		}
		logf("search step %d: %s", steps, f)
		if f.held() {
			held = rate
		} else {
			failed = rate
		}
		switch {
		case failed == 0 && held >= *fidelityMaxRate:
			return held, failed, steps
		case failed == 0:
			rate = min(2*held, *fidelityMaxRate) // doubling
		case held == 0:
			rate = failed / 2 // the base rate failed: halving
		case float64(failed-held) <= fidelityPrecision*float64(held):
			return held, failed, steps
		default:
			rate = held + (failed-held)/2 // bisecting
		}
		if rate == held || rate == failed {
			break
		}
		time.Sleep(time.Second) // let the last step's connections close
	}
	return held, failed, steps
}
