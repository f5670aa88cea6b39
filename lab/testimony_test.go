package lab

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/results"
)

// The fixtures in testdata/testimony are real logs: see its README.txt for
// how they were made and which seq met which upstream behaviour.

// readFixture reads the fixture logs name-access.log and name-error.log.
// nginx's error log there was written in UTC.
func readFixture(t testing.TB, name, kind string) []results.Testimony {
	t.Helper()
	dir := filepath.Join("testdata", "testimony")
	access, err := os.ReadFile(filepath.Join(dir, name+"-access.log"))
	if err != nil {
		t.Fatal(err)
	}
	errorLog, err := os.ReadFile(filepath.Join(dir, name+"-error.log"))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := readTestimony(kind, bytes.NewReader(access), bytes.NewReader(errorLog), time.UTC)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ts
}

func u64p(n uint64) *uint64 { return &n }

// want is what a fixture's testimony says about one request.
type want struct {
	seq      uint64 // 0: the nth request without vegeta's headers
	nth      int
	status   int
	words    string // a substring of Words; "" wants none
	retries  int
	upstream []string
}

// checkFixture reads a fixture and checks it has entries entries and says
// what wants say, each request a subtest.
func checkFixture(t *testing.T, name, kind string, entries int, wants []want) {
	ts := readFixture(t, name, kind)
	if len(ts) != entries {
		t.Errorf("%s: got %d entries, want %d", name, len(ts), entries)
	}
	checkOrder(t, kind, ts)
	for _, w := range wants {
		label := fmt.Sprintf("seq %d", w.seq)
		var got []results.Testimony
		for _, x := range ts {
			switch {
			case w.seq == 0 && x.Seq == nil && x.Status != 0:
				got = append(got, x)
			case w.seq != 0 && x.Seq != nil && *x.Seq == w.seq:
				got = append(got, x)
			}
		}
		if w.seq == 0 {
			label = fmt.Sprintf("no seq #%d", w.nth)
			if w.nth >= len(got) {
				t.Errorf("%s %s: got %d entries without seq", name, label, len(got))
				continue
			}
			got = got[w.nth : w.nth+1]
		}
		t.Run(name+"/"+label, func(t *testing.T) {
			if len(got) != 1 {
				t.Fatalf("got %d entries, want 1: %+v", len(got), got)
			}
			g := got[0]
			if g.Status != w.status {
				t.Errorf("status: got %d, want %d", g.Status, w.status)
			}
			if w.words == "" && g.Words != "" {
				t.Errorf("words: got %q, want none", g.Words)
			}
			if !strings.Contains(g.Words, w.words) {
				t.Errorf("words: got %q, want %q in them", g.Words, w.words)
			}
			if g.Retries != w.retries {
				t.Errorf("retries: got %d, want %d", g.Retries, w.retries)
			}
			if !reflect.DeepEqual(g.Upstream, w.upstream) {
				t.Errorf("upstream: got %q, want %q", g.Upstream, w.upstream)
			}
			if w.seq != 0 && g.Attack != "s" {
				t.Errorf("attack: got %q, want s", g.Attack)
			}
		})
	}
}

// checkOrder checks testimony is sorted by time then seq and names its
// gateway.
func checkOrder(t testing.TB, kind string, ts []results.Testimony) {
	t.Helper()
	for i, x := range ts {
		if x.Gateway != kind {
			t.Errorf("entry %d: gateway %q, want %q", i, x.Gateway, kind)
		}
		if i == 0 {
			continue
		}
		p := ts[i-1]
		switch {
		case x.Time.Before(p.Time):
			t.Errorf("entry %d: time %v before the previous entry's %v", i, x.Time, p.Time)
		case x.Time.Equal(p.Time) && p.Seq != nil && (x.Seq == nil || *x.Seq < *p.Seq):
			t.Errorf("entry %d: seq %v after %v at the same time", i, x.Seq, *p.Seq)
		}
	}
}

