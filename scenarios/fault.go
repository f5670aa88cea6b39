package scenarios

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults and limits of fault settings, applied by Decode, DecodeFaultSet
// and DecodeFault.
const (
	MaxBytesPerSecond    = 1_000_000_000   // slow-body bytes_per_second
	DefaultAt            = AtBeforeHeaders // reset and close at
	DefaultVariant       = MalformedStatusLine
	DefaultOversizedSize = 65536       // malformed size, for oversized-headers
	MaxOversizedSize     = 16 << 20    // malformed size
	DefaultGarbageBytes  = 64          // malformed bytes, for garbage
	MaxGarbageBytes      = 1 << 20     // malformed bytes
	DefaultQueueTimeout  = time.Second // overload queue_timeout, when queue is more than 0
	DefaultReject        = "503"       // overload reject; the other is "reset"
	DefaultCut           = "close"     // sse-cut cut; the other is "reset"
)

// kindSpec is what a fault kind takes and where it works.
type kindSpec struct {
	// settings are the fields it takes besides kind, probability and
	// match, in Fault's order.
	settings []string
	// noProbability and noMatch, when set, say why probability or match
	// does not apply to the kind.
	noProbability, noMatch string
	// tcp says whether the kind works in mode: tcp.
	tcp bool
	// check checks the kind's own settings and applies their defaults.
	check func(c *checker, path string, f *Fault)
}

// kinds are the fault kinds in the order messages list them.
var kinds = []string{
	KindLatency, KindSlowBody, KindSlowHeaders, KindHang, KindReset, KindClose, KindStatus,
	KindMalformed, KindRefuse, KindBlackhole, KindKeepalive, KindOverload, KindSSECut, KindSSEStall,
}

// kindSpecs describes every fault kind.
var kindSpecs = map[string]kindSpec{
	KindLatency:     {settings: []string{"delay", "jitter", "distribution"}, tcp: true, check: (*checker).latency},
	KindSlowBody:    {settings: []string{"bytes_per_second"}, tcp: true, check: (*checker).slowBody},
	KindSlowHeaders: {settings: []string{"duration"}, check: (*checker).slowHeaders},
	KindHang:        {settings: []string{"for"}, tcp: true, check: (*checker).hang},
	KindReset:       {settings: []string{"at", "after_bytes"}, tcp: true, check: (*checker).ending},
	KindClose:       {settings: []string{"at", "after_bytes"}, tcp: true, check: (*checker).ending},
	KindStatus:      {settings: []string{"code", "body", "headers"}, check: (*checker).status},
	KindMalformed:   {settings: []string{"variant", "size", "bytes"}, check: (*checker).malformed},
	KindRefuse: {
		noProbability: "refuse acts on the listener while its phase runs, so it refuses every connection; remove probability",
		noMatch:       "refuse acts on the listener, before any request is read; remove match",
		tcp:           true,
	},
	KindBlackhole: {
		noProbability: "blackhole swallows every connection while its phase runs; remove probability (a hang fault with probability stalls some requests)",
		noMatch:       "blackhole acts on connections, before any request is read; remove match (a hang fault with match stalls some requests)",
		tcp:           true,
	},
	KindKeepalive: {
		settings: []string{"idle"},
		noMatch:  "keepalive acts on idle connections, between requests, so there is no request to match; remove match",
		check:    (*checker).keepalive,
	},
	KindOverload: {settings: []string{"max_inflight", "queue", "queue_timeout", "reject"}, check: (*checker).overload},
	KindSSECut:   {settings: []string{"events", "cut"}, check: (*checker).sseCut},
	KindSSEStall: {settings: []string{"events", "for"}, check: (*checker).sseStall},
}

