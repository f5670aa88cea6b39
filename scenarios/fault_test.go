package scenarios

import (
	"reflect"
	"strconv"
	"testing"
	"time"
)

// inTCP is inPhase with proxy mode tcp; the first fault is on line 9.
func inTCP(faults string) string {
	return "proxy: {mode: tcp}\n" + inPhase(faults)
}

// faultErrorTests are the broken scenarios of the fault kinds and the
// proxy section; TestDecodeFaultKindErrors runs them.
var faultErrorTests = []decodeErrorTest{
	// any kind
	{"unknown fault kind", inPhase("      - {kind: latency, delay: 10ms}\n      - {kind: rst}\n"),
		[]want{{9, "phases[0].faults[1].kind", `unknown fault kind "rst"; write one of latency, slow-body, slow-headers, hang, reset, close, status, malformed, refuse, blackhole, keepalive, overload, sse-cut, sse-stall`}}},
	{"missing fault kind", inPhase("      - probability: 0.5\n"),
		[]want{{8, "phases[0].faults[0].kind", "kind is required; write one of latency, slow-body, slow-headers, hang, reset, close, status"}}},
	{"probability above 1", inPhase("      - kind: reset\n        probability: 1.5\n"),
		[]want{{9, "phases[0].faults[0].probability", "must be between 0 and 1, e.g. 0.1 for one request in ten"}}},
	{"probability not a number", inPhase("      - kind: reset\n        probability: 10%\n"),
		[]want{{9, "phases[0].faults[0].probability", `"10%" is not a number; write a number between 0 and 1`}}},
	{"field not of the kind", inPhase("      - kind: reset\n        code: 503\n"),
		[]want{{9, "phases[0].faults[0].code", "code does not apply to a reset fault; remove it (a reset fault takes at"}}},
	{"latency without delay", inPhase("      - kind: latency\n"),
		[]want{{8, "phases[0].faults[0].delay", "a latency fault needs delay or distribution; write one such as delay: 100ms"}}},
	{"jitter above delay", inPhase("      - {kind: latency, delay: 10ms,\n         jitter: 20ms}\n"),
		[]want{{9, "phases[0].faults[0].jitter", "write a jitter of 10ms or less"}}},
	{"reset at unknown point", onePhase("    duration: 1s\n    rate: 1/s\n    faults: [{kind: reset, at: mid-bdy}]\n"),
		[]want{{7, "phases[0].faults[0].at", `unknown point "mid-bdy"; did you mean mid-body? write at: connect, before-headers, after-headers or mid-body`}}},
	{"status code out of range", inPhase("      - kind: status\n        code: 999\n"),
		[]want{{9, "phases[0].faults[0].code", "write 200 to 599"}}},
	{"status code 1xx", inPhase("      - kind: status\n        code: 103\n"),
		[]want{{9, "phases[0].faults[0].code", "code 103 is informational (1xx): the gateway waits for the final answer after it, or fails, so every request would end in a 502 that says nothing about the gateway; write a final status from 200 to 599, such as 503"}}},
	{"status code 100", inPhase("      - kind: status\n        code: 100\n"),
		[]want{{9, "phases[0].faults[0].code", "code 100 is informational (1xx)"}}},
	{"status code 199", inPhase("      - kind: status\n        code: 199\n"),
		[]want{{9, "phases[0].faults[0].code", "code 199 is informational (1xx)"}}},
	{"status code 99", inPhase("      - kind: status\n        code: 99\n"),
		[]want{{9, "phases[0].faults[0].code", "code 99 is not an HTTP status; write 200 to 599"}}},
	{"status code not a number", inPhase("      - kind: status\n        code: bad gateway\n"),
		[]want{{9, "phases[0].faults[0].code", `"bad gateway" is not a whole number; write one such as code: 503`}}},
	{"malformed variant", inPhase("      - {kind: malformed, variant: garbge}\n"),
		[]want{{8, "phases[0].faults[0].variant", `unknown variant "garbge"; did you mean garbage? write variant: status-line, header, oversized-headers, length-mismatch, bad-chunked or garbage`}}},
	{"match path prefix", inPhase("      - kind: hang\n        match:\n          method: post\n          path_prefix: v1\n"),
		[]want{
			{10, "phases[0].faults[0].match.method", "write POST"},
			{11, "phases[0].faults[0].match.path_prefix", "must start with /; write /v1"},
		}},

	// latency
	{"latency delay and distribution", inPhase("      - {kind: latency, delay: 10ms, distribution: {type: normal, p50: 10ms, p99: 20ms}}\n"),
		[]want{{8, "phases[0].faults[0].distribution", "a latency fault takes delay (with jitter) or distribution, not both; remove one"}}},
	{"latency jitter with distribution", inPhase("      - kind: latency\n        jitter: 5ms\n        distribution: {type: lognormal, p50: 10ms, p99: 80ms}\n"),
		[]want{{9, "phases[0].faults[0].jitter", "jitter goes with delay; remove it"}}},
	{"latency delay zero", inPhase("      - {kind: latency, delay: 0s}\n"),
		[]want{{8, "phases[0].faults[0].delay", "delay must be more than 0; write one such as delay: 100ms"}}},
	{"distribution unknown type", inPhase("      - kind: latency\n        distribution:\n          type: pareto\n          p50: 10ms\n          p99: 20ms\n"),
		[]want{{10, "phases[0].faults[0].distribution.type", `unknown distribution type "pareto"; write type: lognormal, normal or uniform`}}},
	{"distribution p99 below p50", inPhase("      - kind: latency\n        distribution: {type: uniform, p50: 30ms,\n          p99: 20ms}\n"),
		[]want{{10, "phases[0].faults[0].distribution.p99", "p99 20ms is less than p50 30ms; write a p99 of 30ms or more"}}},
	{"distribution incomplete", inPhase("      - kind: latency\n        distribution: {p99: 20ms}\n"),
		[]want{
			{9, "phases[0].faults[0].distribution.type", "distribution needs type; write type: lognormal, normal or uniform"},
			{9, "phases[0].faults[0].distribution.p50", "distribution needs p50, the median wait; write one such as p50: 50ms"},
		}},
	{"distribution p50 zero", inPhase("      - kind: latency\n        distribution: {type: normal, p50: 0s, p99: 20ms}\n"),
		[]want{{9, "phases[0].faults[0].distribution.p50", "p50 must be more than 0"}}},
	{"distribution unknown field", inPhase("      - kind: latency\n        distribution: {type: normal, p50: 1ms, p99: 2ms, p999: 3ms}\n"),
		[]want{{9, "phases[0].faults[0].distribution.p999", `unknown field "p999" (did you mean p99?); known fields here: type, p50, p99`}}},
	{"distribution not a mapping", inPhase("      - {kind: latency, distribution: lognormal}\n"),
		[]want{{8, "phases[0].faults[0].distribution", `"lognormal" is not a mapping; write a mapping with the fields type, p50, p99`}}},
	{"distribution bad duration", inPhase("      - {kind: latency, distribution: {type: normal, p50: 10, p99: 20ms}}\n"),
		[]want{{8, "phases[0].faults[0].distribution.p50", `"10" has no unit; write 10ms`}}},

	// slow-body, slow-headers, hang
	{"slow-body without bytes_per_second", inPhase("      - {kind: slow-body}\n"),
		[]want{{8, "phases[0].faults[0].bytes_per_second", "a slow-body fault needs bytes_per_second, the body's pace; write one such as bytes_per_second: 1024"}}},
	{"slow-body zero", inPhase("      - {kind: slow-body, bytes_per_second: 0}\n"),
		[]want{{8, "phases[0].faults[0].bytes_per_second", "bytes_per_second 0 is out of range; write 1 to 1000000000, such as 1024"}}},
	{"slow-body too fast", inPhase("      - {kind: slow-body, bytes_per_second: 2000000000}\n"),
		[]want{{8, "phases[0].faults[0].bytes_per_second", "write 1 to 1000000000"}}},
	{"overload queue not a number", inPhase("      - {kind: overload, max_inflight: 1, queue: lots}\n"),
		[]want{{8, "phases[0].faults[0].queue", `"lots" is not a whole number; write one such as queue: 20`}}},
	{"slow-body not whole", inPhase("      - {kind: slow-body, bytes_per_second: 1.5}\n"),
		[]want{{8, "phases[0].faults[0].bytes_per_second", `"1.5" is not a whole number; write one such as bytes_per_second: 1024`}}},
	{"slow-headers without duration", inPhase("      - {kind: slow-headers}\n"),
		[]want{{8, "phases[0].faults[0].duration", "a slow-headers fault needs duration, the time over which the response head goes down; write one such as duration: 2s"}}},
	{"slow-headers zero", inPhase("      - {kind: slow-headers, duration: 0s}\n"),
		[]want{{8, "phases[0].faults[0].duration", "duration must be more than 0; write one such as duration: 2s"}}},
	{"hang for negative", inPhase("      - {kind: hang, for: -1s}\n"),
		[]want{{8, "phases[0].faults[0].for", `"-1s" is negative; write a duration of 0s or more`}}},

	// reset and close
	{"close after_bytes before headers", inPhase("      - kind: close\n        at: before-headers\n        after_bytes: 10\n"),
		[]want{{10, "phases[0].faults[0].after_bytes", "after_bytes applies only to at: mid-body; remove it, or set at: mid-body"}}},
	{"reset after_bytes with the default point", inPhase("      - {kind: reset, after_bytes: 10}\n"),
		[]want{{8, "phases[0].faults[0].after_bytes", "after_bytes applies only to at: mid-body"}}},
	{"reset after_bytes negative", inPhase("      - {kind: reset, at: mid-body, after_bytes: -1}\n"),
		[]want{{8, "phases[0].faults[0].after_bytes", "after_bytes -1 is negative; write 0 or more, such as after_bytes: 1024"}}},
	{"close unknown point", inPhase("      - {kind: close, at: midway}\n"),
		[]want{{8, "phases[0].faults[0].at", `unknown point "midway"; write at: connect, before-headers, after-headers or mid-body`}}},

	// status
	{"status without code", inPhase("      - {kind: status, body: busy}\n"),
		[]want{{8, "phases[0].faults[0].code", "a status fault needs code; write one such as code: 503"}}},
	{"status bad header name", inPhase("      - kind: status\n        code: 429\n        headers: {\"Retry After\": \"1\"}\n"),
		[]want{{10, "phases[0].faults[0].headers.Retry After", `"Retry After" is not a header name`}}},

	// malformed
	{"malformed size without oversized-headers", inPhase("      - {kind: malformed, variant: header, size: 100}\n"),
		[]want{{8, "phases[0].faults[0].size", "size applies only to variant: oversized-headers; remove it, or set variant: oversized-headers"}}},
	{"malformed size with the default variant", inPhase("      - {kind: malformed, size: 100}\n"),
		[]want{{8, "phases[0].faults[0].size", "size applies only to variant: oversized-headers"}}},
	{"malformed size too large", inPhase("      - {kind: malformed, variant: oversized-headers, size: 16777217}\n"),
		[]want{{8, "phases[0].faults[0].size", "size 16777217 is out of range; write 1 to 16777216 (16 MiB), or leave it out for 65536"}}},
	{"malformed size zero", inPhase("      - {kind: malformed, variant: oversized-headers, size: 0}\n"),
		[]want{{8, "phases[0].faults[0].size", "size 0 is out of range"}}},
	{"malformed bytes without garbage", inPhase("      - {kind: malformed, variant: bad-chunked, bytes: 10}\n"),
		[]want{{8, "phases[0].faults[0].bytes", "bytes applies only to variant: garbage; remove it, or set variant: garbage"}}},
	{"malformed bytes too many", inPhase("      - {kind: malformed, variant: garbage, bytes: 1048577}\n"),
		[]want{{8, "phases[0].faults[0].bytes", "bytes 1048577 is out of range; write 1 to 1048576 (1 MiB), or leave it out for 64"}}},

	// refuse and blackhole
	{"refuse with probability", inPhase("      - kind: refuse\n        probability: 0.5\n"),
		[]want{{9, "phases[0].faults[0].probability", "refuse acts on the listener while its phase runs, so it refuses every connection; remove probability"}}},
	{"refuse with match", inPhase("      - kind: refuse\n        match: {path_prefix: /v1}\n"),
		[]want{{9, "phases[0].faults[0].match", "refuse acts on the listener, before any request is read; remove match"}}},
	{"blackhole with probability and match", inPhase("      - kind: blackhole\n        probability: 0.1\n        match: {method: GET}\n"),
		[]want{
			{9, "phases[0].faults[0].probability", "blackhole swallows every connection while its phase runs; remove probability (a hang fault with probability stalls some requests)"},
			{10, "phases[0].faults[0].match", "remove match (a hang fault with match stalls some requests)"},
		}},
	{"blackhole with a setting", inPhase("      - {kind: blackhole, for: 1s}\n"),
		[]want{{8, "phases[0].faults[0].for", "for does not apply to a blackhole fault; remove it (a blackhole fault takes only kind)"}}},

	// keepalive
	{"keepalive without idle", inPhase("      - {kind: keepalive, probability: 0.5}\n"),
		[]want{{8, "phases[0].faults[0].idle", "a keepalive fault needs idle, how long a connection waits between requests before the upstream closes it; write one such as idle: 2s"}}},
	{"keepalive idle zero", inPhase("      - {kind: keepalive, idle: 0s}\n"),
		[]want{{8, "phases[0].faults[0].idle", "idle must be more than 0"}}},
	{"keepalive when idle with match", inPhase("      - kind: keepalive\n        idle: 1s\n        when: idle\n        match: {method: GET}\n"),
		[]want{{11, "phases[0].faults[0].match", "keepalive with when: idle closes connections between requests, so there is no request to match; remove match, or use when: request"}}},
	{"keepalive unknown when", inPhase("      - {kind: keepalive, idle: 1s, when: idel}\n"),
		[]want{{8, "phases[0].faults[0].when", `unknown when "idel"; did you mean idle? write when: request or idle`}}},
	{"keepalive unknown close", inPhase("      - {kind: keepalive, idle: 1s, close: reset}\n"),
		[]want{{8, "phases[0].faults[0].close", `unknown close "reset"; write close: fin or rst`}}},
	{"keepalive with a setting", inPhase("      - {kind: keepalive, idle: 1s, delay: 1s}\n"),
		[]want{{8, "phases[0].faults[0].delay", "delay does not apply to a keepalive fault; remove it (a keepalive fault takes idle, when, close, besides kind, probability and match)"}}},

	// overload
	{"overload without max_inflight", inPhase("      - {kind: overload}\n"),
		[]want{{8, "phases[0].faults[0].max_inflight", "an overload fault needs max_inflight, how many requests it serves at once; write one such as max_inflight: 10"}}},
	{"overload max_inflight zero", inPhase("      - {kind: overload, max_inflight: 0}\n"),
		[]want{{8, "phases[0].faults[0].max_inflight", "max_inflight 0 must be 1 or more"}}},
	{"overload queue negative", inPhase("      - {kind: overload, max_inflight: 1, queue: -1}\n"),
		[]want{{8, "phases[0].faults[0].queue", "queue -1 is negative; write 0 or more, such as queue: 20"}}},
	{"overload queue_timeout without queue", inPhase("      - kind: overload\n        max_inflight: 1\n        queue_timeout: 1s\n"),
		[]want{{10, "phases[0].faults[0].queue_timeout", "queue_timeout applies only when queue is more than 0; remove it, or add queue: 20"}}},
	{"overload queue_timeout zero", inPhase("      - {kind: overload, max_inflight: 1, queue: 5, queue_timeout: 0s}\n"),
		[]want{{8, "phases[0].faults[0].queue_timeout", "queue_timeout must be more than 0, or there is no queue; write one such as queue_timeout: 500ms, or leave it out for 1s"}}},
	{"overload unknown reject", inPhase("      - {kind: overload, max_inflight: 1, reject: 502}\n"),
		[]want{{8, "phases[0].faults[0].reject", `unknown reject "502"; did you mean 503? write reject: 503 or reset`}}},
	{"overload with a setting of another kind", inPhase("      - {kind: overload, max_inflight: 1, idle: 1s}\n"),
		[]want{{8, "phases[0].faults[0].idle", "idle does not apply to an overload fault; remove it (an overload fault takes max_inflight, queue, queue_timeout, reject, besides kind, probability and match)"}}},

	// sse-cut and sse-stall
	{"sse-cut without events", inPhase("      - {kind: sse-cut}\n"),
		[]want{{8, "phases[0].faults[0].events", "an sse-cut fault needs events, how many events go down first; write one such as events: 3 (0 acts before the first)"}}},
	{"sse-cut events negative", inPhase("      - {kind: sse-cut, events: -2}\n"),
		[]want{{8, "phases[0].faults[0].events", "events -2 is negative"}}},
	{"sse-cut unknown cut", inPhase("      - {kind: sse-cut, events: 0, cut: rst}\n"),
		[]want{{8, "phases[0].faults[0].cut", `unknown cut "rst"; write cut: close or reset`}}},
	{"sse-stall without events and for", inPhase("      - kind: sse-stall\n        probability: 0.1\n"),
		[]want{
			{8, "phases[0].faults[0].events", "an sse-stall fault needs events"},
			{8, "phases[0].faults[0].for", "an sse-stall fault needs for, how long the stream stalls; write one such as for: 10s"},
		}},
	{"sse-stall for zero", inPhase("      - {kind: sse-stall, events: 1, for: 0s}\n"),
		[]want{{8, "phases[0].faults[0].for", "for must be more than 0; write one such as for: 10s"}}},

	// unknown fields name the fields of the kind
	{"unknown field of a known kind", inPhase("      - {kind: reset, colour: red}\n"),
		[]want{{8, "phases[0].faults[0].colour", `unknown field "colour"; known fields here: kind, probability, match, at, after_bytes`}}},
	{"misspelt field of a kind", inPhase("      - {kind: keepalive, idel: 1s}\n"),
		[]want{{8, "phases[0].faults[0].idel", `unknown field "idel" (did you mean idle?); known fields here: kind, probability, match, idle, when, close`}}},

	// proxy
	{"proxy unknown mode", "proxy: {mode: tpc}\n" + inPhase("      - {kind: reset}\n"),
		[]want{{1, "proxy.mode", `unknown proxy mode "tpc"; did you mean tcp? write mode: http (the default: every fault kind) or mode: tcp`}}},
	{"proxy listen not loopback", "proxy:\n  listen: 0.0.0.0:9090\n" + inPhase("      - {kind: reset}\n"),
		[]want{{2, "proxy.listen", `"0.0.0.0:9090" is not a loopback address; the proxy listens only on 127.0.0.1, ::1 or localhost`}}},
	{"proxy listen without host", "proxy: {listen: \":9090\"}\n" + inPhase("      - {kind: reset}\n"),
		[]want{{1, "proxy.listen", `":9090" has no host, which listens on every interface; write 0.0.0.0:PORT (every IPv4 interface) or [::]:PORT with --allow-host 0.0.0.0`}}},
	{"proxy listen without port", "proxy: {listen: 127.0.0.1}\n" + inPhase("      - {kind: reset}\n"),
		[]want{{1, "proxy.listen", `"127.0.0.1" is not host:port; write one such as 127.0.0.1:9090 (port 0 picks a free one)`}}},
	{"proxy listen bad port", "proxy: {listen: \"[::1]:http\"}\n" + inPhase("      - {kind: reset}\n"),
		[]want{{1, "proxy.listen", `has port "http"; write a port from 0 to 65535`}}},
	{"proxy unknown field", "proxy: {mode: http, port: 1}\n" + inPhase("      - {kind: reset}\n"),
		[]want{{1, "proxy.port", `unknown field "port"; known fields here: mode, listen`}}},

	// mode: tcp
	{"tcp status", inTCP("      - {kind: status, code: 503}\n"),
		[]want{{9, "phases[0].faults[0].kind", "mode: tcp works on bytes; use mode: http for status faults (mode: tcp takes latency, slow-body, hang, reset, close, refuse and blackhole)"}}},
	{"tcp every kind it does not take", inTCP(`      - {kind: slow-headers, duration: 1s}
      - {kind: malformed}
      - {kind: keepalive, idle: 1s}
      - {kind: overload, max_inflight: 1}
      - {kind: sse-cut, events: 1}
      - {kind: sse-stall, events: 1, for: 1s}
`), []want{
		{9, "phases[0].faults[0].kind", "use mode: http for slow-headers faults"},
		{10, "phases[0].faults[1].kind", "use mode: http for malformed faults"},
		{11, "phases[0].faults[2].kind", "use mode: http for keepalive faults"},
		{12, "phases[0].faults[3].kind", "use mode: http for overload faults"},
		{13, "phases[0].faults[4].kind", "use mode: http for sse-cut faults"},
		{14, "phases[0].faults[5].kind", "use mode: http for sse-stall faults"},
	}},
	{"tcp reset at the default point", inTCP("      - {kind: reset, probability: 0.1}\n"),
		[]want{{9, "phases[0].faults[0].at", "mode: tcp works on bytes; use mode: http for at: before-headers, or write at: connect or at: mid-body (before-headers is the default)"}}},
	{"tcp close after headers", inTCP("      - kind: close\n        at: after-headers\n"),
		[]want{{10, "phases[0].faults[0].at", "mode: tcp works on bytes; use mode: http for at: after-headers, or write at: connect or at: mid-body"}}},
	{"tcp match", inTCP("      - kind: latency\n        delay: 1ms\n        match: {path_prefix: /v1}\n"),
		[]want{{11, "phases[0].faults[0].match", "mode: tcp works on bytes, with no requests to match; use mode: http for match, or remove it"}}},
}

