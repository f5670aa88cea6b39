package lab

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// maxToldLine is the longest log line read whole; a longer one is skipped
// and counted as not parsed.
const maxToldLine = 1 << 20

// toldSlack absorbs the rounding of logged times (nginx's $msec and
// $request_time have millisecond resolution).
const toldSlack = time.Millisecond

// ReadTestimony parses the access and error logs of a gateway of kind
// (nginx, haproxy, caddy) that gatecrash started, written in the formats
// of gatecrash's templates (nginx: log_format gatecrash, "gc1 $msec
// $connection ..."; HAProxy: log-format "gc1 %Ts.%ms ...", its stdout
// being the access log and its stderr the error log; Caddy: its JSON
// logs), into the gateway's testimony: one entry per access log line,
// with the words of the error log lines about the same request merged
// into its Words (joined with "; ", in the order logged), sorted by time,
// then seq (none first). Error log lines that cannot be tied to an access
// line are entries of their own, with Seq nil unless the line itself
// names the request (Caddy's do). A nil reader is an empty log.
//
// An error line is tied to its request by seq where it carries one
// (Caddy's request headers), else by connection and time:
//
//   - nginx: the error line's *N is the access line's $connection. Of the
//     requests on that connection in flight during the error's second
//     (begun $request_time before $msec, ended at or after the second), an
//     error at or before the upstream's response headers ("while
//     connecting to upstream", "while sending request to upstream", "while
//     reading response header from upstream") goes to the first whose
//     $upstream_status still has a failed try (5xx or "-") not yet given an
//     error line; any other error to the first without a failed try; else
//     the first in flight; else the first request on the connection that
//     ended at or after the error's second. Info and notice lines are kept
//     only if they mention the upstream; debug lines never.
//   - HAProxy: the access line says it all (Words is the termination state
//     and its gloss); an access line also logged to stderr counts once.
//     Its console lines on stderr are never tied: warnings and alerts are
//     entries of their own with a zero Time (HAProxy logs none).
//   - Caddy: a line without seq but with the client's address goes to the
//     first access entry of that connection logged at or after it; a line
//     without either (the reverse proxy's "aborting with incomplete
//     response") to the request in flight at its time that ended first.
//     Each "upstream roundtrip" line (debug level) is one try: its status,
//     or "-" for an error, is appended to Upstream.
//
// Each access entry's WaitMS, how long the gateway held the request before
// its last try upstream began, is HAProxy's %Tw + %Tc (haproxyToldWait);
// nginx's $request_time less the last try's $upstream_response_time, plus
// its $upstream_connect_time where the line has it (nginxToldWait);
// Caddy's only from its debug "upstream roundtrip" lines, nil at level
// INFO (caddyToldWait); the built-in gateway's wait_ms.
//
// nginx's error log has local time with one second's resolution: it is
// read in time.Local, the zone of the nginx gatecrash started.
//
// Lines that do not parse are skipped and counted; when more than half of
// a log's lines do not parse, ReadTestimony returns an error naming the
// log, the first such line and the format it expected. The caller adds
// the file's path.
func ReadTestimony(kind string, access, errorLog io.Reader) ([]results.Testimony, error) {
	return readTestimony(kind, access, errorLog, time.Local)
}

// readTestimony is ReadTestimony with nginx's error log read in loc.
func readTestimony(kind string, access, errorLog io.Reader, loc *time.Location) ([]results.Testimony, error) {
	c := &toldLog{kind: kind, byConn: map[string][]*toldEntry{}, bySeq: map[toldKey][]*toldEntry{}}
	var err error
	switch kind {
	case scenarios.GatewayNginx:
		err = c.readNginx(access, errorLog, loc)
	case scenarios.GatewayHAProxy:
		err = c.readHAProxy(access, errorLog)
	case scenarios.GatewayCaddy:
		err = c.readCaddy(access, errorLog)
	case scenarios.GatewayBuiltin:
		err = c.readBuiltin(access)
	default:
		return nil, fmt.Errorf("gateway testimony: unknown gateway %q; want nginx, haproxy, caddy or builtin", kind)
	}
	if err != nil {
		return nil, err
	}
	return c.testimony(), nil
}

