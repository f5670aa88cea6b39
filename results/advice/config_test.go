package advice

import (
	"os"
	"regexp"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// placeholders are the template's {{.Name}}s.
var placeholders = regexp.MustCompile(`{{\.(\w+)}}`)

// rendered returns gatecrash's own template of a gateway, its
// placeholders filled in as a run fills them (upstream timeout 500ms,
// connect timeout 1s).
func rendered(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../lab/templates/" + name)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{
		"ReadTimeoutMS": "500", "ConnectTimeoutMS": "1000", "Upstream": "127.0.0.1:9000",
		"Listen": "127.0.0.1:8080", "ListenHost": "127.0.0.1", "ListenPort": "8080",
	}
	return placeholders.ReplaceAllStringFunc(string(b), func(s string) string {
		if v, ok := values[placeholders.FindStringSubmatch(s)[1]]; ok {
			return v
		}
		return "/tmp/x"
	})
}

func TestNginxSettings(t *testing.T) {
	tests := []struct {
		name, text   string
		setting      string // a location setting, or "upstream:" one
		want         string
		wantSet      bool
		upstreamName string
	}{
		{name: "template read timeout", text: rendered(t, "nginx.conf"), setting: "proxy_read_timeout", want: "500ms", wantSet: true},
		{name: "template upstream keepalive_timeout unset", text: rendered(t, "nginx.conf"), setting: "upstream:keepalive_timeout"},
		{name: "template pool", text: rendered(t, "nginx.conf"), setting: "upstream:keepalive", want: "32", wantSet: true},
		{name: "template next upstream unset", text: rendered(t, "nginx.conf"), setting: "proxy_next_upstream"},
		{
			name:    "inherited from http",
			text:    "http { proxy_read_timeout 2s; server { location / { proxy_pass http://u; } } }",
			setting: "proxy_read_timeout", want: "2s", wantSet: true,
		},
		{
			name:    "location wins over server",
			text:    "http { server { proxy_read_timeout 9s; location / { proxy_read_timeout 3s; proxy_pass http://u; } } }",
			setting: "proxy_read_timeout", want: "3s", wantSet: true,
		},
		{
			name:    "last one wins in a scope",
			text:    "http { server { location / { proxy_read_timeout 1s; proxy_read_timeout 4s; proxy_pass http://u; } } }",
			setting: "proxy_read_timeout", want: "4s", wantSet: true,
		},
		{
			name:    "a comment is not a directive",
			text:    "http { server { location / {\n # proxy_read_timeout 7s;\n proxy_pass http://u; # proxy_read_timeout 8s;\n} } }",
			setting: "proxy_read_timeout",
		},
		{
			name:    "the location that proxies, not the first",
			text:    "http { server { location /s { root /x; proxy_read_timeout 1s; } location / { proxy_pass http://u; proxy_read_timeout 5s; } } }",
			setting: "proxy_read_timeout", want: "5s", wantSet: true,
		},
		{
			name:    "the upstream proxy_pass names",
			text:    "http { upstream a { keepalive_timeout 1s; } upstream b { keepalive_timeout 30ms; } server { location / { proxy_pass http://b/path; } } }",
			setting: "upstream:keepalive_timeout", want: "30ms", wantSet: true,
		},
		{
			name:    "quoted values and braces in quotes",
			text:    `http { server { location / { proxy_pass http://u; add_header X "a { b;"; proxy_next_upstream "error" timeout; } } }`,
			setting: "proxy_next_upstream", want: "error timeout", wantSet: true,
		},
		{name: "unbalanced braces", text: "} http { server { location / { proxy_pass http://u; proxy_read_timeout 2s;", setting: "proxy_read_timeout", want: "2s", wantSet: true},
		{name: "empty", text: "", setting: "proxy_read_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := readNginxConf(tt.text)
			var got string
			var set bool
			if name, ok := cutPrefix(tt.setting, "upstream:"); ok {
				got, set = c.upstreamSetting(name)
			} else {
				got, set = c.setting(tt.setting)
			}
			if got != tt.want || set != tt.wantSet {
				t.Errorf("%s: got %q, %v, want %q, %v", tt.setting, got, set, tt.want, tt.wantSet)
			}
		})
	}
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