func TestFaultDefaults(t *testing.T) {
	s, err := Load("testdata/valid-all-kinds.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byKind := make(map[string][]Fault)
	for _, p := range s.Phases {
		for _, f := range p.Faults {
			byKind[f.Kind] = append(byKind[f.Kind], f)
		}
	}
	for _, k := range kinds {
		if len(byKind[k]) == 0 {
			t.Errorf("got no %s fault in testdata/valid-all-kinds.yaml, want one of every kind", k)
		}
	}
	first := func(kind string) Fault {
		if fs := byKind[kind]; len(fs) > 0 {
			return fs[0]
		}
		return Fault{}
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"mode", s.Proxy.Mode, ModeHTTP},
		{"listen", s.Proxy.Listen, "127.0.0.1:0"},
		{"latency distribution", *first(KindLatency).Distribution, Distribution{Type: "lognormal", P50: Duration(20 * time.Millisecond), P99: Duration(200 * time.Millisecond)}},
		{"slow-body", first(KindSlowBody).BytesPerSecond, 2048},
		{"reset at default", first(KindReset).At, AtBeforeHeaders},
		{"reset mid-body after_bytes default", byKind[KindReset][1].At + " " + strconv.Itoa(byKind[KindReset][1].AfterBytes), "mid-body 0"},
		{"close at default", first(KindClose).At, AtBeforeHeaders},
		{"close mid-body after_bytes", byKind[KindClose][1].AfterBytes, 100},
		{"malformed variant default", first(KindMalformed).Variant, MalformedStatusLine},
		{"malformed default has no size or bytes", []int{first(KindMalformed).Size, first(KindMalformed).Bytes}, []int{0, 0}},
		{"oversized size default", byKind[KindMalformed][1].Size, 65536},
		{"garbage bytes default", byKind[KindMalformed][2].Bytes, 64},
		{"garbage size", byKind[KindMalformed][2].Size, 0},
		{"overload reject default", first(KindOverload).Reject, "503"},
		{"overload queue default", first(KindOverload).Queue, 0},
		{"overload queue_timeout without a queue", first(KindOverload).QueueTimeout.D(), time.Duration(0)},
		{"overload queue_timeout default", byKind[KindOverload][1].QueueTimeout.D(), time.Second},
		{"overload reject int", byKind[KindOverload][1].Reject, "503"},
		{"overload reject reset", byKind[KindOverload][2].Reject, "reset"},
		{"sse-cut cut default", first(KindSSECut).Cut, "close"},
		{"sse-cut events 0", first(KindSSECut).Events, 0},
		{"sse-stall", []any{first(KindSSEStall).Events, first(KindSSEStall).For.D()}, []any{2, 3 * time.Second}},
		{"refuse probability", first(KindRefuse).Probability == nil, true},
		{"keepalive idle", first(KindKeepalive).Idle.D(), 500 * time.Millisecond},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
}

// TestMarshalEventsZero checks that events: 0, which omitempty would drop,
// is written back for the kinds that require events.
func TestMarshalEventsZero(t *testing.T) {
	for _, kind := range []string{KindSSECut, KindSSEStall} {
		src := "faults:\n  - {kind: " + kind + ", events: 0, for: 1s}\n"
		if kind == KindSSECut {
			src = "faults:\n  - {kind: " + kind + ", events: 0}\n"
		}
		fs, err := DecodeFaultSet("f.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		again := roundTripFaultSet(t, fs)
		if !reflect.DeepEqual(again, fs) {
			t.Errorf("got %+v written back, want %+v", again, fs)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestDecodeFaultKindErrors(t *testing.T) {
	checkDecodeErrors(t, faultErrorTests)
}
