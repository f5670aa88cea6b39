package lab

import (
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatecrash/gatecrash/results"
)

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
	try      string        // an "upstream roundtrip": the try's status, "-" for an error
	took     time.Duration // an "upstream roundtrip": its duration
	timed    bool          // took was logged
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
			e.tryStart = time.Time{}
			if n.timed {
				e.tryStart = n.time.Add(-n.took)
			}
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
	for _, e := range c.entries {
		e.t.WaitMS = caddyToldWait(e)
	}
	return nil
}

// caddyToldWait returns how long Caddy held a request before its last try
// upstream began, in milliseconds: from the request's start (its access
// line's ts less its duration) to the last try's start (its "upstream
// roundtrip" line's ts less that line's duration, the time of the round
// trip, dial included, to the response headers): the time of the tries
// before it and the lb_try_interval waits between them. Caddy 2.6's
// access log says nothing of the upstream (no latency or duration parts;
// the http.reverse_proxy.upstream.* placeholders are not in it): only
// the reverse proxy's debug lines do, one per try. So nil without them,
// as with gatecrash's template (level INFO), or when the access line has
// no duration or the last try none. A negative difference (lines logged
// out of order) is 0.
func caddyToldWait(e *toldEntry) *float64 {
	if !e.timed || e.tryStart.IsZero() {
		return nil
	}
	wait := e.tryStart.Sub(e.start)
	if wait < 0 {
		wait = 0
	}
	ms := float64(wait.Round(time.Microsecond)) / float64(time.Millisecond)
	return &ms
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
		d, timed := toldJSONSeconds(l.Duration)
		if timed {
			start = at.Add(-d)
		}
		return &toldEntry{
			t:    results.Testimony{Time: at, Attack: attack, Seq: seq, Try: caddyToldTry(req), Status: status},
			conn: conn, start: start, end: at, timed: timed,
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
		n.took, n.timed = toldJSONSeconds(l.Duration)
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

// caddyToldTry returns the client's try number (X-Gatecrash-Try) of a
// logged request; 0 for none.
func caddyToldTry(r *caddyToldRequest) int {
	if r == nil {
		return 0
	}
	for k, v := range r.Headers {
		if len(v) > 0 && strings.EqualFold(k, "X-Gatecrash-Try") {
			return parseToldTry(v[0])
		}
	}
	return 0
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
