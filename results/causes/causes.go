package causes

import (
	"fmt"
	"slices"
	"strings"
)

// The stable cause names, in the order of the table. Every report, every
// fault event and every expectation uses these and no other spelling.
const (
	ResetBeforeHeaders  = "reset-before-headers"
	ClosedBeforeHeaders = "closed-before-headers"
	ResetAfterHeaders   = "reset-after-headers"
	ClosedAfterHeaders  = "closed-after-headers"
	ResetMidBody        = "reset-mid-body"
	ClosedMidBody       = "closed-mid-body"
	MalformedStatusLine = "malformed-status-line"
	MalformedHeader     = "malformed-header"
	OversizedHeaders    = "oversized-headers"
	LengthMismatch      = "length-mismatch"
	TruncatedChunked    = "truncated-chunked"
	MalformedResponse   = "malformed-response"
	ConnectionRefused   = "connection-refused"
	UpstreamTimeout     = "upstream-timeout"
	UpstreamLatency     = "upstream-latency"
	KeepaliveRace       = "keepalive-race"
	OverloadRejected    = "overload-rejected"
	// StalledMidStream: the fault proxy paused a streaming answer
	// (sse-stall) and the client gave up on it, or the gateway cut it.
	StalledMidStream = "stalled-mid-stream"
	// The upstream's own failures, which the proxy saw with no fault
	// injected: told apart from the injected causes of the same shape.
	UpstreamClosedIdle    = "upstream-closed-idle"
	UpstreamClosed        = "upstream-closed"
	UpstreamReset         = "upstream-reset"
	UpstreamClosedMidBody = "upstream-closed-mid-body"
	UpstreamResetMidBody  = "upstream-reset-mid-body"
	UpstreamRefused       = "upstream-refused"
	UpstreamMalformed     = "upstream-malformed"
	UpstreamError         = "upstream-error"
	// UpstreamEndedStream and UpstreamStalledStream: a streaming answer
	// the proxy carried with no fault that ended without its end marker,
	// or stalled: the upstream's own doing, as far as the run can tell.
	UpstreamEndedStream    = "upstream-ended-stream"
	UpstreamStalledStream  = "upstream-stalled-stream"
	Upstream5xxPassthrough = "upstream-5xx-passthrough"
	UpstreamStatus         = "upstream-status"
	GatewayLocal           = "gateway-local"
	Unattributed           = "unattributed"
)

// Point is where in an exchange a cause breaks it.
type Point string

// The failure points.
const (
	AtConnect     Point = "connect"        // before any request byte is exchanged
	BeforeHeaders Point = "before headers" // the request was sent, no answer byte came
	AfterHeaders  Point = "after headers"  // the head came, the body did not
	MidBody       Point = "mid-body"       // part of the body came
	InTheHead     Point = "in the head"    // the answer's head itself is broken
	InTheBody     Point = "in the body"    // the answer's framing is broken
	WhileWaiting  Point = "while waiting"  // the gateway or the client gave up waiting
	TheAnswer     Point = "the answer"     // an answer the upstream side chose
	AtTheGateway  Point = "at the gateway" // the request never reached the upstream side
	NowhereKnown  Point = "unknown"        // nothing in the run says
)

// Cause is one row of the table of causes.
type Cause struct {
	// Name is the stable identifier, one of the constants above.
	Name string
	// Meaning says in plain words what a failure with this cause met; the
	// text, Markdown and HTML reports print it.
	Meaning string
	// Point is where in the exchange it breaks.
	Point Point
	// Kinds are the fault kinds (scenario kind names) that produce it;
	// none for causes only the upstream itself or the analysis gives.
	Kinds []string
	// Words are the phrases of a gateway's own logs or answers that name
	// it (nginx's error log, HAProxy's termination states, Go's and
	// Caddy's errors, Envoy's details), as Word matches them.
	Words []string
}

