package run

import (
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

func TestSlowBound(t *testing.T) {
	for _, tc := range []struct {
		exps []string
		want time.Duration
		text string
	}{
		{nil, 0, ""},
		{[]string{"rate(status=502) < 1%"}, 0, ""},
		{[]string{"p99(latency) < 250ms"}, 250 * time.Millisecond, "p99(latency) < 250ms"},
		{[]string{"p99(latency) < 2s", "p50(latency) <= 300ms in recover", "max(latency) < 5s"}, 300 * time.Millisecond, "p50(latency) <= 300ms in recover"},
		{[]string{"p99(latency) > 100ms"}, 0, ""},
		{[]string{"p99(ttft) < 100ms", "send_lag(p99) < 10ms"}, 0, ""},
		{[]string{"mean(latency) < 1m"}, time.Minute, "mean(latency) < 1m"},
	} {
		var exps []scenarios.Expectation
		for _, s := range tc.exps {
			e, err := scenarios.ParseExpect(s)
			if err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			exps = append(exps, e)
		}
		d, text := SlowBound(exps)
		if d != tc.want || text != tc.text {
			t.Errorf("%q: got %s %q, want %s %q", tc.exps, d, text, tc.want, tc.text)
		}
	}
}
