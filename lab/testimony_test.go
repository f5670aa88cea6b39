package lab

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
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
	access, errorLog := fixtureLogs(t, name)
	ts, err := readTestimony(kind, bytes.NewReader(access), bytes.NewReader(errorLog), time.UTC)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ts
}

// fixtureLogs returns the fixture logs name-access.log and
// name-error.log.
func fixtureLogs(t testing.TB, name string) (access, errorLog []byte) {
	t.Helper()
	dir := filepath.Join("testdata", "testimony")
	access, err := os.ReadFile(filepath.Join(dir, name+"-access.log"))
	if err != nil {
		t.Fatal(err)
	}
	errorLog, err = os.ReadFile(filepath.Join(dir, name+"-error.log"))
	if err != nil {
		t.Fatal(err)
	}
	return access, errorLog
}

func u64p(n uint64) *uint64 { return &n }

func f64p(v float64) *float64 { return &v }

// fmtWait formats a WaitMS for a test's message: its value, or nil.
func fmtWait(w *float64) string {
	if w == nil {
		return "nil"
	}
	return strconv.FormatFloat(*w, 'f', -1, 64)
}

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

// TestReadTestimonyLocal reads through the exported function, in the local
// zone (HAProxy's and Caddy's logs do not depend on it), and checks the
// testimony survives results' file.
func TestReadTestimonyLocal(t *testing.T) {
	for _, kind := range []string{"haproxy", "caddy"} {
		a, e := fixtureLogs(t, kind)
		ts, err := ReadTestimony(kind, bytes.NewReader(a), bytes.NewReader(e))
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
		{name: "nginx: connect times unquoted", kind: "nginx",
			access: `gc1 1795651512.956 1 1 "s" "1" 200 "200" "0.000" 0.000 "-" 0.000`, err: "nginx access log: 1 of 1"},
		{name: "nginx: a field too many", kind: "nginx",
			access: `gc1 1795651512.956 1 1 "s" "1" 200 "200" "0.000" 0.000 "-" "0.000" "x"`, err: "nginx access log: 1 of 1"},
		{name: "nginx: the three formats", kind: "nginx",
			access: nginxOK + "\n" + nginxOK + ` "1"` + "\n" + nginxOK + ` "1" "0.000"`, entries: 3},
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
	kinds := []string{"nginx", "haproxy", "caddy", "builtin"}
	for _, fx := range []struct {
		name string
		kind uint8
	}{{"nginx", 0}, {"haproxy", 1}, {"haproxy-separate", 1}, {"caddy", 2}, {"caddy-debug", 2}} {
		a, e := fixtureLogs(f, fx.name)
		f.Add(fx.kind, a, e)
		// Each kind's logs read as another's.
		f.Add(fx.kind+1, a, e)
	}
	f.Add(uint8(0), []byte(`gc1 1.5 1 1 "\x22" "18446744073709551616" 009 "502, - : 200" "-" 9e9`), []byte("2026/11/26 00:04:32 [error] 1#1: *1"))
	f.Add(uint8(1), []byte("gc1 9999999999.999 - - -1 sH-- +3 -1 -1 -1 99999999999 a/b\n"), []byte("[ALERT] (1) : x\n["))
	// The formats with the client's try number last.
	f.Add(uint8(0), []byte(`gc1 1795651500.100 7 1 "a" "5" 200 "502, 200" "0.001, 0.001" 0.002 "3"`+"\n"), []byte(nil))
	// nginx's with each try's connect time last; HAProxy's with a queue
	// and connect retries (WaitMS).
	f.Add(uint8(0), []byte(`gc1 1795651500.100 7 1 "a" "5" 200 "502 : 200" "0.001, : 9e9" 0.002 "3" "-, 0.001 :"`+"\n"+`gc1 1.1 7 1 "a" "6" 200 "200" "1.000" 0.5 "-" "0.2"`), []byte(nil))
	f.Add(uint8(1), []byte("gc1 1795651500.100 a 5 200 ---- +3 1500 3004 1 4600 upstream/proxy 2\ngc1 1.000 a 6 200 ---- 0 999999999999 999999999999 1 1 upstream/proxy -\n"), []byte(nil))
	f.Add(uint8(1), []byte("gc1 1795651500.100 a b 5 200 ---- +1 0 0 1 1 upstream/proxy 2\ngc1 1.000 a 5 200 ---- 0 0 0 1 1 upstream/proxy -\n"), []byte(nil))
	f.Add(uint8(2), []byte(`{"level":"error","ts":1e300,"logger":"http.log.access","status":1}`), []byte(`{"level":"debug","ts":"2026-11-26T00:00:00Z","logger":"http.handlers.reverse_proxy","msg":"upstream roundtrip","request":{"headers":{"X-Vegeta-Seq":["1"]}},"status":200}`))
	// The built-in gateway's, with wait_ms and the format before it.
	f.Add(uint8(3), []byte("2026-11-25T23:57:10Z status=502 attack=\"a\" seq=1 wait_ms=0.412 error=\"EOF\"\n2026-11-25T23:57:11Z status=504 attack=\"a\" seq=2 error=\"x\"\n2026-11-25T23:57:12Z status=502 attack=\"a\" seq=3 wait_ms=- error=\"x\"\n"), []byte(nil))
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
			if x.Retries < 0 || x.Status < 0 || x.Status > 999 || x.Try < 0 {
				t.Fatalf("entry %+v: retries, status or try out of range", x)
			}
			if x.WaitMS != nil && (*x.WaitMS < 0 || *x.WaitMS != *x.WaitMS) {
				t.Fatalf("entry %+v: wait %v, want a number of ms, 0 or more", x, *x.WaitMS)
			}
		}
	})
}
