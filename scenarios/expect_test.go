package scenarios

import (
	"bufio"
	"errors"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestParseExpect(t *testing.T) {
	for _, tt := range []struct {
		expr string
		want Expectation // without Expr, which is always the input
	}{
		{"rate(status=502) < 0.5% in baseline", Expectation{Metric: MetricRate, Class: "502", Op: "<", Value: 0.5, Unit: "%", Phase: "baseline"}},
		{"p99(latency) < 250ms in recover", Expectation{Metric: MetricLatency, Stat: "p99", Op: "<", Value: 250, Unit: "ms", Phase: "recover"}},
		{"first(status=502) > 10s", Expectation{Metric: MetricFirst, Class: "502", Op: ">", Value: 10, Unit: "s"}},
		{"share(cause=reset-before-headers) >= 99%", Expectation{Metric: MetricShare, Class: "502", Cause: "reset-before-headers", Op: ">=", Value: 99, Unit: "%"}},
		{"recovery(phase=resets) < 5s", Expectation{Metric: MetricRecovery, Class: "502", Phase: "resets", Op: "<", Value: 5, Unit: "s"}},
		{"achieved_rate >= 99% of offered", Expectation{Metric: MetricAchievedRate, Op: ">=", Value: 99, Unit: "%", OfOffered: true}},
		{"achieved_rate >= 99% of offered in ramp up", Expectation{Metric: MetricAchievedRate, Op: ">=", Value: 99, Unit: "%", OfOffered: true, Phase: "ramp up"}},
		{"achieved_rate > 95/s in baseline", Expectation{Metric: MetricAchievedRate, Op: ">", Value: 95, Unit: "/s", Phase: "baseline"}},
		{"achieved_rate>=6000/m", Expectation{Metric: MetricAchievedRate, Op: ">=", Value: 6000, Unit: "/m"}},
		{"count(class=5xx) <= 3 in resets", Expectation{Metric: MetricCount, Class: "5xx", Op: "<=", Value: 3, Phase: "resets"}},
		{"count( error ) == 0", Expectation{Metric: MetricCount, Class: "error", Op: "==", Value: 0}},
		{"rate(status=200)>=99.5%", Expectation{Metric: MetricRate, Class: "200", Op: ">=", Value: 99.5, Unit: "%"}},
		{"  mean(latency) != 1.5s  ", Expectation{Metric: MetricLatency, Stat: "mean", Op: "!=", Value: 1.5, Unit: "s"}},
		{"max(latency) <= 1m", Expectation{Metric: MetricLatency, Stat: "max", Op: "<=", Value: 1, Unit: "m"}},
		{"sustained(error) >= 1m", Expectation{Metric: MetricSustained, Class: "error", Op: ">=", Value: 1, Unit: "m"}},
		{"first(class=5xx) > 500ms", Expectation{Metric: MetricFirst, Class: "5xx", Op: ">", Value: 500, Unit: "ms"}},
		{"share(cause=upstream-timeout, status=504) == 100%", Expectation{Metric: MetricShare, Class: "504", Cause: "upstream-timeout", Op: "==", Value: 100, Unit: "%"}},
		{"share(error, cause=reset-mid-body) > 0%", Expectation{Metric: MetricShare, Class: "error", Cause: "reset-mid-body", Op: ">", Value: 0, Unit: "%"}},
		{"recovery(phase=resets, error) < 500ms", Expectation{Metric: MetricRecovery, Class: "error", Phase: "resets", Op: "<", Value: 500, Unit: "ms"}},
		{"masked > 0", Expectation{Metric: MetricMasked, Op: ">", Value: 0}},
		{"masked(kind=reset) > 0", Expectation{Metric: MetricMasked, Kind: "reset", Op: ">", Value: 0}},
		{"masked(reason=gateway-retried) >= 90%", Expectation{Metric: MetricMasked, Reason: "gateway-retried", Op: ">=", Value: 90, Unit: "%"}},
		{"send_lag(p99) < 10ms", Expectation{Metric: MetricSendLag, Stat: "p99", Op: "<", Value: 10, Unit: "ms"}},
		{"amplification < 1.5 in spike", Expectation{Metric: MetricAmplification, Op: "<", Value: 1.5, Phase: "spike"}},
		{"amplification<=2", Expectation{Metric: MetricAmplification, Op: "<=", Value: 2}},
		{"rate(user-failure) < 0.1%", Expectation{Metric: MetricRate, Class: ClassUserFailure, Op: "<", Value: 0.1, Unit: "%"}},
		{"count(user-failure) == 0 in spike", Expectation{Metric: MetricCount, Class: ClassUserFailure, Op: "==", Value: 0, Phase: "spike"}},
		{"recovery(phase=spike, user-failure) < 5s", Expectation{Metric: MetricRecovery, Class: ClassUserFailure, Phase: "spike", Op: "<", Value: 5, Unit: "s"}},
		{"masked(reason=client-retried) > 0", Expectation{Metric: MetricMasked, Reason: MaskedClientRetried, Op: ">", Value: 0}},
		{"p99(ttft) < 800ms in steady", Expectation{Metric: MetricTTFT, Stat: "p99", Op: "<", Value: 800, Unit: "ms", Phase: "steady"}},
		{"p50(ttft) <= 1.5s", Expectation{Metric: MetricTTFT, Stat: "p50", Op: "<=", Value: 1.5, Unit: "s"}},
		{"p99( itl ) < 20ms", Expectation{Metric: MetricITL, Stat: "p99", Op: "<", Value: 20, Unit: "ms"}},
		{"rate(class=stream-cut) < 0.1%", Expectation{Metric: MetricRate, Class: ClassStreamCut, Op: "<", Value: 0.1, Unit: "%"}},
		{"rate(class = stream-stall) == 0% in steady", Expectation{Metric: MetricRate, Class: ClassStreamStall, Op: "==", Value: 0, Unit: "%", Phase: "steady"}},
		{"count(class=stream-cut) <= 5 in cuts", Expectation{Metric: MetricCount, Class: ClassStreamCut, Op: "<=", Value: 5, Phase: "cuts"}},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := ParseExpect(tt.expr)
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			tt.want.Expr = tt.expr
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got.String() != tt.expr {
				t.Errorf("got string %q, want %q", got.String(), tt.expr)
			}
		})
	}
}

