package faults

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gatecrash/gatecrash/results/causes"
)

// errCut stops a body copy where a fault ends the exchange.
var errCut = errors.New("cut by a fault")

// effect is one thing a fault did to the answer, logged once it happened.
type effect struct {
	rule   Rule
	time   time.Time
	detail string
	cause  string
	ended  bool
}

// plan is what faults applied before forwarding asked to do to the
// upstream's answer. Its zero value passes the answer through.
type plan struct {
	dribble     time.Duration // spread the head over this long
	dribbleRule Rule

	cutHead     string // end the connection right after the head
	cutHeadRule Rule

	cutBytes     int64 // end the connection after this many body bytes; -1 none
	cutBytesHow  string
	cutBytesRule Rule

	rate     int // body bytes per second; 0 unthrottled
	rateRule Rule

	sseCut     int // end the stream after this many events; -1 none
	sseCutHow  string
	sseCutRule Rule

	sseStall     int // pause after this many events; -1 none
	sseStallFor  time.Duration
	sseStallRule Rule

	effects []effect
	pending []Rule // rules that planned something here
	done    []func()
	cutNow  string          // set when a body fault cut the answer: how to end the connection
	ctx     context.Context // ends waits when the proxy stops; nil means never
}

func newPlan() *plan { return &plan{cutBytes: -1, sseCut: -1, sseStall: -1} }

// noPlan passes every answer through; it is shared and never changed.
var noPlan = newPlan()

func (p *plan) note(r Rule, detail, cause string, ended bool) {
	p.effects = append(p.effects, effect{rule: r, time: time.Now(), detail: detail, cause: cause, ended: ended})
}

// active reports whether the plan changes the answer at all.
func (p *plan) active() bool {
	return p.dribble > 0 || p.cutHead != "" || p.cutBytes >= 0 || p.rate > 0 || p.sseCut >= 0 || p.sseStall >= 0
}

// writeHead writes the answer's head, dribbled when asked.
func (p *plan) writeHead(w io.Writer, flush func() error, raw []byte) error {
	if p.dribble <= 0 {
		_, err := w.Write(raw)
		return err
	}
	// About 20 slices, evenly spaced.
	n := 20
	step := max(len(raw)/n, 1)
	pause := p.dribble / time.Duration((len(raw)+step-1)/step)
	start := time.Now()
	for i := 0; i < len(raw); i += step {
		if i > 0 {
			time.Sleep(pause)
		}
		if _, err := w.Write(raw[i:min(i+step, len(raw))]); err != nil {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
	}
	p.note(p.dribbleRule, fmt.Sprintf("head of %d bytes dribbled over %s", len(raw), time.Since(start).Round(time.Millisecond)), "", false)
	return nil
}

// bodyWriter wraps w with the plan's body faults.
func (p *plan) bodyWriter(w io.Writer, flush func() error, eventStream bool) io.Writer {
	if p.rate > 0 {
		w = &throttle{w: w, flush: flush, rate: p.rate, start: time.Now(), plan: p}
	}
	if p.cutBytes >= 0 {
		w = &cutter{w: w, left: p.cutBytes, plan: p}
	}
	if eventStream && (p.sseCut >= 0 || p.sseStall >= 0) {
		w = &sse{w: w, flush: flush, plan: p}
	} else {
		if p.sseCut >= 0 {
			p.note(p.sseCutRule, "no effect: the answer is not text/event-stream", "", false)
		}
		if p.sseStall >= 0 {
			p.note(p.sseStallRule, "no effect: the answer is not text/event-stream", "", false)
		}
	}
	return w
}

// throttle paces writes to rate bytes per second.
type throttle struct {
	w     io.Writer
	flush func() error
	rate  int
	start time.Time
	n     int64
	plan  *plan
	noted bool
}

func (t *throttle) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		// At most a tenth of a second's worth at a time.
		chunk := b[:min(len(b), max(t.rate/10, 1))]
		m, err := t.w.Write(chunk)
		written += m
		t.n += int64(m)
		if err != nil {
			return written, err
		}
		if err := t.flush(); err != nil {
			return written, err
		}
		due := t.start.Add(time.Duration(float64(t.n) / float64(t.rate) * float64(time.Second)))
		time.Sleep(time.Until(due))
		b = b[m:]
	}
	if !t.noted {
		t.noted = true
		t.plan.note(t.plan.rateRule, fmt.Sprintf("body throttled to %d B/s", t.rate), "", false)
	}
	return written, nil
}

// cutter lets left bytes through, then stops the copy with errCut.
type cutter struct {
	w    io.Writer
	left int64
	plan *plan
	sent int64
}

func (c *cutter) Write(b []byte) (int, error) {
	if int64(len(b)) <= c.left {
		m, err := c.w.Write(b)
		c.left -= int64(m)
		c.sent += int64(m)
		return m, err
	}
	m, err := c.w.Write(b[:c.left])
	c.sent += int64(m)
	c.left = 0
	if err != nil {
		return m, err
	}
	cause := causes.Ended(c.plan.cutBytesHow, causes.MidBody)
	c.plan.note(c.plan.cutBytesRule, fmt.Sprintf("%s after %d body bytes", c.plan.cutBytesHow, c.sent), cause, true)
	c.plan.cutNow = c.plan.cutBytesHow
	return m, errCut
}

// sse counts server-sent events (each ends with an empty line) and cuts
// or stalls the stream after the planned number.
type sse struct {
	w       io.Writer
	flush   func() error
	plan    *plan
	events  int
	last    byte // the byte before the current write, to find "\n\n" across writes
	stalled bool
	framing bool // the writes are chunk framing: do not count
}

// setFraming tells the counter that the next writes are chunk framing,
// not event data, which must not count.
func (s *sse) setFraming(on bool) { s.framing = on }

func (s *sse) Write(b []byte) (int, error) {
	if s.framing {
		return s.w.Write(b)
	}
	written := 0
	for {
		// Find the end of the next event in b.
		end := -1
		prev := s.last
		for i, c := range b {
			if c == '\n' && prev == '\n' {
				end = i + 1
				break
			}
			if c != '\r' {
				prev = c
			}
		}
		if end < 0 {
			m, err := s.w.Write(b)
			written += m
			if len(b) > 0 {
				s.last = lastNonCR(b, s.last)
			}
			return written, err
		}
		m, err := s.w.Write(b[:end])
		written += m
		if err != nil {
			return written, err
		}
		s.last = 0
		s.events++
		b = b[end:]
		p := s.plan
		if p.sseCut >= 0 && s.events >= p.sseCut {
			cause := causes.Ended(p.sseCutHow, causes.MidBody)
			p.note(p.sseCutRule, fmt.Sprintf("stream %s after %d events", p.sseCutHow, s.events), cause, true)
			p.cutNow = p.sseCutHow
			return written, errCut
		}
		if p.sseStall >= 0 && s.events >= p.sseStall && !s.stalled {
			s.stalled = true
			if err := s.flush(); err != nil {
				return written, err
			}
			ctx := p.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			if !sleep(ctx, p.sseStallFor) {
				return written, errCut // the proxy is stopping
			}
			p.note(p.sseStallRule, fmt.Sprintf("stream stalled %s after %d events", p.sseStallFor, s.events), "", false)
		}
	}
}

func lastNonCR(b []byte, before byte) byte {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != '\r' {
			return b[i]
		}
	}
	return before
}

// isEventStream reports whether a response head declares server-sent events.
func isEventStream(h *head) bool {
	return bytes.HasPrefix(bytes.ToLower([]byte(h.get("Content-Type"))), []byte("text/event-stream"))
}