func TestReadTestimonyNginx(t *testing.T) {
	const (
		refused = "connect() failed (111: Connection refused) while connecting to upstream"
		closed  = "upstream prematurely closed connection while reading response header from upstream"
		reset   = "recv() failed (104: Connection reset by peer) while reading response header from upstream"
	)
	checkFixture(t, "nginx", "nginx", 16, []want{
		{seq: 1, status: 200, upstream: []string{"200"}},
		{seq: 2, status: 502, words: refused, upstream: []string{"502"}},
		{seq: 3, status: 502, words: closed, upstream: []string{"502"}},
		{seq: 4, status: 502, words: reset, upstream: []string{"502"}},
		// nginx passes "HTTP/1.1 abc" on as an HTTP/0.9 answer: $status
		// 009, the upstream's 200.
		{seq: 5, status: 9, words: "upstream sent no valid HTTP/1.0 header while reading response header from upstream", upstream: []string{"200"}},
		{seq: 6, status: 504, words: "upstream timed out (110: Connection timed out) while reading response header from upstream", upstream: []string{"504"}},
		{seq: 7, status: 200, words: "readv() failed (104: Connection reset by peer) while reading upstream", upstream: []string{"200"}},
		{seq: 8, status: 200, words: refused, retries: 1, upstream: []string{"502", "200"}},
		{seq: 9, status: 502, words: closed + "; " + reset, retries: 1, upstream: []string{"502", "502"}},
		// One keep-alive connection, all four in the same second.
		{seq: 10, status: 200, upstream: []string{"200"}},
		{seq: 11, status: 502, words: closed, upstream: []string{"502"}},
		{seq: 12, status: 200, upstream: []string{"200"}},
		{seq: 13, status: 502, words: reset, upstream: []string{"502"}},
		{seq: 0, nth: 0, status: 200, upstream: []string{"200"}},
		{seq: 0, nth: 1, status: 502, words: closed, upstream: []string{"502"}},
		// The client gave up: 499, a try without an answer.
		{seq: 14, status: 499, words: "client prematurely closed connection, so upstream connection is closed too", upstream: []string{"-"}},
	})
}

func TestReadTestimonyHAProxy(t *testing.T) {
	const sh = "SH--: the server aborted before sending full headers"
	// haproxy-separate also logs failed requests to stderr (log stderr
	// format raw local0 err, option log-separate-errors): said once.
	for _, name := range []string{"haproxy", "haproxy-separate"} {
		checkFixture(t, name, "haproxy", 18, []want{
			{seq: 1, status: 200},
			{seq: 2, status: 503, words: "SC--: the server refused the connection", retries: 3},
			{seq: 3, status: 502, words: sh},
			{seq: 4, status: 502, words: sh},
			{seq: 5, status: 502, words: "PH--: the proxy rejected"},
			{seq: 6, status: 504, words: "sH--: the server-side timeout expired"},
			{seq: 7, status: 200, words: "SD--: the server aborted during the data transfer"},
			{seq: 8, status: 200, retries: 1}, // +1: redispatched to the good server
			{seq: 9, status: 502, words: sh, retries: 3},
			{seq: 10, status: 200},
			{seq: 11, status: 502, words: sh},
			{seq: 12, status: 200},
			{seq: 13, status: 502, words: sh},
			{seq: 0, nth: 0, status: 200},
			{seq: 0, nth: 1, status: 502, words: sh},
			// HAProxy did not notice the client leave: 504 after its
			// timeout.
			{seq: 14, status: 504, words: "sH--"},
		})
		// Its console on stderr: a warning and an alert, on their own.
		ts := readFixture(t, name, "haproxy")
		var alone []string
		for _, x := range ts {
			if x.Seq == nil && x.Status == 0 {
				alone = append(alone, x.Words)
			}
		}
		if len(alone) != 2 || !strings.HasPrefix(alone[0], "Server checked/down is DOWN") || alone[1] != "backend 'checked' has no server available!" {
			t.Errorf("%s stderr: got %q, want the server down warning and the backend alert", name, alone)
		}
	}
	// A failed request's line only on stderr (stdout lost) still counts.
	line := "gc1 1795651535.781 s 3 502 SH-- 0 0 0 -1 0 be/up"
	ts, err := readTestimony("haproxy", nil, strings.NewReader(line+"\n"+line), time.UTC)
	if err != nil || len(ts) != 2 || ts[0].Words != sh {
		t.Errorf("lines only on stderr: got %+v, %v; want two entries", ts, err)
	}
}

