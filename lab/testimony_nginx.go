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
// this, and the "want" texts of its errors quote it. A line without the
// last field, the client's try number, is read too (the format before
// it, as older run folders and templates copied from them have it), as
// a request without a try.
const testimonyNginxFormat = `gc1 $msec $connection $connection_requests "$http_x_vegeta_attack" "$http_x_vegeta_seq" $status "$upstream_status" "$upstream_response_time" $request_time "$http_x_gatecrash_try"`

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
	if !ok || (len(f) != 10 && len(f) != 11) || f[0] != "gc1" || !quoted[4] || !quoted[5] || !quoted[7] || !quoted[8] {
		return nil, false
	}
	try := 0
	if len(f) == 11 {
		if !quoted[10] {
			return nil, false
		}
		try = parseToldTry(f[10]) // "-" (no header) and junk are no try
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

// parseToldStatus parses an HTTP status of up to three digits.
func parseToldStatus(s string) (int, bool) {
	if len(s) == 0 || len(s) > 3 || !toldDigits(s) {
		return 0, false
	}
	n, _ := strconv.Atoi(s)
	return n, true
}
