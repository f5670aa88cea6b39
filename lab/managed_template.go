package lab

import (
	"embed"
	"errors"
	"fmt"
	"text/template"

	"github.com/gatecrash/gatecrash/scenarios"
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
// values (scenarios.ParseTemplate): it must render, and what it renders
// must use the listen and upstream addresses. name names it in messages,
// such as the file it was read from; empty means "template". A problem is
// a *TemplateError, an unknown kind a plain error. It checks the
// template, not that the gateway accepts the configuration: only
// StartManaged can tell that.
func Render(kind, name, text string) (*Template, error) {
	if _, err := spec(kind); err != nil {
		return nil, err
	}
	if name == "" {
		name = "template"
	}
	return parseTemplate(kind, name, text, true)
}

// Checked is the Template of t, a template of the user's own for a kind
// gateway that scenarios.ParseTemplate has already parsed and checked
// (Scenario.GatewayTemplate): nothing is rendered again.
func Checked(kind, name string, t *template.Template) (*Template, error) {
	if _, err := spec(kind); err != nil {
		return nil, err
	}
	return &Template{kind: kind, name: name, own: true, tmpl: t}, nil
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
	tmpl, err := scenarios.ParseTemplate(name, text)
	if err != nil {
		return nil, t.fail(err)
	}
	t.tmpl = tmpl
	return t, nil
}

// fill renders the parsed template with v, and checks that what it
// renders uses v's listen and upstream ports.
func (t *Template) fill(v scenarios.TemplateValues) (string, error) {
	out, err := scenarios.RenderTemplate(t.tmpl, v)
	if err != nil {
		return "", t.fail(err)
	}
	return out, nil
}

// fail returns err, a problem scenarios.ParseTemplate or RenderTemplate
// found, as a *TemplateError of t.
func (t *Template) fail(err error) error {
	if errors.Is(err, scenarios.ErrNoListen) || errors.Is(err, scenarios.ErrNoUpstream) {
		err = fmt.Errorf("it %w", err)
	} else {
		err = fmt.Errorf("%w; its placeholders are %s", err, scenarios.PlaceholderList())
	}
	return &TemplateError{Kind: t.kind, Name: t.name, Err: err}
}
