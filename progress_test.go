package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakePhases is a plan of 2s baseline at 100/s, 4s resets ramping from
// 100/s to 200/s, 2s recover at 100/s.
func fakePhases(d time.Duration) (string, float64) {
	switch s := d.Seconds(); {
	case s < 0 || s >= 8:
		return "", 0
	case s < 2:
		return "baseline", 100
	case s < 6:
		return "resets", 100 + 25*(s-2)
	default:
		return "recover", 100
	}
}

// testProgress returns a progress on a fake clock at t0.
func testProgress(w *bytes.Buffer, tty bool) (*progress, time.Time) {
	p := newProgress(w, tty, 8*time.Second, fakePhases)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p.start = t0
	return p, t0
}

func addN(p *progress, code uint16, n int) {
	addErr(p, code, "", n)
}

func addErr(p *progress, code uint16, err string, n int) {
	for range n {
		p.Add(code, err)
	}
}

func TestProgressPlainLines(t *testing.T) {
	var out bytes.Buffer
	p, t0 := testProgress(&out, false)
	if p.every != 5*time.Second {
		t.Errorf("not a terminal: every %v, want 5s", p.every)
	}
	addN(p, 200, 500)
	p.tick(t0.Add(5 * time.Second))
	addN(p, 200, 400)
	addN(p, 502, 3)
	addErr(p, 0, "unexpected EOF", 1) // no answer
	addN(p, 503, 2)                   // another 5xx
	addN(p, 404, 4)                   // neither 2xx nor an error
	p.tick(t0.Add(7500 * time.Millisecond))
	p.tick(t0.Add(10 * time.Second))
	p.now = func() time.Time { return t0.Add(8200 * time.Millisecond) }
	p.Stop()
	p.Stop() // once only
	want := strings.Join([]string{
		"[   5.0s/8.0s] resets: offered 175/s, achieved 100/s; 2xx 500, 502 0",
		// 410 results in the 2.5s since the last line.
		"[   7.5s/8.0s] recover: offered 100/s, achieved 164/s; 2xx 900, 502 3, 503 2, error 1",
		// None since.
		"[  10.0s/8.0s] draining: achieved 0.0/s; 2xx 900, 502 3, 503 2, error 1",
		"[   8.2s/8.0s] done: 910 requests, achieved 111/s on average; 2xx 900, 502 3, 503 2, error 1",
		"",
	}, "\n")
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestProgressTerminal(t *testing.T) {
	var out bytes.Buffer
	p, t0 := testProgress(&out, true)
	if p.every != 200*time.Millisecond {
		t.Errorf("a terminal: every %v, want 200ms", p.every)
	}
	// 40 results every 200ms: 200/s once a second has gone by.
	var lines []string
	for i := 1; i <= 10; i++ {
		addN(p, 200, 40)
		before := out.Len()
		p.tick(t0.Add(time.Duration(i) * 200 * time.Millisecond))
		lines = append(lines, out.String()[before:])
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, "\r[") || strings.Contains(l, "\n") {
			t.Errorf("line %d: %q is not redrawn in place", i, l)
		}
	}
	// Padded: the line before named a longer phase.
	if want := "\r[   2.0s/8.0s] resets: offered 100/s, achieved 200/s; 2xx 400, 502 0  "; lines[9] != want {
		t.Errorf("line 10:\ngot  %q\nwant %q", lines[9], want)
	}
	// The window slides: 100 results in the last second.
	var last string
	for i := 11; i <= 15; i++ {
		addN(p, 200, 20)
		before := out.Len()
		p.tick(t0.Add(time.Duration(i) * 200 * time.Millisecond))
		last = out.String()[before:]
	}
	if !strings.HasSuffix(out.String(), "achieved 100/s; 2xx 500, 502 0") {
		t.Errorf("after a slower second: %q", out.String()[strings.LastIndex(out.String(), "\r"):])
	}
	// A shorter line blanks what is left of the longer one.
	before := out.Len()
	p.tick(t0.Add(9 * time.Second))
	l := out.String()[before:]
	short := "\r[   9.0s/8.0s] draining: achieved 0.0/s; 2xx 500, 502 0"
	if !strings.HasPrefix(l, short) || strings.TrimRight(l[len(short):], " ") != "" || len(l) != len(last) {
		t.Errorf("shorter line: got %q, want %q padded to %d columns", l, short, len(last)-1)
	}
	p.now = func() time.Time { return t0.Add(10 * time.Second) }
	p.Stop()
	if !strings.HasSuffix(out.String(), "done: 500 requests, achieved 50/s on average; 2xx 500, 502 0\n") {
		t.Errorf("final line: %q", out.String()[strings.LastIndex(out.String(), "\r"):])
	}
	// Nothing is drawn after Stop.
	n := out.Len()
	p.tick(t0.Add(11 * time.Second))
	if out.Len() != n {
		t.Errorf("drew after Stop: %q", out.String()[n:])
	}
}

