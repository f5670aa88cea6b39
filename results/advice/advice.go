package advice

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatecrash/gatecrash/results"
)

// For returns the advice of every rule (rules.go) whose evidence the
// report measured, in the table's order; an empty list (never nil) when
// there is none, or when gw is not the configuration of a gateway a rule
// knows. run is the run's plan (run.json), for the faults' settings; nil
// is read as a plan without faults.
func For(rep *results.Report, run *results.Run, gw Config) []results.Advice {
	out := []results.Advice{}
	if rep == nil || strings.TrimSpace(gw.Text) == "" {
		return out
	}
	if run == nil {
		run = &results.Run{}
	}
	for _, r := range rules {
		if r.gateway != gw.Kind {
			continue
		}
		if a, ok := r.check(rep, run, gw); ok {
			a.Rule, a.Gateway, a.Setting = r.name, r.gateway, r.setting
			out = append(out, a)
		}
	}
	return out
}

// Rules lists the rules of the table, for documentation: each rule's
// name, gateway and setting, in the table's order.
func Rules() [][3]string {
	out := make([][3]string, len(rules))
	for i, r := range rules {
		out[i] = [3]string{r.name, r.gateway, r.setting}
	}
	return out
}

// nginxConf is what the rules read of an nginx configuration: the
// location that proxies (its settings inherited from its server and
// http blocks) and the upstream block it proxies to.
type nginxConf struct {
	location, upstream *node
}

// readNginxConf finds the location with a proxy_pass (the first one,
// depth first), and the upstream block proxy_pass names (or the first
// one).
func readNginxConf(text string) nginxConf {
	root := readNginx(text)
	var c nginxConf
	c.location = root.find(func(n *node) bool { return n.name == "location" && n.last("proxy_pass") != nil })
	if c.location == nil {
		c.location = root.find(func(n *node) bool { return n.last("proxy_pass") != nil })
	}
	if c.location == nil {
		c.location = root.find(func(n *node) bool { return n.name == "server" })
	}
	name := ""
	if c.location != nil {
		if p := c.location.last("proxy_pass"); p != nil && len(p.args) > 0 {
			name = p.args[0]
			if _, rest, ok := strings.Cut(name, "://"); ok {
				name = rest
			}
			name, _, _ = strings.Cut(name, "/")
		}
	}
	c.upstream = root.find(func(n *node) bool { return n.name == "upstream" && len(n.args) > 0 && n.args[0] == name })
	if c.upstream == nil {
		c.upstream = root.find(func(n *node) bool { return n.name == "upstream" })
	}
	return c
}

// setting returns the value of the location's directive name, inherited
// from its server or http block when the location does not set it, and
// whether any sets it.
func (c nginxConf) setting(name string) (string, bool) {
	if c.location == nil {
		return "", false
	}
	d := c.location.inherited(name)
	if d == nil {
		return "", false
	}
	return strings.Join(d.args, " "), true
}

// upstreamSetting returns the value of the upstream block's directive
// name.
func (c nginxConf) upstreamSetting(name string) (string, bool) {
	d := c.upstream.last(name)
	if d == nil {
		return "", false
	}
	return strings.Join(d.args, " "), true
}

// haproxyConf is what the rules read of an HAProxy configuration: the
// backend the frontend sends to, and the defaults section it inherits.
type haproxyConf struct {
	backend, defaults *node
}

// readHAProxyConf finds the first frontend's default_backend (or the
// first backend, or the first listen section) and the last defaults
// section before it, whose settings a proxy inherits.
func readHAProxyConf(text string) haproxyConf {
	root := readHAProxy(text)
	name := ""
	if fe := root.find(func(n *node) bool { return n.name == "frontend" }); fe != nil {
		if d := fe.last("default_backend"); d != nil && len(d.args) > 0 {
			name = d.args[0]
		}
	}
	var named, first haproxyConf
	var defaults *node
	for _, s := range root.children {
		switch {
		case s.name == "defaults":
			defaults = s
		case s.name != "backend" && s.name != "listen":
		case named.backend == nil && name != "" && s.name == "backend" && len(s.args) > 0 && s.args[0] == name:
			named = haproxyConf{s, defaults}
		case first.backend == nil:
			first = haproxyConf{s, defaults}
		}
	}
	if named.backend != nil {
		return named
	}
	if first.backend == nil {
		first.defaults = defaults
	}
	return first
}

// setting returns the arguments of the last line of the backend (or,
// unset there, of its defaults) whose words begin with key, such as
// "retries" or "timeout connect", and whether any line sets it.
func (c haproxyConf) setting(key string) (string, bool) {
	words := strings.Fields(key)
	for _, s := range []*node{c.backend, c.defaults} {
		if s == nil {
			continue
		}
		for i := len(s.children) - 1; i >= 0; i-- {
			d := s.children[i]
			line := append([]string{d.name}, d.args...)
			if len(line) >= len(words) && slices.Equal(line[:len(words)], words) {
				return strings.Join(line[len(words):], " "), true
			}
		}
	}
	return "", false
}

// option says whether "option NAME" is on: the last "option NAME" or
// "no option NAME" of the backend, else of its defaults; off when
// neither says.
func (c haproxyConf) option(name string) bool {
	for _, s := range []*node{c.backend, c.defaults} {
		if s == nil {
			continue
		}
		for i := len(s.children) - 1; i >= 0; i-- {
			d := s.children[i]
			switch {
			case d.name == "option" && len(d.args) > 0 && d.args[0] == name:
				return true
			case d.name == "no" && len(d.args) > 1 && d.args[0] == "option" && d.args[1] == name:
				return false
			}
		}
	}
	return false
}

