package lab

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatecrash/gatecrash/results"
)

// The log formats gatecrash's gateway templates write. ReadTestimony
// parses exactly these; the "want" texts of its errors quote them.
const (
	// testimonyNginxFormat is the nginx access log format (log_format gatecrash).
	testimonyNginxFormat = `gc1 $msec $connection $connection_requests "$http_x_vegeta_attack" "$http_x_vegeta_seq" $status "$upstream_status" "$upstream_response_time" $request_time`
	// testimonyHAProxyFormat is the HAProxy log-format; capture 0 is
	// X-Vegeta-Attack, capture 1 X-Vegeta-Seq.
	testimonyHAProxyFormat = `gc1 %Ts.%ms %[capture.req.hdr(0)] %[capture.req.hdr(1)] %ST %tsc %rc %Tw %Tc %Tr %Ta %b/%s`
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
	case "nginx":
		err = c.readNginx(access, errorLog, loc)
	case "haproxy":
		err = c.readHAProxy(access, errorLog)
	case "caddy":
		err = c.readCaddy(access, errorLog)
	case "builtin":
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
	lastTry    string // caddy: the last try's error, "" if it was answered
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

// nginx

// nginx's error log levels, lowest first.
var nginxToldLevels = map[string]int{
	"debug": 0, "info": 1, "notice": 2, "warn": 3, "error": 4, "crit": 5, "alert": 6, "emerg": 7,
}

const toldLevelWarn = 3

type nginxToldError struct {
	time  time.Time
	level int
	conn  string
	words string
}

func (c *toldLog) readNginx(access, errorLog io.Reader, loc *time.Location) error {
	err := readToldLog("nginx access log", access, "`"+testimonyNginxFormat+"` (log_format gatecrash)", func(_ int, line string) bool {
		e, ok := parseNginxTold(line)
		if ok {
			c.add(e)
		}
		return ok
	})
	if err != nil {
		return err
	}
	c.index()
	return readToldLog("nginx error log", errorLog, "`YYYY/MM/DD HH:MM:SS [level] PID#TID: [*CONN ]message` (nginx's error log)", func(_ int, line string) bool {
		ne, ok := parseNginxToldError(line, loc)
		if !ok {
			return false
		}
		keep := ne.level >= toldLevelWarn || (ne.level > 0 && strings.Contains(ne.words, "upstream"))
		if !keep {
			return true
		}
		if e := c.tieNginx(ne); e != nil {
			e.words = append(e.words, ne.words)
		} else {
			c.lone(ne.time, "", nil, 0, ne.words)
		}
		return true
	})
}

// parseNginxTold parses a line of testimonyNginxFormat.
func parseNginxTold(line string) (*toldEntry, bool) {
	f, quoted, ok := splitToldQuoted(line)
	if !ok || len(f) != 10 || f[0] != "gc1" || !quoted[4] || !quoted[5] || !quoted[7] || !quoted[8] {
		return nil, false
	}
	end, ok := parseToldUnix(f[1])
	if !ok || !toldDigits(f[2]) || !toldDigits(f[3]) {
		return nil, false
	}
	order, err := strconv.Atoi(f[3])
	if err != nil {
		return nil, false
	}
	status, ok := parseToldStatus(f[6])
	if !ok {
		return nil, false
	}
	took, ok := parseToldSeconds(f[9])
	if !ok {
		return nil, false
	}
	e := &toldEntry{
		t:     results.Testimony{Time: end, Status: status},
		conn:  f[2],
		order: order,
		start: end.Add(-took),
		end:   end,
	}
	e.t.Attack, e.t.Seq = nginxToldRequest(f[4], f[5])
	// "-" for both means no upstream was tried; "-" in $upstream_status
	// alone is a try without an answer (the client went away).
	if f[7] != "-" || f[8] != "-" {
		for _, group := range strings.Split(f[7], " : ") {
			for _, s := range strings.Split(group, ", ") {
				s = strings.TrimSpace(s)
				e.t.Upstream = append(e.t.Upstream, s)
				if n, err := strconv.Atoi(s); err != nil || n >= 500 {
					e.failed++
				}
			}
		}
		e.t.Retries = len(e.t.Upstream) - 1
	}
	return e, true
}

// nginxToldRequest returns the attack and seq nginx logged ("-" for none).
func nginxToldRequest(attack, seq string) (string, *uint64) {
	if attack == "-" {
		attack = ""
	}
	if seq == "-" {
		return unescapeNginxTold(attack), nil
	}
	return unescapeNginxTold(attack), parseToldSeq(seq)
}

// unescapeNginxTold undoes nginx's escaping of a logged variable (\xHH).
func unescapeNginxTold(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if n, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseNginxToldError parses a line of nginx's error log: "2026/11/25 23:57:06
// [error] 1234#1234: *5 message, client: ...".
func parseNginxToldError(line string, loc *time.Location) (nginxToldError, bool) {
	var ne nginxToldError
	const stamp = "2006/01/02 15:04:05"
	if len(line) < len(stamp)+4 || line[len(stamp)] != ' ' || line[len(stamp)+1] != '[' {
		return ne, false
	}
	at, err := time.ParseInLocation(stamp, line[:len(stamp)], loc)
	if err != nil {
		return ne, false
	}
	rest := line[len(stamp)+2:]
	level, rest, ok := strings.Cut(rest, "] ")
	if !ok {
		return ne, false
	}
	lv, ok := nginxToldLevels[level]
	if !ok {
		return ne, false
	}
	pids, rest, ok := strings.Cut(rest, ": ")
	if !ok {
		// A message may be empty: "1#1:" ends the line.
		pids, ok = strings.CutSuffix(rest, ":")
		if !ok {
			return ne, false
		}
		rest = ""
	}
	pid, tid, ok := strings.Cut(pids, "#")
	if !ok || !toldDigits(pid) || !toldDigits(tid) {
		return ne, false
	}
	if strings.HasPrefix(rest, "*") {
		conn, msg, _ := strings.Cut(rest[1:], " ")
		if !toldDigits(conn) {
			return ne, false
		}
		ne.conn, rest = conn, msg
	}
	if i := strings.Index(rest, ", client: "); i >= 0 {
		rest = rest[:i]
	}
	ne.time, ne.level, ne.words = at, lv, rest
	return ne, true
}

// nginxCostsTry reports whether an nginx error is one that fails a try (it
// happened before the upstream's response headers).
func nginxCostsTry(words string) bool {
	for _, s := range []string{
		"while connecting to upstream",
		"while sending request to upstream",
		"while reading response header from upstream",
	} {
		if strings.HasSuffix(words, s) {
			return true
		}
	}
	return false
}

// tieNginx returns the access entry an nginx error line is about, or nil.
func (c *toldLog) tieNginx(ne nginxToldError) *toldEntry {
	if ne.conn == "" {
		return nil
	}
	on := c.byConn[ne.conn]
	from, to := ne.time.Add(-toldSlack), ne.time.Add(time.Second+toldSlack)
	var inFlight []*toldEntry
	for _, e := range on {
		if !e.end.Before(from) && e.start.Before(to) {
			inFlight = append(inFlight, e)
		}
	}
	if nginxCostsTry(ne.words) {
		for _, e := range inFlight {
			if e.claimed < e.failed {
				e.claimed++
				return e
			}
		}
		for _, e := range inFlight {
			if e.failed > 0 {
				return e
			}
		}
	} else {
		for _, e := range inFlight {
			if e.failed == 0 {
				return e
			}
		}
	}
	if len(inFlight) > 0 {
		return inFlight[0]
	}
	for _, e := range on {
		if !e.end.Before(ne.time) {
			return e
		}
	}
	return nil
}

// splitToldQuoted splits s at spaces, keeping each field in double quotes
// whole (without its quotes); quoted says which were.
func splitToldQuoted(s string) (fields []string, quoted []bool, ok bool) {
	for i := 0; i < len(s); {
		switch {
		case s[i] == ' ':
			i++
		case s[i] == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, nil, false
			}
			end := i + 1 + j
			if end+1 < len(s) && s[end+1] != ' ' {
				return nil, nil, false
			}
			fields, quoted = append(fields, s[i+1:end]), append(quoted, true)
			i = end + 1
		default:
			j := strings.IndexByte(s[i:], ' ')
			if j < 0 {
				j = len(s) - i
			}
			fields, quoted = append(fields, s[i:i+j]), append(quoted, false)
			i += j
		}
	}
	return fields, quoted, true
}

// HAProxy

// haproxyToldMessages begin the lines HAProxy logs about itself to the same
// log as the requests (server state, proxy start and stop); they are
// parsed and dropped, as its console lines on stderr ("[WARNING] (PID) :
// ...") say the same.
var haproxyToldMessages = []string{
	"Server ", "backend ", "Backend ", "Proxy ", "Health check ", "Agent check ",
	"Stopping ", "Pausing ", "Resuming ", "Connect from ", "[",
}

func (c *toldLog) readHAProxy(access, errorLog io.Reader) error {
	// Access lines also logged to stderr (log stderr ... err with option
	// log-separate-errors) are said once.
	seen := map[string]int{}
	err := readToldLog("haproxy access log", access, "`"+testimonyHAProxyFormat+"` (log-format)", func(_ int, line string) bool {
		if !strings.HasPrefix(line, "gc1 ") {
			return haproxyToldMessage(line)
		}
		e, ok := parseHAProxyTold(line)
		if ok {
			c.add(e)
			seen[line]++
		}
		return ok
	})
	if err != nil {
		return err
	}
	return readToldLog("haproxy error log", errorLog, "`[LEVEL] (PID) : message` (HAProxy's stderr) or the log-format", func(_ int, line string) bool {
		if strings.HasPrefix(line, "gc1 ") {
			if seen[line] > 0 {
				seen[line]--
				return true
			}
			e, ok := parseHAProxyTold(line)
			if ok {
				c.add(e)
			}
			return ok
		}
		level, words, ok := parseHAProxyToldError(line)
		if !ok {
			// Its own messages in the raw log format repeat the
			// console's.
			return haproxyToldMessage(line)
		}
		if level != "NOTICE" && level != "DEBUG" && level != "INFO" {
			c.lone(time.Time{}, "", nil, 0, words)
		}
		return true
	})
}

// haproxyToldMessage reports whether line is one HAProxy logs about itself.
func haproxyToldMessage(line string) bool {
	for _, p := range haproxyToldMessages {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// parseHAProxyTold parses a line of testimonyHAProxyFormat. The attack capture may
// hold spaces: the fields are read from both ends.
func parseHAProxyTold(line string) (*toldEntry, bool) {
	f := strings.Fields(line)
	n := len(f)
	if n < 12 || f[0] != "gc1" {
		return nil, false
	}
	accepted, ok := parseToldUnix(f[1])
	if !ok || !strings.Contains(f[1], ".") {
		return nil, false
	}
	backend, tsc := f[n-1], f[n-7]
	if !strings.Contains(backend, "/") || !haproxyValidTermination(tsc) {
		return nil, false
	}
	var timers [4]int // %Tw %Tc %Tr %Ta
	for i := range timers {
		v, ok := haproxyToldInt(f[n-5+i])
		if !ok {
			return nil, false
		}
		timers[i] = v
	}
	retries, ok := haproxyToldInt(strings.TrimPrefix(f[n-6], "+"))
	if !ok || retries < 0 {
		return nil, false
	}
	status, ok := haproxyToldInt(f[n-8])
	if !ok || status > 999 {
		return nil, false
	}
	if status < 0 {
		status = 0
	}
	end := accepted
	if ta := timers[3]; ta > 0 {
		end = accepted.Add(time.Duration(ta) * time.Millisecond)
	}
	if !toldTime(end) {
		return nil, false
	}
	e := &toldEntry{t: results.Testimony{Time: end, Status: status, Retries: retries}, start: accepted, end: end}
	if attack := strings.Join(f[2:n-9], " "); attack != "-" {
		e.t.Attack = attack
	}
	if seq := f[n-9]; seq != "-" {
		e.t.Seq = parseToldSeq(seq)
	}
	if tsc[:2] != "--" {
		e.t.Words = tsc + ": " + haproxyToldGloss(tsc)
	}
	return e, true
}

// haproxyToldInt parses a number HAProxy logs: digits, or -1 for none.
func haproxyToldInt(s string) (int, bool) {
	if s == "-1" {
		return -1, true
	}
	if !toldDigits(s) || len(s) > 12 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// haproxyValidTermination reports whether s looks like HAProxy's %tsc: four
// letters or dashes.
func haproxyValidTermination(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '-' && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// HAProxy's termination states in plain words (its configuration manual,
// "Session state at disconnection"): who ended the session, and in what
// phase. A few pairs read better said whole.
var (
	haproxyToldWho = map[byte]string{
		'C': "the client aborted",
		'S': "the server aborted",
		'P': "the proxy aborted",
		's': "the server-side timeout expired",
		'c': "the client-side timeout expired",
		'R': "the proxy ran out of a resource",
		'I': "the proxy hit an internal error",
		'D': "the session was killed as the server went down",
		'L': "the proxy answered locally",
		'K': "the session was killed by an admin",
		'U': "the session was killed as an active server came back up",
	}
	haproxyToldPhase = map[byte]string{
		'R': "while waiting for the full request",
		'Q': "while queued for a server",
		'C': "while connecting to the server",
		'H': "before the server sent full headers",
		'D': "during the data transfer",
		'L': "while sending the last data to the client",
		'T': "while the request was tarpitted",
	}
	haproxyToldPairs = map[string]string{
		"SC": "the server refused the connection",
		"SH": "the server aborted before sending full headers",
		"sC": "the connect timeout expired",
		"sH": "the server-side timeout expired before full headers",
		"sQ": "the queue timeout expired",
		"PH": "the proxy rejected the server's response headers (invalid or blocked)",
		"PR": "the proxy blocked the request (invalid or denied)",
		"CR": "the client aborted before sending the full request",
		"cR": "the client-side timeout expired before the full request",
		"LR": "the proxy answered the request itself",
	}
)

// haproxyToldGloss says a termination state in plain words.
func haproxyToldGloss(tsc string) string {
	if s, ok := haproxyToldPairs[tsc[:2]]; ok {
		return s
	}
	who, ok := haproxyToldWho[tsc[0]]
	if !ok {
		return "an unknown termination state"
	}
	if phase, ok := haproxyToldPhase[tsc[1]]; ok {
		return who + " " + phase
	}
	return who
}

// parseHAProxyToldError parses a line of HAProxy's stderr: "[WARNING]
// (1234) : message".
func parseHAProxyToldError(line string) (level, words string, ok bool) {
	if !strings.HasPrefix(line, "[") {
		return "", "", false
	}
	level, rest, ok := strings.Cut(line[1:], "]")
	if !ok || level == "" || strings.ToUpper(level) != level {
		return "", "", false
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "(") {
		pid, after, ok := strings.Cut(rest[1:], ")")
		if !ok || !toldDigits(pid) {
			return "", "", false
		}
		rest = strings.TrimSpace(after)
	}
	rest = strings.TrimSpace(strings.TrimPrefix(rest, ":"))
	return level, rest, true
}

// Caddy

var caddyToldLevels = map[string]int{
	"debug": 0, "info": 1, "warn": 3, "error": 4, "dpanic": 5, "panic": 6, "fatal": 7,
}

// caddyToldLine is the part of a Caddy JSON log line ReadTestimony reads.
type caddyToldLine struct {
	Level    string          `json:"level"`
	TS       json.RawMessage `json:"ts"`
	Logger   string          `json:"logger"`
	Msg      string          `json:"msg"`
	Error    json.RawMessage `json:"error"`
	Status   json.RawMessage `json:"status"`
	Duration json.RawMessage `json:"duration"`
	Request  json.RawMessage `json:"request"`
}

type caddyToldRequest struct {
	RemoteIP   string              `json:"remote_ip"`
	RemotePort string              `json:"remote_port"`
	Headers    map[string][]string `json:"headers"`
}

// caddyToldNote is a Caddy log line that is not an access entry.
type caddyToldNote struct {
	time     time.Time
	level    int
	logger   string
	attack   string
	seq      *uint64
	conn     string
	status   int
	try      string // an "upstream roundtrip": the try's status, "-" for an error
	words    string
	final    bool // http.log.error: the error the request ended with
	hasWords bool
}

func (c *toldLog) readCaddy(access, errorLog io.Reader) error {
	var notes []caddyToldNote
	parse := func(_ int, line string) bool {
		e, n, ok := parseCaddyTold(line)
		switch {
		case !ok:
			return false
		case e != nil:
			c.add(e)
		case n != nil:
			notes = append(notes, *n)
		}
		return true
	}
	const want = "a JSON object with level, ts, logger and msg (Caddy's JSON log)"
	err := errors.Join(
		readToldLog("caddy access log", access, want, parse),
		readToldLog("caddy error log", errorLog, want, parse),
	)
	if err != nil {
		return err
	}
	c.index()
	sort.SliceStable(notes, func(i, j int) bool { return notes[i].time.Before(notes[j].time) })
	for i := range notes {
		n := &notes[i]
		e := c.tieCaddy(n)
		if e == nil {
			// Tries and words nobody needs (debug, info) are dropped.
			if n.hasWords && (n.level >= 4 || (n.level == toldLevelWarn && (strings.HasPrefix(n.logger, "http.handlers.") || strings.HasPrefix(n.logger, "http.log.error")))) {
				c.lone(n.time, n.attack, n.seq, n.status, n.words)
			}
			continue
		}
		if n.try != "" {
			e.t.Upstream = append(e.t.Upstream, n.try)
			e.t.Retries = len(e.t.Upstream) - 1
		}
		switch {
		case !n.hasWords:
		case n.final && n.words == e.lastTry:
			// The error the last try already told.
		default:
			e.words = append(e.words, n.words)
		}
		if n.try != "" {
			e.lastTry = n.words
		}
	}
	return nil
}

// parseCaddyTold parses a line of Caddy's JSON log into an access entry or a
// note; both nil for a line with nothing to say about requests.
func parseCaddyTold(line string) (*toldEntry, *caddyToldNote, bool) {
	var l caddyToldLine
	if err := json.Unmarshal([]byte(line), &l); err != nil {
		return nil, nil, false
	}
	at, ok := caddyToldTime(l.TS)
	if !ok {
		return nil, nil, false
	}
	level, ok := caddyToldLevels[strings.ToLower(l.Level)]
	if !ok {
		return nil, nil, false
	}
	var req *caddyToldRequest
	if len(l.Request) > 0 {
		var r caddyToldRequest
		if json.Unmarshal(l.Request, &r) == nil {
			req = &r
		}
	}
	attack, seq, conn := caddyToldRequestID(req)
	status, hasStatus := toldJSONInt(l.Status)
	if strings.HasPrefix(l.Logger, "http.log.access") {
		if !hasStatus || status < 0 || status > 999 {
			return nil, nil, false
		}
		start := at
		if d, ok := toldJSONSeconds(l.Duration); ok {
			start = at.Add(-d)
		}
		return &toldEntry{
			t:    results.Testimony{Time: at, Attack: attack, Seq: seq, Status: status},
			conn: conn, start: start, end: at,
		}, nil, true
	}
	errText := toldJSONString(l.Error)
	n := &caddyToldNote{time: at, level: level, logger: l.Logger, attack: attack, seq: seq, conn: conn}
	switch {
	case strings.HasPrefix(l.Logger, "http.log.error"):
		n.words, n.final = l.Msg, true
		if n.words == "" {
			n.words = errText
		}
		if hasStatus {
			n.status = status
		}
	case strings.HasPrefix(l.Logger, "http.handlers.reverse_proxy") && l.Msg == "upstream roundtrip":
		switch {
		case errText != "":
			n.try, n.words = "-", errText
		case hasStatus:
			n.try = strconv.Itoa(status)
		}
	case errText != "" && l.Msg != "":
		n.words = l.Msg + ": " + errText
	case errText != "":
		n.words = errText
	case level >= 4:
		n.words = l.Msg
	}
	n.hasWords = n.words != ""
	if !n.hasWords && n.try == "" {
		return nil, nil, true
	}
	return nil, n, true
}

// caddyToldRequestID returns the attack, seq and client connection of a
// logged request.
func caddyToldRequestID(r *caddyToldRequest) (attack string, seq *uint64, conn string) {
	if r == nil {
		return "", nil, ""
	}
	for k, v := range r.Headers {
		if len(v) == 0 {
			continue
		}
		switch {
		case strings.EqualFold(k, "X-Vegeta-Attack"):
			attack = v[0]
		case strings.EqualFold(k, "X-Vegeta-Seq"):
			seq = parseToldSeq(v[0])
		}
	}
	if r.RemotePort != "" {
		conn = r.RemoteIP + ":" + r.RemotePort
	}
	return attack, seq, conn
}

// tieCaddy returns the access entry a Caddy note is about, or nil.
func (c *toldLog) tieCaddy(n *caddyToldNote) *toldEntry {
	if n.seq != nil {
		same := c.bySeq[toldKey{n.attack, *n.seq}]
		for _, e := range same {
			if !e.end.Before(n.time.Add(-toldSlack)) {
				return e
			}
		}
		if len(same) > 0 {
			return same[len(same)-1]
		}
		return nil
	}
	if n.conn != "" {
		for _, e := range c.byConn[n.conn] {
			if !e.end.Before(n.time.Add(-toldSlack)) {
				return e
			}
		}
		return nil
	}
	// In flight at its time, the first to end.
	i := sort.Search(len(c.byEnd), func(i int) bool { return !c.byEnd[i].end.Before(n.time.Add(-toldSlack)) })
	for j := i; j < len(c.byEnd) && j < i+4096; j++ {
		if e := c.byEnd[j]; !e.start.After(n.time.Add(toldSlack)) {
			return e
		}
	}
	return nil
}

// caddyToldTime reads Caddy's ts: seconds since the epoch (its default), or an
// RFC 3339 string.
func caddyToldTime(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 {
		return time.Time{}, false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !toldTime(t) {
			return parseToldUnix(s)
		}
		return t, true
	}
	return parseToldUnix(string(raw))
}

func toldJSONInt(raw json.RawMessage) (int, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(string(raw))
	return n, err == nil
}

func toldJSONSeconds(raw json.RawMessage) (time.Duration, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	return parseToldSeconds(string(raw))
}

func toldJSONString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// Shared

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

// parseToldStatus parses an HTTP status of up to three digits.
func parseToldStatus(s string) (int, bool) {
	if len(s) == 0 || len(s) > 3 || !toldDigits(s) {
		return 0, false
	}
	n, _ := strconv.Atoi(s)
	return n, true
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

func toldDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// readBuiltin reads the built-in gateway's log (Gateway writes it): one
// line per failed round trip,
//
//	TIME status=502 attack="a" seq=17 error="..."
//
// and the ReverseProxy's own messages, TIME proxy-error="...", which name
// no request.
func (c *toldLog) readBuiltin(log io.Reader) error {
	const want = `TIME status=N attack="A" seq=N error="E"`
	tally := toldTally{name: "built-in gateway log"}
	err := eachToldLine(tally.name, log, func(no int, line string, _ bool) {
		ts, rest, ok := strings.Cut(line, " ")
		t, err := time.Parse(time.RFC3339Nano, ts)
		if !ok || err != nil {
			tally.fail(no, line, want)
			return
		}
		if msg, ok := strings.CutPrefix(rest, "proxy-error="); ok {
			w, err := strconv.Unquote(msg)
			if err != nil {
				tally.fail(no, line, want)
				return
			}
			tally.ok()
			c.alone = append(c.alone, results.Testimony{Gateway: c.kind, Time: t, Words: w})
			return
		}
		var status int
		var attack, seq, words string
		if _, err := fmt.Sscanf(rest, "status=%d attack=%q seq=%s error=%q", &status, &attack, &seq, &words); err != nil {
			tally.fail(no, line, want)
			return
		}
		tally.ok()
		e := &toldEntry{t: results.Testimony{Time: t, Attack: attack, Status: status}, start: t, end: t}
		if n, err := strconv.ParseUint(seq, 10, 64); err == nil {
			e.t.Seq = &n
		}
		e.words = []string{words}
		c.add(e)
	})
	if err != nil {
		return err
	}
	return tally.err()
}