func TestParseExpectErrors(t *testing.T) {
	for _, tt := range []struct{ expr, want string }{
		{"", "the expectation is empty; write one such as rate(status=502) < 1%"},
		{"p98(latency) < 1s", `unknown metric "p98"; use p50, p90, p99, max, mean`},
		{"latncy(x) < 1s", `unknown metric "latncy"; use rate, count, p50, p90, p99, max, mean, first, sustained, share, recovery, achieved_rate, masked, send_lag, amplification`},
		{"firts(status=502) > 1s", `unknown metric "firts" (did you mean first?); use rate, count, p50, p90, p99, max, mean, first, sustained, share, recovery, achieved_rate, masked, send_lag, amplification`},
		{"(x) < 1", `"(x) < 1" does not start with a metric; write one such as rate(status=502) < 1% (metrics: rate, count, p50, p90, p99, max, mean, first, sustained, share, recovery, achieved_rate, masked, send_lag, amplification)`},
		{"rate(status=502 < 1%", "rate( is never closed with ); write rate(status=502) < 1%"},
		{"rate < 1%", "rate needs a filter; write rate(status=502), rate(class=5xx) or rate(error)"},
		{"rate(status=502, error) < 1%", "rate takes one filter, got 2; write rate(status=502), rate(class=5xx) or rate(error)"},
		{"rate(status=5xx) < 1%", "status=5xx is a class; write class=5xx"},
		{"rate(status=abc) < 1%", `"abc" is not a status code; write one from 100 to 599, such as status=502`},
		{"rate(status=700) < 1%", `"700" is not a status code; write one from 100 to 599, such as status=502`},
		{"rate(class=6xx) < 1%", `"6xx" is not a status class; write one such as class=5xx (1xx to 5xx)`},
		{"rate(code=502) < 1%", `unknown filter "code"; write status=502, class=5xx, error or user-failure`},
		{"rate(stats=502) < 1%", `unknown filter "stats" (did you mean status?); write status=502, class=5xx, error or user-failure`},
		{"rate(errors) < 1%", `unknown filter "errors" (did you mean error?); write status=502, class=5xx, error or user-failure`},
		{"first(status=404) > 1s", "first measures when a failure class began, and status=404 is not one; give a 5xx code such as status=502, class=5xx, or error"},
		{"first(class=4xx) > 1s", "first measures when a failure class began, and class=4xx is not one; write class=5xx, a 5xx code such as status=502, or error"},
		{"p99 < 1s", "p99 needs what it measures; write p99(latency)"},
		{"p90(ttft) < 1s", "the report gives p50 and p99 of ttft; write p50(ttft) or p99(ttft), not p90(ttft)"},
		{"max(itl) < 1s", "the report gives p99 of itl (the streams' mean inter-token latency); write p99(itl), not max(itl)"},
		{"p99(ttft) < 800", "800 has no unit; write 800ms or 800s"},
		{"p99(itl) < 1%", `unknown unit "%" for p99; write ms, s or m, such as p99(latency) < 250ms`},
		{"p99(ttft) < 1s of offered", `"of offered" only follows achieved_rate; remove it`},
		{"rate(class=stream-cut) < 1", "rate is a share; write the value with %, such as 1%"},
		{"count(class=stream-stall) < 1%", "count takes no unit; write a whole number, such as count(class=stream-stall) < 10"},
		{"rate(stream-cut) < 1%", "stream-cut is a class; write rate(class=stream-cut)"},
		{"rate(class=stream-cuts) < 1%", `"stream-cuts" is not a class (did you mean stream-cut?); write class=5xx (1xx to 5xx), class=stream-cut or class=stream-stall`},
		{"first(class=stream-cut) > 1s", "first takes a class of answers, and stream-cut is counted, not timed; write rate(class=stream-cut) < 0.1% or count(class=stream-cut) < 10"},
		{"p99(lat) < 1s", "p99 measures latency; write p99(latency), not p99(lat)"},
		{"send_lag < 1s", "send_lag needs a statistic; write send_lag(p99), send_lag(p50) or send_lag(max)"},
		{"send_lag(p90) < 1s", "send_lag(p90): write send_lag(p50), send_lag(p99) or send_lag(max)"},
		{"achieved_rate(x) > 1/s", "achieved_rate takes no filter; write achieved_rate >= 99% of offered, or achieved_rate >= 100/s"},
		{"masked(kind=rest) > 0", "unknown fault kind \"rest\" (did you mean reset?); use one of " + strings.Join(kinds, ", ")},
		{"masked(reason=retried) > 0", "unknown masked reason \"retried\"; use one of gateway-retried, client-retried, absorbed, connection-unused, no-result"},
		{"masked(kind=reset, reason=absorbed) > 0", "masked takes one filter, got 2; write masked(kind=reset) or masked(reason=gateway-retried)"},
		{"masked(reset) > 0", "masked(reset): write masked(kind=KIND), such as masked(kind=reset), or masked(reason=REASON), such as masked(reason=gateway-retried)"},
		{"share(cause=resets) > 1%", "unknown cause \"resets\"; use one of " +
			"reset-before-headers, closed-before-headers, reset-after-headers, closed-after-headers, reset-mid-body, closed-mid-body, malformed-status-line, malformed-header, oversized-headers, length-mismatch, truncated-chunked, malformed-response, connection-refused, upstream-timeout, upstream-latency, keepalive-race, overload-rejected, stalled-mid-stream, upstream-closed-idle, upstream-closed, upstream-reset, upstream-closed-mid-body, upstream-reset-mid-body, upstream-refused, upstream-malformed, upstream-error, upstream-ended-stream, upstream-stalled-stream, upstream-5xx-passthrough, upstream-status, gateway-local, unattributed"},
		{"share(status=504) > 1%", "share needs a cause; write share(cause=reset-before-headers), or share(cause=upstream-timeout, status=504) for another class"},
		{"share(cause=upstream-timeout, status=404) > 1%", `share: "status=404" is not a failure class; write a 5xx code such as status=504, or error`},
		{"share(cause=upstream-timeout, at=1) > 1%", `unknown filter "at=1"; write share(cause=reset-before-headers), and optionally status=504 or error for a class other than 502`},
		{"recovery < 1s", "recovery needs the phase it recovers from; write recovery(phase=resets)"},
		{"recovery(phase=) < 1s", "recovery(phase=) names no phase; write the name of a phase with faults, such as recovery(phase=resets)"},
		{"recovery(phase=a) < 1s in b", `recovery names its phase in the filter, as in recovery(phase=a); remove "in b"`},
		{"rate(status=502)", "rate(status=502) has no comparison; write one of <, <=, >, >=, ==, != and a value, such as rate(status=502) < 1%"},
		{"rate(status=502) = 1%", "= is not a comparison; write == to test equality, or <=, >=, such as rate(status=502) < 1%"},
		{"rate(status=502) =< 1%", "=< is not a comparison; write <="},
		{"rate(status=502) under 1%", `unexpected "under" after rate(status=502); write a comparison (<, <=, >, >=, ==, !=) and a value, such as rate(status=502) < 1%`},
		{"rate(status=502) <", "rate(status=502) < has no value; write one such as rate(status=502) < 1%"},
		{"rate(status=502) < -1%", `"-1%" is negative, and no metric is; write a value of 0 or more, such as rate(status=502) < 1%`},
		{"rate(status=502) < five%", `"five%" is not a number; write a value such as rate(status=502) < 1%`},
		{"rate(status=502) < 5.%", `"5.%" is not a number; write a value such as rate(status=502) < 1%`},
		{"rate(status=502) < 1.2.3%", `"1.2.3%" is not a number; write a value such as rate(status=502) < 1%`},
		{"rate(status=502) < 0.5", "rate is a share; write the value with %, such as 0.5%"},
		{"rate(status=502) < 0.5pp", "pp (percentage points) is for comparing two reports; write 0.5%"},
		{"rate(status=502) < 150%", "150% is more than all; write a share from 0% to 100%"},
		{"rate(status=502) < 1ms", `unknown unit "ms" for rate, a share; write %, such as rate(status=502) < 1%`},
		{"p99(latency) < 250", "250 has no unit; write 250ms or 250s"},
		{"amplification(x) < 1.5", "amplification takes no filter; write amplification < 1.5, or amplification < 1.5 in PHASE"},
		{"amplification < 150%", `amplification is arrivals at the upstream per request, a plain number; write amplification < 150, without "%"`},
		{"amplification < 1.5x", `amplification is arrivals at the upstream per request, a plain number; write amplification < 1.5, without "x"`},
		{"amplificaton < 1.5", `unknown metric "amplificaton" (did you mean amplification?); use rate, count, p50, p90, p99, max, mean, first, sustained, share, recovery, achieved_rate, masked, send_lag, amplification`},
		{"rate(user-failures) < 1%", `unknown filter "user-failures" (did you mean user-failure?); write status=502, class=5xx, error or user-failure`},
		{"first(user-failure) > 1s", "first measures when a failure class began, and user-failure is a share of requests; write rate(user-failure) < 0.1% or count(user-failure) < 10"},
		{"rate(user-failure) < 0.1", "rate is a share; write the value with %, such as 0.1%"},
		{"p99(latency) < 250 ms", `"ms" after 250: write the unit right after the number, as in 250ms`},
		{"p99(latency) < 1sec", `unknown unit "sec" for p99; write ms, s or m, such as p99(latency) < 250ms`},
		{"first(status=502) > 1h", `unknown unit "h" for first; write ms, s or m, such as first(status=502) > 10s`},
		{"count(status=502) < 2.5", "2.5 is not a whole number; a count is one, such as 10"},
		{"count(status=502) < 2%", "count takes no unit; write a whole number, such as count(status=502) < 10"},
		{"masked(kind=reset) > 5%", "the report does not count the faults of each kind that broke an attempt, so masked(kind=...) takes no %; compare a count, such as masked(kind=reset) > 0"},
		{"achieved_rate >= 99%", "a % of achieved_rate is a share of the offered rate; write achieved_rate >= 99% of offered"},
		{"achieved_rate >= 99/s of offered", "of offered needs a %: write achieved_rate >= 99% of offered"},
		{"achieved_rate >= 99", "achieved_rate is requests per second; write 99/s, or a share such as 99% of offered"},
		{"achieved_rate >= 99% of requests", `"of" must be followed by offered, as in achieved_rate >= 99% of offered`},
		{"rate(status=502) < 1% of offered", `"of offered" only follows achieved_rate; remove it`},
		{"first(status=502) > 10s in baseline", `first is measured over the whole run; remove "in baseline"`},
		{"share(cause=unattributed) < 1% in resets", `share is measured over the whole run; remove "in resets"`},
		{"rate(status=502) < 1% in", `"in" needs a phase's name after it, as in rate(status=502) < 1% in baseline`},
		{"rate(status=502) < 1% during baseline", `unexpected "during" after the value; an expectation may end with "of offered" (achieved_rate) and "in PHASE", as in rate(status=502) < 1%`},
		{"rate(status=502) < 1%\nin baseline", "the expectation holds a line break, a tab or another control character; write it on one line, with spaces"},
		{strings.Repeat("x", 1001), "the expectation is 1001 bytes long; write one of at most 1000, such as rate(status=502) < 1%"},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := ParseExpect(tt.expr)
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("got %+v, %v; want a *scenarios.Error", got, err)
			}
			if se.Msg != tt.want || se.Line != 0 || se.File != "" {
				t.Errorf("got %q\nwant %q", err, tt.want)
			}
			if !reflect.DeepEqual(got, Expectation{}) {
				t.Errorf("got %+v with the error, want the zero Expectation", got)
			}
		})
	}
}

