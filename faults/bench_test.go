package faults

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// The proxy benchmark of issue 3: what the proxy costs when no fault
// applies, in mode tcp (a plain byte forwarder) and mode http (which reads
// every head), against a minimal upstream reached directly. It prints
// figures and never fails on them. Run it with make bench-proxy.
var (
	benchProxy     = flag.Bool("bench-proxy", false, "run the proxy benchmark (TestBenchProxy)")
	benchDuration  = flag.Duration("bench-proxy-duration", 5*time.Second, "proxy benchmark: length of each measurement")
	benchRounds    = flag.Int("bench-proxy-rounds", 3, "proxy benchmark: rounds over the targets; figures are the median round's throughput and the pooled latencies")
	benchConns     = flag.Int("bench-proxy-conns", 64, "proxy benchmark: keep-alive connections of the client")
	benchRate      = flag.Int("bench-proxy-rate", 3000, "proxy benchmark: requests per second of the latency measurement")
	benchUpstreamF = flag.String("bench-proxy-upstream", "net/http", "proxy benchmark: the upstream, net/http or raw (a hand-rolled HTTP/1.1 answerer)")
)

// benchBody is the upstream's whole answer body.
const benchBody = "hello, world\n"

func TestBenchProxy(t *testing.T) {
	if !*benchProxy {
		t.Skip("the proxy benchmark runs only with -bench-proxy (make bench-proxy)")
	}
	if *benchRounds < 1 || *benchConns < 1 || *benchRate < 1 || *benchDuration <= 0 {
		t.Fatal("-bench-proxy-rounds, -conns, -rate and -duration must be positive")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	serve := func(ln net.Listener, run func(context.Context, net.Listener) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx, ln); err != nil {
				t.Errorf("serve %s: %v", ln.Addr(), err)
			}
		}()
	}
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}

	upLn := listen()
	switch *benchUpstreamF {
	case "net/http":
		serve(upLn, serveNetHTTP)
	case "raw":
		serve(upLn, serveRawHTTP)
	default:
		t.Fatalf("-bench-proxy-upstream %q: want net/http or raw", *benchUpstreamF)
	}
	targets := []struct{ name, addr string }{{"direct", upLn.Addr().String()}}
	var logs []*EventLog
	for _, mode := range []string{scenarios.ModeTCP, scenarios.ModeHTTP} {
		log := NewEventLog(io.Discard)
		logs = append(logs, log)
		p, err := New(Config{Upstream: upLn.Addr().String(), Mode: mode, Seed: 1, Events: log})
		if err != nil {
			t.Fatal(err)
		}
		ln := listen()
		serve(ln, p.Serve)
		targets = append(targets, struct{ name, addr string }{mode, ln.Addr().String()})
	}

	type figures struct {
		rps      float64
		p50, p99 time.Duration
		errs     int64
	}
	rps := map[string][]float64{}
	lats := map[string][]time.Duration{}
	errs := map[string]int64{}
	loadBefore := loadAverage()
	// Every request has its own seq, as in a run: a seq seen twice would
	// be logged as a retry.
	var seq atomic.Uint64
	// Rounds go over the targets in turn, so that a slow spell of the
	// machine does not fall on one target only.
	for range *benchRounds {
		for _, tg := range targets {
			r, n, err := closedLoop(tg.addr, *benchConns, *benchDuration, &seq)
			if err != nil {
				t.Fatalf("%s: throughput: %v", tg.name, err)
			}
			rps[tg.name] = append(rps[tg.name], r)
			errs[tg.name] += n
			lat, n, err := openLoop(tg.addr, *benchConns, *benchRate, *benchDuration, &seq)
			if err != nil {
				t.Fatalf("%s: latency: %v", tg.name, err)
			}
			lats[tg.name] = append(lats[tg.name], lat...)
			errs[tg.name] += n
		}
	}
	res := map[string]figures{}
	for _, tg := range targets {
		r := rps[tg.name]
		slices.Sort(r)
		res[tg.name] = figures{rps: r[len(r)/2], p50: percentile(lats[tg.name], 0.50), p99: percentile(lats[tg.name], 0.99), errs: errs[tg.name]}
	}

	d, tc, ht := res["direct"], res[scenarios.ModeTCP], res[scenarios.ModeHTTP]
	w := os.Stdout
	fmt.Fprintf(w, "\nproxy benchmark: %d keep-alive connections, closed loop for %s; latency open loop at %d/s for %s; %d rounds\n",
		*benchConns, *benchDuration, *benchRate, *benchDuration, *benchRounds)
	fmt.Fprintf(w, "upstream %s answering %d-byte bodies; %s %s/%s, %d CPUs, GOMAXPROCS %d; client, proxy and upstream share them\n\n",
		*benchUpstreamF, len(benchBody), runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "%-8s %10s %10s %10s %10s %12s %12s %7s\n", "target", "req/s", "/direct", "p50", "p99", "added p50", "added p99", "errors")
	for _, tg := range targets {
		f := res[tg.name]
		fmt.Fprintf(w, "%-8s %10.0f %10.2f %10s %10s %12s %12s %7d\n", tg.name, f.rps, f.rps/d.rps,
			us(f.p50), us(f.p99), us(f.p50-d.p50), us(f.p99-d.p99), f.errs)
	}
	fmt.Fprintf(w, "\nload average (1 min) before the run: %s; other work on the machine skews the figures (the run itself adds about %d)\n",
		loadBefore, runtime.NumCPU())
	for i, l := range logs {
		if n := l.Count(); n > 0 {
			fmt.Fprintf(w, "warning: the %s proxy logged %d events; with no fault active it should log none\n", targets[i+1].name, n)
		}
	}
	fmt.Fprintln(w)
	check := func(what string, got, want float64, atLeast bool) {
		ok := got >= want
		cmp := ">="
		if !atLeast {
			ok, cmp = got <= want, "<="
		}
		verdict := "MISS"
		if ok {
			verdict = "PASS"
		}
		fmt.Fprintf(w, "%-44s %6.2f  target %s %.2f  %s\n", what, got, cmp, want, verdict)
	}
	check("throughput mode http / mode tcp", ht.rps/tc.rps, 0.9, true)
	check("added median mode http / mode tcp", float64(ht.p50-d.p50)/float64(tc.p50-d.p50), 1.2, false)
	check("throughput mode tcp / direct", tc.rps/d.rps, 0.5, true)
	fmt.Fprintf(w, "\ncommand: go test ./faults -run '^TestBenchProxy$' -count=1 -v -bench-proxy -bench-proxy-duration=%s -bench-proxy-rounds=%d -bench-proxy-conns=%d -bench-proxy-rate=%d -bench-proxy-upstream=%s\n",
		*benchDuration, *benchRounds, *benchConns, *benchRate, *benchUpstreamF)
	fmt.Fprintln(w, "         (make bench-proxy; BENCH_FLAGS=... to change them)")
}

