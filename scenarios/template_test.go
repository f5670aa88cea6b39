package scenarios

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestLoadConfig checks what Load, unlike Decode, checks of target.config:
// the template it names can be read, relative to the scenario file, and
// renders with the placeholders.
func TestLoadConfig(t *testing.T) {
	const good = "listen {{.Listen}};\nserver {{.UpstreamHost}}:{{.UpstreamPort}};\n"
	tests := []struct {
		name     string
		config   string // the value of target.config; DIR is the scenario's folder
		file     string // the template's path under DIR; "" writes none
		template string
		want     string // a substring of the problem at line 4, target.config; "" wants none
	}{
		{name: "next to the scenario", config: "gw.tmpl", file: "gw.tmpl", template: good},
		{name: "in a subfolder", config: "gateways/gw.tmpl", file: "gateways/gw.tmpl", template: good},
		{name: "absolute", config: "DIR/gw.tmpl", file: "gw.tmpl", template: good},
		{name: "every placeholder", config: "gw.tmpl", file: "gw.tmpl",
			template: "{{.Listen}} {{.ListenHost}} {{.ListenPort}} {{.Upstream}} {{.UpstreamHost}} {{.UpstreamPort}} {{.ConnectTimeoutMS}} {{.ReadTimeoutMS}} {{.Dir}} {{.AccessLog}} {{.ErrorLog}}"},
		{name: "missing", config: "nope.tmpl",
			want: "cannot read the nginx template DIR/nope.tmpl: no such file or directory; check the path, which is relative to the scenario file, or leave config out for gatecrash's own template"},
		{name: "a folder", config: "gateways", file: "gateways/gw.tmpl", template: good,
			want: "cannot read the nginx template DIR/gateways: not a regular file"},
		{name: "does not parse", config: "gw.tmpl", file: "gw.tmpl", template: "listen {{.Listen}};\nserver {{.Upstream};\n",
			want: `the nginx template does not render: DIR/gw.tmpl:2: bad character U+007D '}'; fix it: it is a Go text/template whose placeholders are {{.AccessLog}}, {{.ConnectTimeoutMS}}, {{.Dir}}`},
		{name: "unknown placeholder", config: "gw.tmpl", file: "gw.tmpl", template: "listen {{.Lisen}};\nserver {{.Upstream}};\n",
			want: `the nginx template does not render: DIR/gw.tmpl:1:9: executing "DIR/gw.tmpl" at <.Lisen>: map has no entry for key "Lisen"`},
		{name: "no listen address", config: "gw.tmpl", file: "gw.tmpl", template: "listen 8080;\nserver {{.Upstream}};\n",
			want: "the nginx template never uses {{.Listen}} or {{.ListenPort}}, so the gateway would not listen where gatecrash sends the attack"},
		{name: "no upstream", config: "gw.tmpl", file: "gw.tmpl", template: "listen {{.Listen}};\nserver 127.0.0.1:9000;\n",
			want: "the nginx template never uses {{.Upstream}} or {{.UpstreamPort}}, so the gateway would not forward through the fault proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.file != "" {
				path := filepath.Join(dir, tt.file)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tt.template), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			config := strings.ReplaceAll(tt.config, "DIR", dir)
			src := "name: demo\ntarget:\n  gateway: nginx\n  config: " + config + "\nrequests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n"
			file := filepath.Join(dir, "scenario.yaml")
			if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}

			// Decode checks the form only.
			if _, err := Decode(file, []byte(src)); err != nil {
				t.Errorf("Decode: got %v, want no error", err)
			}
			s, err := Load(file)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Load: got %v, want no error", err)
				}
				want := filepath.Join(dir, tt.file)
				if got := s.ConfigPath(); got != want {
					t.Errorf("ConfigPath: got %q, want %q", got, want)
				}
				if s.Target.Config != config {
					t.Errorf("config: got %q, want %q as written", s.Target.Config, config)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load: got no error, want one saying %q", tt.want)
			}
			got := problems(t, err)
			if len(got) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(got), err)
			}
			want := strings.ReplaceAll(tt.want, "DIR", dir)
			if g := got[0]; g.File != file || g.Line != 4 || g.Field != "target.config" || !strings.Contains(g.Msg, want) {
				t.Errorf("got %q at %s:%d %s, want %q at %s:4 target.config", g.Msg, g.File, g.Line, g.Field, want, file)
			}
		})
	}
}

func TestTemplatePlaceholders(t *testing.T) {
	want := []string{"AccessLog", "ConnectTimeoutMS", "Dir", "ErrorLog", "Listen", "ListenHost", "ListenPort", "ReadTimeoutMS", "Upstream", "UpstreamHost", "UpstreamPort"}
	if got := TemplatePlaceholders(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
