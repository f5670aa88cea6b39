package lab_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/scenarios"
)

// managedCase is what one managed gateway must do in front of a real
// upstream.
type managedCase struct {
	kind string
	// access matches the access log line of a request with attack "att",
	// seq 7, answered 200 (nginx, haproxy); caddy's is JSON.
	access *regexp.Regexp
	// refused is the gateway's answer when its upstream refuses
	// connections; refusedLog a substring of the error log then.
	refused    int
	refusedLog string
	// timeout is its answer when the upstream sends no headers within the
	// read timeout.
	timeout int
	// version is the start of Version().
	version string
	// template is a minimal template of the user's own, which adds the
	// header X-Template: mine to every answer.
	template string
}

var managedCases = []managedCase{
	{
		kind:       scenarios.GatewayNginx,
		access:     regexp.MustCompile(`(?m)^gc1 \d+\.\d{3} \d+ \d+ "att" "7" 200 "200" "\d+\.\d{3}" \d+\.\d{3} "-" "\d+\.\d{3}"$`),
		refused:    502,
		refusedLog: "connect() failed (111: Connection refused) while connecting to upstream",
		timeout:    504,
		version:    "nginx/",
		// No pid directive: gatecrash keeps the pid file in {{.Dir}}.
		template: `error_log {{.ErrorLog}} info;
events {}
http {
    access_log {{.AccessLog}};
    client_body_temp_path {{.Dir}}/body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;
    server {
        listen {{.ListenHost}}:{{.ListenPort}};
        location / {
            proxy_pass http://{{.UpstreamHost}}:{{.UpstreamPort}};
            add_header X-Template mine always;
        }
    }
}
`,
	},
	{
		kind:    scenarios.GatewayHAProxy,
		access:  regexp.MustCompile(`(?m)^gc1 \d+\.\d{3} att 7 200 ---- 0 \d+ \d+ \d+ \d+ upstream/proxy -$`),
		refused: 503,
		// The failed request's own line, in the error log too.
		refusedLog: " att 8 503 SC-- 3 ",
		timeout:    504,
		version:    "HAProxy/",
		template: `defaults
    mode http
    timeout connect {{.ConnectTimeoutMS}}ms
    timeout server {{.ReadTimeoutMS}}ms
    timeout client 10s
frontend mine
    bind {{.Listen}}
    http-response set-header X-Template mine
    default_backend up
backend up
    server up {{.Upstream}}
`,
	},
	{
		kind:       scenarios.GatewayCaddy,
		refused:    502,
		refusedLog: "connect: connection refused",
		timeout:    504,
		version:    "Caddy/",
		template: `{
	admin off
	auto_https off
}
http://:{{.ListenPort}} {
	bind {{.ListenHost}}
	header X-Template mine
	reverse_proxy {{.Upstream}}
}
`,
	},
}

// slowUpstream answers 200 with a small JSON body, after the delay that
// the request's X-Delay header gives.
type slowUpstream struct{}

