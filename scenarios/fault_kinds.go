package scenarios

import (
	"fmt"
	"slices"
	"strings"
)

// count checks the whole number the file writes at path: set says whether
// it writes one, ok whether that one is a whole number.
func (c *checker) count(path, example string) (set, ok bool) {
	if !c.x.has(path) {
		return false, true
	}
	return true, c.whole(path, example)
}

// oneOf checks that the value v at path is one of values, and sets def
// when it is empty. what names the setting in messages, after "unknown".
// It reports whether the value is one of values.
func (c *checker) oneOf(path string, v *string, def, what string, values []string) bool {
	switch {
	case *v == "":
		*v = def
	case slices.Contains(values, *v):
	default:
		msg := fmt.Sprintf("unknown %s %s; ", what, Quote(*v))
		if near, ok := closest(*v, values); ok {
			msg += "did you mean " + near + "? "
		}
		c.add(path, msg+"write "+leaf(path)+": "+orList(values))
		return false
	}
	return true
}

// orList joins values as "a, b or c".
func orList(values []string) string {
	if len(values) == 1 {
		return values[0]
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

func (c *checker) latency(path string, f *Fault) {
	delay, jitter, dist := join(path, "delay"), join(path, "jitter"), join(path, "distribution")
	delaySet, delayOK := c.duration(delay)
	jitterSet, jitterOK := c.duration(jitter)
	distSet := c.x.has(dist)
	switch {
	case delaySet && distSet:
		c.add(dist, "a latency fault takes delay (with jitter) or distribution, not both; remove one")
	case !delaySet && !distSet:
		c.add(delay, "a latency fault needs delay or distribution; write one such as delay: 100ms, or distribution: {type: lognormal, p50: 50ms, p99: 400ms}")
	case distSet && jitterSet:
		c.add(jitter, "jitter goes with delay; remove it (the distribution sets the spread), or write delay instead of distribution")
	}
	if delaySet && delayOK && f.Delay <= 0 {
		c.add(delay, "delay must be more than 0; write one such as delay: 100ms")
	}
	if jitterSet && jitterOK && delaySet && delayOK && f.Delay > 0 && f.Jitter > f.Delay {
		c.add(jitter, fmt.Sprintf("jitter %s is more than delay %s, so the wait could fall below zero; write a jitter of %s or less",
			f.Jitter, f.Delay, f.Delay))
	}
	if distSet && f.Distribution != nil {
		c.distribution(dist, f.Distribution)
	}
}

// distribution checks a latency distribution.
func (c *checker) distribution(path string, d *Distribution) {
	types := []string{"lognormal", "normal", "uniform"}
	switch {
	case d.Type == "":
		c.add(join(path, "type"), "distribution needs type; write type: "+orList(types))
	default:
		c.oneOf(join(path, "type"), &d.Type, "", "distribution type", types)
	}
	p50, p99 := join(path, "p50"), join(path, "p99")
	p50Set, p50OK := c.duration(p50)
	switch {
	case !p50Set:
		c.add(p50, "distribution needs p50, the median wait; write one such as p50: 50ms")
	case p50OK && d.P50 <= 0:
		c.add(p50, "p50 must be more than 0; write one such as p50: 50ms")
	}
	switch set, ok := c.duration(p99); {
	case !set:
		c.add(p99, "distribution needs p99, the wait only one request in a hundred exceeds; write one such as p99: 400ms")
	case ok && p50Set && p50OK && d.P50 > 0 && d.P99 < d.P50:
		c.add(p99, fmt.Sprintf("p99 %s is less than p50 %s; write a p99 of %s or more", d.P99, d.P50, d.P50))
	}
}

func (c *checker) slowBody(path string, f *Fault) {
	p := join(path, "bytes_per_second")
	switch set, ok := c.count(p, "bytes_per_second: 1024"); {
	case !set:
		c.add(p, "a slow-body fault needs bytes_per_second, the body's pace; write one such as bytes_per_second: 1024")
	case !ok:
	case f.BytesPerSecond < 1 || f.BytesPerSecond > MaxBytesPerSecond:
		c.add(p, fmt.Sprintf("bytes_per_second %d is out of range; write 1 to %d, such as 1024", f.BytesPerSecond, MaxBytesPerSecond))
	}
}

func (c *checker) slowHeaders(path string, f *Fault) {
	c.needDuration(join(path, "duration"), f.Duration, "the time over which the response head goes down", "duration: 2s", f.Kind)
}

// needDuration checks a duration setting that the kind requires, at
// path: it is written, and more than 0. what says what it is, example
// shows one.
func (c *checker) needDuration(path string, d Duration, what, example, kind string) {
	switch set, ok := c.duration(path); {
	case !set:
		c.add(path, fmt.Sprintf("%s %s fault needs %s, %s; write one such as %s", article(kind), kind, leaf(path), what, example))
	case ok && d <= 0:
		c.add(path, fmt.Sprintf("%s must be more than 0; write one such as %s", leaf(path), example))
	}
}

func (c *checker) hang(path string, _ *Fault) {
	c.duration(join(path, "for"))
}

// ending checks a reset or close fault.
func (c *checker) ending(path string, f *Fault) {
	atOK := c.oneOf(join(path, "at"), &f.At, DefaultAt, "point", []string{AtConnect, AtBeforeHeaders, AtAfterHeaders, AtMidBody})
	p := join(path, "after_bytes")
	if set, ok := c.count(p, "after_bytes: 1024"); set && ok {
		switch {
		case atOK && f.At != AtMidBody:
			c.add(p, fmt.Sprintf("after_bytes applies only to at: %s; remove it, or set at: %s", AtMidBody, AtMidBody))
		case f.AfterBytes < 0:
			c.add(p, fmt.Sprintf("after_bytes %d is negative; write 0 or more, such as after_bytes: 1024", f.AfterBytes))
		}
	}
}

func (c *checker) status(path string, f *Fault) {
	p := join(path, "code")
	switch set, ok := c.count(p, "code: 503"); {
	case !set:
		c.add(p, "a status fault needs code; write one such as code: 503")
	case !ok:
	case f.Code >= 100 && f.Code < 200:
		c.add(p, fmt.Sprintf("code %d is informational (1xx): the gateway waits for the final answer after it, or fails, so every request would end in a 502 that says nothing about the gateway; write a final status from 200 to 599, such as 503", f.Code))
	case f.Code < 200 || f.Code > 599:
		c.add(p, fmt.Sprintf("code %d is not an HTTP status; write 200 to 599, such as 503", f.Code))
	}
	c.headers(join(path, "headers"), f.Headers)
	f.Headers = nilIfEmpty(f.Headers)
}

func (c *checker) malformed(path string, f *Fault) {
	ok := c.oneOf(join(path, "variant"), &f.Variant, DefaultVariant, "variant", []string{
		MalformedStatusLine, MalformedHeader, MalformedOversizedHeaders, MalformedLengthMismatch, MalformedBadChunked, MalformedGarbage,
	})
	c.sized(join(path, "size"), &f.Size, ok, f.Variant == MalformedOversizedHeaders, MalformedOversizedHeaders, DefaultOversizedSize, MaxOversizedSize, "16 MiB")
	c.sized(join(path, "bytes"), &f.Bytes, ok, f.Variant == MalformedGarbage, MalformedGarbage, DefaultGarbageBytes, MaxGarbageBytes, "1 MiB")
}

// sized checks a size of a malformed fault, which applies only to one
// variant: applies says whether the fault is of it, variantOK whether the
// fault's variant is valid at all.
func (c *checker) sized(path string, n *int, variantOK, applies bool, variant string, def, limit int, limitText string) {
	name := leaf(path)
	set, ok := c.count(path, fmt.Sprintf("%s: %d", name, def))
	switch {
	case !set && applies:
		*n = def
	case !set || !ok || !variantOK:
	case !applies:
		c.add(path, fmt.Sprintf("%s applies only to variant: %s; remove it, or set variant: %s", name, variant, variant))
	case *n < 1 || *n > limit:
		c.add(path, fmt.Sprintf("%s %d is out of range; write 1 to %d (%s), or leave it out for %d", name, *n, limit, limitText, def))
	}
}

func (c *checker) keepalive(path string, f *Fault) {
	c.needDuration(join(path, "idle"), f.Idle, "how long a connection waits between requests before the upstream closes it", "idle: 2s", f.Kind)
	if c.oneOf(join(path, "when"), &f.When, DefaultWhen, "when", []string{WhenRequest, WhenIdle}) &&
		f.When == WhenIdle && c.x.has(join(path, "match")) {
		c.add(join(path, "match"), "keepalive with when: idle closes connections between requests, so there is no request to match; remove match, or use when: request")
	}
	c.oneOf(join(path, "close"), &f.Close, DefaultClose, "close", []string{CloseFIN, CloseRST})
}

func (c *checker) overload(path string, f *Fault) {
	p := join(path, "max_inflight")
	switch set, ok := c.count(p, "max_inflight: 10"); {
	case !set:
		c.add(p, "an overload fault needs max_inflight, how many requests it serves at once; write one such as max_inflight: 10")
	case ok && f.MaxInflight < 1:
		c.add(p, fmt.Sprintf("max_inflight %d must be 1 or more; write one such as max_inflight: 10", f.MaxInflight))
	}

	q, qt := join(path, "queue"), join(path, "queue_timeout")
	queueSet, queueOK := c.count(q, "queue: 20")
	if queueSet && queueOK && f.Queue < 0 {
		c.add(q, fmt.Sprintf("queue %d is negative; write 0 or more, such as queue: 20", f.Queue))
		queueOK = false
	}
	switch set, ok := c.duration(qt); {
	case !queueOK:
	case f.Queue > 0 && !set:
		f.QueueTimeout = Duration(DefaultQueueTimeout)
	case f.Queue > 0 && ok && f.QueueTimeout <= 0:
		c.add(qt, fmt.Sprintf("queue_timeout must be more than 0, or there is no queue; write one such as queue_timeout: 500ms, or leave it out for %s", DefaultQueueTimeout))
	case f.Queue == 0 && set:
		c.add(qt, "queue_timeout applies only when queue is more than 0; remove it, or add queue: 20")
	}

	c.oneOf(join(path, "reject"), &f.Reject, DefaultReject, "reject", []string{DefaultReject, "reset"})
}

// events checks the events of an sse-cut or sse-stall fault: required, 0
// or more.
func (c *checker) events(path string, f *Fault) {
	p := join(path, "events")
	switch set, ok := c.count(p, "events: 3"); {
	case !set:
		c.add(p, fmt.Sprintf("%s %s fault needs events, how many events go down first; write one such as events: 3 (0 acts before the first)", article(f.Kind), f.Kind))
	case ok && f.Events < 0:
		c.add(p, fmt.Sprintf("events %d is negative; write 0 or more, such as events: 3", f.Events))
	}
}

func (c *checker) sseCut(path string, f *Fault) {
	c.events(path, f)
	c.oneOf(join(path, "cut"), &f.Cut, DefaultCut, "cut", []string{DefaultCut, "reset"})
}

func (c *checker) sseStall(path string, f *Fault) {
	c.events(path, f)
	c.needDuration(join(path, "for"), f.For, "how long the stream stalls", "for: 10s", f.Kind)
}
