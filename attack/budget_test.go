package attack

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBudget checks the budget's arithmetic: over any second, granted
// retries <= max(ratio × first tries, min_per_second).
func TestBudget(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type step struct {
		at      time.Duration
		firsts  int // first tries counted at at
		retries int // retries asked for at at, after the firsts
		granted int // want granted of them
	}
	tests := []struct {
		name       string
		ratio, min float64
		steps      []step
	}{
		{"burst: 10% of 100 first tries", 0.1, 0, []step{{0, 100, 50, 10}}},
		{"burst: a fraction rounds down", 0.1, 0, []step{{0, 19, 5, 1}}},
		{"the floor when first tries are few", 0.1, 3, []step{{0, 5, 10, 3}}},
		{"the floor with no first tries", 0.5, 2, []step{{0, 0, 5, 2}}},
		{"no budget left within the second", 0.1, 0, []step{{0, 100, 10, 10}, {500 * time.Millisecond, 0, 5, 0}, {999 * time.Millisecond, 0, 5, 0}}},
		{"the window slides: the first second's tries age out", 0.1, 0, []step{
			{0, 100, 10, 10},
			{600 * time.Millisecond, 100, 20, 10},                 // 200 firsts in the window, 10 retries already
			{time.Second + time.Millisecond, 0, 20, 0},            // t0's aged out: 100 firsts and their 10 retries left
			{1600*time.Millisecond + time.Millisecond, 50, 20, 5}, // all aged out but these 50
		}},
		{"idle then burst", 0.2, 1, []step{
			{0, 50, 50, 10},
			{10 * time.Second, 0, 5, 1},                    // idle: only the floor
			{10*time.Second + time.Millisecond, 40, 20, 7}, // 40 firsts: 8 allowed, 1 already granted
		}},
		{"ratio 0 and no floor: no retry", 0, 0, []step{{0, 1000, 10, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBudget(tt.ratio, tt.min)
			for i, s := range tt.steps {
				for range s.firsts {
					b.First(at(s.at))
				}
				got := 0
				for range s.retries {
					if b.Retry(at(s.at)) {
						got++
					}
				}
				if got != s.granted {
					t.Errorf("step %d at %s: got %d retries granted, want %d", i, s.at, got, s.granted)
				}
			}
		})
	}
}

// TestBudgetLongRun: one first try a millisecond for a minute, each
// followed by a retry asked for; in every window of a second ending at a
// grant, the grants are at most ratio × the first tries, and over the run
// they come to the ratio of all first tries, give or take the first
// second's.
func TestBudgetLongRun(t *testing.T) {
	const (
		ratio = 0.1
		n     = 60_000
	)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := NewBudget(ratio, 0)
	var grants []time.Duration
	for i := range n {
		now := time.Duration(i) * time.Millisecond
		b.First(t0.Add(now))
		if b.Retry(t0.Add(now)) {
			grants = append(grants, now)
		}
	}
	lo := 0
	for hi, g := range grants {
		for grants[lo] <= g-time.Second {
			lo++
		}
		firsts := min(int(g/time.Millisecond)+1, 1000)
		if in := hi - lo + 1; float64(in) > ratio*float64(firsts)+1e-9 {
			t.Fatalf("window ending %s: %d retries granted, want at most %.0f", g, in, ratio*float64(firsts))
		}
	}
	want := ratio * n
	if got := float64(len(grants)); math.Abs(got-want) > 1 {
		t.Errorf("got %.0f retries granted over %d first tries, want %.0f ± 1", got, n, want)
	}
}

// TestParseRetryAfter reads Retry-After in both forms, and junk.
func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"120", 2 * time.Minute, true},
		{"0", 0, true},
		{" 3 ", 3 * time.Second, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"Sunday, 01-Mar-26 12:00:05 GMT", 5 * time.Second, true}, // RFC 850
		{"Sun Mar  1 12:00:07 2026", 7 * time.Second, true},       // asctime
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},    // past: no wait
		{"", 0, false},
		{"soon", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"10s", 0, false},
		{"99999999999", 0, false},
		{"2026-03-01T12:00:05Z", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("parseRetryAfter(%q): got %s, %v, want %s, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// FuzzParseRetryAfter: whatever a server sends, parseRetryAfter does not
// panic, never gives a negative wait, and reads delay-seconds back.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", " 3 ", "Sun, 01 Mar 2026 12:01:30 GMT", "Sunday, 01-Mar-26 12:00:05 GMT", "Sun Mar  1 12:00:07 2026", "soon", "-1", "1.5", "99999999999", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("parseRetryAfter(%q): got %s, %v", v, d, ok)
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil && (!ok || d != time.Duration(n)*time.Second) {
			t.Fatalf("parseRetryAfter(%q): got %s, %v, want %ds", v, d, ok, n)
		}
	})
}
