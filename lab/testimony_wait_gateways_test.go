package lab_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// waitUpstream is an upstream on loopback that can stop listening (its
// address then refuses connections) and listen again on the same
// address. Each request is held for its X-Delay, and its arrival is
// sent, with the request's seq, on arrived (if not full).
type waitUpstream struct {
	t       *testing.T
	addr    string
	arrived chan arrival

	mu  sync.Mutex
	srv *http.Server
	wg  sync.WaitGroup
}

type arrival struct {
	seq string
	at  time.Time
}

func startWaitUpstream(t *testing.T) *waitUpstream {
	t.Helper()
	u := &waitUpstream{t: t, arrived: make(chan arrival, 16)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.addr = ln.Addr().String()
	u.serve(ln)
	t.Cleanup(u.stop)
	return u
}

func (u *waitUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case u.arrived <- arrival{r.Header.Get("X-Vegeta-Seq"), time.Now()}:
	default:
	}
	slowUpstream{}.ServeHTTP(w, r)
}

func (u *waitUpstream) serve(ln net.Listener) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.srv = &http.Server{Handler: u}
	u.wg.Add(1)
	go func(srv *http.Server) {
		defer u.wg.Done()
		srv.Serve(ln)
	}(u.srv)
}

// stop closes the listener and every connection: connecting is refused.
func (u *waitUpstream) stop() {
	u.mu.Lock()
	srv := u.srv
	u.srv = nil
	u.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
	u.wg.Wait()
}

// listen listens again on the same address.
func (u *waitUpstream) listen() {
	u.t.Helper()
	ln, err := net.Listen("tcp", u.addr)
	if err != nil {
		u.t.Fatalf("listen again on %s: %v", u.addr, err)
	}
	u.serve(ln)
}

// send sends seq through the gateway at url with the upstream delay
// delay, and returns the answer's status, the latency, and when the
// request was written; written (if not nil) gets that time as soon as it
// is.
func send(ctx context.Context, url string, seq int, delay time.Duration, written chan<- time.Time) (int, time.Duration, time.Time, error) {
	var wrote time.Time
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
		wrote = time.Now()
		if written != nil {
			written <- wrote
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, url+"/v1/items", nil)
	if err != nil {
		return 0, 0, wrote, err
	}
	req.Header.Set("X-Vegeta-Attack", "att")
	req.Header.Set("X-Vegeta-Seq", strconv.Itoa(seq))
	req.Header.Set("X-Delay", delay.String())
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 20 * time.Second}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, wrote, err
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), wrote, nil
}

