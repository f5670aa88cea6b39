package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"golang.org/x/term"

	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
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

	done, ok atomic.Int64
	// fail counts the failure classes as the report names them: 5xx
	// codes by code (fail[code-500]), then error, stream-cut and
	// stream-stall (failClasses).
	fail [100 + len(failClasses)]atomic.Int64

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

// failClasses are the failure classes without a status code, after the
// 5xx codes in progress.fail, in the report's order.
var failClasses = [...]string{scenarios.ClassError, scenarios.ClassStreamCut, scenarios.ClassStreamStall}

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

// Add counts one result by its status code and, without a code, its
// error: a 2xx, a 5xx by code, or error, stream-cut, stream-stall as the
// report's failure classes are; other codes only in the total.
func (p *progress) Add(code uint16, err string) {
	p.done.Add(1)
	switch {
	case code >= 200 && code < 300:
		p.ok.Add(1)
	case code >= 500 && code < 600:
		p.fail[code-500].Add(1)
	case code == 0:
		i := 0 // error
		switch scenarios.StreamClass(err) {
		case scenarios.ClassStreamCut:
			i = 1
		case scenarios.ClassStreamStall:
			i = 2
		}
		p.fail[100+i].Add(1)
	}
}

// counts says e.g. "2xx 604, 502 3, 503 1, error 2": 2xx and 502
// always, every other failure class once seen.
func (p *progress) counts() string {
	var b strings.Builder
	fmt.Fprintf(&b, "2xx %d, 502 %d", p.ok.Load(), p.fail[2].Load())
	for i := range p.fail {
		n := p.fail[i].Load()
		if i == 2 || n == 0 {
			continue
		}
		name := strconv.Itoa(500 + i)
		if i >= 100 {
			name = failClasses[i-100]
		}
		fmt.Fprintf(&b, ", %s %d", name, n)
	}
	return b.String()
}

// Run draws the progress line every 200 ms on a terminal, every 5 s
// elsewhere, until ctx ends or Stop is called; call it once, in a
// goroutine of its own.
func (p *progress) Run(ctx context.Context) {
	if !p.running.CompareAndSwap(false, true) {
		return
	}
	defer close(p.ran)
	// Counts are sampled every 200 ms whatever the line's pace, so that
	// the achieved rate is that of the last second in a CI log too.
	t := time.NewTicker(progressTTYEvery)
	defer t.Stop()
	last := p.start
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.stop:
			return
		case now := <-t.C:
			if p.tty || now.Sub(last) >= p.every {
				p.tick(now)
				last = now
			} else {
				p.observe(now)
			}
		}
	}
}

// observe samples the count at now without drawing.
func (p *progress) observe(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.achieved(now.Sub(p.start), p.done.Load())
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
//	[   4.2s/8.0s] resets: offered 150/s, achieved 148/s; 2xx 604, 502 3, error 1
//
// "draining" in place of the phase after the plan's end (the last
// requests are still out), and on the final line "done", the requests
// and the run's own rate. The achieved rate is that of the last second
// (since the start during the first one). The counts are 2xx and the
// failure classes as the report names them: 502 always, every other 5xx
// code, error (no answer at all, or an answer cut after its headers),
// stream-cut and stream-stall once seen. short is the clock and the
// counts alone, for a narrow terminal.
func (p *progress) line(elapsed time.Duration, final bool) (line, short string) {
	n := p.done.Load()
	counts := p.counts()
	clock := fmt.Sprintf("[%6.1fs/%.1fs]", elapsed.Seconds(), p.total.Seconds())
	short = clock + " " + counts
	if final {
		r := 0.0
		if elapsed > 0 {
			r = float64(n) / elapsed.Seconds()
		}
		return fmt.Sprintf("%s done: %d requests, achieved %s on average; %s", clock, n, rate(r), counts), short
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

// achieved is the rate results came in at over the last second (since
// the start during the first one): from the newest sample at least a
// second old. It keeps now as a sample; Run samples every 200 ms, so the
// window is a second give or take 200 ms.
func (p *progress) achieved(elapsed time.Duration, n int64) float64 {
	now := countSample{elapsed, n}
	p.samples = append(p.samples, now)
	// Keep the newest sample at least a window old, and those after.
	i := 0
	for i+1 < len(p.samples) && elapsed-p.samples[i+1].at >= progressRateWindow {
		i++
	}
	p.samples = p.samples[i:]
	var from countSample
	if elapsed-p.samples[0].at >= progressRateWindow {
		from = p.samples[0]
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
