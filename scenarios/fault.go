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
	DefaultWhen          = WhenRequest // keepalive when
	DefaultClose         = CloseFIN    // keepalive close
)

// Keepalive's when: the upstream's idle close crosses the next request
// (request), or happens while the connection waits (idle).
const (
	WhenRequest = "request"
	WhenIdle    = "idle"
)

// Keepalive's close: how the upstream's side ends, a FIN (fin) or a RST
// (rst).
const (
	CloseFIN = "fin"
	CloseRST = "rst"
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
	KindKeepalive: {settings: []string{"idle", "when", "close"}, check: (*checker).keepalive},
	KindOverload:  {settings: []string{"max_inflight", "queue", "queue_timeout", "reject"}, check: (*checker).overload},
	KindSSECut:    {settings: []string{"events", "cut"}, check: (*checker).sseCut},
	KindSSEStall:  {settings: []string{"events", "for"}, check: (*checker).sseStall},
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
		msg := "unknown fault kind " + Quote(f.Kind) + "; "
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