// TestProgressRun checks that Run ends on Stop and on its context, and
// that Add is safe beside it.
func TestProgressRun(t *testing.T) {
	for _, how := range []string{"stop", "context"} {
		t.Run(how, func(t *testing.T) {
			var out syncBuffer // cmd_proxy_test.go
			p := newProgress(&out, true, time.Second, fakePhases)
			p.every = time.Millisecond
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			go func() { p.Run(ctx); close(done) }()
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					addN(p, 200, 1000)
				}()
			}
			wg.Wait()
			if how == "stop" {
				p.Stop()
			} else {
				cancel()
			}
			<-done
			p.Stop()
			if !strings.Contains(out.String(), "done: 4000 requests") {
				t.Errorf("final line missing: %q", out.String())
			}
		})
	}
}

func TestProgressPhaseNamePrintable(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, false, time.Second, func(time.Duration) (string, float64) {
		return "evil\x1b[2J\r\nphase with a name far too long to fit", 10
	})
	p.tick(p.start.Add(time.Second))
	got := out.String()
	if strings.ContainsAny(got[:len(got)-1], "\x1b\r\n") {
		t.Errorf("control characters reached the line: %q", got)
	}
	if !strings.Contains(got, "] evil?[2J??phase wit…: offered 10/s") {
		t.Errorf("got %q", got)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, w := range []any{f, &bytes.Buffer{}} {
		if isTerminal(w.(interface{ Write([]byte) (int, error) })) {
			t.Errorf("%T is not a terminal", w)
		}
	}
}

// TestProgressNarrowTerminal checks that a line never wraps: it leaves
// the phase out, and is cut to the terminal's width less one column.
func TestProgressNarrowTerminal(t *testing.T) {
	var out bytes.Buffer
	p, t0 := testProgress(&out, true)
	p.cols = 40
	addN(p, 200, 5)
	addN(p, 504, 1)
	p.tick(t0.Add(time.Second))
	if want := "\r[   1.0s/8.0s] 2xx 5, 502 0, 504 1"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	out.Reset()
	addErr(p, 0, "stream-cut: no [DONE]", 1)
	p.tick(t0.Add(2 * time.Second))
	if want := "\r[   2.0s/8.0s] 2xx 5, 502 0, 504 1, str"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	out.Reset()
	p.cols = 60
	p.tick(t0.Add(3 * time.Second))
	if want := "\r[   3.0s/8.0s] 2xx 5, 502 0, 504 1, stream-cut 1"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// TestProgressClasses checks that the counts use the report's failure
// classes: 502 always, any other 5xx code, error, stream-cut and
// stream-stall once seen, in the report's order; 3xx and 4xx only in the
// total.
func TestProgressClasses(t *testing.T) {
	tests := []struct {
		name string
		add  func(p *progress)
		want string
	}{
		{"nothing", func(*progress) {}, "2xx 0, 502 0"},
		{"2xx only", func(p *progress) { addN(p, 204, 3) }, "2xx 3, 502 0"},
		{"3xx and 4xx are no class", func(p *progress) { addN(p, 301, 1); addN(p, 429, 2) }, "2xx 0, 502 0"},
		{"5xx by code", func(p *progress) { addN(p, 504, 2); addN(p, 500, 1); addN(p, 502, 4) }, "2xx 0, 502 4, 500 1, 504 2"},
		{"no answer is error", func(p *progress) {
			addErr(p, 0, `Get "http://127.0.0.1:1/": EOF`, 1)
			addErr(p, 0, "unexpected EOF", 1)
		}, "2xx 0, 502 0, error 2"},
		{"streams", func(p *progress) {
			addErr(p, 0, "stream-stall: no token for 2s", 1)
			addErr(p, 0, "stream-cut: no end marker", 2)
			addErr(p, 0, "context canceled", 1)
		}, "2xx 0, 502 0, error 1, stream-cut 2, stream-stall 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p, _ := testProgress(&out, false)
			tt.add(p)
			if got := p.counts(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestProgressLastSecond checks that a line every 5 s (a CI log) still
// shows the rate of the last second, from the samples taken between
// lines, not the average since the last line or the start.
func TestProgressLastSecond(t *testing.T) {
	var out bytes.Buffer
	p, t0 := testProgress(&out, false)
	// 4 s at 50/s, then 1 s at 200/s, sampled every 200 ms.
	for i := 1; i <= 25; i++ {
		if i <= 20 {
			addN(p, 200, 10)
		} else {
			addN(p, 200, 40)
		}
		at := t0.Add(time.Duration(i) * 200 * time.Millisecond)
		if i < 25 {
			p.observe(at)
		} else {
			p.tick(at)
		}
	}
	if want := "[   5.0s/8.0s] resets: offered 175/s, achieved 200/s; 2xx 400, 502 0\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
