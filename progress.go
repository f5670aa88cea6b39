package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"golang.org/x/term"

	"github.com/gatecrash/gatecrash/run"
)

// How often the progress line is drawn, and over how long the achieved
// rate is measured.
const (
	progressTTYEvery   = 200 * time.Millisecond
	progressPlainEvery = 5 * time.Second
	progressRateWindow = time.Second
)

// progress shows a run while it goes: on a terminal one line redrawn in
// place, elsewhere (a CI log) a plain line every few seconds. Add is safe
// for concurrent use and cheap (atomic counters); Run draws until its
// context ends or Stop is called; Stop draws the final line.
type progress struct {
	w       io.Writer
	tty     bool
	total   time.Duration
	phaseAt func(time.Duration) (string, float64)
	every   time.Duration
	start   time.Time
	now     func() time.Time // the clock; tests set their own

	done, ok, bad502, other atomic.Int64

	stop     chan struct{}
	stopOnce sync.Once
	running  atomic.Bool   // Run has begun
	ran      chan struct{} // closed when Run returns

	mu      sync.Mutex // guards what follows and the writer
	stopped bool
	width   int           // of the line last drawn on a terminal
	cols    int           // the terminal's width; 0 when unknown
	samples []countSample // recent counts, for the achieved rate
}

// countSample is how many results had come in at some elapsed time.
type countSample struct {
	at time.Duration
	n  int64
}

// newProgress returns a progress that writes to w, as on a terminal when
// tty is true. total is the planned length of the run; phaseAt names the
// phase at an elapsed time and its offered rate ("" after the plan).
// Elapsed time counts from now.
func newProgress(w io.Writer, tty bool, total time.Duration, phaseAt func(time.Duration) (name string, offered float64)) *progress {
	p := &progress{w: w, tty: tty, total: total, phaseAt: phaseAt, every: progressPlainEvery, start: time.Now(), now: time.Now, stop: make(chan struct{}), ran: make(chan struct{})}
	if tty {
		p.every = progressTTYEvery
		if f, ok := w.(*os.File); ok {
			if cols, _, err := term.GetSize(int(f.Fd())); err == nil {
				p.cols = cols
			}
		}
	}
	return p
}

// progressOn returns the run's progress on w: drawn in place on a
// terminal, a line every few seconds elsewhere.
func progressOn(w io.Writer) func(time.Duration, func(time.Duration) (string, float64)) run.Progress {
	tty := isTerminal(w)
	return func(total time.Duration, phaseAt func(time.Duration) (string, float64)) run.Progress {
		return newProgress(w, tty, total, phaseAt)
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Add counts one result by its status code (0: no answer).
func (p *progress) Add(code uint16) {
	p.done.Add(1)
	switch {
	case code >= 200 && code < 300:
		p.ok.Add(1)
	case code == 502:
		p.bad502.Add(1)
	case code == 0 || code >= 500:
		p.other.Add(1)
	}
}

// Run draws the progress line every 200 ms on a terminal, every 5 s
// elsewhere, until ctx ends or Stop is called; call it once, in a
// goroutine of its own.
func (p *progress) Run(ctx context.Context) {
	if !p.running.CompareAndSwap(false, true) {
		return
	}
	defer close(p.ran)
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.stop:
			return
		case now := <-t.C:
			p.tick(now)
		}
	}
}

// tick draws the line as it is at now.
func (p *progress) tick(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.draw(p.line(now.Sub(p.start), false))
}

// Stop ends Run, waits for it to return, and draws the final line, once;
// later calls do nothing.
func (p *progress) Stop() {
	p.stopOnce.Do(func() {
		close(p.stop)
		if p.running.Load() {
			<-p.ran
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.stopped = true
		p.draw(p.line(p.now().Sub(p.start), true))
		if p.tty {
			io.WriteString(p.w, "\n")
		}
	})
}

// draw writes a line: in place on a terminal (short when the line is
// wider than the terminal), blanking what is left of a longer previous
// line; as a line of its own elsewhere.
func (p *progress) draw(line, short string) {
	if !p.tty {
		io.WriteString(p.w, line+"\n")
		return
	}
	// A line wider than the terminal would wrap, and \r would then
	// redraw only its last part: leave the phase and rates out, and cut
	// what still does not fit.
	if p.cols > 1 && len([]rune(line)) > p.cols-1 {
		line = short
		if rs := []rune(line); len(rs) > p.cols-1 {
			line = string(rs[:p.cols-1])
		}
	}
	n := len([]rune(line))
	pad := ""
	if n < p.width {
		pad = strings.Repeat(" ", p.width-n)
	}
	p.width = n
	io.WriteString(p.w, "\r"+line+pad)
}

// line formats the progress at elapsed, e.g.
//
//	[   4.2s/8.0s] resets: offered 150/s, achieved 148/s; 2xx 604, 502 3, other errors 0
//
// "draining" in place of the phase after the plan's end (the last
// requests are still out), and on the final line "done", the requests
// and the run's own rate. Other errors are answers with another 5xx code
// and requests without an answer. short is the clock and the counts
// alone, for a narrow terminal.
func (p *progress) line(elapsed time.Duration, final bool) (line, short string) {
	n := p.done.Load()
	counts := fmt.Sprintf("2xx %d, 502 %d, other errors %d", p.ok.Load(), p.bad502.Load(), p.other.Load())
	clock := fmt.Sprintf("[%6.1fs/%.1fs]", elapsed.Seconds(), p.total.Seconds())
	short = clock + " " + counts
	if final {
		r := 0.0
		if elapsed > 0 {
			r = float64(n) / elapsed.Seconds()
		}
		return fmt.Sprintf("%s done: %d requests, achieved %s; %s", clock, n, rate(r), counts), short
	}
	achieved := p.achieved(elapsed, n)
	name, offered := "", 0.0
	if p.phaseAt != nil {
		name, offered = p.phaseAt(elapsed)
	}
	if name == "" {
		return fmt.Sprintf("%s draining: achieved %s; %s", clock, rate(achieved), counts), short
	}
	return fmt.Sprintf("%s %s: offered %s, achieved %s; %s", clock, printable(name, 20), rate(offered), rate(achieved), counts), short
}

// rate formats a rate per second, with a decimal only under 10/s.
func rate(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.1f/s", v)
	}
	return fmt.Sprintf("%.0f/s", v)
}

// achieved is the rate results came in at: on a terminal over the last
// second (since the start during the first one), elsewhere since the
// last line (since the start at the first one).
func (p *progress) achieved(elapsed time.Duration, n int64) float64 {
	now := countSample{elapsed, n}
	var from countSample
	if p.tty {
		p.samples = append(p.samples, now)
		// Keep the newest sample at least a window old, and those after.
		i := 0
		for i+1 < len(p.samples) && elapsed-p.samples[i+1].at >= progressRateWindow {
			i++
		}
		p.samples = p.samples[i:]
		if elapsed-p.samples[0].at >= progressRateWindow {
			from = p.samples[0]
		}
	} else {
		if len(p.samples) > 0 {
			from = p.samples[0]
		}
		p.samples = append(p.samples[:0], now)
	}
	d := (elapsed - from.at).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(n-from.n) / d
}

// printable cuts s to at most max runes and replaces what a terminal
// would act on (escape sequences, line breaks) with '?'.
func printable(s string, max int) string {
	rs := []rune(s)
	if len(rs) > max {
		rs = append(rs[:max-1], '…')
	}
	for i, r := range rs {
		if !unicode.IsPrint(r) {
			rs[i] = '?'
		}
	}
	return string(rs)
}