// table is the table of causes. It is never changed.
var table = []Cause{
	{ResetBeforeHeaders, "upstream resets before headers", BeforeHeaders, []string{"reset"},
		[]string{"Connection reset by peer", "connection reset by peer", "remote reset", "remote refused stream reset"}},
	{ClosedBeforeHeaders, "upstream closes before headers", BeforeHeaders, []string{"close", "hang"},
		[]string{"prematurely closed connection while reading response header", "SH--", "EOF", "connection termination"}},
	{ResetAfterHeaders, "upstream resets after headers", AfterHeaders, []string{"reset"}, nil},
	{ClosedAfterHeaders, "upstream closes after headers", AfterHeaders, []string{"close"}, nil},
	{ResetMidBody, "upstream resets mid-body", MidBody, []string{"reset", "sse-cut"},
		[]string{"reset by peer while reading upstream"}},
	{ClosedMidBody, "upstream closes mid-body", MidBody, []string{"close", "sse-cut"},
		[]string{"prematurely closed connection", "SD--", "unexpected EOF", "while reading upstream", "aborting with incomplete response"}},
	{MalformedStatusLine, "malformed status lines", InTheHead, []string{"malformed"},
		[]string{"no valid HTTP/1.0 header"}},
	{MalformedHeader, "malformed headers", InTheHead, []string{"malformed"}, []string{"invalid header"}},
	{OversizedHeaders, "oversized headers", InTheHead, []string{"malformed"}, []string{"too big header"}},
	{LengthMismatch, "wrong Content-Length", InTheBody, []string{"malformed"}, nil},
	{TruncatedChunked, "broken chunked bodies", InTheBody, []string{"malformed"}, nil},
	{MalformedResponse, "malformed upstream answers", InTheHead, nil,
		[]string{"malformed HTTP", "PH--", "The server returned an invalid or incomplete response.", "protocol error"}},
	{ConnectionRefused, "refused connections", AtConnect, []string{"refuse"},
		[]string{"Connection refused", "connection refused", "no live upstreams", "SC--", "connection failure"}},
	{UpstreamTimeout, "upstream timeouts", WhileWaiting, []string{"hang", "blackhole"},
		[]string{"timed out", "sH--", "timeout awaiting response headers", "The server didn't respond in time.", "connection timeout", "upstream request timeout"}},
	{UpstreamLatency, "upstream latency", WhileWaiting, []string{"latency", "slow-headers", "slow-body"}, nil},
	{KeepaliveRace, "keep-alive connections closed under the gateway", BeforeHeaders, []string{"keepalive"}, nil},
	{OverloadRejected, "overload rejections", TheAnswer, []string{"overload"},
		[]string{"You have sent too many requests in a given amount of time.", "overflow", "overload manager reset"}},
	{StalledMidStream, "upstream stalls mid-stream", MidBody, []string{"sse-stall"}, nil},
	{UpstreamClosedIdle, "the upstream's own keep-alive close, crossing the next request", BeforeHeaders, nil, nil},
	{UpstreamClosed, "the upstream's own close before headers", BeforeHeaders, nil, nil},
	{UpstreamReset, "the upstream's own reset before headers", BeforeHeaders, nil, nil},
	{UpstreamClosedMidBody, "the upstream's own close mid-body", MidBody, nil, nil},
	{UpstreamResetMidBody, "the upstream's own reset mid-body", MidBody, nil, nil},
	{UpstreamRefused, "the upstream's own refused connections", AtConnect, nil, nil},
	{UpstreamMalformed, "the upstream's own malformed answers", InTheHead, nil, nil},
	{UpstreamError, "upstream failures the proxy saw", NowhereKnown, nil, nil},
	{UpstreamEndedStream, "the upstream's own stream ended without its end marker", MidBody, nil, nil},
	{UpstreamStalledStream, "the upstream's own stream stalled", MidBody, nil, nil},
	{Upstream5xxPassthrough, "upstream 5xx answers passed on", TheAnswer, []string{"status"}, nil},
	{UpstreamStatus, "upstream statuses passed on", TheAnswer, []string{"status"}, nil},
	{GatewayLocal, "gateway-local (never reached the upstream side)", AtTheGateway, nil, nil},
	{Unattributed, "unattributed", NowhereKnown, nil, nil},
}

// All returns the table of causes, in its order. The caller may change
// the copy.
func All() []Cause {
	out := slices.Clone(table)
	for i := range out {
		out[i].Kinds = slices.Clone(out[i].Kinds)
		out[i].Words = slices.Clone(out[i].Words)
	}
	return out
}

// Names returns every cause name, in the table's order.
func Names() []string {
	out := make([]string, len(table))
	for i, c := range table {
		out[i] = c.Name
	}
	return out
}

// Lookup returns the row of a cause name.
func Lookup(name string) (Cause, bool) {
	for _, c := range table {
		if c.Name == name {
			return c, true
		}
	}
	return Cause{}, false
}

