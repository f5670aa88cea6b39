package lab

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

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

// TestReadTestimonyNginxWait reads how long nginx held each request before
// its last try began (WaitMS), from lines of the three gc1 formats: the
// first (no try), with the client's try, and with each try's connect time.
func TestReadTestimonyNginxWait(t *testing.T) {
	for _, c := range []struct {
		name string
		line string
		try  int
		wait *float64
	}{
		{"first format", `gc1 1795651500.100 7 1 "a" "1" 200 "200" "2.000" 2.001`, 0, f64p(1)},
		{"with the try", `gc1 1795651500.100 7 1 "a" "1" 200 "200" "2.000" 2.001 "2"`, 2, f64p(1)},
		{"with connect times", `gc1 1795651500.100 7 1 "a" "1" 200 "200" "2.000" 2.001 "-" "0.004"`, 0, f64p(5)},
		// The upstream answered slowly: nginx held it for nothing.
		{"slow upstream", `gc1 1795651500.100 7 1 "a" "1" 200 "200" "1.500" 1.500 "-" "0.000"`, 0, f64p(0)},
		// A refused try (1 ms to fail), then a slow 200: the failed try
		// is the wait.
		{"a retried try", `gc1 1795651500.100 7 1 "a" "1" 200 "502, 200" "0.001, 1.000" 1.001 "-" "0.001, 0.000"`, 0, f64p(1)},
		// A try timed out after 2 s, the next answered at once.
		{"a timed-out try", `gc1 1795651500.100 7 1 "a" "1" 200 "504, 200" "2.000, 0.003" 2.004 "-" "0.000, 0.001"`, 0, f64p(2002)},
		// After an internal redirect (error_page): the last group's last
		// try.
		{"groups", `gc1 1795651500.100 7 1 "a" "1" 200 "502 : 200" "0.010 : 0.020" 0.031 "-" "0.001 : 0.002"`, 0, f64p(13)},
		// Rounding: the try's time above the request's is 0.
		{"rounding", `gc1 1795651500.100 7 1 "a" "1" 9 "200" "0.101" 0.100`, 0, f64p(0)},
		// The last try has no connect time: nothing to add.
		{"no connect", `gc1 1795651500.100 7 1 "a" "1" 502 "502" "0.003" 0.010 "1" "-"`, 1, f64p(7)},
		// No upstream at all, and a try without a time.
		{"no upstream", `gc1 1795651500.100 7 1 "a" "1" 200 "-" "-" 0.000 "-" "-"`, 0, nil},
		{"no time", `gc1 1795651500.100 7 1 "a" "1" 499 "-" "-, -" 0.200 "-" "-"`, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts, err := readTestimony("nginx", strings.NewReader(c.line), nil, time.UTC)
			if err != nil || len(ts) != 1 {
				t.Fatalf("got %+v, %v; want one entry", ts, err)
			}
			if g := ts[0]; !reflect.DeepEqual(g.WaitMS, c.wait) || g.Try != c.try {
				t.Errorf("got wait %s, try %d; want %s, %d", fmtWait(g.WaitMS), g.Try, fmtWait(c.wait), c.try)
			}
		})
	}
}
