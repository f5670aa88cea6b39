package lab

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gatecrash/gatecrash/results"
)

// testimonyNginxFormat is the nginx access log format (log_format gatecrash)
// that gatecrash's nginx template writes: ReadTestimony parses exactly
// this, and the "want" texts of its errors quote it. Lines of the formats
// before it are read too, as older run folders and templates copied from
// them have them: without the last field, each try's connect time (the
// request's WaitMS then leaves out its last try's connect), and without
// the last two, the client's try number too (a request without a try).
const testimonyNginxFormat = `gc1 $msec $connection $connection_requests "$http_x_vegeta_attack" "$http_x_vegeta_seq" $status "$upstream_status" "$upstream_response_time" $request_time "$http_x_gatecrash_try" "$upstream_connect_time"`

// nginx's error log levels, lowest first.
var nginxToldLevels = map[string]int{
	"debug": 0, "info": 1, "notice": 2, "warn": 3, "error": 4, "crit": 5, "alert": 6, "emerg": 7,
}

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
	if !ok || len(f) < 10 || len(f) > 12 || f[0] != "gc1" || !quoted[4] || !quoted[5] || !quoted[7] || !quoted[8] {
		return nil, false
	}
	try := 0
	if len(f) >= 11 {
		if !quoted[10] {
			return nil, false
		}
		try = parseToldTry(f[10]) // "-" (no header) and junk are no try
	}
	connect := ""
	if len(f) == 12 {
		if !quoted[11] {
			return nil, false
		}
		connect = f[11]
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
	e.t.Try = try
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
		e.t.WaitMS = nginxToldWait(took, f[8], connect, len(f) == 12)
	}
	return e, true
}

// nginxToldWait returns how long nginx held a request before its last try
// upstream began, in milliseconds: its $request_time (from the first
// byte read from the client to the last byte sent) less the last try's
// $upstream_response_time, plus the last try's $upstream_connect_time
// when the format logs it (hasConnect). nginx starts a try's response
// time when it begins to connect (ngx_http_upstream_connect), so the
// difference is the time before that: reading the client's request and
// every earlier try, failed ones (proxy_next_upstream) with the time
// each took to fail; the connect time adds the last try's own connect,
// which its response time holds. nginx has no request queue of its own
// (the upstream queue directive is nginx Plus's). The rest, the time
// from the upstream's last byte to the client's, is within the
// millisecond resolution of both figures with proxy_buffering off (the
// template's); with buffering on, a slow client adds to it. A negative
// difference (rounding) is 0. nil when the last try's times are not
// numbers ("-").
func nginxToldWait(took time.Duration, responseTimes, connectTimes string, hasConnect bool) *float64 {
	last, ok := parseToldSeconds(nginxToldLast(responseTimes))
	if !ok {
		return nil
	}
	wait := took - last
	if hasConnect {
		// A try without a connect ("-") is none to add.
		if c, ok := parseToldSeconds(nginxToldLast(connectTimes)); ok {
			wait += c
		}
	}
	if wait < 0 {
		wait = 0
	}
	ms := float64(wait.Round(time.Microsecond)) / float64(time.Millisecond)
	return &ms
}

// nginxToldLast returns the last try's value of an $upstream_* variable:
// tries are separated by ", ", and groups of tries (after an internal
// redirect) by " : ".
func nginxToldLast(s string) string {
	if i := strings.LastIndex(s, ":"); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.LastIndex(s, ","); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
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

// parseToldStatus parses an HTTP status of up to three digits.
func parseToldStatus(s string) (int, bool) {
	if len(s) == 0 || len(s) > 3 || !toldDigits(s) {
		return 0, false
	}
	n, _ := strconv.Atoi(s)
	return n, true
}
