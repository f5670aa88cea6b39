package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// emptyFix is the advice for a file with no scenario in it.
const emptyFix = "start from a ready scenario: gatecrash list names them"

// Decode reads the scenario in data strictly, checks it, and applies the
// defaults. file names data in messages. Every problem found is an
// *Error with the file, line, field and fix; several are joined with
// [errors.Join], sorted by line. A scenario returned without error is
// valid, with File set to file.
//
// Decode reads no other file: target.config is checked for its form only.
// [Load] also checks that the template it names can be read and parses.
func Decode(file string, data []byte) (*Scenario, error) {
	return decode(file, data, false)
}

// decode is Decode; files says file is a path on disk, and the files the
// scenario names are checked too.
func decode(file string, data []byte, files bool) (*Scenario, error) {
	var s Scenario
	c, err := decodeStrict(file, data, scenarioDoc, &s)
	if c == nil {
		return nil, err
	}
	c.scenario(&s)
	s.File = file
	if files && len(c.errs) == 0 {
		c.configFile(&s)
	}
	if len(c.errs) > 0 {
		return nil, joinErrors(c.errs)
	}
	return &s, nil
}

// docType says what a document holds, for the messages about its shape.
type docType struct {
	empty  string // the problem with an empty document; "" when one is valid
	shape  string // the problem with a document that is not a mapping; %s names what it holds
	second string // the problem with a second document
}

// The documents this package reads.
var (
	scenarioDoc = docType{
		empty:  "the file is empty; " + emptyFix,
		shape:  "the file holds %s, not a scenario; write a mapping with fields such as name:, requests: and phases:, one per line, or " + emptyFix,
		second: "a second YAML document starts here; a scenario file holds one: remove this --- line and what follows, or move it to a file of its own",
	}
	faultSetDoc = docType{
		shape:  "the file holds %s, not a fault set; write a mapping, with the faults under faults:, such as faults: [{kind: reset, probability: 0.1}]",
		second: "a second YAML document starts here; a fault file holds one: remove this --- line and what follows, or move it to a file of its own",
	}
	faultDoc = docType{
		empty:  `the fault is empty; send one such as {"kind": "reset", "probability": 0.1}`,
		shape:  `the input holds %s, not a fault; send one mapping such as {"kind": "reset", "probability": 0.1}`,
		second: "a second YAML document starts here; send one fault: remove this --- line and what follows",
	}
)

// decodeStrict parses data as a document of type d and decodes it
// strictly into v, a pointer to a struct. It returns a checker holding the
// problems found so far, for the caller to check the values; or nil and
// the error when decoding cannot go on; or nil, nil for an empty document
// that d allows.
func decodeStrict(file string, data []byte, d docType, v any) (*checker, error) {
	root, errs := parse(file, data, d)
	if root == nil {
		return nil, joinErrors(errs)
	}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := decodeSafely(dec, v)
	var typeErr *yaml.TypeError
	if err != nil && !errors.As(err, &typeErr) {
		// The decoder gave up, on excessive aliasing or an anchor that
		// contains itself.
		errs = append(errs, &Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ") + "; write the values out instead of using anchors and aliases"})
		return nil, joinErrors(errs)
	}

	c := &checker{
		file:   file,
		x:      newIndex(root, reflect.TypeOf(v).Elem()),
		errs:   errs,
		broken: make(map[string]bool),
		mode:   ModeHTTP,
	}
	if typeErr != nil {
		for _, msg := range typeErr.Errors {
			c.typeError(msg)
		}
	}
	return c, nil
}

// Load reads and decodes the scenario file at path; see [Decode]. It also
// checks that the gateway template named by target.config, if any, can be
// read and parses as a Go text/template. A file that cannot be read is an
// *Error too, wrapping the cause.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read the scenario: " + readProblem(err) + "; check the path", err: err}
	}
	return decode(path, data, true)
}

// maxConfigBytes bounds a gateway template.
const maxConfigBytes = 1 << 20