func (slowUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d, err := time.ParseDuration(r.Header.Get("X-Delay")); err == nil {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true}`)
}

// startSlowUpstream starts a slowUpstream on loopback, stopped when the
// test ends.
func startSlowUpstream(t *testing.T) *lab.Server {
	t.Helper()
	up, err := lab.Start(slowUpstream{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Close() })
	return up
}

// refusingAddr returns a loopback address where nothing listens.
func refusingAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startManaged starts a kind gateway in front of upstream, writing into a
// fresh folder, and stops it when the test ends.
func startManaged(t *testing.T, cfg lab.ManagedConfig) (*lab.Managed, string) {
	t.Helper()
	dir := t.TempDir()
	cfg = inDir(cfg, dir)
	m, err := lab.StartManaged(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start %s: %v", cfg.Template.Kind(), err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close %s: %v", cfg.Template.Kind(), err)
		}
		checkGone(t, m.PID())
	})
	return m, dir
}

// The files the tests have a gateway write, as a run folder names them.
const (
	configFile    = "gateway.conf"
	accessLogFile = "gateway-access.log"
	errorLogFile  = "gateway-error.log"
)

// inDir returns cfg with the gateway's configuration and logs in dir.
func inDir(cfg lab.ManagedConfig, dir string) lab.ManagedConfig {
	cfg.Config = filepath.Join(dir, configFile)
	cfg.AccessLog = filepath.Join(dir, accessLogFile)
	cfg.ErrorLog = filepath.Join(dir, errorLogFile)
	return cfg
}

// defaultTemplate returns gatecrash's own template for a kind gateway.
func defaultTemplate(t *testing.T, kind string) *lab.Template {
	t.Helper()
	tmpl, err := lab.RenderDefault(kind)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// checkGone checks that neither the process pid nor any process of its
// group (nginx's workers) is left.
func checkGone(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d: got %v after Close, want it gone (ESRCH)", pid, err)
	}
	// What a killed leader left behind is reaped by init, which may take
	// a moment.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := syscall.Kill(-pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("process group %d: got %v 10s after Close, want it gone (ESRCH)", pid, err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// get sends a request with vegeta's headers for seq and extra headers,
// on a connection of its own, and returns the answer's status, headers
// and body.
func get(t *testing.T, url string, seq int, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url+"/v1/items", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vegeta-Attack", "att")
	req.Header.Set("X-Vegeta-Seq", strconv.Itoa(seq))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

// waitLog waits (bounded) until the file at path holds a line for which
// ok is true, and returns it.
func waitLog(t *testing.T, path string, ok func(line string) bool) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		for _, line := range strings.Split(string(b), "\n") {
			if line != "" && ok(line) {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got no line as wanted in 5s; it holds:\n%s", filepath.Base(path), b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// caddyLine is the part of a Caddy JSON log line the tests read.
type caddyLine struct {
	Logger  string  `json:"logger"`
	Msg     string  `json:"msg"`
	TS      float64 `json:"ts"`
	Status  int     `json:"status"`
	Request struct {
		Headers map[string][]string `json:"headers"`
	} `json:"request"`
}

// caddySeq reports whether line is a Caddy log line of logger about the
// request of attack att and the seq, with the status.
func caddySeq(line, logger string, seq, status int) bool {
	var l caddyLine
	if json.Unmarshal([]byte(line), &l) != nil {
		return false
	}
	h := l.Request.Headers
	return l.Logger == logger && l.TS > 0 && l.Status == status &&
		len(h["X-Vegeta-Attack"]) == 1 && h["X-Vegeta-Attack"][0] == "att" &&
		len(h["X-Vegeta-Seq"]) == 1 && h["X-Vegeta-Seq"][0] == strconv.Itoa(seq)
}

func TestManagedGateways(t *testing.T) {
	for _, tc := range managedCases {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			up := startSlowUpstream(t)
			m, dir := startManaged(t, lab.ManagedConfig{
				Template:       defaultTemplate(t, tc.kind),
				Upstream:       up.Addr(),
				ConnectTimeout: 200 * time.Millisecond,
				ReadTimeout:    500 * time.Millisecond,
			})
			if m.Kind() != tc.kind || !strings.HasPrefix(m.Version(), tc.version) {
				t.Errorf("got kind %q version %q, want %s and %s...", m.Kind(), m.Version(), tc.kind, tc.version)
			}
			if host, _, _ := net.SplitHostPort(m.Addr()); host != "127.0.0.1" || m.URL() != "http://"+m.Addr() {
				t.Errorf("got address %s, URL %s; want 127.0.0.1:PORT", m.Addr(), m.URL())
			}
			conf, err := os.ReadFile(filepath.Join(dir, configFile))
			if err != nil || !strings.Contains(string(conf), up.Addr()) || !strings.Contains(string(conf), m.Addr()[len("127.0.0.1:"):]) {
				t.Errorf("gateway.conf: got %v and\n%s\nwant the upstream %s and the listen port of %s in it", err, conf, up.Addr(), m.Addr())
			}
			access := filepath.Join(dir, accessLogFile)

			// A request goes through, and the access log has its line.
			if code, _, body := get(t, m.URL(), 7); code != 200 || body != `{"ok":true}` {
				t.Errorf("got %d %q, want 200 from the upstream", code, body)
			}
			if tc.kind == scenarios.GatewayCaddy {
				waitLog(t, access, func(l string) bool { return caddySeq(l, "http.log.access.log0", 7, 200) })
			} else {
				waitLog(t, access, tc.access.MatchString)
			}

			// No answer within the read timeout.
			if code, _, _ := get(t, m.URL(), 9, "X-Delay", "3s"); code != tc.timeout {
				t.Errorf("upstream slower than the read timeout: got %d, want %d", code, tc.timeout)
			}
		})
	}
}

func TestManagedRefusedUpstream(t *testing.T) {
	for _, tc := range managedCases {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			m, dir := startManaged(t, lab.ManagedConfig{
				Template:       defaultTemplate(t, tc.kind),
				Upstream:       refusingAddr(t),
				ConnectTimeout: 200 * time.Millisecond,
			})
			code, _, body := get(t, m.URL(), 8)
			if code != tc.refused {
				t.Errorf("got %d %q, want the gateway's own %d", code, body, tc.refused)
			}
			t.Logf("%s answered %d to a refused upstream", tc.kind, code)
			line := waitLog(t, filepath.Join(dir, errorLogFile), func(l string) bool {
				if tc.kind == scenarios.GatewayCaddy {
					return strings.Contains(l, tc.refusedLog) && caddySeq(l, "http.log.error.log0", 8, 502)
				}
				return strings.Contains(l, tc.refusedLog)
			})
			t.Logf("error log: %s", line)
		})
	}
}

func TestManagedUserTemplate(t *testing.T) {
	for _, tc := range managedCases {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			up := startSlowUpstream(t)
			tmpl, err := lab.Render(tc.kind, "mine.tmpl", tc.template)
			if err != nil {
				t.Fatal(err)
			}
			m, dir := startManaged(t, lab.ManagedConfig{Template: tmpl, Upstream: up.Addr()})
			code, h, body := get(t, m.URL(), 1)
			if code != 200 || body != `{"ok":true}` || h.Get("X-Template") != "mine" {
				t.Errorf("got %d %q with X-Template %q, want 200 from the upstream with X-Template mine", code, body, h.Get("X-Template"))
			}
			conf, _ := os.ReadFile(filepath.Join(dir, configFile))
			if !strings.Contains(string(conf), "X-Template mine") || strings.Contains(string(conf), "{{") {
				t.Errorf("gateway.conf: got\n%s\nwant the user's template rendered", conf)
			}
		})
	}
}

func TestManagedStops(t *testing.T) {
	up := startSlowUpstream(t)
	for _, kind := range lab.Kinds() {
		t.Run(kind+" on ctx end", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			m, err := lab.StartManaged(ctx, inDir(lab.ManagedConfig{Template: defaultTemplate(t, kind), Upstream: up.Addr()}, t.TempDir()))
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			cancel()
			deadline := time.Now().Add(5 * time.Second)
			for syscall.Kill(m.PID(), 0) == nil && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if err := syscall.Kill(m.PID(), 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("process %d: got %v 5s after ctx ended, want it stopped (ESRCH)", m.PID(), err)
			}
			if err := m.Close(); err != nil {
				t.Errorf("Close after ctx ended: %v, want nil", err)
			}
			checkGone(t, m.PID())
		})
		t.Run(kind+" finishes what it holds", func(t *testing.T) {
			// A request the gateway holds when Close is called is
			// answered and logged: a hard stop (SIGTERM to nginx or
			// HAProxy) would cut it and lose its access-log line.
			arrived := make(chan struct{}, 1)
			held, err := lab.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				time.Sleep(300 * time.Millisecond)
				io.WriteString(w, `{"ok":true}`)
			}))
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()
			dir := t.TempDir()
			m, err := lab.StartManaged(context.Background(), inDir(lab.ManagedConfig{Template: defaultTemplate(t, kind), Upstream: held.Addr()}, dir))
			if err != nil {
				t.Fatal(err)
			}
			// The readiness probe may have reached the upstream too.
			for len(arrived) > 0 {
				<-arrived
			}
			type answer struct {
				code int
				body string
				err  error
			}
			got := make(chan answer, 1)
			go func() {
				req, _ := http.NewRequest(http.MethodGet, m.URL()+"/v1/items", nil)
				req.Header.Set("X-Vegeta-Attack", "att")
				req.Header.Set("X-Vegeta-Seq", "7")
				client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
				resp, err := client.Do(req)
				if err != nil {
					got <- answer{err: err}
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				got <- answer{resp.StatusCode, string(b), err}
			}()
			select {
			case <-arrived:
			case <-time.After(5 * time.Second):
				t.Fatal("the request did not reach the upstream in 5s")
			}
			if err := m.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			checkGone(t, m.PID())
			if a := <-got; a.err != nil || a.code != 200 || a.body != `{"ok":true}` {
				t.Errorf("the request held at Close: got %d %q, %v; want 200 from the upstream", a.code, a.body, a.err)
			}
			access, _ := os.ReadFile(filepath.Join(dir, accessLogFile))
			if !strings.Contains(string(access), `"att"`) && !strings.Contains(string(access), " att 7 ") && !strings.Contains(string(access), `"X-Vegeta-Seq":["7"]`) {
				t.Errorf("%s after Close: got\n%s\nwant the held request's line", accessLogFile, access)
			}
		})
		t.Run(kind+" killed from outside", func(t *testing.T) {
			m, err := lab.StartManaged(context.Background(), inDir(lab.ManagedConfig{Template: defaultTemplate(t, kind), Upstream: up.Addr()}, t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			if err := syscall.Kill(m.PID(), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			// Gone, once gatecrash has reaped it; nginx's workers live on.
			deadline := time.Now().Add(5 * time.Second)
			for syscall.Kill(m.PID(), 0) == nil && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			err = m.Close()
			if err == nil || !strings.Contains(err.Error(), kind+" exited before gatecrash stopped it") {
				t.Errorf("Close: got %v, want it to say the gateway exited early", err)
			}
			if m.Close() == nil {
				t.Error("a second Close: got nil, want the first one's error")
			}
			checkGone(t, m.PID())
		})
	}
}

// TestManagedConfigErrors checks what StartManaged refuses before it
// starts anything: no template, an upstream off loopback or without a
// port.
func TestManagedConfigErrors(t *testing.T) {
	if _, err := lab.LookPath(scenarios.GatewayNginx); err != nil {
		t.Skip(err)
	}
	tmpl := defaultTemplate(t, scenarios.GatewayNginx)
	for _, tt := range []struct {
		name string
		cfg  lab.ManagedConfig
		want string
	}{
		{"no template", lab.ManagedConfig{Upstream: "127.0.0.1:9"}, "no template"},
		{"upstream off loopback", lab.ManagedConfig{Template: tmpl, Upstream: "10.1.2.3:80"}, `nginx upstream: "10.1.2.3:80" is not on loopback`},
		{"upstream named off loopback", lab.ManagedConfig{Template: tmpl, Upstream: "example.com:80"}, "is not on loopback"},
		{"upstream port out of range", lab.ManagedConfig{Template: tmpl, Upstream: "127.0.0.1:70000"}, `port "70000" is not 1 to 65535`},
		{"no files", lab.ManagedConfig{Template: tmpl, Upstream: "127.0.0.1:9"}, "names no file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if tt.name != "no files" {
				cfg = inDir(cfg, t.TempDir())
			}
			m, err := lab.StartManaged(context.Background(), cfg)
			if err == nil {
				m.Close()
				t.Fatal("got a running gateway, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to say %q", err, tt.want)
			}
		})
	}
}
