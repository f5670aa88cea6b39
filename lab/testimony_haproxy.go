package lab

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gatecrash/gatecrash/results"
)

// testimonyHAProxyFormat is the HAProxy log-format that gatecrash's
// HAProxy template writes; capture 0 is X-Vegeta-Attack, capture 1
// X-Vegeta-Seq, capture 2 X-Gatecrash-Try. ReadTestimony parses exactly
// this, and the "want" texts of its errors quote it. A line without the
// last field, the try, is read too (the format before it), as a request
// without a try.
const testimonyHAProxyFormat = `gc1 %Ts.%ms %[capture.req.hdr(0)] %[capture.req.hdr(1)] %ST %tsc %rc %Tw %Tc %Tr %Ta %b/%s %[capture.req.hdr(2)]`

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
	// The try comes after the backend/server, which holds a slash; a line
	// of the format before it ends with the backend/server.
	try := 0
	if last := f[n-1]; n >= 13 && !strings.Contains(last, "/") && strings.Contains(f[n-2], "/") {
		try = parseToldTry(last) // "-" (no header) and junk are no try
		f, n = f[:n-1], n-1
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
	e.t.Try = try
	e.t.WaitMS = haproxyToldWait(timers[0], timers[1])
	if tsc[:2] != "--" {
		e.t.Words = tsc + ": " + haproxyToldGloss(tsc)
	}
	return e, true
}

// haproxyToldWait returns how long HAProxy held a request before the
// connection that carried its answer was up: %Tw, the time in its queues,
// plus %Tc, "the total time in milliseconds spent waiting for the
// connection to establish to the final server, including retries"
// (HAProxy's configuration manual, section 8.2.3, "HTTP log format").
// Across connect retries Tc thus holds every failed connect, the
// turn-around delay HAProxy waits between them (min(timeout connect, 1s)
// after a refusal) and the connect that succeeded, on the same server or,
// with option redispatch, another: the time a refused or blackholed
// upstream cost the request. A connection taken from the idle pool
// (http-reuse) counts 0. nil when either is -1: the request never left
// the queue (sQ), or no connection was ever established (SC, sC), so no
// attempt answered. L7 retries (retry-on beyond conn-failure) are not in
// Tc: gatecrash's template does not enable them.
func haproxyToldWait(tw, tc int) *float64 {
	if tw < 0 || tc < 0 {
		return nil
	}
	ms := float64(tw + tc)
	return &ms
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