// templateExample holds the placeholders of a gateway template, as the
// run renders it (lab.Placeholders), with example values.
var templateExample = map[string]any{
	"Listen": "127.0.0.1:40001", "ListenHost": "127.0.0.1", "ListenPort": 40001,
	"Upstream": "127.0.0.1:40002", "UpstreamHost": "127.0.0.1", "UpstreamPort": 40002,
	"ConnectTimeoutMS": int64(1000), "ReadTimeoutMS": int64(5000),
	"Dir": "/tmp/gatecrash-gateway", "AccessLog": "/tmp/gatecrash-out/gateway-access.log", "ErrorLog": "/tmp/gatecrash-out/gateway-error.log",
}

// TemplatePlaceholders lists, sorted, the placeholders a gateway template
// (target.config) may use, as {{.Name}}.
func TemplatePlaceholders() []string {
	names := make([]string, 0, len(templateExample))
	for name := range templateExample {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// placeholderList is the placeholders as a template writes them.
func placeholderList() string {
	var b strings.Builder
	for i, name := range TemplatePlaceholders() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("{{." + name + "}}")
	}
	return b.String()
}

// configFile checks the gateway template that s names, if any: it can be
// read, and renders as a text/template with the placeholders, using the
// listen and upstream addresses. Whether the gateway accepts what it
// renders is for the run to find.
func (c *checker) configFile(s *Scenario) {
	path := s.ConfigPath()
	if path == "" {
		return
	}
	fi, err := os.Stat(path)
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err == nil && fi.Size() > maxConfigBytes {
		err = fmt.Errorf("%d bytes, more than a template of %d", fi.Size(), maxConfigBytes)
	}
	var data []byte
	if err == nil {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		c.add("target.config", fmt.Sprintf("cannot read the %s template %s: %s; check the path, which is relative to the scenario file, or leave config out for gatecrash's own template",
			s.Target.Gateway, path, readProblem(err)))
		return
	}
	problem := ""
	var out strings.Builder
	tmpl, err := template.New(path).Option("missingkey=error").Parse(string(data))
	if err == nil {
		err = tmpl.Execute(&out, templateExample)
	}
	switch {
	case err != nil:
		problem = "does not render: " + strings.TrimPrefix(err.Error(), "template: ")
	case !strings.Contains(out.String(), "40001"):
		problem = "never uses {{.Listen}} or {{.ListenPort}}, so the gateway would not listen where gatecrash sends the attack"
	case !strings.Contains(out.String(), "40002"):
		problem = "never uses {{.Upstream}} or {{.UpstreamPort}}, so the gateway would not forward through the fault proxy"
	default:
		return
	}
	c.add("target.config", fmt.Sprintf("the %s template %s; fix it: it is a Go text/template whose placeholders are %s",
		s.Target.Gateway, problem, placeholderList()))
}

// Resolve returns the catalog scenario named arg, or else decodes the file
// at path arg.
func Resolve(arg string) (*Scenario, error) {
	if data, ok := CatalogSource(arg); ok {
		return Decode(catalogFile(arg), data)
	}
	s, err := Load(arg)
	if err != nil && errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(arg, `/\`) && !strings.HasSuffix(arg, ".yaml") && !strings.HasSuffix(arg, ".yml") {
		msg := fmt.Sprintf("%q is neither a catalog scenario nor a file; ", arg)
		if near, ok := closest(arg, catalogNames()); ok {
			msg += "did you mean " + near + "? "
		}
		msg += "gatecrash list names the catalog scenarios"
		return nil, &Error{Msg: msg, err: err}
	}
	return s, err
}

// readProblem says why a file could not be read, without repeating its
// path.
func readProblem(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return err.Error()
}

// decodeSafely runs dec.Decode, turning a panic in the YAML library into
// an error: no input may crash the caller.
func decodeSafely(dec *yaml.Decoder, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the parser failed: %v", r)
		}
	}()
	return dec.Decode(v)
}

// parse parses the first YAML document in data, of type d, and returns
// its top mapping, or nil with the errors that stop decoding: none for an
// empty document that d allows.
func parse(file string, data []byte, d docType) (*yaml.Node, []*Error) {
	empty := func() []*Error {
		if d.empty == "" {
			return nil
		}
		return []*Error{{File: file, Msg: d.empty}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := decodeSafely(dec, &doc)
	if err == io.EOF {
		return nil, empty()
	}
	if err != nil {
		return nil, []*Error{syntaxError(file, data, err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, empty()
	}
	root := doc.Content[0]
	if root.ShortTag() == "!!null" {
		return nil, empty()
	}
	if root.Kind != yaml.MappingNode {
		return nil, []*Error{{File: file, Line: root.Line, Msg: fmt.Sprintf(d.shape, kindName(root))}}
	}

	var errs []*Error
	var next yaml.Node
	switch err := decodeSafely(dec, &next); {
	case err == io.EOF:
	case err != nil:
		errs = append(errs, syntaxError(file, data, err))
	case len(next.Content) == 1 && next.Content[0].ShortTag() == "!!null" && next.Content[0].Value == "":
		// A trailing --- with nothing after it.
	default:
		errs = append(errs, &Error{File: file, Line: next.Line, Msg: d.second})
	}
	return root, errs
}

// kindName names the kind of value n holds.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		return "the single value " + strconv.Quote(n.Value)
	}
	return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
}

var lineRE = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)

// syntaxError turns a YAML syntax error into an *Error. yaml.v3 leaves the
// line out on the first line and counts from 0 for some errors, so the
// line is the first one at which the file, cut there, fails the same way.
func syntaxError(file string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if l := failingLine(data, msg, line); l > 0 {
		line = l
	}
	text := ""
	if lines := bytes.Split(data, []byte("\n")); line > 0 && line <= len(lines) {
		text = string(lines[line-1])
	}
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + msg + "; " + syntaxFix(msg, text)}
}

// failingLine returns the first line n, from near hint on, such that the
// first n lines of data fail to parse with msg; 0 if there is none within
// a bounded amount of parsing.
func failingLine(data []byte, msg string, hint int) int {
	const budget = 4 << 20 // bytes parsed in all
	lines := bytes.SplitAfter(data, []byte("\n"))
	start := 1
	if hint > 2 {
		start = hint - 1
	}
	size, parsed := 0, 0
	for _, l := range lines[:min(start-1, len(lines))] {
		size += len(l)
	}
	for n := start; n <= len(lines); n++ {
		size += len(lines[n-1])
		if parsed += size; parsed > budget {
			return 0
		}
		if parseMessage(data[:size]) == msg {
			return n
		}
	}
	return 0
}

// parseMessage returns the syntax error in the first two documents of
// data, without "yaml: " and the line, or "" if they parse.
func parseMessage(data []byte) string {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for range 2 {
		var n yaml.Node
		err := decodeSafely(dec, &n)
		if err == io.EOF {
			return ""
		}
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			if m := lineRE.FindStringSubmatch(msg); m != nil {
				msg = m[2]
			}
			return msg
		}
	}
	return ""
}

// syntaxFix suggests a fix for the YAML syntax error msg on a line that
// reads text.
func syntaxFix(msg, text string) string {
	switch {
	case strings.Contains(text, "\t") && (strings.Contains(msg, "tab") || strings.Contains(msg, "cannot start any token")):
		return "indent with spaces, not tabs"
	case strings.Contains(msg, "mapping values are not allowed"):
		return `a value holds ": "; put it in quotes, or check the indentation`
	case strings.Contains(msg, "did not find expected key"):
		return "check the indentation: the fields of one mapping start in the same column"
	case strings.Contains(msg, "expected '-' indicator"):
		return "check the indentation: the items of one list start in the same column"
	case strings.Contains(msg, "cannot start any token"):
		return "put the value in quotes: a plain value cannot start with characters such as @ or `"
	case strings.Contains(msg, "expected ',' or ']'"):
		return "close the list with ] and separate its items with commas"
	case strings.Contains(msg, "expected ',' or '}'"):
		return "close the mapping with } and separate its fields with commas"
	case strings.Contains(msg, "unknown anchor"):
		return "define the anchor with &name before using it as *name"
	case strings.Contains(msg, "control characters") || strings.Contains(msg, "UTF-8") || strings.Contains(msg, "Unicode"):
		return "save the file as UTF-8 text without control characters"
	case strings.Contains(msg, "end of stream") || strings.Contains(msg, "quoted scalar"):
		return "close the quote or bracket opened here"
	}
	return "check the indentation and quoting on this line and the one before"
}

// Patterns of the problems yaml.v3 reports in a *yaml.TypeError.
var (
	notFoundRE = regexp.MustCompile(`(?s)^field (.*) not found in type (\S+)$`)
	definedRE  = regexp.MustCompile(`(?s)^mapping key (.*) already defined at line (\d+)$`)
	alreadyRE  = regexp.MustCompile(`(?s)^field (.*) already set in type (\S+)$`)
	cannotRE   = regexp.MustCompile("(?s)^cannot unmarshal (\\S+)(?: `(.*)`)? into (\\S+)$")
)

// structTypes are the structs of a scenario, by the name yaml.v3 gives
// them in messages.
var structTypes = func() map[string]reflect.Type {
	m := make(map[string]reflect.Type)
	for _, t := range []reflect.Type{
		reflect.TypeFor[Scenario](), reflect.TypeFor[Target](), reflect.TypeFor[Upstream](),
		reflect.TypeFor[BuiltinUpstream](), reflect.TypeFor[Request](), reflect.TypeFor[Phase](),
		reflect.TypeFor[Fault](), reflect.TypeFor[Match](), reflect.TypeFor[Distribution](),
		reflect.TypeFor[ProxySpec](), reflect.TypeFor[FaultSet](),
	} {
		m[t.String()] = t
	}
	return m
}()

var (
	durationType = reflect.TypeFor[Duration]()
	rateType     = reflect.TypeFor[Rate]()
)

// typeError turns one problem from yaml.v3's *yaml.TypeError into an
// *Error, finding the field's path in the index.
func (c *checker) typeError(msg string) {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		c.errs = append(c.errs, &Error{File: c.file, Msg: msg + "; fix the value"})
		return
	}
	line, _ := strconv.Atoi(m[1])
	problem := m[2]
	col := 0
	fail := func(field, text string) {
		c.errs = append(c.errs, &Error{File: c.file, Line: line, Field: field, Msg: text, col: col})
	}

	// A bad duration, rate or expectation: the checks report it with its
	// path.
	for _, v := range c.x.values[line] {
		var p string
		switch v.typ {
		case durationType:
			_, p = durationNode(v.node)
		case rateType:
			_, p = rateNode(v.node)
		case expectationType:
			_, ps := expectNode(v.node)
			for _, ep := range ps {
				if ep.msg == problem {
					return
				}
			}
		}
		if p != "" && p == problem {
			return
		}
	}

	if m := notFoundRE.FindStringSubmatch(problem); m != nil {
		name := m[1]
		if k := c.key(line, name, true); k != nil {
			col = k.col
			known := k.known
			if k.owner == faultType {
				// Only the fields the fault's kind takes.
				known = c.faultFields(parent(k.path))
			}
			fail(k.path, unknownField(name, known))
			if near, ok := closest(name, known); ok {
				// A misspelt field: do not also report it missing.
				c.broken[join(parent(k.path), near)] = true
			}
			return
		}
		var known []string
		if t, ok := structTypes[m[2]]; ok {
			known = fieldNames(yamlFields(t))
		}
		fail("", unknownField(name, known))
		return
	}

	if m := definedRE.FindStringSubmatch(problem); m != nil {
		name := m[1]
		if s, err := strconv.Unquote(name); err == nil {
			name = s
		}
		first, _ := strconv.Atoi(m[2])
		field := ""
		if k := c.key(line, name, false); k != nil {
			// yaml.v3 leaves the whole mapping out.
			field, col = k.path, k.col
			c.broken[parent(k.path)] = true
		}
		fail(field, fmt.Sprintf("%s is written twice, first on line %d; keep one", name, first))
		return
	}
	if m := alreadyRE.FindStringSubmatch(problem); m != nil {
		field := ""
		if k := c.key(line, m[1], false); k != nil {
			field, col = k.path, k.col
			c.broken[k.path] = true
		}
		fail(field, fmt.Sprintf("%s is written twice; keep one", m[1]))
		return
	}

	if m := cannotRE.FindStringSubmatch(problem); m != nil {
		tag, value, goType := m[1], m[2], m[3]
		v := c.value(line, value, goType)
		field, what := "", describeTag(tag, value)
		if v != nil {
			field, col = v.path, v.col
			what = describe(v.node)
			c.broken[v.path] = true
		}
		want, fix := typeHint(goType, field)
		fail(field, fmt.Sprintf("%s is not %s; %s", what, want, fix))
		return
	}

	fail("", problem+"; fix the value on this line")
}