// tcpKinds lists the kinds that work in mode: tcp, for messages.
var tcpKinds = func() string {
	var names []string
	for _, k := range kinds {
		if kindSpecs[k].tcp {
			names = append(names, k)
		}
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}()

// envelope is the fields every fault has, before its kind's settings.
var envelope = []string{"kind", "probability", "match"}

// faultType is the type of a fault, for the messages about its fields.
var faultType = reflect.TypeFor[Fault]()

// kindSettings are all the kind-specific settings, in Fault's order.
var kindSettings = func() []string {
	var names []string
	for _, f := range yamlFields(faultType) {
		if !slices.Contains(envelope, f.name) {
			names = append(names, f.name)
		}
	}
	return names
}()

// durationSettings are the settings that hold a duration.
var durationSettings = func() []string {
	var names []string
	for _, f := range yamlFields(faultType) {
		if f.typ == durationType {
			names = append(names, f.name)
		}
	}
	return names
}()

// fields lists what a fault of kind k takes, envelope first.
func (k kindSpec) fields() []string {
	names := []string{"kind"}
	if k.noProbability == "" {
		names = append(names, "probability")
	}
	if k.noMatch == "" {
		names = append(names, "match")
	}
	return append(names, k.settings...)
}

// faultFields lists the fields of the fault at path, as its kind takes
// them; all of Fault's fields when the kind is unknown.
func (c *checker) faultFields(path string) []string {
	if n := c.x.get(join(path, "kind")); n != nil {
		if k, ok := kindSpecs[n.Value]; ok && n.Kind == yaml.ScalarNode {
			return k.fields()
		}
	}
	return fieldNames(yamlFields(faultType))
}

// fault checks the fault at path, applies the defaults of its kind, and
// checks that it works in the proxy's mode.
func (c *checker) fault(path string, f *Fault) {
	at := func(name string) string { return join(path, name) }
	k, known := kindSpecs[f.Kind]
	switch {
	case f.Kind == "":
		c.add(at("kind"), "kind is required; write one of "+strings.Join(kinds, ", "))
	case !known:
		msg := fmt.Sprintf("unknown fault kind %q; ", f.Kind)
		if near, ok := closest(f.Kind, kinds); ok {
			msg += "did you mean " + near + "? "
		}
		c.add(at("kind"), msg+"write one of "+strings.Join(kinds, ", "))
	}

	switch {
	case known && k.noProbability != "" && c.x.has(at("probability")):
		c.add(at("probability"), k.noProbability)
	case c.x.has(at("probability")) && f.Probability != nil:
		if p := *f.Probability; !(p >= 0 && p <= 1) {
			c.add(at("probability"), fmt.Sprintf("probability %s must be between 0 and 1, e.g. 0.1 for one request in ten",
				strconv.FormatFloat(p, 'g', -1, 64)))
		}
	}
	matchDone := false
	switch {
	case known && k.noMatch != "" && c.x.has(at("match")):
		c.add(at("match"), k.noMatch)
		matchDone = true
	default:
		if f.Match.Method != "" {
			c.method(at("match.method"), f.Match.Method)
		}
		if f.Match.PathPrefix != "" {
			c.path(at("match.path_prefix"), f.Match.PathPrefix)
		}
		c.headers(at("match.header"), f.Match.Header)
	}
	f.Match.Header = nilIfEmpty(f.Match.Header)

	if !known {
		// Check the values anyway, for the problems they have whatever
		// the kind.
		for _, name := range durationSettings {
			c.duration(at(name))
		}
		c.duration(at("distribution.p50"))
		c.duration(at("distribution.p99"))
		return
	}
	for _, name := range kindSettings {
		if c.x.has(at(name)) && !slices.Contains(k.settings, name) {
			c.add(at(name), notOfKind(name, f.Kind, k))
		}
	}
	if k.check != nil {
		k.check(c, path, f)
	}

	if c.mode == ModeTCP {
		c.tcpFault(path, f, k, matchDone)
	}
}

// tcpName is how the messages name mode tcp: as the file writes it, or
// as the command line gives it.
func (c *checker) tcpName() string {
	if c.modeFlag {
		return "--mode " + ModeTCP
	}
	return "mode: " + ModeTCP
}

// tcpFault checks that the fault at path, of kind k, works in mode tcp;
// matchDone says its match was already reported.
func (c *checker) tcpFault(path string, f *Fault, k kindSpec, matchDone bool) {
	at := func(name string) string { return join(path, name) }
	tcp := c.tcpName()
	switch {
	case !k.tcp:
		c.add(at("kind"), fmt.Sprintf("%s works on bytes; use mode: http for %s faults (%s takes %s)", tcp, f.Kind, tcp, tcpKinds))
		return
	case (f.Kind == KindReset || f.Kind == KindClose) && (f.At == AtBeforeHeaders || f.At == AtAfterHeaders):
		msg := fmt.Sprintf("%s works on bytes; use mode: http for at: %s, or write at: %s or at: %s", tcp, f.At, AtConnect, AtMidBody)
		if !c.x.has(at("at")) {
			msg += fmt.Sprintf(" (%s is the default)", f.At)
		}
		c.add(at("at"), msg)
	}
	if !matchDone && c.x.has(at("match")) {
		c.add(at("match"), tcp+" works on bytes, with no requests to match; use mode: http for match, or remove it")
	}
}

// notOfKind is the message for a setting that the kind k does not take.
func notOfKind(name, kind string, k kindSpec) string {
	var env []string
	if k.noProbability == "" {
		env = append(env, "probability")
	}
	if k.noMatch == "" {
		env = append(env, "match")
	}
	var takes string
	switch {
	case len(k.settings) == 0 && len(env) == 0:
		takes = "takes only kind"
	case len(k.settings) == 0:
		takes = "takes only kind and " + strings.Join(env, " and ")
	default:
		takes = "takes " + strings.Join(k.settings, ", ") + ", besides kind"
		switch len(env) {
		case 1:
			takes += " and " + env[0]
		case 2:
			takes += ", " + env[0] + " and " + env[1]
		}
	}
	a := article(kind)
	return fmt.Sprintf("%s does not apply to %s %s fault; remove it (%s %s fault %s)", name, a, kind, a, kind, takes)
}

// article is the indefinite article before a fault kind: an overload, an
// sse-cut, a reset.
func article(kind string) string {
	if kind != "" && (strings.IndexByte("aeiou", kind[0]) >= 0 || strings.HasPrefix(kind, "sse")) {
		return "an"
	}
	return "a"
}

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
		msg := fmt.Sprintf("unknown %s %q; ", what, *v)
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
	p := join(path, "duration")
	switch set, ok := c.duration(p); {
	case !set:
		c.add(p, "a slow-headers fault needs duration, the time over which the response head goes down; write one such as duration: 2s")
	case ok && f.Duration <= 0:
		c.add(p, "duration must be more than 0; write one such as duration: 2s")
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
	case f.Code < 100 || f.Code > 599:
		c.add(p, fmt.Sprintf("code %d is not an HTTP status; write 100 to 599, such as 503", f.Code))
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
	p := join(path, "idle")
	switch set, ok := c.duration(p); {
	case !set:
		c.add(p, "a keepalive fault needs idle, how long a connection waits between requests before it is closed; write one such as idle: 2s")
	case ok && f.Idle <= 0:
		c.add(p, "idle must be more than 0; write one such as idle: 2s")
	}
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
	p := join(path, "for")
	switch set, ok := c.duration(p); {
	case !set:
		c.add(p, "an sse-stall fault needs for, how long the stream stalls; write one such as for: 10s")
	case ok && f.For <= 0:
		c.add(p, "for must be more than 0; write one such as for: 10s")
	}
}

// plainFault is a Fault without its methods, to marshal it as usual.
type plainFault Fault

// MarshalYAML writes f as its fields, and events: 0 for the kinds that
// require events, which the field's omitempty would leave out.
func (f Fault) MarshalYAML() (any, error) {
	var n yaml.Node
	if err := n.Encode(plainFault(f)); err != nil {
		return nil, err
	}
	if slices.Contains(kindSpecs[f.Kind].settings, "events") && f.Events == 0 && n.Kind == yaml.MappingNode {
		n.Content = append(n.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "events"},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "0"})
	}
	return &n, nil
}

// Kinds returns the fault kinds this version knows, in the order messages
// list them.
func Kinds() []string { return slices.Clone(kinds) }