// servers counts the backend's servers: its server lines, and the
// number each server-template line makes.
func (c haproxyConf) servers() int {
	if c.backend == nil {
		return 0
	}
	n := 0
	for _, d := range c.backend.children {
		switch d.name {
		case "server":
			n++
		case "server-template":
			if len(d.args) > 1 {
				num := d.args[1]
				if _, hi, ok := strings.Cut(num, "-"); ok {
					num = hi
				}
				if k, err := strconv.Atoi(num); err == nil && k > 0 && k < 1<<20 {
					n += k
				}
			}
		}
	}
	return n
}

// caddyProxy is what the rules read of a Caddyfile: the first
// reverse_proxy directive.
type caddyProxy struct {
	proxy *node
}

// readCaddyProxy finds the first reverse_proxy directive, block or not.
func readCaddyProxy(text string) caddyProxy {
	var walk func(n *node) *node
	walk = func(n *node) *node {
		for _, c := range n.children {
			if c.name == "reverse_proxy" {
				return c
			}
			if f := walk(c); f != nil {
				return f
			}
		}
		return nil
	}
	return caddyProxy{walk(readCaddyfile(text))}
}

// setting returns the value of the reverse_proxy's subdirective name.
func (c caddyProxy) setting(name string) (string, bool) {
	d := c.proxy.last(name)
	if d == nil {
		return "", false
	}
	return strings.Join(d.args, " "), true
}

// faultSpec is what the rules read of a fault's settings
// (results.PhasePlan.FaultSpecs): the latencies and the idle close.
type faultSpec struct {
	Kind         string `yaml:"kind"`
	Delay        string `yaml:"delay"`
	Jitter       string `yaml:"jitter"`
	Duration     string `yaml:"duration"`
	Idle         string `yaml:"idle"`
	Distribution *struct {
		P50 string `yaml:"p50"`
		P99 string `yaml:"p99"`
	} `yaml:"distribution"`
}

// specs returns the faults of a phase as their settings say, passing
// over a line that does not read.
func specs(p results.PhasePlan) []faultSpec {
	var out []faultSpec
	for _, line := range p.FaultSpecs {
		var f faultSpec
		if err := yaml.Unmarshal([]byte(line), &f); err == nil && f.Kind != "" {
			out = append(out, f)
		}
	}
	return out
}

// duration parses a fault setting; zero when it is unset or does not
// read.
func duration(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// injected returns the latency a fault holds an answer back by at most
// (its p99 for a distribution), and how to say it; zero for a fault
// that does not delay answers.
func (f faultSpec) injected() (time.Duration, string) {
	switch f.Kind {
	case "latency":
		if f.Distribution != nil {
			return duration(f.Distribution.P99), "p99 " + duration(f.Distribution.P99).String()
		}
		d := duration(f.Delay) + duration(f.Jitter)
		if duration(f.Jitter) > 0 {
			return d, fmt.Sprintf("%s ± %s", duration(f.Delay), duration(f.Jitter))
		}
		return d, d.String()
	case "slow-headers":
		return duration(f.Duration), duration(f.Duration).String()
	}
	return 0, ""
}

// failures returns how many failures of every class the report tied to
// the cause name, and the classes in which it did, in the report's
// order: 502 first, then the other classes by name.
func failures(rep *results.Report, cause string) (int, []string) {
	n := 0
	var classes []string
	count := func(class string, cs []results.Cause) {
		for _, c := range cs {
			if c.Cause == cause && c.Count > 0 {
				n += c.Count
				classes = append(classes, fmt.Sprintf("%d %s", c.Count, classWord(class)))
			}
		}
	}
	count("502", rep.Causes)
	var other []string
	for class := range rep.OtherCauses {
		other = append(other, class)
	}
	slices.Sort(other)
	for _, class := range other {
		count(class, rep.OtherCauses[class])
	}
	return n, classes
}

// classCount returns how many failures of the class the report tied to
// the cause.
func classCount(rep *results.Report, class, cause string) int {
	cs := rep.OtherCauses[class]
	if class == "502" {
		cs = rep.Causes
	}
	n := 0
	for _, c := range cs {
		if c.Cause == cause {
			n += c.Count
		}
	}
	return n
}

// classWord names a failure class in a sentence: "502s", "errors".
func classWord(class string) string {
	switch class {
	case "error":
		return "without an answer"
	case "cut":
		return "cut after their headers"
	}
	return class + "s"
}

// phasesWith names the phases of the plan whose faults include one of
// the kinds, or, when none does, the phases in whose timeline buckets
// the report counted 502s of the cause; "" when neither names one.
func phasesWith(rep *results.Report, run *results.Run, cause string, kinds ...string) string {
	var names []string
	for _, p := range run.Phases {
		for _, k := range kinds {
			if slices.Contains(p.Faults, k) && !slices.Contains(names, p.Name) {
				names = append(names, p.Name)
			}
		}
	}
	if len(names) == 0 {
		for _, b := range rep.Timeline {
			if b.Causes[cause] > 0 && !slices.Contains(names, b.Phase) {
				names = append(names, b.Phase)
			}
		}
	}
	return phaseWords(names)
}

// phaseWords says in which phases: "in phase race", "in phases a and b".
func phaseWords(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return "in phase " + names[0]
	}
	return "in phases " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// ms words a duration in milliseconds, or seconds from 10s up: 500ms,
// 1.5s, 60s.
func ms(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// msf words a figure of milliseconds, as ms does a duration.
func msf(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "?"
	}
	return ms(time.Duration(math.Round(v)) * time.Millisecond)
}

// current words a setting as the configuration has it: its value, or
// "unset (default D)".
func current(v string, set bool, def string) string {
	if set {
		return v
	}
	return "unset (default " + def + ")"
}
