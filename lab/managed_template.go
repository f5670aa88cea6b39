package lab

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"
)

//go:embed templates/*
var templates embed.FS

// DefaultTemplate returns the text of the template embedded in gatecrash
// for kind (nginx, haproxy, caddy): the configuration RenderDefault
// parses, and a starting point for a template of one's own.
func DefaultTemplate(kind string) (string, error) {
	s, err := spec(kind)
	if err != nil {
		return "", err
	}
	b, err := templates.ReadFile(s.template)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Placeholders are the values a gateway template is rendered with, as
// {{.Listen}}, {{.Upstream}} and so on. Every address is on loopback.
type Placeholders struct {
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
	// AccessLog and ErrorLog are the absolute paths of the logs in the
	// run folder, gateway-access.log and gateway-error.log.
	AccessLog string
	ErrorLog  string
}

// placeholderNames lists the placeholders, for messages.
const placeholderNames = "{{.Listen}}, {{.ListenHost}}, {{.ListenPort}}, {{.Upstream}}, {{.UpstreamHost}}, {{.UpstreamPort}}, " +
	"{{.ConnectTimeoutMS}}, {{.ReadTimeoutMS}}, {{.Dir}}, {{.AccessLog}}, {{.ErrorLog}}"

// examplePlaceholders are the values Render checks a template with.
var examplePlaceholders = Placeholders{
	Listen: "127.0.0.1:40001", ListenHost: "127.0.0.1", ListenPort: 40001,
	Upstream: "127.0.0.1:40002", UpstreamHost: "127.0.0.1", UpstreamPort: 40002,
	ConnectTimeoutMS: 1000, ReadTimeoutMS: 5000,
	Dir: "/tmp/gatecrash-check", AccessLog: "/tmp/out/gateway-access.log", ErrorLog: "/tmp/out/gateway-error.log",
}

// TemplateError is a gateway template that does not parse or render, or
// that would not put the gateway between gatecrash's attacker and its
// fault proxy.
type TemplateError struct {
	// Kind is the gateway kind the template is for.
	Kind string
	// Name names the template, such as the file it was read from.
	Name string
	Err  error
}

// Error says the kind, the template's name and the problem.
func (e *TemplateError) Error() string {
	return fmt.Sprintf("%s template %s: %v", e.Kind, e.Name, e.Err)
}

// Unwrap returns the problem.
func (e *TemplateError) Unwrap() error { return e.Err }

// Template is a managed gateway's configuration template, parsed and
// checked once by Render or RenderDefault: StartManaged starts the
// gateway from it, filling in the run's addresses, without parsing it
// again. A Template is safe for concurrent use.
type Template struct {
	kind string
	name string
	own  bool // the user's own template, not gatecrash's default
	tmpl *template.Template
}

// Kind returns the gateway kind the template is for: nginx, haproxy or
// caddy.
func (t *Template) Kind() string { return t.kind }

// Name returns the template's name in messages: the one given to Render,
// or "default".
func (t *Template) Name() string { return t.name }

// Render parses text, a template of the user's own for a kind gateway
// (nginx, haproxy, caddy), and checks it once, rendering it with example
// values: it must render, and what it renders must use the listen and
// upstream addresses. name names it in messages, such as the file it was
// read from; empty means "template". A problem is a *TemplateError, an
// unknown kind a plain error. It checks the template, not that the
// gateway accepts the configuration: only StartManaged can tell that.
func Render(kind, name, text string) (*Template, error) {
	if _, err := spec(kind); err != nil {
		return nil, err
	}
	if name == "" {
		name = "template"
	}
	return parseTemplate(kind, name, text, true)
}

// RenderDefault is Render for the kind's DefaultTemplate, named
// "default".
func RenderDefault(kind string) (*Template, error) {
	text, err := DefaultTemplate(kind)
	if err != nil {
		return nil, err
	}
	return parseTemplate(kind, "default", text, false)
}

// parseTemplate parses text and checks it with the example values.
func parseTemplate(kind, name, text string, own bool) (*Template, error) {
	t := &Template{kind: kind, name: name, own: own}
	tmpl, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, t.fail(fmt.Errorf("%w; its placeholders are %s", err, placeholderNames))
	}
	t.tmpl = tmpl
	if _, err := t.fill(examplePlaceholders); err != nil {
		return nil, err
	}
	return t, nil
}

// fill renders the parsed template with p, and checks that what it
// renders uses p's listen and upstream ports.
func (t *Template) fill(p Placeholders) (string, error) {
	var b bytes.Buffer
	if err := t.tmpl.Execute(&b, p); err != nil {
		return "", t.fail(fmt.Errorf("%w; its placeholders are %s", err, placeholderNames))
	}
	out := b.String()
	if !hasNumber(out, p.ListenPort) {
		return "", t.fail(errors.New("it never uses {{.Listen}} or {{.ListenPort}}, so the gateway would not listen where gatecrash sends the attack"))
	}
	if !hasNumber(out, p.UpstreamPort) {
		return "", t.fail(errors.New("it never uses {{.Upstream}} or {{.UpstreamPort}}, so the gateway would not forward through the fault proxy"))
	}
	return out, nil
}

// fail returns err as a *TemplateError of t.
func (t *Template) fail(err error) error {
	return &TemplateError{Kind: t.kind, Name: t.name, Err: err}
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
