package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults and limits applied by Decode.
const (
	DefaultTimeout         = 10 * time.Second // target.timeout
	DefaultUpstreamTimeout = 5 * time.Second  // target.upstream_timeout
	DefaultConnectTimeout  = time.Second      // target.connect_timeout
	DefaultBodyBytes       = 512              // upstream.builtin.body_bytes
	MaxBodyBytes           = 10 << 20         // upstream.builtin.body_bytes
)

// Bounds that keep the arithmetic of a run sane.
const (
	maxTotalDuration = 24 * time.Hour // all phases together
	maxRatePerSecond = 1_000_000      // rate and ramp_to
	// MaxPhases caps the phases of a scenario: every phase is a section
	// of each report and a row of its tables, so the run folder grows
	// with them (10,000 phases of 10ms made 20 MB for 101 requests).
	MaxPhases = 1000
)

// checker collects the problems of one scenario file.
type checker struct {
	file   string
	x      *index
	errs   []*Error
	broken map[string]bool // paths whose value could not be decoded at all
	mode   string          // the proxy's mode, for the checks of faults: ModeHTTP or ModeTCP
	// modeFlag says the mode came from the command line (--mode), not
	// the file, for the messages that name it.
	modeFlag bool
	// consent is the hosts beyond loopback that the command line allows
	// in target.url, upstream.url and proxy.listen.
	consent Consent
}

// add records a problem with the field at path, unless that field or one
// holding it already has one.
func (c *checker) add(path, msg string) {
	for p := path; ; p = parent(p) {
		if c.broken[p] {
			return
		}
		if p == "" {
			break
		}
	}
	line, col := c.x.line(path)
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Field: path, Msg: msg, col: col})
}

// brokenUnder reports whether a value inside the field at path could not
// be decoded at all: yaml.v3 leaves such list items out, so the list may
// look empty.
func (c *checker) brokenUnder(path string) bool {
	for p := range c.broken {
		if strings.HasPrefix(p, path+"[") || strings.HasPrefix(p, path+".") {
			return true
		}
	}
	return false
}

// duration checks the duration the file writes at path. set says whether
// it writes one; ok whether that one is valid. The decoder has already
// stored a valid value.
func (c *checker) duration(path string) (set, ok bool) {
	return c.checkValue(path, func(n *yaml.Node) string {
		_, problem := durationNode(n)
		return problem
	})
}

// rate is like duration, for a rate.
func (c *checker) rate(path string) (set, ok bool) {
	return c.checkValue(path, func(n *yaml.Node) string {
		_, problem := rateNode(n)
		return problem
	})
}

// checkValue checks the value the file writes at path with problem, which says
// what is wrong with it, if anything: set says whether the file writes
// one, ok whether problem found it valid.
func (c *checker) checkValue(path string, problem func(*yaml.Node) string) (set, ok bool) {
	if !c.x.has(path) {
		return false, true
	}
	if p := problem(c.x.get(path)); p != "" {
		c.add(path, p)
		return true, false
	}
	return true, true
}

// whole checks that the number at path, if any, is written as a whole
// number: yaml.v3 silently cuts 1.5 to 1.
func (c *checker) whole(path, example string) bool {
	if n := c.x.get(path); n != nil && n.ShortTag() == "!!float" {
		c.add(path, fmt.Sprintf("%s is not a whole number; write one such as %s", Quote(n.Value), example))
		return false
	}
	return true
}

func (c *checker) scenario(s *Scenario) {
	switch {
	case s.Name == "":
		c.add("name", "name is required; add a line such as name: my-scenario (it names the output folder)")
	default:
		if problem := nameProblem(s.Name); problem != "" {
			c.add("name", problem)
		}
	}
	c.whole("seed", "seed: 7")
	c.target(&s.Target)
	c.upstream(&s.Upstream)
	c.requests(s.Requests)
	c.client(&s.Client, s.Target.Timeout)
	c.proxy(&s.Proxy, s.Target.Gateway)
	c.phases(s.Phases)
	c.expectations(s)
}

// nameProblem says what is wrong with a scenario name, which names a
// folder.
func nameProblem(name string) string {
	ok := len(name) <= 100
	for i := 0; i < len(name) && ok; i++ {
		b := name[i]
		alnum := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
		ok = alnum || i > 0 && (b == '-' || b == '_' || b == '.')
	}
	if ok {
		return ""
	}
	if len(name) > 100 {
		return fmt.Sprintf("name is %d characters long; shorten it to 100 or fewer (it names the output folder)", len(name))
	}
	return fmt.Sprintf("name %s may hold only ASCII letters, digits, -, _ and ., starting with a letter or digit, as it names the output folder; write one such as %s",
		Quote(name), suggestName(name))
}

// suggestName makes a valid name out of name.
func suggestName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		switch {
		case r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		case (r == '_' || r == '.' || r == '-') && b.Len() > 0 && !dash:
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	s := strings.TrimRight(b.String(), "-_.")
	if s == "" {
		return "my-scenario"
	}
	return s
}

// items returns the paths of the n values that the decoder made of the
// list at path. yaml.v3 leaves out the items it cannot decode and the
// empty ones, so the i-th value is not always the file's i-th item. An
// empty item is a problem: example says what to write instead.
func (c *checker) items(path string, n int, example string) []string {
	paths := make([]string, 0, n)
	if list := c.x.get(path); list != nil && list.Kind == yaml.SequenceNode {
		for i, item := range list.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			for j := 0; j < 100 && item.Kind == yaml.AliasNode && item.Alias != nil; j++ {
				item = item.Alias
			}
			if item.Kind == yaml.ScalarNode && item.ShortTag() == "!!null" {
				c.add(p, "an empty item; write "+example+" here, or remove the lone -")
				c.broken[p] = true
				continue
			}
			if !c.broken[p] {
				paths = append(paths, p)
			}
		}
	}
	if len(paths) != n {
		paths = paths[:0]
		for i := range n {
			paths = append(paths, path+"["+strconv.Itoa(i)+"]")
		}
	}
	return paths
}

// nilIfEmpty returns nil for an empty map, which a file written back
// leaves out, so that it reads the same.
func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// leaf returns the last field name in path.
func leaf(path string) string {
	return path[strings.LastIndex(path, ".")+1:]
}
