package run

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/scenarios"
)

var (
	soakDuration = flag.Duration("soak-duration", 10*time.Minute, "soak benchmark: length of the one constant-rate phase")
	soakRate     = flag.Int("soak-rate", 1000, "soak benchmark: requests per second")
	soakEvery    = flag.Duration("soak-every", 10*time.Second, "soak benchmark: time between two memory samples")
	soakProfiles = flag.String("soak-profiles", "", "soak benchmark: a folder to write a heap profile into at every sample (heap-<seconds>s.pprof), for go tool pprof -base")
)

// soakScenario is the soak's scenario: one constant-rate phase on the
// built-in target, with a rare latency fault so that the proxy decides,
// and records an event, now and then.
const soakScenario = `name: soak
description: memory over a long constant-rate run
seed: 7
target: {gateway: builtin, timeout: 10s}
upstream:
  builtin: {latency: 1ms, body_bytes: 512}
requests:
  - {method: GET, path: /v1/items}
phases:
  - name: steady
    duration: %s
    rate: %d/s
    faults:
      - {kind: latency, delay: 5ms, probability: 0.001}
`

// BenchmarkSoak runs gatecrash's whole run (built-in gateway and
// upstream, fault proxy, attacker, records, live progress count) for
// -soak-duration at -soak-rate, in this process, and prints every
// -soak-every: the requests done, the resident memory (VmRSS), the live
// heap after the last GC and the goroutines. At the end it prints how
// the live heap grew per request from the first sample after twice the
// proxy's retry horizon (faults.AttemptsHorizon; the first sample in a
// shorter soak) to the last: a run whose memory is bounded stays near 0
// bytes a request, give or take the connections a slowdown left open. It prints
// figures; it never fails on them.
//
//	make bench-soak                                  # 10 minutes at 1,000/s
//	make bench-soak SOAK_FLAGS="-soak-duration=3m -soak-rate=800"
func BenchmarkSoak(b *testing.B) {
	for range b.N {
		soak(b)
	}
}

func soak(b *testing.B) {
	sc, err := decodeSoak(*soakDuration, *soakRate)
	if err != nil {
		b.Fatal(err)
	}
	if *soakProfiles != "" {
		if err := os.MkdirAll(*soakProfiles, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *soakDuration+5*time.Minute)
	defer cancel()
	var done atomic.Int64
	samples := make(chan soakSample, 1)
	stop := make(chan struct{})
	fmt.Printf("soak: %s at %d/s on the built-in target, a sample every %s\n", *soakDuration, *soakRate, *soakEvery)
	go func() {
		defer close(samples)
		start := time.Now()
		t := time.NewTicker(*soakEvery)
		defer t.Stop()
		var first, last soakSample
		for n := 0; ; n++ {
			select {
			case <-stop:
				samples <- soakSlope(first, last)
				return
			case <-t.C:
			}
			s := sampleMemory(time.Since(start), done.Load())
			fmt.Printf("soak: t=%4.0fs requests=%7d rss=%6.1f MB heap-live=%6.1f MB goroutines=%d\n",
				s.at.Seconds(), s.requests, mb(s.rss), mb(s.heap), s.goroutines)
			if *soakProfiles != "" {
				if err := writeHeapProfile(filepath.Join(*soakProfiles, fmt.Sprintf("heap-%03.0fs.pprof", s.at.Seconds()))); err != nil {
					fmt.Printf("soak: heap profile: %v\n", err)
				}
			}
			// The proxy's retry horizon fills for up to two horizons: the
			// growth is measured from the first sample after it, when the
			// soak lasts that long.
			if n == 0 || (first.at < 2*faults.AttemptsHorizon && s.at >= 2*faults.AttemptsHorizon) {
				first = s
			}
			last = s
		}
	}()
	_, err = Run(ctx, sc, Options{Dir: filepath.Join(b.TempDir(), "out"), Progress: func(time.Duration, func(time.Duration) (string, float64)) Progress {
		return soakCounter{&done}
	}})
	close(stop)
	slope := <-samples
	if err != nil {
		b.Fatal(err)
	}
	if slope.requests > 0 {
		per := float64(slope.heap) / float64(slope.requests)
		fmt.Printf("soak: from t=%.0fs to the last sample, %d requests: live heap %+.1f MB, RSS %+.1f MB: %.1f bytes of live heap a request\n",
			slope.at.Seconds(), slope.requests, mb(slope.heap), mb(slope.rss), per)
		b.ReportMetric(per, "heap-B/req")
	}
	b.ReportMetric(float64(done.Load()), "requests")
}

// decodeSoak returns the soak's scenario for d at rate.
func decodeSoak(d time.Duration, rate int) (*scenarios.Scenario, error) {
	return scenarios.Decode("soak.yaml", []byte(fmt.Sprintf(soakScenario, d, rate)))
}

// soakCounter is the run's progress: it only counts results.
type soakCounter struct{ n *atomic.Int64 }

func (c soakCounter) Run(context.Context) {}
func (c soakCounter) Add(uint16, string)  { c.n.Add(1) }
func (c soakCounter) Stop()               {}

// soakSample is the process's memory at one moment of the soak; as a
// slope (soakSlope), the differences between two samples, at being the
// first one's time.
type soakSample struct {
	at         time.Duration
	requests   int64
	rss, heap  int64
	goroutines int
}

func soakSlope(first, last soakSample) soakSample {
	return soakSample{at: first.at, requests: last.requests - first.requests, rss: last.rss - first.rss, heap: last.heap - first.heap}
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// sampleMemory reads the resident memory from /proc/self/status (0
// elsewhere than on Linux) and the live heap as of the last GC.
func sampleMemory(at time.Duration, requests int64) soakSample {
	s := soakSample{at: at, requests: requests, goroutines: runtime.NumGoroutine()}
	if raw, err := os.ReadFile("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(raw))
		for sc.Scan() {
			if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
				kb, _ := strconv.ParseInt(string(bytes.Fields(rest)[0]), 10, 64)
				s.rss = kb << 10
			}
		}
	}
	m := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(m)
	if m[0].Value.Kind() == metrics.KindUint64 {
		s.heap = int64(m[0].Value.Uint64())
	}
	return s
}

// writeHeapProfile writes the heap profile to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
