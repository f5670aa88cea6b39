package lab

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

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

// TestReadTestimonyCaddyWait reads how long Caddy held each request before
// its last try began (WaitMS): only its debug lines, one per try with its
// duration, say; its access log alone does not.
func TestReadTestimonyCaddyWait(t *testing.T) {
	access := func(seq string, ts float64, duration string) string {
		d := ""
		if duration != "" {
			d = `,"duration":` + duration
		}
		return fmt.Sprintf(`{"level":"info","ts":%.6f,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"127.0.0.1","remote_port":"1","headers":{"X-Vegeta-Attack":["a"],"X-Vegeta-Seq":["%s"]}},"status":200%s}`, ts, seq, d)
	}
	try := func(seq string, ts float64, duration, outcome string) string {
		d := ""
		if duration != "" {
			d = `,"duration":` + duration
		}
		return fmt.Sprintf(`{"level":"debug","ts":%.6f,"logger":"http.handlers.reverse_proxy","msg":"upstream roundtrip","request":{"headers":{"X-Vegeta-Attack":["a"],"X-Vegeta-Seq":["%s"]}}%s,%s}`, ts, seq, d, outcome)
	}
	const ok, refused = `"status":200`, `"error":"dial tcp: connection refused"`
	for _, c := range []struct {
		name          string
		access, tries []string
		wait          *float64
	}{
		// Began at 100.000, its one try at 100.001 took 1.5 s.
		{"slow upstream", []string{access("1", 101.6, "1.6")}, []string{try("1", 101.501, "1.5", ok)}, f64p(1)},
		// A refused try, lb_try_interval 250 ms, a try that answered.
		{"a retried try", []string{access("1", 100.5, "0.5")},
			[]string{try("1", 100.001, "0.001", refused), try("1", 100.452, "0.2", ok)}, f64p(252)},
		{"no debug lines", []string{access("1", 101.6, "1.6")}, nil, nil},
		{"no duration on the access line", []string{access("1", 101.6, "")}, []string{try("1", 101.501, "1.5", ok)}, nil},
		{"no duration on the last try", []string{access("1", 100.5, "0.5")},
			[]string{try("1", 100.001, "0.001", refused), try("1", 100.452, "", ok)}, nil},
		// Its try said to begin before the request: 0.
		{"out of order", []string{access("1", 101, "0.5")}, []string{try("1", 100.9, "0.6", ok)}, f64p(0)},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts, err := readTestimony("caddy", strings.NewReader(strings.Join(c.access, "\n")), strings.NewReader(strings.Join(c.tries, "\n")), time.UTC)
			if err != nil || len(ts) != 1 {
				t.Fatalf("got %+v, %v; want one entry", ts, err)
			}
			got := ts[0].WaitMS
			if (got == nil) != (c.wait == nil) || (got != nil && math.Abs(*got-*c.wait) > 0.01) {
				t.Errorf("got wait %s, want %s", fmtWait(got), fmtWait(c.wait))
			}
		})
	}
	// The real logs: at level INFO nothing; at DEBUG seq 8's refused try
	// and Caddy's lb_try_interval (250 ms), seq 9's five tries over 1 s
	// (lb_try_duration), seq 1 nothing.
	for _, x := range readFixture(t, "caddy", "caddy") {
		if x.WaitMS != nil {
			t.Errorf("caddy (INFO) %v: got wait %s, want nil", x.Seq, fmtWait(x.WaitMS))
		}
	}
	bounds := map[uint64][2]float64{1: {0, 5}, 8: {250, 300}, 9: {1000, 1100}}
	for _, x := range readFixture(t, "caddy-debug", "caddy") {
		if x.Seq == nil {
			continue
		}
		b, ok := bounds[*x.Seq]
		if ok && (x.WaitMS == nil || *x.WaitMS < b[0] || *x.WaitMS > b[1]) {
			t.Errorf("caddy-debug seq %d: got wait %s, want %v to %v", *x.Seq, fmtWait(x.WaitMS), b[0], b[1])
		}
	}
}