func TestExpectationAbort(t *testing.T) {
	for _, tt := range []struct {
		expr string
		want string // "" when abort is supported, else a part of the message
	}{
		{"first(status=502) > 10s", ""},
		{"first(error) >= 1s", ""},
		{"first(status=502) < 10s", "abort: true needs first(...) with > or >=, which fails for good at the first failure before the time; first < can only fail at the end: remove abort: true"},
		{"count(status=502) < 10", ""},
		{"count(class=5xx) <= 10 in resets", ""},
		{"count(status=502) > 10 in resets", ""},
		{"count(status=502) > 10", "abort: true needs count(...) with < or <= (it fails for good once the count goes past), or in PHASE (decided once that phase has ended); remove abort: true, or change the comparison"},
		{"rate(status=502) < 1% in baseline", ""},
		{"rate(status=502) < 1%", "abort: true needs a rate in a phase: a rate over the whole run is known only at its end; add in PHASE to abort once that phase has ended, or remove abort: true"},
		{"p99(latency) < 250ms in recover", ""},
		{"max(latency) < 1s", ""},
		{"max(latency) > 1s", "abort: true needs max(latency) in a phase (decided once that phase has ended), or max(latency) with < or <=; add in PHASE, or remove abort: true"},
		{"p99(latency) < 250ms", "abort: true needs p99(latency) in a phase"},
		{"share(cause=reset-before-headers) >= 99%", "abort: true does not work with share, which is known only at the end of the run; remove abort: true (abort works with first(...) > or >=, count(...) < or <=, max(latency) < or <=, and rate, count and latency metrics in PHASE)"},
		{"recovery(phase=resets) < 5s", "abort: true does not work with recovery"},
		{"achieved_rate >= 99% of offered in baseline", "abort: true does not work with achieved_rate"},
		{"sustained(status=502) > 1s", "abort: true does not work with sustained"},
		{"masked > 0", "abort: true does not work with masked"},
		{"send_lag(p99) < 10ms", "abort: true does not work with send_lag"},
		{"amplification < 1.5 in spike", "abort: true does not work with amplification, which is known only at the end of the run"},
		{"rate(user-failure) < 1% in spike", "abort: true does not work with rate(user-failure), which is known only once every try of every request is in; remove abort: true"},
		{"count(user-failure) < 10", "abort: true does not work with count(user-failure)"},
		{"count(class=stream-cut) < 10", "abort: true does not work with count(class=stream-cut), which is known only once the run's streams are read; remove abort: true"},
		{"rate(class=stream-stall) < 1% in steady", "abort: true does not work with rate(class=stream-stall)"},
		{"p99(ttft) < 800ms in steady", "abort: true does not work with p99(ttft), which is known only once the run's streams are read; remove abort: true"},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := ParseExpectation(tt.expr, true)
			if tt.want == "" {
				if err != nil || !e.Abort || !e.CanAbort() {
					t.Errorf("got %+v, %v; want abort set and no error", e, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v\nwant an error with %q", err, tt.want)
			}
			if e, err := ParseExpectation(tt.expr, false); err != nil || e.Abort || e.CanAbort() {
				t.Errorf("without abort: got %+v, %v (can abort %v); want the expectation, no abort", e, err, e.CanAbort())
			}
		})
	}
}