func TestReadTestimonyCaddy(t *testing.T) {
	const (
		refused   = "dial tcp 127.0.0.1:18089: connect: connection refused"
		reset     = "read: connection reset by peer"
		malformed = `net/http: HTTP/1.x transport connection broken: malformed HTTP status code "abc"`
		timeout   = "net/http: timeout awaiting response headers"
		midBody   = "aborting with incomplete response: read tcp"
	)
	// Info level: no word of tries.
	checkFixture(t, "caddy", "caddy", 16, []want{
		{seq: 1, status: 200},
		{seq: 2, status: 502, words: refused},
		{seq: 3, status: 502, words: "EOF"},
		{seq: 4, status: 502, words: reset},
		{seq: 5, status: 502, words: malformed},
		{seq: 6, status: 504, words: timeout},
		{seq: 7, status: 200, words: midBody}, // tied by time
		{seq: 8, status: 200},                 // a refused try retried away, unsaid
		{seq: 9, status: 502, words: "EOF"},
		{seq: 10, status: 200},
		{seq: 11, status: 502, words: "EOF"},
		{seq: 12, status: 200},
		{seq: 13, status: 502, words: reset},
		{seq: 0, nth: 0, status: 200},
		{seq: 0, nth: 1, status: 502, words: "EOF"}, // tied by connection
		{seq: 14, status: 0},                        // the client gave up
	})
	// Debug level: each try.
	checkFixture(t, "caddy-debug", "caddy", 16, []want{
		{seq: 1, status: 200, upstream: []string{"200"}},
		{seq: 2, status: 502, words: refused, upstream: []string{"-"}},
		{seq: 3, status: 502, words: "EOF", upstream: []string{"-"}},
		{seq: 4, status: 502, words: reset, upstream: []string{"-"}},
		{seq: 5, status: 502, words: malformed, upstream: []string{"-"}},
		{seq: 6, status: 504, words: timeout, upstream: []string{"-"}},
		{seq: 7, status: 200, words: midBody, upstream: []string{"200"}},
		{seq: 8, status: 200, words: refused, retries: 1, upstream: []string{"-", "200"}},
		{seq: 9, status: 502, words: "EOF; EOF; EOF; EOF; EOF", retries: 4, upstream: []string{"-", "-", "-", "-", "-"}},
		{seq: 10, status: 200, upstream: []string{"200"}},
		{seq: 11, status: 502, words: "EOF", upstream: []string{"-"}},
		{seq: 12, status: 200, upstream: []string{"200"}},
		{seq: 13, status: 502, words: reset, upstream: []string{"-"}},
		{seq: 0, nth: 0, status: 200, upstream: []string{"200"}},
		{seq: 0, nth: 1, status: 502, words: "EOF", upstream: []string{"-"}},
		{seq: 14, status: 0, words: "context canceled", upstream: []string{"-"}},
	})
}