// toldEntry is one access log line and what the error log said about it.
type toldEntry struct {
	t          results.Testimony
	conn       string    // the client connection, "" if unknown
	order      int       // nginx's $connection_requests
	start, end time.Time // when the request began and ended
	failed     int       // nginx: tries that failed
	claimed    int       // nginx: failed tries given an error line
	words      []string
	lastTry    string    // caddy: the last try's error, "" if it was answered
	tryStart   time.Time // caddy: when the last try began; zero if unknown
	timed      bool      // caddy: start is from a logged duration
}

type toldKey struct {
	attack string
	seq    uint64
}

// toldLog gathers one gateway's entries and lone error lines.
type toldLog struct {
	kind    string
	entries []*toldEntry
	byConn  map[string][]*toldEntry  // ordered by end
	bySeq   map[toldKey][]*toldEntry // ordered by end
	byEnd   []*toldEntry
	alone   []results.Testimony
}

func (c *toldLog) add(e *toldEntry) {
	e.t.Gateway = c.kind
	c.entries = append(c.entries, e)
}

// index orders the entries for tying error lines to them.
func (c *toldLog) index() {
	c.byEnd = append([]*toldEntry(nil), c.entries...)
	sort.SliceStable(c.byEnd, func(i, j int) bool {
		a, b := c.byEnd[i], c.byEnd[j]
		if !a.end.Equal(b.end) {
			return a.end.Before(b.end)
		}
		return a.order < b.order
	})
	for _, e := range c.byEnd {
		if e.conn != "" {
			c.byConn[e.conn] = append(c.byConn[e.conn], e)
		}
		if e.t.Seq != nil {
			k := toldKey{e.t.Attack, *e.t.Seq}
			c.bySeq[k] = append(c.bySeq[k], e)
		}
	}
}

// lone records an error line tied to no access line.
func (c *toldLog) lone(at time.Time, attack string, seq *uint64, status int, words string) {
	c.alone = append(c.alone, results.Testimony{
		Gateway: c.kind, Time: at, Attack: attack, Seq: seq, Status: status, Words: words,
	})
}