// key finds the unclaimed mapping key called name on line; unknown asks
// for a key that is not a field of its struct. When no key has that name
// (yaml.v3 names some keys differently), a lone candidate on the line
// will do.
func (c *checker) key(line int, name string, unknown bool) *keyRef {
	var lone *keyRef
	n := 0
	for _, k := range c.x.keys[line] {
		if k.used || (unknown && (k.field || k.known == nil)) {
			continue
		}
		if k.name == name {
			k.used = true
			return k
		}
		lone = k
		n++
	}
	if n == 1 && unknown {
		lone.used = true
		return lone
	}
	return nil
}

// value finds the value on line that yaml.v3 quotes as text (cut to 7
// bytes and "..." past 10) and could not decode into goType.
func (c *checker) value(line int, text, goType string) *entry {
	var fallback *entry
	for _, v := range c.x.values[line] {
		if c.broken[v.path] {
			continue
		}
		n := v.node
		switch {
		case n.Kind == yaml.ScalarNode:
			want := n.Value
			if len(want) > 10 {
				want = want[:7] + "..."
			}
			if want != text {
				continue
			}
		case text != "":
			continue
		}
		if v.typ.String() == goType {
			return v
		}
		if fallback == nil {
			fallback = v
		}
	}
	return fallback
}

// describeTag names a value yaml.v3 quotes as tag and text, when the
// value itself is not found.
func describeTag(tag, text string) string {
	switch tag {
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	}
	return strconv.Quote(text)
}

