package lab

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

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

func TestReadTestimonyHAProxyLines(t *testing.T) {
	for _, c := range []struct {
		line    string
		attack  string
		seq     *uint64
		status  int
		retries int
		words   string
		at      time.Time
		wait    *float64 // %Tw + %Tc; nil when either is -1
	}{
		{line: "gc1 1795651535.781 s 1 200 ---- 0 0 0 26 26 good/up", attack: "s", seq: u64p(1), status: 200,
			at: time.Unix(1795651535, 807e6), wait: f64p(0)},
		{line: "gc1 1795651535.781 my attack 12 502 SH-- +2 0 0 -1 5 be/up", attack: "my attack", seq: u64p(12), status: 502, retries: 2,
			words: "SH--: the server aborted before sending full headers", at: time.Unix(1795651535, 786e6), wait: f64p(0)},
		{line: "gc1 1795651535.781 - - -1 CD-- 0 0 0 3 -1 be/up", status: 0,
			words: "CD--: the client aborted during the data transfer", at: time.Unix(1795651535, 781e6), wait: f64p(0)},
		{line: "gc1 1795651535.781 s x 503 sQ-- 0 1000 -1 -1 1000 be/<NOSRV>", attack: "s", status: 503,
			words: "sQ--: the queue timeout expired", at: time.Unix(1795651536, 781e6)},
		{line: "gc1 1795651535.781 s 3 400 ZZ-- 0 0 0 0 0 fe/<NOSRV>", attack: "s", seq: u64p(3), status: 400,
			words: "ZZ--: an unknown termination state", at: time.Unix(1795651535, 781e6), wait: f64p(0)},
		// Three refused connects, then one that held: Tc holds them
		// all, with HAProxy's turn-around of a second between them.
		{line: "gc1 1795651535.781 s 20 200 ---- +3 0 3004 250 3255 be/up", attack: "s", seq: u64p(20), status: 200, retries: 3,
			at: time.Unix(1795651539, 36e6), wait: f64p(3004)},
		// Queued 1.5 s for a server slot (maxconn), then connected in 2 ms.
		{line: "gc1 1795651535.781 s 21 200 ---- 0 1500 2 1000 2503 be/up 1", attack: "s", seq: u64p(21), status: 200,
			at: time.Unix(1795651538, 284e6), wait: f64p(1502)},
		// Never connected: no attempt answered.
		{line: "gc1 1795651535.781 s 22 503 SC-- +3 0 -1 -1 3003 be/up -", attack: "s", seq: u64p(22), status: 503, retries: 3,
			words: "SC--: the server refused the connection", at: time.Unix(1795651538, 784e6)},
		// Aborted before the queue.
		{line: "gc1 1795651535.781 s 23 -1 CR-- 0 -1 -1 -1 10 fe/<NOSRV>", attack: "s", seq: u64p(23),
			words: "CR--: the client aborted before sending the full request", at: time.Unix(1795651535, 791e6)},
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
		if !reflect.DeepEqual(g.WaitMS, c.wait) {
			t.Errorf("%s: got wait %s, want %s", c.line, fmtWait(g.WaitMS), fmtWait(c.wait))
		}
	}
}
