package scenarios

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// maxConfigBytes bounds a gateway template.
const maxConfigBytes = 1 << 20

// TemplateValues are the values a gateway template (target.config, or
// gatecrash's own) is rendered with, as {{.Listen}}, {{.Upstream}} and so
// on. Every address is on loopback.
type TemplateValues struct {
	// Listen is where the gateway must listen, 127.0.0.1:PORT: a free
	// port picked by gatecrash. ListenHost and ListenPort are its parts.
	Listen     string
	ListenHost string
	ListenPort int
	// Upstream is the host:port the gateway must forward to: the fault
	// proxy. UpstreamHost and UpstreamPort are its parts.
	Upstream     string
	UpstreamHost string
	UpstreamPort int
	// ConnectTimeoutMS is the timeout of a connect to the upstream, and
	// ReadTimeoutMS the longest wait for the upstream's response headers
	// (and between two reads of its answer), in milliseconds.
	ConnectTimeoutMS int64
	ReadTimeoutMS    int64
	// Dir is a private folder for the gateway's pid and temporary files;
	// it is removed when the gateway stops.
	Dir string
	// AccessLog and ErrorLog are the absolute paths of the gateway's logs
	// in the run folder.
	AccessLog string
	ErrorLog  string
}

// exampleValues are the values ParseTemplate checks a template with.
var exampleValues = TemplateValues{
	Listen: "127.0.0.1:40001", ListenHost: "127.0.0.1", ListenPort: 40001,
	Upstream: "127.0.0.1:40002", UpstreamHost: "127.0.0.1", UpstreamPort: 40002,
	ConnectTimeoutMS: 1000, ReadTimeoutMS: 5000,
	Dir: "/tmp/gatecrash-gateway", AccessLog: "/tmp/gatecrash-out/gateway-access.log", ErrorLog: "/tmp/gatecrash-out/gateway-error.log",
}

// asMap returns v as the map a template executes on: a placeholder the
// map lacks says "map has no entry for key", which names it.
func (v TemplateValues) asMap() map[string]any {
	rv := reflect.ValueOf(v)
	m := make(map[string]any, rv.NumField())
	for i := range rv.NumField() {
		m[rv.Type().Field(i).Name] = rv.Field(i).Interface()
	}
	return m
}

// What a template that renders can still lack.
var (
	ErrNoListen   = errors.New("never uses {{.Listen}} or {{.ListenPort}}, so the gateway would not listen where gatecrash sends the attack")
	ErrNoUpstream = errors.New("never uses {{.Upstream}} or {{.UpstreamPort}}, so the gateway would not forward through the fault proxy")
)

// ParseTemplate parses text, a gateway template named name in messages,
// and checks it once, rendering it with example values (see
// RenderTemplate). A text/template error, or ErrNoListen or
// ErrNoUpstream, says what is wrong.
func ParseTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	if _, err := RenderTemplate(t, exampleValues); err != nil {
		return nil, err
	}
	return t, nil
}

// RenderTemplate renders a template ParseTemplate returned with v, and
// checks that what it renders uses v's listen and upstream ports (as
// whole numbers): else the gateway would not stand between gatecrash's
// attacker and its fault proxy.
func RenderTemplate(t *template.Template, v TemplateValues) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, v.asMap()); err != nil {
		return "", err
	}
	out := b.String()
	switch {
	case !hasNumber(out, v.ListenPort):
		return "", ErrNoListen
	case !hasNumber(out, v.UpstreamPort):
		return "", ErrNoUpstream
	}
	return out, nil
}

// hasNumber reports whether text holds n as a whole number.
func hasNumber(text string, n int) bool {
	num := strconv.Itoa(n)
	digit := func(i int) bool { return i >= 0 && i < len(text) && text[i] >= '0' && text[i] <= '9' }
	for i := 0; ; {
		j := strings.Index(text[i:], num)
		if j < 0 {
			return false
		}
		j += i
		if !digit(j-1) && !digit(j+len(num)) {
			return true
		}
		i = j + 1
	}
}

// TemplatePlaceholders lists, sorted, the placeholders a gateway template
// (target.config) may use, as {{.Name}}.
func TemplatePlaceholders() []string {
	names := slices.Collect(maps.Keys(exampleValues.asMap()))
	slices.Sort(names)
	return names
}

// PlaceholderList is the placeholders as a template writes them, for
// messages: "{{.AccessLog}}, {{.ConnectTimeoutMS}}, ...".
func PlaceholderList() string {
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
	tmpl, err := ParseTemplate(path, string(data))
	if err == nil {
		s.gatewayTemplate = tmpl
		return
	}
	problem := "does not render: " + strings.TrimPrefix(err.Error(), "template: ")
	if errors.Is(err, ErrNoListen) || errors.Is(err, ErrNoUpstream) {
		problem = err.Error()
	}
	c.add("target.config", fmt.Sprintf("the %s template %s; fix it: it is a Go text/template whose placeholders are %s",
		s.Target.Gateway, problem, PlaceholderList()))
}

// GatewayTemplate returns the gateway template of target.config as Load
// parsed and checked it; nil when the scenario names none, or was not
// loaded from a file.
func (s *Scenario) GatewayTemplate() *template.Template { return s.gatewayTemplate }