// testimony returns the entries and lone lines, sorted by time then seq.
func (c *toldLog) testimony() []results.Testimony {
	out := make([]results.Testimony, 0, len(c.entries)+len(c.alone))
	for _, e := range c.entries {
		if len(e.words) > 0 {
			e.t.Words = strings.Join(e.words, "; ")
		}
		out = append(out, e.t)
	}
	out = append(out, c.alone...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		switch {
		case a.Seq == nil || b.Seq == nil:
			return a.Seq == nil && b.Seq != nil
		default:
			return *a.Seq < *b.Seq
		}
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

// toldTally counts a log's lines and those that did not parse.
type toldTally struct {
	name       string // "nginx access log"
	lines, bad int
	firstNo    int
	firstLine  string
	firstWant  string
}

func (t *toldTally) ok() { t.lines++ }

func (t *toldTally) fail(no int, line, want string) {
	t.lines++
	t.bad++
	if t.bad == 1 {
		if len(line) > 80 {
			line = line[:80] + "..."
		}
		t.firstNo, t.firstLine, t.firstWant = no, line, want
	}
}

func (t *toldTally) err() error {
	if t.bad*2 <= t.lines {
		return nil
	}
	return fmt.Errorf("%s: %d of %d lines do not parse; line %d: got %q, want %s",
		t.name, t.bad, t.lines, t.firstNo, t.firstLine, t.firstWant)
}

// eachToldLine calls fn with each line of r that is not blank, without its
// line end, and its line number (from 1); a line longer than maxToldLine
// comes cut short, with long set. A nil r has no lines.
func eachToldLine(name string, r io.Reader, fn func(no int, line string, long bool)) error {
	if r == nil {
		return nil
	}
	br := bufio.NewReader(r)
	for no := 1; ; no++ {
		var line []byte
		long := false
		var err error
		for {
			var frag []byte
			frag, err = br.ReadSlice('\n')
			if len(line)+len(frag) <= maxToldLine+2 {
				line = append(line, frag...)
			} else {
				long = true
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("%s: line %d: %w", name, no, err)
		}
		s := strings.TrimRight(string(line), "\r\n")
		if strings.TrimSpace(s) != "" {
			fn(no, s, long || len(s) > maxToldLine)
		}
		if err == io.EOF {
			return nil
		}
	}
}

// readToldLog runs parse on each line of r, counting lines, and returns the
// tally's error.
func readToldLog(name string, r io.Reader, want string, parse func(no int, line string) (ok bool)) error {
	t := &toldTally{name: name}
	err := eachToldLine(name, r, func(no int, line string, long bool) {
		switch {
		case long:
			t.fail(no, line, fmt.Sprintf("a line shorter than %d bytes", maxToldLine))
		case parse(no, line):
			t.ok()
		default:
			t.fail(no, line, want)
		}
	})
	if err != nil {
		return err
	}
	return t.err()
}

// toldLevelWarn is the level of a warning, in nginx's and Caddy's levels
// (nginxToldLevels, caddyToldLevels) alike.
const toldLevelWarn = 3

// Times, durations, seqs and digits, as every gateway logs them.

// parseToldUnix parses seconds since the epoch written as a decimal
// ("1764115026.123"), exactly to the nanosecond.
func parseToldUnix(s string) (time.Time, bool) {
	d, ok := parseToldSeconds(s)
	if !ok {
		return time.Time{}, false
	}
	t := time.Unix(0, 0).Add(d)
	return t, toldTime(t)
}

// parseToldSeconds parses a non-negative decimal number of seconds
// ("0.001"); a number in exponent form is read as a float.
func parseToldSeconds(s string) (time.Duration, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || !toldDigits(whole) || (frac != "" && !toldDigits(frac)) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f >= float64(maxToldSeconds) || f != f {
			return 0, false
		}
		return time.Duration(f * float64(time.Second)), true
	}
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || sec >= maxToldSeconds {
		return 0, false
	}
	if len(frac) > 9 {
		frac = frac[:9]
	}
	ns := int64(0)
	if frac != "" {
		ns, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	return time.Duration(sec)*time.Second + time.Duration(ns), true
}

// maxToldSeconds bounds logged times and durations: a time.Duration holds
// about 292 years; any time a gateway logs is well within.
const maxToldSeconds = 1 << 33

// toldTime reports whether t is a time a log can hold and JSON can write.
func toldTime(t time.Time) bool {
	return t.Year() >= 1970 && t.Year() <= 9999
}

// parseToldSeq parses an X-Vegeta-Seq value; nil if it is not a number.
func parseToldSeq(s string) *uint64 {
	s = strings.TrimSpace(s)
	if !toldDigits(s) {
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// maxToldTry is the largest try number read, as the fault proxy reads it.
const maxToldTry = 1<<31 - 1

// parseToldTry parses an X-Gatecrash-Try value: a decimal from 1 to
// maxToldTry, spaces around it allowed; 0 for anything else ("-" for no
// header, junk), as the fault proxy reads it.
func parseToldTry(s string) int {
	s = strings.TrimSpace(s)
	if !toldDigits(s) || len(s) > 10 {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxToldTry {
		return 0
	}
	return n
}

// toldDigits reports whether s is one or more ASCII digits.
func toldDigits(s string) bool {
	return s != "" && strings.TrimLeft(s, "0123456789") == ""
}