// Known reports whether name is a cause of the table.
func Known(name string) bool {
	_, ok := Lookup(name)
	return ok
}

// Meaning returns a cause in plain words: its row's Meaning, or the name
// itself for a name the table lacks.
func Meaning(name string) string {
	if c, ok := Lookup(name); ok {
		return c.Meaning
	}
	return name
}

// Reset and close name the two ways a fault ends a connection.
const (
	HowReset = "reset" // RST
	HowClose = "close" // FIN
)

// Ended names the cause of a connection ended (how: HowReset or HowClose)
// at a point: BeforeHeaders, AfterHeaders or MidBody. It panics on any
// other point or way, which is a programming error.
func Ended(how string, at Point) string {
	reset := how == HowReset
	if !reset && how != HowClose {
		panic(fmt.Sprintf("causes: %q is not a way to end a connection", how))
	}
	switch at {
	case BeforeHeaders:
		return pick(reset, ResetBeforeHeaders, ClosedBeforeHeaders)
	case AfterHeaders:
		return pick(reset, ResetAfterHeaders, ClosedAfterHeaders)
	case MidBody:
		return pick(reset, ResetMidBody, ClosedMidBody)
	}
	panic(fmt.Sprintf("causes: a connection is not ended at %q", at))
}

// Own names the cause of a connection the upstream itself ended, with no
// fault (how: HowReset or HowClose) at a point: BeforeHeaders, or
// AfterHeaders and MidBody (both named mid-body); reused says the
// connection had carried a request before and the end came before the
// headers: its keep-alive close crossing the request.
func Own(how string, at Point, reused bool) string {
	reset := how == HowReset
	switch {
	case at != BeforeHeaders:
		return pick(reset, UpstreamResetMidBody, UpstreamClosedMidBody)
	case reused:
		return UpstreamClosedIdle
	}
	return pick(reset, UpstreamReset, UpstreamClosed)
}

func pick(reset bool, r, c string) string {
	if reset {
		return r
	}
	return c
}

// Passthrough names the cause of a gateway error that passes on a status
// the upstream side answered with.
func Passthrough(code int) string {
	if code >= 500 {
		return Upstream5xxPassthrough
	}
	return UpstreamStatus
}

// wordOrder is the order in which Word tries the phrases of gateway
// logs: the first phrase found wins, so a longer phrase comes before one
// it contains. Each phrase names the cause whose Words hold it.
var wordOrder = []string{
	"Connection refused", "connection refused", "no live upstreams", "SC--",
	"timed out", "sH--", "timeout awaiting response headers",
	"Connection reset by peer", "connection reset by peer",
	"prematurely closed connection while reading response header", "prematurely closed connection",
	"SH--", "SD--", "no valid HTTP/1.0 header", "malformed HTTP", "invalid header", "too big header",
	"PH--", "unexpected EOF", "EOF",
}

// WordOrder returns the phrases Word matches, in the order it tries
// them.
func WordOrder() []string { return slices.Clone(wordOrder) }

// wordCauses maps every phrase of the table's Words to its cause.
var wordCauses = func() map[string]string {
	m := map[string]string{}
	for _, c := range table {
		for _, w := range c.Words {
			m[w] = c.Name
		}
	}
	return m
}()

// Word returns the cause a gateway's logged words name, or "" when they
// name none. The words are nginx's error log, HAProxy's termination state
// and Go's (Caddy's) errors, as lab normalises them.
func Word(words string) string {
	if words == "" {
		return ""
	}
	// After the headers: nginx reading the body ("... while reading
	// upstream"), Caddy giving up on it.
	if strings.Contains(words, "while reading upstream") || strings.Contains(words, "aborting with incomplete response") {
		if strings.Contains(words, "reset by peer") {
			return ResetMidBody
		}
		return ClosedMidBody
	}
	for _, w := range wordOrder {
		if strings.Contains(words, w) {
			return wordCauses[w]
		}
	}
	return ""
}

// Markdown returns the table as the README's Markdown table: a header row,
// then one row per cause.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| cause | meaning | where it breaks | fault kinds | a gateway's words |\n|---|---|---|---|---|\n")
	for _, c := range table {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.Name, c.Meaning, c.Point, codeList(c.Kinds), codeList(c.Words))
	}
	return b.String()
}

// codeList writes items as Markdown code, separated by commas.
func codeList(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return "`" + strings.Join(items, "`, `") + "`"
}