func TestHAProxySettings(t *testing.T) {
	two := "defaults\n retries 2\n timeout connect 5s\nfrontend f\n default_backend b\nbackend a\n retries 9\nbackend b\n option redispatch\n server s1 1.2.3.4:80\n server s2 1.2.3.5:80 # server s3\n"
	tests := []struct {
		name, text, key string
		want            string
		wantSet         bool
		redispatch      bool
		servers         int
	}{
		{name: "template retries", text: rendered(t, "haproxy.cfg"), key: "retries", want: "3", wantSet: true, servers: 1},
		{name: "template timeout connect", text: rendered(t, "haproxy.cfg"), key: "timeout connect", want: "1000ms", wantSet: true, servers: 1},
		{name: "default_backend's backend, defaults inherited", text: two, key: "retries", want: "2", wantSet: true, redispatch: true, servers: 2},
		{name: "timeout from defaults", text: two, key: "timeout connect", want: "5s", wantSet: true, redispatch: true, servers: 2},
		{name: "backend overrides", text: "defaults\n retries 2\nbackend b\n retries 0\n", key: "retries", want: "0", wantSet: true},
		{name: "no option", text: "defaults\n option redispatch\nbackend b\n no option redispatch\n server a x\n server-template w 3 x:80\n", key: "retries", servers: 4},
		{name: "only the last defaults before the backend", text: "defaults\n retries 7\nbackend b\n server a x\ndefaults\n retries 1\n", key: "retries", want: "7", wantSet: true, servers: 1},
		{name: "listen section", text: "listen l\n bind :80\n retries 5\n server a x\n server b y\n", key: "retries", want: "5", wantSet: true, servers: 2},
		{name: "empty", text: "", key: "retries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := readHAProxyConf(tt.text)
			got, set := c.setting(tt.key)
			if got != tt.want || set != tt.wantSet {
				t.Errorf("%s: got %q, %v, want %q, %v", tt.key, got, set, tt.want, tt.wantSet)
			}
			if r := c.option("redispatch"); r != tt.redispatch {
				t.Errorf("option redispatch: got %v, want %v", r, tt.redispatch)
			}
			if n := c.servers(); n != tt.servers {
				t.Errorf("servers: got %d, want %d", n, tt.servers)
			}
		})
	}
}