// loadAverage returns the machine's one-minute load average, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// us formats a duration in microseconds.
func us(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 0, 64) + "µs"
}

// percentile returns the q-quantile of v (nearest rank), sorting v.
func percentile(v []time.Duration, q float64) time.Duration {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	i := int(q*float64(len(v))+0.5) - 1
	return v[min(max(i, 0), len(v)-1)]
}

// serveNetHTTP is the minimal upstream: net/http answering a fixed 200.
func serveNetHTTP(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, benchBody)
	})}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serveRawHTTP is an even leaner upstream: it answers every request head
// (requests without bodies) with a fixed 200, keeping the connection.
func serveRawHTTP(ctx context.Context, ln net.Listener) error {
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
		strconv.Itoa(len(benchBody)) + "\r\n\r\n" + benchBody)
	var wg sync.WaitGroup
	defer wg.Wait()
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			c.Close()
		}
	})
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				c.Close()
			}()
			br := bufio.NewReader(c)
			for {
				if _, err := readHead(br, true); err != nil {
					return
				}
				if br.Buffered() > 0 {
					continue // pipelined: answer them together
				}
				if _, err := c.Write(answer); err != nil {
					return
				}
			}
		}()
	}
}

// benchClient is one keep-alive connection sending GETs that carry
// vegeta's attack and seq headers, as the proxy sees them in a run.
type benchClient struct {
	c   net.Conn
	br  *bufio.Reader
	req []byte
	seq *atomic.Uint64
}