// unknownField is the message for a key that is not a field, with the
// fields known there.
func unknownField(name string, known []string) string {
	msg := fmt.Sprintf("unknown field %q", name)
	if near, ok := closest(name, known); ok {
		msg += fmt.Sprintf(" (did you mean %s?)", near)
	}
	if len(known) > 0 {
		msg += "; known fields here: " + strings.Join(known, ", ")
	} else {
		msg += "; remove it"
	}
	return msg
}

// typeHint says what a value decoded into goType must be, and how to
// write one, for the field at path.
func typeHint(goType, path string) (want, fix string) {
	leaf := path[strings.LastIndex(path, ".")+1:]
	switch goType {
	case "int":
		example := map[string]string{
			"code": "code: 503", "body_bytes": "body_bytes: 512", "bytes_per_second": "bytes_per_second: 1024",
			"after_bytes": "after_bytes: 1024", "size": "size: 65536", "bytes": "bytes: 64",
			"max_inflight": "max_inflight: 10", "queue": "queue: 20", "events": "events: 3",
		}[leaf]
		if example == "" {
			example = "10"
		}
		return "a whole number", "write one such as " + example
	case "uint64":
		return "a whole number from 0 to 18446744073709551615", "write one such as seed: 7"
	case "float64":
		return "a number", "write a number between 0 and 1, such as probability: 0.1"
	case "string":
		return "a single value", "write one value, in quotes if it holds special characters"
	case "map[string]string":
		return "a mapping of names to values", "write one such as {Accept: application/json}"
	case "[]scenarios.Request":
		return "a list of requests", "write one such as [{method: GET, path: /}]"
	case "[]scenarios.Phase":
		return "a list of phases", "write one such as [{name: baseline, duration: 5s, rate: 50/s}]"
	case "[]scenarios.Fault":
		return "a list of faults", "write one such as [{kind: reset, probability: 0.1}]"
	case "[]scenarios.Expectation":
		return "a list of expectations", "write one per line under expect:, each after a -, such as - rate(status=502) < 1%"
	}
	if t, ok := structTypes[goType]; ok {
		return "a mapping", "write a mapping with the fields " + strings.Join(fieldNames(yamlFields(t)), ", ")
	}
	return "a " + goType, "check the value"
}