// toldOf waits (bounded) for the gateway's access log line of seq, and
// returns it read as testimony.
func toldOf(t *testing.T, kind, dir string, seq uint64) results.Testimony {
	t.Helper()
	path := filepath.Join(dir, accessLogFile)
	for deadline := time.Now().Add(5 * time.Second); ; {
		for _, x := range readAccess(t, kind, path) {
			if x.Seq != nil && *x.Seq == seq {
				return x
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(path)
			t.Fatalf("no access log line for seq %d in %s", seq, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// toldOfBoth is toldOf reading the error log too, once the access log
// has seq's line.
func toldOfBoth(t *testing.T, kind, dir string, seq uint64) results.Testimony {
	t.Helper()
	toldOf(t, kind, dir, seq)
	access, err := os.Open(filepath.Join(dir, accessLogFile))
	if err != nil {
		t.Fatal(err)
	}
	defer access.Close()
	errorLog, err := os.Open(filepath.Join(dir, errorLogFile))
	if err != nil {
		t.Fatal(err)
	}
	defer errorLog.Close()
	ts, err := lab.ReadTestimony(kind, access, errorLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		if x.Seq != nil && *x.Seq == seq && x.Status != 0 {
			return x
		}
	}
	t.Fatalf("no testimony of seq %d", seq)
	return results.Testimony{}
}

// ms is a duration in milliseconds, as WaitMS counts.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// checkWait checks a testimony's WaitMS is within [lo, hi] ms.
func checkWait(t *testing.T, x results.Testimony, lo, hi float64) {
	t.Helper()
	if x.WaitMS == nil || *x.WaitMS < lo || *x.WaitMS > hi {
		w := "nil"
		if x.WaitMS != nil {
			w = strconv.FormatFloat(*x.WaitMS, 'f', 3, 64)
		}
		t.Errorf("seq %d: got WaitMS %s, want %.0f to %.0f ms (testimony %+v)", *x.Seq, w, lo, hi, x)
	}
}

// TestGatewaysWaitSlowUpstream: an answer the upstream held back 600 ms,
// with nothing queued at the gateway, is not the gateway's wait: nginx's
// and HAProxy's WaitMS stay far below the upstream's time, and Caddy's
// too when its log level is DEBUG (its "upstream roundtrip" lines); at
// its template's INFO, Caddy's log does not say (nil).
func TestGatewaysWaitSlowUpstream(t *testing.T) {
	const delay = 600 * time.Millisecond
	caddyDebug := func(t *testing.T) *lab.Template {
		text, err := lab.DefaultTemplate(scenarios.GatewayCaddy)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "level INFO") {
			t.Fatal("the default Caddy template lacks level INFO")
		}
		tmpl, err := lab.Render(scenarios.GatewayCaddy, "debug", strings.Replace(text, "level INFO", "level DEBUG", 1))
		if err != nil {
			t.Fatal(err)
		}
		return tmpl
	}
	for _, tt := range []struct {
		name, kind string
		debug      bool // Caddy at level DEBUG
		said       bool // WaitMS is said
	}{
		{"nginx", scenarios.GatewayNginx, false, true},
		{"haproxy", scenarios.GatewayHAProxy, false, true},
		{"caddy", scenarios.GatewayCaddy, false, false},
		{"caddy-debug", scenarios.GatewayCaddy, true, true},
	} {
		kind := tt.kind
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := startWaitUpstream(t)
			tmpl := defaultTemplate(t, kind)
			if tt.debug {
				tmpl = caddyDebug(t)
			}
			m, dir := startManaged(t, lab.ManagedConfig{Template: tmpl, Upstream: up.addr,
				ConnectTimeout: 500 * time.Millisecond, ReadTimeout: 5 * time.Second})
			code, took, _, err := send(context.Background(), m.URL(), 1, delay, nil)
			if err != nil || code != 200 {
				t.Fatalf("got %d, %v; want 200", code, err)
			}
			if took < delay {
				t.Fatalf("latency %v, want at least the upstream's %v", took, delay)
			}
			if tt.debug {
				// Caddy's tries are in its error log (the global log).
				x := toldOfBoth(t, kind, dir, 1)
				if x.WaitMS != nil {
					t.Logf("caddy (debug): latency %v, WaitMS %v", took, *x.WaitMS)
				}
				checkWait(t, x, 0, ms(delay)/4)
				return
			}
			x := toldOf(t, kind, dir, 1)
			if !tt.said {
				if x.WaitMS != nil {
					t.Errorf("got WaitMS %v, want nil: the log does not say", *x.WaitMS)
				}
				return
			}
			t.Logf("%s: latency %v, WaitMS %v", kind, took, *x.WaitMS)
			checkWait(t, x, 0, ms(delay)/4)
		})
	}
}

// attemptFails returns the kernel's count of failed TCP connects (a
// refused one among them): AttemptFails in /proc/net/snmp.
func attemptFails(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		t.Skipf("no count of refused connects: %v", err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Tcp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "AttemptFails" && i < len(f) {
				v, err := strconv.ParseInt(f[i], 10, 64)
				if err == nil {
					return v
				}
			}
		}
	}
	t.Skip("no AttemptFails in /proc/net/snmp")
	return 0
}

// TestHAProxyWaitConnectRetries: HAProxy retries a refused connect after
// a turn-around of min(timeout connect, 1s), here 300 ms; the upstream
// listens again once a connect was refused (the kernel's count of failed
// connects grew after the request was sent), so a retry gets through.
// Its WaitMS (Tw + Tc) is the time of its connect retries, about the
// retries times 300 ms, and the rest of the latency is the upstream's.
// Another process's failed connect may let the upstream listen before
// HAProxy tried (no refusal, no retry): then the request is sent again,
// at most 5 times.
func TestHAProxyWaitConnectRetries(t *testing.T) {
	const turn = 300 * time.Millisecond
	const delay = 100 * time.Millisecond
	up := startWaitUpstream(t)
	m, dir := startManaged(t, lab.ManagedConfig{Template: defaultTemplate(t, scenarios.GatewayHAProxy), Upstream: up.addr,
		ConnectTimeout: turn, ReadTimeout: 5 * time.Second})
	for seq := 1; seq <= 5; seq++ {
		up.stop()
		before := attemptFails(t)
		written := make(chan time.Time, 1)
		type answer struct {
			code int
			took time.Duration
			err  error
		}
		done := make(chan answer, 1)
		go func() {
			code, took, _, err := send(context.Background(), m.URL(), seq, delay, written)
			done <- answer{code, took, err}
		}()
		select {
		case <-written:
		case a := <-done:
			t.Fatalf("seq %d: got %d, %v before the request was written", seq, a.code, a.err)
		}
		// A connect refused since (bounded by HAProxy's three retries).
		for deadline := time.Now().Add(3 * turn); attemptFails(t) == before && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		up.listen()
		a := <-done
		if a.err != nil || a.code != 200 {
			t.Fatalf("seq %d: got %d, %v; want 200 after HAProxy's retries", seq, a.code, a.err)
		}
		x := toldOf(t, scenarios.GatewayHAProxy, dir, uint64(seq))
		if x.Retries == 0 {
			t.Logf("seq %d: HAProxy connected at once; sending again", seq)
			continue
		}
		t.Logf("seq %d: latency %v, %d retries, WaitMS %v", seq, a.took, x.Retries, *x.WaitMS)
		want := float64(x.Retries) * ms(turn)
		checkWait(t, x, want-5, want+ms(turn)/2)
		if *x.WaitMS > ms(a.took-delay)+5 {
			t.Errorf("seq %d: WaitMS %v above the latency %v less the upstream's %v", seq, *x.WaitMS, a.took, delay)
		}
		return
	}
	t.Fatal("HAProxy never met a refused connect in 5 tries")
}

// TestHAProxyWaitQueue: with maxconn 1 on the server line, a second
// request sent while the first is held 600 ms upstream waits in HAProxy's
// queue until the first ends: its WaitMS (Tw) is that time, as the
// upstream measures it (from the request written to its arrival), and
// the first's is about 0.
func TestHAProxyWaitQueue(t *testing.T) {
	const delay = 600 * time.Millisecond
	text, err := lab.DefaultTemplate(scenarios.GatewayHAProxy)
	if err != nil {
		t.Fatal(err)
	}
	const server = "server proxy {{.Upstream}}"
	if !strings.Contains(text, server) {
		t.Fatalf("the default template lacks %q", server)
	}
	tmpl, err := lab.Render(scenarios.GatewayHAProxy, "maxconn1", strings.Replace(text, server, server+" maxconn 1", 1))
	if err != nil {
		t.Fatal(err)
	}
	up := startWaitUpstream(t)
	m, dir := startManaged(t, lab.ManagedConfig{Template: tmpl, Upstream: up.addr, ConnectTimeout: 500 * time.Millisecond, ReadTimeout: 5 * time.Second})

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wrote2 := make(chan time.Time, 1)
	for seq := 1; seq <= 2; seq++ {
		if seq == 2 {
			// The first holds the server's one slot.
			if a := <-up.arrived; a.seq != "1" {
				t.Fatalf("got seq %s upstream first, want 1", a.seq)
			}
		}
		wg.Add(1)
		go func(seq int) {
			defer wg.Done()
			var w chan<- time.Time
			if seq == 2 {
				w = wrote2
			}
			code, _, _, err := send(context.Background(), m.URL(), seq, delay, w)
			if err == nil && code != 200 {
				err = errors.New("status " + strconv.Itoa(code))
			}
			if err != nil {
				errs <- err
			}
		}(seq)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	a := <-up.arrived
	queued := a.at.Sub(<-wrote2)
	if a.seq != "2" || queued <= 0 {
		t.Fatalf("got seq %s upstream after %v, want seq 2", a.seq, queued)
	}
	first, second := toldOf(t, scenarios.GatewayHAProxy, dir, 1), toldOf(t, scenarios.GatewayHAProxy, dir, 2)
	t.Logf("queued %v upstream's view; WaitMS %v and %v", queued, *first.WaitMS, *second.WaitMS)
	checkWait(t, first, 0, 50)
	checkWait(t, second, ms(queued)-50, ms(queued)+10)
}

// TestNginxWaitTimedOutTry: nginx's upstream lists a server that never
// answers (a listener that accepts nothing: connecting works, no answer
// comes) before the good one; a request that meets it first waits the
// read timeout (300 ms), then nginx tries the next server (its default
// proxy_next_upstream error timeout). Its WaitMS is that failed try's
// time, and the good try's own time is not in it. nginx's round robin
// (two workers) may send a request to the good server first: up to 6 are
// sent until one met the silent server.
func TestNginxWaitTimedOutTry(t *testing.T) {
	const timeout = 300 * time.Millisecond
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	text, err := lab.DefaultTemplate(scenarios.GatewayNginx)
	if err != nil {
		t.Fatal(err)
	}
	const server = "server {{.Upstream}};"
	if !strings.Contains(text, server) {
		t.Fatalf("the default template lacks %q", server)
	}
	tmpl, err := lab.Render(scenarios.GatewayNginx, "silent-first", strings.Replace(text, server,
		"server "+silent.Addr().String()+" max_fails=0;\n        server {{.Upstream}} max_fails=0;", 1))
	if err != nil {
		t.Fatal(err)
	}
	up := startWaitUpstream(t)
	m, dir := startManaged(t, lab.ManagedConfig{Template: tmpl, Upstream: up.addr, ConnectTimeout: timeout, ReadTimeout: timeout})
	for seq := 1; seq <= 6; seq++ {
		code, took, _, err := send(context.Background(), m.URL(), seq, 0, nil)
		if err != nil || code != 200 {
			t.Fatalf("seq %d: got %d, %v; want 200", seq, code, err)
		}
		x := toldOf(t, scenarios.GatewayNginx, dir, uint64(seq))
		if len(x.Upstream) < 2 {
			continue
		}
		t.Logf("seq %d: latency %v, upstream %v, WaitMS %v", seq, took, x.Upstream, *x.WaitMS)
		if x.Upstream[0] != "504" || x.Upstream[1] != "200" {
			t.Fatalf("seq %d: got upstream %v, want 504, 200", seq, x.Upstream)
		}
		checkWait(t, x, ms(timeout)-5, ms(timeout)+100)
		if *x.WaitMS > ms(took)+1 {
			t.Errorf("seq %d: WaitMS %v above the latency %v", seq, *x.WaitMS, took)
		}
		return
	}
	t.Fatal("no request met the silent server in 6")
}
