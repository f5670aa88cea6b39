package scenarios

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/template"
)

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