func dialBench(addr string, seq *atomic.Uint64) (*benchClient, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &benchClient{c: c, br: bufio.NewReader(c), seq: seq}, nil
}

// do sends one request and reads the whole answer.
func (b *benchClient) do() error {
	b.req = append(b.req[:0], "GET /bench HTTP/1.1\r\nHost: bench\r\nUser-Agent: gatecrash-bench\r\nX-Vegeta-Attack: bench\r\nX-Vegeta-Seq: "...)
	b.req = strconv.AppendUint(b.req, b.seq.Add(1), 10)
	b.req = append(b.req, "\r\n\r\n"...)
	if _, err := b.c.Write(b.req); err != nil {
		return err
	}
	h, err := readHead(b.br, false)
	if err != nil {
		return err
	}
	if h.code != 200 {
		return fmt.Errorf("status %d", h.code)
	}
	if _, err := copyBody(io.Discard, b.br, h, true, nil); err != nil {
		return err
	}
	if h.close {
		return errors.New("the server closed the connection")
	}
	return nil
}

// dialAll opens n warmed-up connections to addr.
func dialAll(addr string, n int, seq *atomic.Uint64) ([]*benchClient, func(), error) {
	var cs []*benchClient
	closeAll := func() {
		for _, c := range cs {
			c.c.Close()
		}
	}
	for range n {
		c, err := dialBench(addr, seq)
		if err == nil {
			err = c.do()
		}
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		cs = append(cs, c)
	}
	return cs, closeAll, nil
}

// limit bounds the measurement: no connection outlives d by more than 10s,
// whatever the target does.
func limit(cs []*benchClient, d time.Duration) {
	at := time.Now().Add(d + 10*time.Second)
	for _, c := range cs {
		_ = c.c.SetDeadline(at)
	}
}

// closedLoop runs conns connections, each sending its next request as soon
// as the answer to the last one is in, for d after a warm-up of d/10, and
// returns the requests per second and the errors (each ends its
// connection).
func closedLoop(addr string, conns int, d time.Duration, seq *atomic.Uint64) (float64, int64, error) {
	cs, closeAll, err := dialAll(addr, conns, seq)
	if err != nil {
		return 0, 0, err
	}
	defer closeAll()
	limit(cs, d+d/10)
	var counting, stop atomic.Bool
	var done, errs atomic.Int64
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := c.do(); err != nil {
					errs.Add(1)
					return
				}
				if counting.Load() {
					done.Add(1)
				}
			}
		}()
	}
	time.Sleep(d / 10)
	counting.Store(true)
	start := time.Now()
	time.Sleep(d)
	n := done.Load()
	elapsed := time.Since(start)
	stop.Store(true)
	wg.Wait()
	return float64(n) / elapsed.Seconds(), errs.Load(), nil
}

// openLoop sends rate requests per second for d, whatever the answers do,
// over a pool of conns connections, and returns each request's latency,
// from writing it to reading the whole answer.
func openLoop(addr string, conns, rate int, d time.Duration, seq *atomic.Uint64) ([]time.Duration, int64, error) {
	cs, closeAll, err := dialAll(addr, conns, seq)
	if err != nil {
		return nil, 0, err
	}
	defer closeAll()
	limit(cs, d)
	total := int(float64(rate) * d.Seconds())
	ticks := make(chan struct{}, total)
	lat := make([][]time.Duration, len(cs))
	var errs atomic.Int64
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ticks {
				start := time.Now()
				if err := c.do(); err != nil {
					errs.Add(1)
					return // the other connections take the rest
				}
				lat[i] = append(lat[i], time.Since(start))
			}
		}()
	}
	// The pacer: every request due by now goes out, however late the
	// sleep woke.
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for sent := 0; sent < total; {
		due := int(time.Since(start)/interval) + 1
		for ; sent < min(due, total); sent++ {
			ticks <- struct{}{}
		}
		time.Sleep(start.Add(time.Duration(sent) * interval).Sub(time.Now()))
	}
	close(ticks)
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return all, errs.Load(), nil
}