// TestReadTestimonyLocal reads through the exported function, in the local
// zone (HAProxy's and Caddy's logs do not depend on it), and checks the
// testimony survives results' file.
func TestReadTestimonyLocal(t *testing.T) {
	for _, kind := range []string{"haproxy", "caddy"} {
		dir := filepath.Join("testdata", "testimony")
		a, err := os.Open(filepath.Join(dir, kind+"-access.log"))
		if err != nil {
			t.Fatal(err)
		}
		e, err := os.Open(filepath.Join(dir, kind+"-error.log"))
		if err != nil {
			t.Fatal(err)
		}
		ts, err := ReadTestimony(kind, a, e)
		a.Close()
		e.Close()
		if err != nil || len(ts) == 0 {
			t.Fatalf("%s: got %d entries, %v", kind, len(ts), err)
		}
		var buf bytes.Buffer
		if err := results.WriteTestimony(&buf, ts); err != nil {
			t.Fatal(err)
		}
		back, err := results.ReadTestimony(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if len(back) != len(ts) {
			t.Fatalf("%s: %d entries back, want %d", kind, len(back), len(ts))
		}
		for i := range ts {
			if !back[i].Time.Equal(ts[i].Time) || back[i].Words != ts[i].Words || back[i].Status != ts[i].Status {
				t.Errorf("%s entry %d: got %+v back, want %+v", kind, i, back[i], ts[i])
			}
		}
	}
}

// nginxAt formats an nginx error log line at second sec of the test day.
func nginxAt(sec int, level, conn, msg string) string {
	at := time.Unix(1795651500+int64(sec), 0).UTC().Format("2006/01/02 15:04:05")
	if conn != "" {
		conn = "*" + conn + " "
	}
	return at + " [" + level + "] 1#1: " + conn + msg + `, client: 127.0.0.1, server: , request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:1/", host: "h"`
}

func TestReadTestimonyNginxJoin(t *testing.T) {
	const (
		closed = "upstream prematurely closed connection while reading response header from upstream"
		body   = "upstream prematurely closed connection while reading upstream"
	)
	// On connection 7, all in second 0: a 200 whose body broke off, a
	// 502, a 200; the body error is logged first but the 502's error
	// still goes to the 502, and the body error to the first without a
	// failed try. Seq 4 on connection 8 ended a second after its error.
	access := strings.Join([]string{
		`gc1 1795651500.100 7 1 "a" "1" 200 "200" "0.050" 0.050`,
		`gc1 1795651500.200 7 2 "a" "2" 502 "502" "0.001" 0.001`,
		`gc1 1795651500.300 7 3 "a" "3" 200 "200" "0.001" 0.001`,
		`gc1 1795651502.500 8 1 "a" "4" 504 "504" "2.000" 2.000`,
		`gc1 1795651503.000 9 1 "-" "-" 200 "-" "-" 0.000`,
	}, "\n") + "\n"
	errorLog := strings.Join([]string{
		nginxAt(0, "notice", "", "start worker processes"),
		nginxAt(0, "error", "7", body),
		nginxAt(0, "error", "7", closed),
		nginxAt(0, "info", "7", "client 127.0.0.1 closed keepalive connection"),
		nginxAt(1, "error", "8", "upstream timed out (110: Connection timed out) while reading response header from upstream"),
		nginxAt(2, "warn", "", "an upstream response is buffered to a temporary file"),
		nginxAt(3, "error", "99", "no live upstreams while connecting to upstream"),
	}, "\n")
	ts, err := readTestimony("nginx", strings.NewReader(access), strings.NewReader(errorLog), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	words := map[string]string{}
	var alone []string
	for _, x := range ts {
		switch {
		case x.Seq != nil:
			words[fmt.Sprintf("%s/%d", x.Attack, *x.Seq)] = x.Words
		case x.Status == 0:
			alone = append(alone, x.Words)
		default:
			if x.Upstream != nil || x.Retries != 0 || x.Words != "" {
				t.Errorf("no upstream: got %+v, want no upstream, retries or words", x)
			}
		}
	}
	for _, c := range []struct{ req, words string }{
		{"a/1", body}, {"a/2", closed}, {"a/3", ""},
		{"a/4", "upstream timed out (110: Connection timed out) while reading response header from upstream"},
	} {
		if words[c.req] != c.words {
			t.Errorf("%s: got words %q, want %q", c.req, words[c.req], c.words)
		}
	}
	want := []string{"an upstream response is buffered to a temporary file", "no live upstreams while connecting to upstream"}
	if !reflect.DeepEqual(alone, want) {
		t.Errorf("lines on their own: got %q, want %q", alone, want)
	}
	checkOrder(t, "nginx", ts)
}

func TestReadTestimonyHAProxyLines(t *testing.T) {
	for _, c := range []struct {
		line    string
		attack  string
		seq     *uint64
		status  int
		retries int
		words   string
		at      time.Time
	}{
		{line: "gc1 1795651535.781 s 1 200 ---- 0 0 0 26 26 good/up", attack: "s", seq: u64p(1), status: 200,
			at: time.Unix(1795651535, 807e6)},
		{line: "gc1 1795651535.781 my attack 12 502 SH-- +2 0 0 -1 5 be/up", attack: "my attack", seq: u64p(12), status: 502, retries: 2,
			words: "SH--: the server aborted before sending full headers", at: time.Unix(1795651535, 786e6)},
		{line: "gc1 1795651535.781 - - -1 CD-- 0 0 0 3 -1 be/up", status: 0,
			words: "CD--: the client aborted during the data transfer", at: time.Unix(1795651535, 781e6)},
		{line: "gc1 1795651535.781 s x 503 sQ-- 0 1000 -1 -1 1000 be/<NOSRV>", attack: "s", status: 503,
			words: "sQ--: the queue timeout expired", at: time.Unix(1795651536, 781e6)},
		{line: "gc1 1795651535.781 s 3 400 ZZ-- 0 0 0 0 0 fe/<NOSRV>", attack: "s", seq: u64p(3), status: 400,
			words: "ZZ--: an unknown termination state", at: time.Unix(1795651535, 781e6)},
	} {
		ts, err := readTestimony("haproxy", strings.NewReader(c.line), nil, time.UTC)
		if err != nil || len(ts) != 1 {
			t.Errorf("%s: got %+v, %v; want one entry", c.line, ts, err)
			continue
		}
		g := ts[0]
		if g.Attack != c.attack || !reflect.DeepEqual(g.Seq, c.seq) || g.Status != c.status || g.Retries != c.retries || g.Words != c.words || !g.Time.Equal(c.at) {
			t.Errorf("%s:\ngot  %q %v %d %d %q %v\nwant %q %v %d %d %q %v", c.line,
				g.Attack, g.Seq, g.Status, g.Retries, g.Words, g.Time, c.attack, c.seq, c.status, c.retries, c.words, c.at)
		}
	}
}

func TestReadTestimonyCaddyJoin(t *testing.T) {
	req := func(port, seq string) string {
		h := `"User-Agent":["x"]`
		if seq != "" {
			h += `,"X-Vegeta-Attack":["a"],"x-vegeta-seq":["` + seq + `"]`
		}
		return `"request":{"remote_ip":"127.0.0.1","remote_port":"` + port + `","headers":{` + h + `}}`
	}
	access := strings.Join([]string{
		`{"level":"info","ts":100.5,"logger":"http.log.access.log0","msg":"handled request",` + req("1", "1") + `,"duration":0.5,"status":502}`,
		`{"level":"info","ts":101.5,"logger":"http.log.access.log0","msg":"handled request",` + req("2", "") + `,"duration":0.1,"status":502}`,
		`{"level":"info","ts":"1970-01-01T00:01:43Z","logger":"http.log.access","msg":"handled request",` + req("3", "") + `,"duration":1,"status":200}`,
	}, "\n")
	errorLog := strings.Join([]string{
		`{"level":"warn","ts":99,"logger":"admin","msg":"admin endpoint disabled"}`,
		`{"level":"debug","ts":100.2,"logger":"http.handlers.reverse_proxy","msg":"upstream roundtrip",` + req("1", "1") + `,"status":503}`,
		`{"level":"debug","ts":100.4,"logger":"http.handlers.reverse_proxy","msg":"upstream roundtrip",` + req("1", "1") + `,"error":"EOF"}`,
		`{"level":"error","ts":100.45,"logger":"http.log.error.log0","msg":"EOF",` + req("1", "1") + `,"status":502}`,
		`{"level":"error","ts":101.45,"logger":"http.log.error.log0","msg":"dial tcp: connection refused",` + req("2", "") + `,"status":502}`,
		`{"level":"error","ts":102.5,"logger":"http.handlers.reverse_proxy","msg":"aborting with incomplete response","error":"unexpected EOF"}`,
		`{"level":"error","ts":104,"logger":"http.log.error.log0","msg":"no access line",` + req("4", "9") + `,"status":502}`,
		`{"level":"error","ts":105,"logger":"http.handlers.reverse_proxy","msg":"no request in flight"}`,
	}, "\n")
	ts, err := readTestimony("caddy", strings.NewReader(access), strings.NewReader(errorLog), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		seq      *uint64
		status   int
		upstream []string
		words    string
	}
	var got []row
	for _, x := range ts {
		got = append(got, row{x.Seq, x.Status, x.Upstream, x.Words})
	}
	want := []row{
		// By seq: two tries; the final error is a try's, said once.
		{u64p(1), 502, []string{"503", "-"}, "EOF"},
		// By connection.
		{nil, 502, nil, "dial tcp: connection refused"},
		// By time: the request in flight.
		{nil, 200, nil, "aborting with incomplete response: unexpected EOF"},
		// Tied to no access line but naming its seq.
		{u64p(9), 502, nil, "no access line"},
		{nil, 0, nil, "no request in flight"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	checkOrder(t, "caddy", ts)
}

func TestReadTestimonyEmpty(t *testing.T) {
	for _, kind := range []string{"nginx", "haproxy", "caddy"} {
		for _, in := range []io.Reader{nil, strings.NewReader(""), strings.NewReader("\n  \r\n\n")} {
			ts, err := readTestimony(kind, in, in, time.UTC)
			if err != nil || ts != nil {
				t.Errorf("%s, empty logs: got %v, %v; want nothing", kind, ts, err)
			}
		}
	}
	if _, err := ReadTestimony("envoy", nil, nil); err == nil || !strings.Contains(err.Error(), `"envoy"`) {
		t.Errorf("unknown gateway: got %v, want an error naming it", err)
	}
}

func TestReadTestimonyMalformed(t *testing.T) {
	const (
		nginxOK   = `gc1 1795651512.956 1 1 "s" "1" 200 "200" "0.000" 0.000`
		haproxyOK = "gc1 1795651535.781 s 1 200 ---- 0 0 0 26 26 good/up"
		caddyOK   = `{"level":"info","ts":1795651606.87,"logger":"http.log.access.log0","msg":"handled request","status":200}`
	)
	long := strings.Repeat("x", maxToldLine+10)
	for _, c := range []struct {
		name, kind, access, errorLog string
		entries                      int    // without an error
		err                          string // in the error; "" for none
	}{
		{name: "nginx: one bad line of three", kind: "nginx",
			access: nginxOK + "\ngc1 oops\n" + nginxOK, entries: 2},
		{name: "nginx: a line too long", kind: "nginx",
			access: nginxOK + "\n" + long + "\n" + nginxOK + "\n", entries: 2},
		{name: "nginx: the default combined format", kind: "nginx",
			access: nginxOK + "\n" + `127.0.0.1 - - [25/Nov/2026:23:57:06 +0000] "GET / HTTP/1.1" 502 157 "-" "curl"` + "\n" + `127.0.0.1 - - [25/Nov/2026:23:57:07 +0000] "GET / HTTP/1.1" 200 3 "-" "curl"`,
			err:    `nginx access log: 2 of 3 lines do not parse; line 2: got "127.0.0.1 - - [25/Nov/2026`},
		{name: "nginx: unquoted upstream status", kind: "nginx",
			access: `gc1 1795651512.956 1 1 "s" "1" 200 200 "0.000" 0.000`, err: "want `gc1 $msec $connection"},
		{name: "nginx: a status of four digits", kind: "nginx",
			access: `gc1 1795651512.956 1 1 "s" "1" 2000 "200" "0.000" 0.000`, err: "line 1"},
		{name: "nginx: error log not nginx's", kind: "nginx",
			errorLog: "hello\nworld\n2026/11/26 00:04:32 [notice] 7190#7190: nginx/1.22.1", err: "nginx error log: 2 of 3 lines do not parse; line 1"},
		{name: "nginx: unknown level", kind: "nginx",
			errorLog: "2026/11/26 00:04:32 [loud] 7190#7190: x", err: "nginx error log"},
		{name: "haproxy: bad termination state", kind: "haproxy",
			access: "gc1 1795651535.781 s 1 200 -- 0 0 0 26 26 good/up", err: "want `gc1 %Ts.%ms"},
		{name: "haproxy: too few fields", kind: "haproxy",
			access: "gc1 1795651535.781 200 ---- 0 0 0 26 26 good/up", err: "haproxy access log: 1 of 1"},
		{name: "haproxy: its own messages are not failures", kind: "haproxy",
			access: "Proxy fe started.\nServer be/up is DOWN, reason: x\n" + haproxyOK, entries: 1},
		{name: "haproxy: stderr not HAProxy's", kind: "haproxy",
			errorLog: "panic: x", err: "haproxy error log"},
		{name: "caddy: not JSON", kind: "caddy",
			access: caddyOK + "\nnot json\n{\"ts\":\"never\"}", err: `caddy access log: 2 of 3 lines do not parse; line 2: got "not json", want a JSON object`},
		{name: "caddy: access without status", kind: "caddy",
			access: `{"level":"info","ts":1,"logger":"http.log.access","msg":"handled request"}`, err: "caddy access log"},
		{name: "caddy: error log broken", kind: "caddy",
			access: caddyOK, errorLog: "{", err: "caddy error log"},
		{name: "caddy: a bad line of two", kind: "caddy",
			access: caddyOK + "\n{\"level\":\"info\"}", entries: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts, err := readTestimony(c.kind, strings.NewReader(c.access), strings.NewReader(c.errorLog), time.UTC)
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case c.err == "" && len(ts) != c.entries:
				t.Fatalf("got %d entries, want %d", len(ts), c.entries)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("got %v, want an error with %q", err, c.err)
			}
		})
	}
}

// FuzzReadTestimony feeds each parser arbitrary logs: no panics, and what
// it returns is sorted, names its gateway and can be written.
func FuzzReadTestimony(f *testing.F) {
	kinds := []string{"nginx", "haproxy", "caddy"}
	for _, fx := range []struct {
		name string
		kind uint8
	}{{"nginx", 0}, {"haproxy", 1}, {"haproxy-separate", 1}, {"caddy", 2}, {"caddy-debug", 2}} {
		name := fx.name
		dir := filepath.Join("testdata", "testimony")
		a, err := os.ReadFile(filepath.Join(dir, name+"-access.log"))
		if err != nil {
			f.Fatal(err)
		}
		e, err := os.ReadFile(filepath.Join(dir, name+"-error.log"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fx.kind, a, e)
		// Each kind's logs read as another's.
		f.Add(fx.kind+1, a, e)
	}
	f.Add(uint8(0), []byte(`gc1 1.5 1 1 "\x22" "18446744073709551616" 009 "502, - : 200" "-" 9e9`), []byte("2026/11/26 00:04:32 [error] 1#1: *1"))
	f.Add(uint8(1), []byte("gc1 9999999999.999 - - -1 sH-- +3 -1 -1 -1 99999999999 a/b\n"), []byte("[ALERT] (1) : x\n["))
	f.Add(uint8(2), []byte(`{"level":"error","ts":1e300,"logger":"http.log.access","status":1}`), []byte(`{"level":"debug","ts":"2026-11-26T00:00:00Z","logger":"http.handlers.reverse_proxy","msg":"upstream roundtrip","request":{"headers":{"X-Vegeta-Seq":["1"]}},"status":200}`))
	f.Fuzz(func(t *testing.T, k uint8, access, errorLog []byte) {
		kind := kinds[int(k)%len(kinds)]
		ts, err := readTestimony(kind, bytes.NewReader(access), bytes.NewReader(errorLog), time.UTC)
		if err != nil {
			if ts != nil {
				t.Fatalf("got entries and an error: %v", err)
			}
			return
		}
		checkOrder(t, kind, ts)
		if err := results.WriteTestimony(io.Discard, ts); err != nil {
			t.Fatalf("testimony cannot be written: %v", err)
		}
		for _, x := range ts {
			if x.Retries < 0 || x.Status < 0 || x.Status > 999 {
				t.Fatalf("entry %+v: retries or status out of range", x)
			}
		}
	})
}

func TestReadTestimonyBuiltin(t *testing.T) {
	log := `2026-11-25T23:57:10.216819141Z status=502 attack="upstream-resets" seq=448 error="read tcp 127.0.0.1:41160->127.0.0.1:35895: read: connection reset by peer"
2026-11-25T23:57:10.30340741Z proxy-error="httputil: ReverseProxy read error during body copy: unexpected EOF"
2026-11-25T23:57:11Z status=504 attack="a b" seq=9 error="net/http: timeout awaiting response headers"
`
	ts, err := ReadTestimony("builtin", strings.NewReader(log), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 {
		t.Fatalf("got %d entries, want 3: %+v", len(ts), ts)
	}
	if e := ts[0]; e.Seq == nil || *e.Seq != 448 || e.Status != 502 || e.Attack != "upstream-resets" || !strings.Contains(e.Words, "connection reset by peer") || e.Gateway != "builtin" {
		t.Errorf("first: got %+v", e)
	}
	if e := ts[1]; e.Seq != nil || !strings.Contains(e.Words, "body copy") {
		t.Errorf("proxy message: got %+v, want it without a seq", e)
	}
	if e := ts[2]; e.Seq == nil || *e.Seq != 9 || e.Attack != "a b" || e.Status != 504 {
		t.Errorf("third: got %+v", e)
	}
	if _, err := ReadTestimony("builtin", strings.NewReader("nonsense\nmore nonsense\n"), nil); err == nil || !strings.Contains(err.Error(), "built-in gateway log: 2 of 2 lines do not parse") {
		t.Errorf("garbage: got %v", err)
	}
}
