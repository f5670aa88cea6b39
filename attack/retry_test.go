package attack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/scenarios"
)

// arrival is one try as the server saw it.
type arrival struct {
	attack, try, body string
}

// tryServer is a loopback server that answers each try as answer says,
// and records every arrival by seq.
type tryServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[uint64][]arrival
}

func newTryServer(t testing.TB, answer func(seq uint64, try int, w http.ResponseWriter, r *http.Request)) *tryServer {
	s := &tryServer{seen: map[uint64][]arrival{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq, _ := strconv.ParseUint(r.Header.Get("X-Vegeta-Seq"), 10, 64)
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodGet && (len(r.TransferEncoding) > 0 || r.Header.Get("Content-Length") != "") {
			body = []byte("<a GET framed as having a body>")
		}
		a := arrival{attack: r.Header.Get("X-Vegeta-Attack"), try: r.Header.Get(scenarios.HeaderTry), body: string(body)}
		s.mu.Lock()
		s.seen[seq] = append(s.seen[seq], a)
		s.mu.Unlock()
		try, _ := strconv.Atoi(a.try)
		answer(seq, max(try, 1), w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// reset closes the connection with an RST, before any answer.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
}

// retryRun is what one attack with a retry policy gave.
type retryRun struct {
	results map[uint64]*vegeta.Result
	tries   []attack.Try
	sidecar []map[string]any // the tries as TryWriter wrote them
}

// runRetry attacks url with n hits at rate per second under policy.
func runRetry(t testing.TB, url string, policy *scenarios.Retry, timeout time.Duration, req scenarios.Request, n, rate int) retryRun {
	t.Helper()
	p := attack.NewSchedule([]attack.Step{{Duration: time.Duration(float64(n) / float64(rate) * float64(time.Second)), Rate: float64(rate), RampTo: float64(rate)}})
	var (
		mu  sync.Mutex
		out = retryRun{results: map[uint64]*vegeta.Result{}}
		buf bytes.Buffer
	)
	w := attack.NewTryWriter(&buf)
	opt := attack.Options{
		Name: "retry", BaseURL: url, Requests: []scenarios.Request{req}, Timeout: timeout,
		Retry: policy, Seed: 1,
		Tries: func(tr attack.Try) {
			if err := w.Write(tr); err != nil {
				t.Error(err)
			}
			mu.Lock()
			out.tries = append(out.tries, tr)
			mu.Unlock()
		},
	}
	_, err := attack.Run(context.Background(), p, opt, func(r *vegeta.Result) error {
		out.results[r.Seq] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("tries sidecar: %v", err)
		}
		out.sidecar = append(out.sidecar, m)
	}
	return out
}

// TestRetryingClient drives the retrying client against a loopback
// server, one row per way a try fails or stops, and checks the server's
// arrivals (the try header on every try, the same attack and seq), what
// the user saw (the last try's), and the tries recorded.
func TestRetryingClient(t *testing.T) {
	const ms = time.Millisecond
	d := func(x time.Duration) scenarios.Duration { return scenarios.Duration(x) }
	plain := func(codes ...string) *scenarios.Retry {
		return &scenarios.Retry{MaxAttempts: 3, Backoff: scenarios.BackoffNone, Jitter: scenarios.JitterNone, RetryOn: codes}
	}
	get := scenarios.Request{Method: "GET", Path: "/"}
	type want struct {
		tries int
		code  int
		stop  string
	}
	tests := []struct {
		name    string
		policy  *scenarios.Retry
		timeout time.Duration
		req     scenarios.Request
		n       int
		answer  func(seq uint64, try int, w http.ResponseWriter, r *http.Request)
		want    func(seq uint64) want
		check   func(t *testing.T, run retryRun)
	}{
		{
			name: "502 on the first seq%4 tries, max_attempts 3", policy: plain("5xx"), n: 40,
			answer: func(seq uint64, try int, w http.ResponseWriter, _ *http.Request) {
				if uint64(try) <= seq%4 {
					w.WriteHeader(http.StatusBadGateway)
					io.WriteString(w, "bad gateway")
				}
			},
			want: func(seq uint64) want {
				if seq%4 == 3 {
					return want{3, 502, attack.StopAttempts}
				}
				return want{int(seq%4) + 1, 200, attack.StopSuccess}
			},
			check: func(t *testing.T, run retryRun) {
				for seq, r := range run.results {
					if seq%4 == 3 && string(r.Body) != "bad gateway" {
						t.Errorf("seq %d: the user saw the body %q, want the last try's", seq, r.Body)
					}
				}
			},
		},
		{
			name: "resets, retry_on error", policy: plain("error"), n: 20,
			answer: func(seq uint64, try int, w http.ResponseWriter, _ *http.Request) {
				if uint64(try) <= seq%2 {
					reset(w)
				}
			},
			want: func(seq uint64) want { return want{int(seq%2) + 1, 200, attack.StopSuccess} },
		},
		{
			name: "a reset is not retried without error in retry_on", policy: plain("5xx"), n: 10,
			answer: func(_ uint64, _ int, w http.ResponseWriter, _ *http.Request) { reset(w) },
			want:   func(uint64) want { return want{1, 0, attack.StopNotRetryable} },
		},
		{
			name: "a 404 is not retried on 5xx", policy: plain("5xx"), n: 10,
			answer: func(_ uint64, _ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) },
			want:   func(uint64) want { return want{1, 404, attack.StopNotRetryable} },
		},
		{
			name: "a budget of nothing refuses every retry",
			policy: &scenarios.Retry{MaxAttempts: 3, Backoff: scenarios.BackoffNone, RetryOn: []string{"502"},
				Budget: &scenarios.Budget{Ratio: 0}},
			n:      20,
			answer: func(_ uint64, _ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) },
			want:   func(uint64) want { return want{1, 502, attack.StopBudget} },
		},
		{
			name: "a try timing out is retried on timeout", policy: plain("timeout"), timeout: 100 * ms, n: 4,
			answer: func(_ uint64, try int, _ http.ResponseWriter, r *http.Request) {
				if try == 1 {
					<-r.Context().Done() // hangs until the client gives up
				}
			},
			want: func(uint64) want { return want{2, 200, attack.StopSuccess} },
			check: func(t *testing.T, run retryRun) {
				for _, tr := range run.tries {
					if tr.Try == 1 && !strings.Contains(tr.Error, "try timeout") {
						t.Errorf("seq %d try 1: got error %q, want the try timeout", tr.Seq, tr.Error)
					}
				}
			},
		},
		{
			name: "a try timing out is not retried on error alone", policy: plain("error"), timeout: 100 * ms, n: 2,
			answer: func(_ uint64, _ int, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			want:   func(uint64) want { return want{1, 0, attack.StopNotRetryable} },
		},
		{
			name: "the deadline passing during a try ends the request",
			policy: &scenarios.Retry{MaxAttempts: 3, Backoff: scenarios.BackoffNone, RetryOn: []string{"timeout", "error"},
				Deadline: d(150 * ms)},
			n:      3,
			answer: func(_ uint64, _ int, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			want:   func(uint64) want { return want{1, 0, attack.StopDeadline} },
		},
		{
			name: "Retry-After longer than the deadline ends the request",
			policy: &scenarios.Retry{MaxAttempts: 3, Backoff: scenarios.BackoffConstant, Base: d(ms), RetryOn: []string{"503"},
				RespectRetryAfter: true, Deadline: d(2 * time.Second)},
			n: 4,
			answer: func(_ uint64, _ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "10")
				w.WriteHeader(http.StatusServiceUnavailable)
			},
			want: func(uint64) want { return want{1, 503, attack.StopDeadline} },
		},
		{
			name: "Retry-After is waited when longer than the backoff",
			policy: &scenarios.Retry{MaxAttempts: 3, Backoff: scenarios.BackoffConstant, Base: d(ms), RetryOn: []string{"429"},
				RespectRetryAfter: true, Deadline: d(10 * time.Second)},
			n: 2,
			answer: func(_ uint64, try int, w http.ResponseWriter, _ *http.Request) {
				if try == 1 {
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(http.StatusTooManyRequests)
				}
			},
			want: func(uint64) want { return want{2, 200, attack.StopSuccess} },
			check: func(t *testing.T, run retryRun) {
				for _, tr := range run.tries {
					if tr.Try == 2 && (tr.Backoff != time.Second || !tr.RetryAfter) {
						t.Errorf("seq %d try 2: got backoff %s retry_after %v, want 1s true", tr.Seq, tr.Backoff, tr.RetryAfter)
					}
				}
				for seq, r := range run.results {
					if r.Latency < time.Second {
						t.Errorf("seq %d: the user saw a latency of %s, want the wait included (>= 1s)", seq, r.Latency)
					}
				}
			},
		},
		{
			name:   "Retry-After is ignored when not respected",
			policy: &scenarios.Retry{MaxAttempts: 2, Backoff: scenarios.BackoffConstant, Base: d(ms), RetryOn: []string{"429"}},
			n:      2,
			answer: func(_ uint64, try int, w http.ResponseWriter, _ *http.Request) {
				if try == 1 {
					w.Header().Set("Retry-After", "3600")
					w.WriteHeader(http.StatusTooManyRequests)
				}
			},
			want: func(uint64) want { return want{2, 200, attack.StopSuccess} },
			check: func(t *testing.T, run retryRun) {
				for _, tr := range run.tries {
					if tr.Try == 2 && (tr.Backoff != time.Millisecond || tr.RetryAfter) {
						t.Errorf("seq %d try 2: got backoff %s retry_after %v, want 1ms false", tr.Seq, tr.Backoff, tr.RetryAfter)
					}
				}
			},
		},
		{
			name: "a POST's body goes again with every try", policy: plain("502"), n: 10,
			req: scenarios.Request{Method: "POST", Path: "/p", Body: `{"q":"hello"}`},
			answer: func(_ uint64, try int, w http.ResponseWriter, _ *http.Request) {
				if try < 3 {
					w.WriteHeader(http.StatusBadGateway)
				}
			},
			want:  func(uint64) want { return want{3, 200, attack.StopSuccess} },
			check: func(t *testing.T, run retryRun) {}, // the bodies are checked below for every row
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTryServer(t, tt.answer)
			req := tt.req
			if req.Method == "" {
				req = get
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			run := runRetry(t, srv.URL, tt.policy, timeout, req, tt.n, 200)
			if len(run.results) != tt.n {
				t.Fatalf("got %d results, want %d", len(run.results), tt.n)
			}
			bySeq := map[uint64][]attack.Try{}
			for _, tr := range run.tries {
				bySeq[tr.Seq] = append(bySeq[tr.Seq], tr)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			for seq, r := range run.results {
				w := tt.want(seq)
				if int(r.Code) != w.code {
					t.Errorf("seq %d: the user saw %d (%s), want %d", seq, r.Code, r.Error, w.code)
				}
				seen := srv.seen[seq]
				wantSeen := make([]arrival, w.tries)
				if w.code == 0 && len(seen) < w.tries {
					wantSeen = wantSeen[:len(seen)]
				}
				for i := range wantSeen {
					wantSeen[i] = arrival{attack: "retry", try: strconv.Itoa(i + 1), body: req.Body}
				}
				if !slices.Equal(seen, wantSeen) {
					t.Errorf("seq %d: the server saw %+v, want %+v", seq, seen, wantSeen)
				}
				trs := bySeq[seq]
				slices.SortFunc(trs, func(a, b attack.Try) int { return a.Try - b.Try })
				if len(trs) != w.tries {
					t.Errorf("seq %d: got %d tries recorded, want %d", seq, len(trs), w.tries)
					continue
				}
				for i, tr := range trs {
					wantStop := ""
					if i == len(trs)-1 {
						wantStop = w.stop
					}
					if tr.Try != i+1 || tr.Stop != wantStop || tr.Attack != "retry" {
						t.Errorf("seq %d: try %d: got try %d attack %q stop %q, want %d %q %q", seq, i+1, tr.Try, tr.Attack, tr.Stop, i+1, "retry", wantStop)
					}
					if i == 0 && tr.Backoff != 0 {
						t.Errorf("seq %d: the first try's backoff is %s, want 0", seq, tr.Backoff)
					}
				}
				if last := trs[len(trs)-1]; last.Code != w.code {
					t.Errorf("seq %d: the last try recorded %d, want %d", seq, last.Code, w.code)
				}
			}
			if tt.check != nil {
				tt.check(t, run)
			}
			checkSidecar(t, run)
		})
	}
}

// checkSidecar checks the tries.jsonl lines against the contract: every
// field, by its name and JSON type.
func checkSidecar(t *testing.T, run retryRun) {
	t.Helper()
	if len(run.sidecar) != len(run.tries) {
		t.Fatalf("got %d sidecar lines, want one per try (%d)", len(run.sidecar), len(run.tries))
	}
	for _, m := range run.sidecar {
		for _, f := range []struct {
			name string
			ok   func(any) bool
		}{
			{"time", func(v any) bool {
				s, ok := v.(string)
				_, err := time.Parse(time.RFC3339Nano, s)
				return ok && err == nil
			}},
			{"attack", func(v any) bool { _, ok := v.(string); return ok }},
			{"seq", func(v any) bool { _, ok := v.(float64); return ok }},
			{"try", func(v any) bool { n, ok := v.(float64); return ok && n >= 1 }},
			{"code", func(v any) bool { _, ok := v.(float64); return ok }},
			{"error", func(v any) bool { _, ok := v.(string); return ok }},
			{"latency_ms", func(v any) bool { n, ok := v.(float64); return ok && n >= 0 }},
			{"backoff_ms", func(v any) bool { n, ok := v.(float64); return ok && n >= 0 }},
			{"stop", func(v any) bool {
				s, ok := v.(string)
				return ok && slices.Contains([]string{"", attack.StopSuccess, attack.StopNotRetryable, attack.StopAttempts,
					attack.StopDeadline, attack.StopBudget, attack.StopInterrupted}, s)
			}},
		} {
			if v, ok := m[f.name]; !ok || !f.ok(v) {
				t.Errorf("sidecar line %v: field %q is %v, want it present and well formed", m, f.name, v)
			}
		}
	}
}

// TestNoRetryPolicy: without a policy, one try per request and no try
// header, as before.
func TestNoRetryPolicy(t *testing.T) {
	srv := newTryServer(t, func(_ uint64, _ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	run := runRetry(t, srv.URL, nil, 5*time.Second, scenarios.Request{Method: "GET", Path: "/"}, 10, 200)
	if len(run.tries) != 0 {
		t.Errorf("got %d tries recorded, want none", len(run.tries))
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for seq := range run.results {
		if want := []arrival{{attack: "retry"}}; !slices.Equal(srv.seen[seq], want) {
			t.Errorf("seq %d: the server saw %+v, want %+v", seq, srv.seen[seq], want)
		}
	}
}

// TestRetryInterrupted: a run stopped while its requests wait to retry
// ends them at once, each with its last try's answer (what the user saw)
// and that try's stop "interrupted".
func TestRetryInterrupted(t *testing.T) {
	const n = 5
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The request after the n to check stops the run: they had their
	// answers 50ms before, and now wait an hour to retry.
	srv := newTryServer(t, func(seq uint64, _ int, w http.ResponseWriter, _ *http.Request) {
		if seq == n {
			cancel()
			return
		}
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "bad gateway")
	})
	policy := &scenarios.Retry{MaxAttempts: 3, Backoff: scenarios.BackoffConstant, Base: scenarios.Duration(time.Hour), RetryOn: []string{"502"}}
	p := attack.NewSchedule([]attack.Step{{Duration: time.Duration(n+1) * 50 * time.Millisecond, Rate: 20, RampTo: 20}})
	var (
		tmu   sync.Mutex
		tries []attack.Try
		res   []*vegeta.Result
	)
	_, err := attack.Run(ctx, p, attack.Options{Name: "retry", BaseURL: srv.URL, Requests: []scenarios.Request{{Method: "GET", Path: "/"}},
		Timeout: 5 * time.Second, Retry: policy, Tries: func(tr attack.Try) { tmu.Lock(); tries = append(tries, tr); tmu.Unlock() }},
		func(r *vegeta.Result) error { res = append(res, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	res = slices.DeleteFunc(res, func(r *vegeta.Result) bool { return r.Seq == n })
	tries = slices.DeleteFunc(tries, func(tr attack.Try) bool { return tr.Seq == n })
	if len(res) != n || len(tries) != n {
		t.Fatalf("got %d results and %d tries, want %d and %d", len(res), len(tries), n, n)
	}
	for _, r := range res {
		if r.Code != http.StatusBadGateway || string(r.Body) != "bad gateway" {
			t.Errorf("seq %d: the user saw %d %q (%s), want the last try's 502 %q", r.Seq, r.Code, r.Body, r.Error, "bad gateway")
		}
	}
	for _, tr := range tries {
		if tr.Try != 1 || tr.Stop != attack.StopInterrupted || tr.Code != http.StatusBadGateway || tr.Backoff != 0 {
			t.Errorf("seq %d: got try %d stop %q code %d backoff %s, want 1 %q 502 0s", tr.Seq, tr.Try, tr.Stop, tr.Code, tr.Backoff, attack.StopInterrupted)
		}
	}
}

// TestRetriesTakeNoPacerSlots: the pacer schedules first tries only.
// Every first try answers 502 and is retried after a second, while the
// whole plan of first tries lasts half of one: all the first tries go
// out before any retry (a retry does not take a first try's slot, and a
// request waiting to retry does not hold back the next), and every
// request gets its retry with the same seq.
func TestRetriesTakeNoPacerSlots(t *testing.T) {
	const n = 100
	srv := newTryServer(t, func(_ uint64, try int, w http.ResponseWriter, _ *http.Request) {
		if try == 1 {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	policy := &scenarios.Retry{MaxAttempts: 2, Backoff: scenarios.BackoffConstant, Base: scenarios.Duration(time.Second), RetryOn: []string{"502"}}
	run := runRetry(t, srv.URL, policy, 5*time.Second, scenarios.Request{Method: "GET", Path: "/"}, n, 200)
	if len(run.results) != n {
		t.Fatalf("got %d results, want %d", len(run.results), n)
	}
	var lastFirst, firstRetry time.Time
	for _, tr := range run.tries {
		switch tr.Try {
		case 1:
			if tr.Time.After(lastFirst) {
				lastFirst = tr.Time
			}
		case 2:
			if firstRetry.IsZero() || tr.Time.Before(firstRetry) {
				firstRetry = tr.Time
			}
		}
	}
	if !lastFirst.Before(firstRetry) {
		t.Errorf("the last first try went %s after the first retry, want before", lastFirst.Sub(firstRetry))
	}
	for seq, r := range run.results {
		if r.Code != 200 {
			t.Errorf("seq %d: the user saw %d, want 200 from its retry", seq, r.Code)
		}
	}
}

// TestTryJSON: a try's line has the contract's fields, its durations in
// milliseconds, and reads back the same.
func TestTryJSON(t *testing.T) {
	tr := attack.Try{Time: time.Date(2026, 12, 6, 23, 0, 0, 123456789, time.UTC), Attack: "a", Seq: 7, Try: 2, Code: 502,
		Latency: 1500 * time.Microsecond, Backoff: 250 * time.Millisecond, RetryAfter: true, Stop: attack.StopAttempts}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":"2026-12-06T23:00:00.123456789Z","attack":"a","seq":7,"try":2,"code":502,"error":"","retry_after":true,"stop":"attempts","latency_ms":1.5,"backoff_ms":250}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	var back attack.Try
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != tr {
		t.Errorf("read back %+v, want %+v", back, tr)
	}
}