const expectHead = `name: x
requests: [{path: /}]
phases:
  - {name: baseline, duration: 1s, rate: 10/s}
  - name: resets
    duration: 1s
    rate: 10/s
    faults: [{kind: reset, probability: 0.1}]
  - {name: recover, duration: 1s, rate: 10/s}
  - {name: more, duration: 1s, rate: 10/s, faults: [{kind: refuse}]}
  - {name: last, duration: 1s, rate: 10/s, faults: [{kind: refuse}]}
expect:
`

func TestDecodeExpect(t *testing.T) {
	s, err := Decode("s.yaml", []byte(expectHead+`  - rate(status=502) < 0.5% in baseline
  - {expect: "first(status=502) > 10s", abort: true}
  - expect: p99(latency) < 250ms in recover
    abort: true
  - expect: share(cause=reset-before-headers) >= 99%
    abort: false
  - recovery(phase=resets) < 5s
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range s.Expect {
		got = append(got, e.Expr+map[bool]string{true: " [abort]"}[e.Abort])
	}
	want := []string{"rate(status=502) < 0.5% in baseline", "first(status=502) > 10s [abort]", "p99(latency) < 250ms in recover [abort]", "share(cause=reset-before-headers) >= 99%", "recovery(phase=resets) < 5s"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, src := range []string{"", "expect: []\n", "expect:\n"} {
		s, err := Decode("s.yaml", []byte(strings.TrimSuffix(expectHead, "expect:\n")+src))
		if err != nil || s.Expect != nil {
			t.Errorf("%q: got %v, %v; want no expectations, nil", src, s.Expect, err)
		}
	}
}

func TestDecodeExpectErrors(t *testing.T) {
	tests := []decodeErrorTest{
		{
			name: "three mistakes, all reported with their lines",
			src: expectHead + `  - p98(latency) < 1s
  - rate(status=502) < 0.5% in baselin
  - first(status=502) > 10
`,
			want: []want{
				{13, "expect[0]", `unknown metric "p98"; use p50, p90, p99, max, mean`},
				{14, "expect[1]", `no phase is named "baselin" (did you mean baseline?); the phases are baseline, resets, recover, more, last`},
				{15, "expect[2]", "10 has no unit; write 10ms or 10s"},
			},
		},
		{
			name: "mapping entries",
			src: expectHead + `  - {expect: "share(cause=reset-before-headers) > 1%", abort: true}
  - expect: first(status=502) > 10s
    abort: yes
  - expr: first(status=502) > 10s
  - {expect: "first(status=502) > 1s", expect: "first(status=502) > 2s"}
  - {abort: true}
  - expect: [a, b]
`,
			want: []want{
				{13, "expect[0].abort", "abort: true does not work with share, which is known only at the end of the run; remove abort: true"},
				{15, "expect[1].abort", `"yes" is not true or false; write abort: true`},
				{16, "expect[2].expr", `unknown field "expr"; known fields here: expect, abort`},
				{16, "expect[2]", `expect is required in a mapping; write {expect: "first(status=502) > 10s", abort: true}`},
				{17, "expect[3].expect", "expect is written twice, first on line 17; keep one"},
				{18, "expect[4]", "expect is required in a mapping"},
				{19, "expect[5].expect", `a list is not an expectation; write one such as expect: "first(status=502) > 10s"`},
			},
		},
		{
			name: "empty item and other values",
			src: expectHead + `  -
  - [rate(status=502) < 1%]
  - 5
`,
			want: []want{
				{13, "expect[0]", "an empty item; write an expectation such as - rate(status=502) < 1%, or - {expect: \"first(status=502) > 10s\", abort: true} here, or remove the lone -"},
				{14, "expect[1]", "a list is not an expectation; write an expectation such as - rate(status=502) < 1%"},
				{15, "expect[2]", `"5" does not start with a metric`},
			},
		},
		{
			name: "recovery from a phase it cannot be measured after",
			src: expectHead + `  - recovery(phase=baseline) < 1s
  - recovery(phase=more) < 1s
  - recovery(phase=last) < 1s
  - recovery(phase=nope) < 1s
`,
			want: []want{
				{13, "expect[0]", "phase baseline has no faults, so there is nothing to recover from; name a phase with faults"},
				{14, "expect[1]", "the phase after more, last, has faults too, so recovery from more is never measured"},
				{15, "expect[2]", "phase last is the last one, and recovery is measured in the phases without faults that follow it"},
				{16, "expect[3]", `no phase is named "nope"; the phases are baseline, resets, recover, more, last`},
			},
		},
		{
			name: "not a list",
			src:  expectHead[:len(expectHead)-len("expect:\n")] + "expect: rate(status=502) < 1%\n",
			want: []want{{12, "expect", `"rate(status=502) < 1%" is not a list of expectations; write one per line under expect:, each after a -, such as - rate(status=502) < 1%`}},
		},
		{
			name: "misspelt key",
			src:  expectHead[:len(expectHead)-len("expect:\n")] + "expects:\n  - rate(status=502) < 1%\n",
			want: []want{{12, "expects", `unknown field "expects" (did you mean expect?); known fields here: name, description, seed, target, upstream, requests, client, proxy, phases, expect`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode("s.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("got %+v, want errors", s.Expect)
			}
			got := problems(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.File != "s.yaml" || g.Line != w.line || g.Field != w.field || !strings.Contains(g.Msg, w.fix) {
					t.Errorf("problem %d: got %s:%d: %s: %s\nwant s.yaml:%d: %s: ...%s...", i, g.File, g.Line, g.Field, g.Msg, w.line, w.field, w.fix)
				}
			}
		})
	}
}

// TestExpectYAML checks that expectations written back read the same, and
// that yaml.Unmarshal alone rejects a bad one.
func TestExpectYAML(t *testing.T) {
	in := []Expectation{
		mustExpect(t, "rate(status=502) < 0.5% in baseline", false),
		mustExpect(t, "first(status=502) > 10s", true),
	}
	out, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := "- rate(status=502) < 0.5% in baseline\n- expect: first(status=502) > 10s\n  abort: true\n"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
	var back []Expectation
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, in) {
		t.Errorf("got %+v, want %+v", back, in)
	}
	err = yaml.Unmarshal([]byte("- p98(latency) < 1s\n"), &back)
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) != 1 || te.Errors[0] != `line 1: unknown metric "p98"; use p50, p90, p99, max, mean` {
		t.Errorf("got %v, want a *yaml.TypeError naming line 1 and the metric", err)
	}
}

func mustExpect(t *testing.T, expr string, abort bool) Expectation {
	t.Helper()
	e, err := ParseExpectation(expr, abort)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestExpectationHolds(t *testing.T) {
	for _, tt := range []struct {
		expr string
		v    float64
		want bool
	}{
		{"rate(status=502) < 1%", 0.99, true},
		{"rate(status=502) < 1%", 1, false},
		{"rate(status=502) <= 7%", 7.000000000000001, true}, // 7/100*100
		{"rate(status=502) == 7%", 7.000000000000001, true},
		{"rate(status=502) > 7%", 7.000000000000001, false},
		{"rate(status=502) != 7%", 7, false},
		{"rate(status=502) != 7%", 7.1, true},
		{"rate(status=502) >= 1%", 1, true},
		{"first(status=502) > 10s", math.Inf(1), true},
		{"first(status=502) < 10s", math.Inf(1), false},
		{"first(status=502) != 10s", math.Inf(1), true},
		{"rate(status=502) < 1%", math.NaN(), false},
		{"rate(status=502) != 1%", math.NaN(), false},
		{"rate(status=502) > 1%", math.NaN(), false},
	} {
		e := mustExpect(t, tt.expr, false)
		if got := e.Holds(tt.v); got != tt.want {
			t.Errorf("%s with %v: got %v, want %v", tt.expr, tt.v, got, tt.want)
		}
	}
}

func TestExpectationUnits(t *testing.T) {
	for _, tt := range []struct {
		expr  string
		base  string
		scale float64
	}{
		{"rate(status=502) < 1%", "share", 100},
		{"share(cause=unattributed) < 1%", "share", 100},
		{"count(error) < 1", "count", 1},
		{"p99(latency) < 1ms", "ms", 1},
		{"p99(latency) < 1s", "ms", 0.001},
		{"p99(latency) < 1m", "ms", 1.0 / 60000},
		{"send_lag(max) < 1s", "ms", 0.001},
		{"first(status=502) > 1ms", "s", 1000},
		{"first(status=502) > 1s", "s", 1},
		{"recovery(phase=a) < 1m", "s", 1.0 / 60},
		{"achieved_rate > 1/s", "/s", 1},
		{"achieved_rate > 60/m", "/s", 60},
		{"achieved_rate > 99% of offered", "share", 100},
		{"masked > 1", "count", 1},
		{"masked > 1%", "share", 100},
		{"p99(ttft) < 1s", "ms", 0.001},
		{"p99(itl) < 5ms", "ms", 1},
		{"rate(class=stream-cut) < 1%", "share", 100},
	} {
		e := mustExpect(t, tt.expr, false)
		if e.BaseUnit() != tt.base || e.Scale() != tt.scale {
			t.Errorf("%s: got base %s, scale %v; want %s, %v", tt.expr, e.BaseUnit(), e.Scale(), tt.base, tt.scale)
		}
	}
}

func TestMatchClass(t *testing.T) {
	for _, tt := range []struct {
		class string
		code  uint16
		want  bool
	}{
		{"502", 502, true}, {"502", 503, false}, {"5xx", 502, true}, {"5xx", 499, false}, {"5xx", 0, false},
		{"2xx", 204, true}, {"error", 0, true}, {"error", 502, false}, {"", 502, false}, {"200", 0, false},
		{ClassStreamCut, 0, false}, {ClassStreamStall, 200, false},
	} {
		if got := matchClass(tt.class, tt.code); got != tt.want {
			t.Errorf("matchClass(%q, %d): got %v, want %v", tt.class, tt.code, got, tt.want)
		}
	}
}

func TestStreamClass(t *testing.T) {
	for _, tt := range []struct{ err, want string }{
		{"stream-cut: the stream ended after 37 tokens without its end marker", ClassStreamCut},
		{"stream-stall: no token for 2s after 12 tokens", ClassStreamStall},
		{"stream-cut:no space", ""},
		{"read: stream-cut: x", ""},
		{"unexpected EOF", ""},
		{"", ""},
	} {
		if got := StreamClass(tt.err); got != tt.want {
			t.Errorf("StreamClass(%q): got %q, want %q", tt.err, got, tt.want)
		}
	}
}

// FuzzParseExpect checks that no expression panics the parser, that an
// error is an *Error with a message, and that what it accepts is
// consistent and reads the same again.
func FuzzParseExpect(f *testing.F) {
	file, err := os.Open("testdata/expect/expressions.txt")
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		f.Add(sc.Text(), false)
		f.Add(sc.Text(), true)
	}
	file.Close()
	f.Fuzz(func(t *testing.T, text string, abort bool) {
		e, err := ParseExpectation(text, abort)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) || se.Msg == "" || se.Line != 0 {
				t.Fatalf("got %#v, want an *Error with a message and no line", err)
			}
			if !reflect.DeepEqual(e, Expectation{}) {
				t.Fatalf("got %+v with error %v, want the zero Expectation", e, err)
			}
			return
		}
		switch {
		case e.Expr != text || e.Abort != abort:
			t.Fatalf("got expr %q abort %v, want %q %v", e.Expr, e.Abort, text, abort)
		case !slices.Contains(ops, e.Op):
			t.Fatalf("got op %q", e.Op)
		case !(e.Value >= 0) || math.IsInf(e.Value, 0):
			t.Fatalf("got value %v, want a number of 0 or more", e.Value)
		case e.BaseUnit() == "" || !(e.Scale() > 0):
			t.Fatalf("got metric %q with base unit %q and scale %v", e.Metric, e.BaseUnit(), e.Scale())
		case abort && !e.CanAbort():
			t.Fatalf("accepted abort on %q, which cannot abort", text)
		case strings.ContainsAny(e.Phase, "\n\r") || e.Phase != strings.TrimSpace(e.Phase):
			t.Fatalf("got phase %q", e.Phase)
		}
		e.Holds(e.Value)
		again, err := ParseExpectation(e.String(), abort)
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("got %+v, %v parsing %q again, want %+v", again, err, e.String(), e)
		}
		out, err := yaml.Marshal([]Expectation{e})
		if err != nil {
			t.Fatal(err)
		}
		var back []Expectation
		if err := yaml.Unmarshal(out, &back); err != nil || len(back) != 1 || !reflect.DeepEqual(back[0], e) {
			t.Fatalf("got %+v, %v written back as %q, want %+v", back, err, out, e)
		}
	})
}

// TestExpectStatusNormalised holds status=0502 to the same class as 502 in
// every metric that takes one.
func TestExpectStatusNormalised(t *testing.T) {
	for _, text := range []string{"share(cause=reset-before-headers, status=0502) >= 1%", "recovery(phase=p, status=0502) < 1s", "rate(status=0502) < 1%"} {
		e, err := ParseExpect(text)
		if err != nil || e.Class != "502" {
			t.Errorf("%s: got class %q, %v; want 502", text, e.Class, err)
		}
	}
}
