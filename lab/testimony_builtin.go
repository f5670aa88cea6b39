package lab

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gatecrash/gatecrash/results"
)

// readBuiltin reads the built-in gateway's log (Gateway writes it): one
// line per failed round trip,
//
//	TIME status=502 attack="a" seq=17 wait_ms=0.052 error="..."
//
// (wait_ms, the WaitMS of its testimony, is "-" when no attempt had a
// connection; lines of the format before it, without wait_ms, are read
// as not saying),
// and the ReverseProxy's own messages, TIME proxy-error="...", which name
// no request.
func (c *toldLog) readBuiltin(log io.Reader) error {
	const want = `TIME status=N attack="A" seq=N wait_ms=W error="E"`
	tally := toldTally{name: "built-in gateway log"}
	err := eachToldLine(tally.name, log, func(no int, line string, _ bool) {
		ts, rest, ok := strings.Cut(line, " ")
		t, err := time.Parse(time.RFC3339Nano, ts)
		if !ok || err != nil || !toldTime(t) {
			tally.fail(no, line, want)
			return
		}
		if msg, ok := strings.CutPrefix(rest, builtinProxyPrefix); ok {
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
		var attack, seq, wait, words string
		if _, err := fmt.Sscanf(rest, builtinFailFormat, &status, &attack, &seq, &wait, &words); err != nil {
			wait = "-"
			if _, err := fmt.Sscanf(rest, builtinFailFormat1, &status, &attack, &seq, &words); err != nil {
				tally.fail(no, line, want)
				return
			}
		}
		w, ok := builtinToldWait(wait)
		if !ok || status < 0 || status > 999 {
			tally.fail(no, line, want)
			return
		}
		tally.ok()
		e := &toldEntry{t: results.Testimony{Time: t, Attack: attack, Status: status, WaitMS: w}, start: t, end: t}
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

// builtinToldWait parses wait_ms: a number of milliseconds, 0 or more, or
// "-" for none (nil).
func builtinToldWait(s string) (*float64, bool) {
	if s == "-" {
		return nil, true
	}
	ms, err := strconv.ParseFloat(s, 64)
	if err != nil || ms < 0 || ms != ms || ms > float64(maxToldSeconds)*1000 {
		return nil, false
	}
	return &ms, true
}
