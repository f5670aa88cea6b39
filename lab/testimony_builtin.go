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
		var attack, seq, words string
		if _, err := fmt.Sscanf(rest, builtinFailFormat, &status, &attack, &seq, &words); err != nil {
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