func TestCaddySettings(t *testing.T) {
	tests := []struct {
		name, text, key string
		want            string
		wantSet, found  bool
		depth           int // how deep reverse_proxy is, when set
	}{
		{name: "template", text: rendered(t, "Caddyfile"), key: "lb_try_duration", found: true},
		{name: "set", text: ":80 {\n\treverse_proxy 127.0.0.1:1 {\n\t\tlb_try_duration 2s\n\t\tlb_try_duration 3s\n\t}\n}\n", key: "lb_try_duration", want: "3s", wantSet: true, found: true},
		{name: "in a nested handle with placeholders", text: ":80 {\n handle /api/* {\n  header X {http.request.uri} # lb_try_duration 9s\n  reverse_proxy a:1 b:2 {\n   lb_retries 2\n  }\n }\n}\n", key: "lb_retries", want: "2", wantSet: true, found: true},
		{name: "a transport's setting is not the proxy's", text: ":80 {\n reverse_proxy a:1 {\n  transport http {\n   lb_try_duration 5s\n  }\n }\n}\n", key: "lb_try_duration", found: true},
		{name: "a placeholder first in its word is no block", text: ":80 {\n header X {http.request.uri}\n reverse_proxy a:1 {\n  lb_try_duration 4s\n }\n}\n", key: "lb_try_duration", want: "4s", wantSet: true, found: true, depth: 2},
		{name: "one line", text: ":80 {\n reverse_proxy a:1\n}\n", key: "lb_try_duration", found: true},
		{name: "no proxy", text: ":80 {\n respond ok\n}\n", key: "lb_try_duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := readCaddyProxy(tt.text)
			if (c.proxy != nil) != tt.found {
				t.Fatalf("reverse_proxy found: got %v, want %v", c.proxy != nil, tt.found)
			}
			if tt.depth > 0 {
				d := 0
				for n := c.proxy; n.parent != nil; n = n.parent {
					d++
				}
				if d != tt.depth {
					t.Errorf("reverse_proxy at depth %d, want %d", d, tt.depth)
				}
			}
			if got, set := c.setting(tt.key); got != tt.want || set != tt.wantSet {
				t.Errorf("%s: got %q, %v, want %q, %v", tt.key, got, set, tt.want, tt.wantSet)
			}
		})
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		parse func(string) (time.Duration, error)
		name  string
		in    string
		want  time.Duration
		bad   bool
	}{
		{nginxTime, "nginx", "500ms", 500 * time.Millisecond, false},
		{nginxTime, "nginx", "60", time.Minute, false},
		{nginxTime, "nginx", "1m30s", 90 * time.Second, false},
		{nginxTime, "nginx", "1h", time.Hour, false},
		{nginxTime, "nginx", "1.5s", 0, true},
		{nginxTime, "nginx", "s", 0, true},
		{nginxTime, "nginx", "", 0, true},
		{haproxyTime, "haproxy", "5000", 5 * time.Second, false},
		{haproxyTime, "haproxy", "1000ms", time.Second, false},
		{haproxyTime, "haproxy", "5s", 5 * time.Second, false},
		{haproxyTime, "haproxy", "100us", 100 * time.Microsecond, false},
		{haproxyTime, "haproxy", "5x", 0, true},
		{haproxyTime, "haproxy", "", 0, true},
		{caddyDuration, "caddy", "250ms", 250 * time.Millisecond, false},
		{caddyDuration, "caddy", "1d", 24 * time.Hour, false},
		{caddyDuration, "caddy", "0", 0, false},
		{caddyDuration, "caddy", "soon", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.in, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if (err != nil) != tt.bad || got != tt.want {
				t.Errorf("got %v, %v, want %v, error %v", got, err, tt.want, tt.bad)
			}
		})
	}
}

// The readers never panic, whatever the text, and For on any
// configuration with every rule's evidence neither.
func FuzzNginx(f *testing.F) {
	f.Add(rendered(f, "nginx.conf"))
	f.Add("http { upstream u { keepalive_timeout 1s; } server { location / { proxy_pass http://u; } } }")
	f.Add(`"\`)
	f.Fuzz(func(t *testing.T, text string) {
		c := readNginxConf(text)
		c.setting("proxy_read_timeout")
		c.upstreamSetting("keepalive_timeout")
		For(everything(), everythingRun(), Config{Kind: Nginx, Text: text})
	})
}

func FuzzHAProxy(f *testing.F) {
	f.Add(rendered(f, "haproxy.cfg"))
	f.Add("listen l\n server-template w 1-3 x:80\n no option redispatch\n")
	f.Fuzz(func(t *testing.T, text string) {
		c := readHAProxyConf(text)
		c.setting("timeout connect")
		c.option("redispatch")
		c.servers()
		For(everything(), everythingRun(), Config{Kind: HAProxy, Text: text})
	})
}

func FuzzCaddyfile(f *testing.F) {
	f.Add(rendered(f, "Caddyfile"))
	f.Add(":80 {\n reverse_proxy `a` \"b\" {\n  lb_try_duration 1d\n }\n}")
	f.Fuzz(func(t *testing.T, text string) {
		readCaddyProxy(text).setting("lb_try_duration")
		For(everything(), everythingRun(), Config{Kind: Caddy, Text: text})
	})
}

func FuzzDurations(f *testing.F) {
	for _, s := range []string{"500ms", "1m30s", "60", "5000", "1d", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := nginxTime(s); err == nil && d < 0 {
			t.Errorf("nginxTime(%q) = %v", s, d)
		}
		if d, err := haproxyTime(s); err == nil && d < 0 {
			t.Errorf("haproxyTime(%q) = %v", s, d)
		}
		caddyDuration(s)
	})
}
