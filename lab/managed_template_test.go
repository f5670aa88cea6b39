package lab_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/scenarios"
)

func TestManagedBadTemplates(t *testing.T) {
	tests := []struct {
		name     string
		kind     string
		template string
		want     []string
	}{
		{"unknown placeholder", scenarios.GatewayNginx, "listen {{.Lisen}};",
			[]string{"nginx template mine.tmpl:", `map has no entry for key "Lisen"`, "its placeholders are {{.AccessLog}}, {{.ConnectTimeoutMS}}"}},
		{"broken template", scenarios.GatewayCaddy, "http://:{{.ListenPort} {",
			[]string{"caddy template mine.tmpl:", "mine.tmpl:1", "its placeholders are"}},
		{"no listen address", scenarios.GatewayHAProxy, "backend b\n    server s {{.Upstream}}\n",
			[]string{"haproxy template mine.tmpl: it never uses {{.Listen}} or {{.ListenPort}}"}},
		{"no upstream", scenarios.GatewayNginx, "events {}\nhttp { server { listen {{.Listen}}; return 200 ok; } }\n",
			[]string{"it never uses {{.Upstream}} or {{.UpstreamPort}}, so the gateway would not forward through the fault proxy"}},
		{"rejected by the gateway", scenarios.GatewayNginx, "events {}\nhttp { server { listen {{.Listen}}; location / { proxy_pass http://{{.Upstream}}; bogus_directive on; } } }\n",
			[]string{"nginx template mine.tmpl: nginx rejected the configuration rendered from it", `unknown directive "bogus_directive"`}},
		{"rejected by haproxy", scenarios.GatewayHAProxy, "frontend f\n    bind {{.Listen}}\n    mode http\n    bogus\n    default_backend b\nbackend b\n    mode http\n    server s {{.Upstream}}\n",
			[]string{"haproxy template mine.tmpl: haproxy rejected the configuration", "bogus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			// Render finds what is wrong with the template itself;
			// StartManaged what the gateway rejects.
			tmpl, renderErr := lab.Render(tt.kind, "mine.tmpl", tt.template)
			err := renderErr
			var m *lab.Managed
			if err == nil {
				m, err = lab.StartManaged(context.Background(), inDir(lab.ManagedConfig{Template: tmpl, Upstream: "127.0.0.1:9"}, dir))
			}
			if err == nil {
				m.Close()
				t.Fatal("got a running gateway, want an error")
			}
			var te *lab.TemplateError
			if !errors.As(err, &te) || te.Kind != tt.kind {
				t.Errorf("got %T %v, want a *lab.TemplateError for %s", err, err, tt.kind)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to say %q", err, w)
				}
			}
			if strings.HasPrefix(tt.name, "rejected") {
				// It did start, and stopped.
				if _, err := os.Stat(filepath.Join(dir, configFile)); err != nil {
					t.Errorf("gateway.conf: %v, want it kept for the user to read", err)
				}
			}
			if te != nil && renderErr == nil && !strings.HasPrefix(tt.name, "rejected") {
				t.Errorf("Render: got no error, want the same problem")
			}
		})
	}
	for _, kind := range lab.Kinds() {
		text, err := lab.DefaultTemplate(kind)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lab.Render(kind, "default", text); err != nil {
			t.Errorf("%s: the default template: %v", kind, err)
		}
		if tmpl, err := lab.RenderDefault(kind); err != nil || tmpl.Kind() != kind || tmpl.Name() != "default" {
			t.Errorf("%s: RenderDefault: got %v, want the default template", kind, err)
		}
	}
}

// TestManagedDefaultTemplates checks the fixed parts of the default
// templates that the log parsers and the README rely on.
func TestManagedDefaultTemplates(t *testing.T) {
	tests := []struct {
		kind string
		want []string
	}{
		{scenarios.GatewayNginx, []string{
			`log_format gatecrash 'gc1 $msec $connection $connection_requests "$http_x_vegeta_attack" "$http_x_vegeta_seq" $status "$upstream_status" "$upstream_response_time" $request_time "$http_x_gatecrash_try" "$upstream_connect_time"';`,
			`access_log {{.AccessLog}} gatecrash;`,
			`error_log {{.ErrorLog}} info;`,
			"keepalive 32;", "proxy_http_version 1.1;", `proxy_set_header Connection "";`,
			"proxy_connect_timeout {{.ConnectTimeoutMS}}ms;", "proxy_read_timeout {{.ReadTimeoutMS}}ms;",
			"listen {{.Listen}};", "server {{.Upstream}};", "proxy_buffering off;",
		}},
		{scenarios.GatewayHAProxy, []string{
			"log stdout format raw local0 info",
			`log-format "gc1 %Ts.%ms %[capture.req.hdr(0)] %[capture.req.hdr(1)] %ST %tsc %rc %Tw %Tc %Tr %Ta %b/%s %[capture.req.hdr(2)]"`,
			"http-request capture req.hdr(X-Vegeta-Attack) len 64\n    http-request capture req.hdr(X-Vegeta-Seq) len 24\n    http-request capture req.hdr(X-Gatecrash-Try) len 12",
			"retries 3", "http-reuse safe",
			"timeout connect {{.ConnectTimeoutMS}}ms", "timeout server {{.ReadTimeoutMS}}ms",
			"bind {{.Listen}}", "server proxy {{.Upstream}}", "option http-no-delay",
		}},
		{scenarios.GatewayCaddy, []string{
			"admin off", "auto_https off",
			"log {\n\t\toutput file {{.ErrorLog}}\n\t\tformat json\n\t\tlevel INFO\n\t}",
			"log {\n\t\toutput file {{.AccessLog}}\n\t\tformat json\n\t}",
			"bind {{.ListenHost}}", "reverse_proxy {{.Upstream}}",
			"dial_timeout {{.ConnectTimeoutMS}}ms", "response_header_timeout {{.ReadTimeoutMS}}ms",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			text, err := lab.DefaultTemplate(tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("the default template lacks %q", w)
				}
			}
		})
	}
	if _, err := lab.DefaultTemplate("envoy"); err == nil {
		t.Error("DefaultTemplate(envoy): got no error, want one")
	}
}

// TestCheckedTemplate: a template the scenario already parsed and
// checked starts the gateway as it is, rendered with the run's values.
func TestCheckedTemplate(t *testing.T) {
	text, err := lab.DefaultTemplate(scenarios.GatewayNginx)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := scenarios.ParseTemplate("mine.tmpl", text)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := lab.Checked(scenarios.GatewayNginx, "mine.tmpl", parsed)
	if err != nil || tmpl.Kind() != scenarios.GatewayNginx || tmpl.Name() != "mine.tmpl" {
		t.Fatalf("Checked: got %v, %v; want the nginx template mine.tmpl", tmpl, err)
	}
	if _, err := lab.Checked("envoy", "mine.tmpl", parsed); err == nil {
		t.Error("Checked(envoy): got no error, want one")
	}
	m, dir := startManaged(t, lab.ManagedConfig{Template: tmpl, Upstream: "127.0.0.1:9"})
	conf, err := os.ReadFile(filepath.Join(dir, configFile))
	if err != nil || !strings.Contains(string(conf), m.Addr()) {
		t.Errorf("gateway.conf: %v; want it rendered with the listen address %s", err, m.Addr())
	}
}
