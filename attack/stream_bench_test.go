package attack_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Flags of BenchmarkStreams.
var (
	streamsN      = flag.Int("streams-n", 200, "BenchmarkStreams: concurrent streams (all started within the first second)")
	streamsTokens = flag.Int("streams-tokens", 500, "BenchmarkStreams: tokens per stream")
	streamsITL    = flag.Duration("streams-itl", 10*time.Millisecond, "BenchmarkStreams: the upstream's wait before each token")
)

// BenchmarkStreams is issue 15's benchmark: -streams-n concurrent streams
// (200) of -streams-tokens tokens (500) at -streams-itl per token (10ms)
// from a loopback upstream through the built-in gateway, read by the
// attacker twice: once as text/event-stream (each token parsed and
// timed, a streams line per stream) and once the same bytes as
// text/plain (read as any body, the baseline). Upstream, gateway and
// attacker share the process, and the same upstream and gateway work
// is in both rounds, so the difference of the process's CPU time (user +
// system, getrusage) per token is the attacker's stream reading, and the
// difference of the peak live heap (sampled every 100ms) per stream its
// memory. On a machine shared with other work that difference is noisy
// (BenchmarkStreamsParse measures the reader alone, precisely). It prints
// those, the TTFT and ITL the attacker measured, the first failures and
// the gateway's log, and the command; it never fails on them. Run it with -benchtime 1x (b.N is
// ignored): make bench-streams.
func BenchmarkStreams(b *testing.B) {
	n, tokens, itl := *streamsN, *streamsTokens, *streamsITL
	type round struct {
		cpu      time.Duration
		heap     uint64 // peak HeapInuse
		routines int    // peak goroutines
		wall     time.Duration
		streams  []attack.Stream
		errors   int
	}
	run := func(contentType string) round {
		upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			rc := http.NewResponseController(w)
			io.WriteString(w, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`+"\n\n")
			rc.Flush()
			tick := time.NewTicker(itl)
			defer tick.Stop()
			for range tokens {
				select {
				case <-tick.C:
				case <-r.Context().Done():
					return
				}
				io.WriteString(w, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" token"},"finish_reason":null}]}`+"\n\n")
				rc.Flush()
			}
			io.WriteString(w, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
		}))
		defer upstream.Close()
		var gwlog bytes.Buffer
		gw, err := lab.NewGateway(upstream.URL, 10*time.Second, &syncWriter{w: &gwlog})
		defer func() {
			if gwlog.Len() > 0 {
				fmt.Fprintf(b.Output(), "%s: the gateway's log:\n%.2000s\n", contentType, gwlog.String())
			}
		}()
		if err != nil {
			b.Fatal(err)
		}
		gateway := httptest.NewServer(gw)
		defer gateway.Close()
		defer gw.Close()

		var (
			mu  sync.Mutex
			out round
		)
		opt := attack.Options{
			Name: "streams", BaseURL: gateway.URL, Timeout: time.Minute, StreamStall: 5 * time.Second,
			// GET: a POST through the built-in gateway loses about 1% of
			// its streams at this concurrency to the gateway itself (its
			// log: "ReverseProxy read error during body copy: ... use of
			// closed network connection"), in both rounds alike, which
			// is not what this benchmark measures.
			Requests: []scenarios.Request{{Method: "GET", Path: "/v1/chat/completions"}},
			Streams: func(s attack.Stream) {
				mu.Lock()
				out.streams = append(out.streams, s)
				mu.Unlock()
			},
		}
		p := attack.NewSchedule([]attack.Step{{Duration: time.Second, Rate: float64(n), RampTo: float64(n)}})
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				out.heap = max(out.heap, ms.HeapInuse)
				out.routines = max(out.routines, runtime.NumGoroutine())
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		runtime.GC()
		cpu0, start := cpuTime(b), time.Now()
		_, err = attack.Run(context.Background(), p, opt, func(r *vegeta.Result) error {
			if r.Code != 200 || r.Error != "" {
				out.errors++
				if out.errors <= 3 {
					fmt.Fprintf(b.Output(), "%s: seq %d failed: %d %s\n", contentType, r.Seq, r.Code, r.Error)
				}
			}
			return nil
		})
		out.cpu, out.wall = cpuTime(b)-cpu0, time.Since(start)
		close(stop)
		<-sampled
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	b.ResetTimer()
	parsed := run("text/event-stream")
	plain := run("text/plain")
	b.StopTimer()

	total := float64(n * tokens)
	w := b.Output()
	fmt.Fprintf(w, "command: go test -run '^$' -bench BenchmarkStreams -benchtime 1x ./attack -streams-n %d -streams-tokens %d -streams-itl %s (GOMAXPROCS %d)\n", n, tokens, itl, runtime.GOMAXPROCS(0))
	for _, r := range []struct {
		name string
		r    round
	}{{"text/event-stream, parsed", parsed}, {"text/plain, baseline", plain}} {
		fmt.Fprintf(w, "%-26s wall %6.2fs  cpu %6.2fs  cpu/token %6.0f ns  peak heap %6.1f MB (%5.1f KB/stream)  peak goroutines %d  failed %d\n",
			r.name, r.r.wall.Seconds(), r.r.cpu.Seconds(), float64(r.r.cpu.Nanoseconds())/total,
			float64(r.r.heap)/(1<<20), float64(r.r.heap)/1024/float64(n), r.r.routines, r.r.errors)
	}
	fmt.Fprintf(w, "stream reading: %+.0f ns cpu per token, %+.1f KB peak heap per stream (parsed - baseline; the whole process, upstream and gateway included in both)\n",
		float64((parsed.cpu-plain.cpu).Nanoseconds())/total, (float64(parsed.heap)-float64(plain.heap))/1024/float64(n))
	if len(parsed.streams) != n {
		fmt.Fprintf(w, "got %d stream lines, want %d\n", len(parsed.streams), n)
		return
	}
	var ttft, itls []float64
	ends := map[string]int{}
	got := 0
	for _, s := range parsed.streams {
		ttft = append(ttft, float64(s.TTFT)/float64(time.Millisecond))
		itls = append(itls, float64(s.ITL)/float64(time.Millisecond))
		ends[s.End]++
		got += s.Tokens
	}
	fmt.Fprintf(w, "measured: tokens %d of %d, ends %v, ttft p50 %.2f ms p99 %.2f ms, itl p50 %.3f ms p99 %.3f ms (upstream: %s per token)\n",
		got, n*tokens, ends, rank(ttft, 0.5), rank(ttft, 0.99), rank(itls, 0.5), rank(itls, 0.99), itl)
	b.ReportMetric(float64((parsed.cpu-plain.cpu).Nanoseconds())/total, "ns-cpu/token")
	b.ReportMetric((float64(parsed.heap)-float64(plain.heap))/float64(n), "B-heap/stream")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rank is the nearest-rank q quantile of xs.
func rank(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
