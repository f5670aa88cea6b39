package lab

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"
)

// Managed gateway kinds: real gateways gatecrash starts from a template.
const (
	KindNginx   = "nginx"
	KindHAProxy = "haproxy"
	KindCaddy   = "caddy"
)

// Files a managed gateway writes into its run folder (ManagedConfig.Dir).
const (
	// AccessLogFile is the gateway's access log: one line per request, in
	// the fixed formats of the default templates.
	AccessLogFile = "gateway-access.log"
	// ErrorLogFile is the gateway's error log, and whatever the gateway
	// process writes to its stderr (and, except for HAProxy, its stdout).
	ErrorLogFile = "gateway-error.log"
	// ConfigFile is the gateway's configuration as rendered from the
	// template: the file the gateway runs with.
	ConfigFile = "gateway.conf"
)

// Defaults of ManagedConfig.
const (
	DefaultConnectTimeout = time.Second     // ManagedConfig.ConnectTimeout
	DefaultReadTimeout    = 5 * time.Second // ManagedConfig.ReadTimeout
)

// How long StartManaged waits for the gateway to answer, and Close for it
// to stop after SIGTERM before it sends SIGKILL.
const (
	readyTimeout = 10 * time.Second
	stopTimeout  = 3 * time.Second
)

//go:embed templates/*
var templates embed.FS

// gatewaySpec is what gatecrash knows of one managed gateway kind.
type gatewaySpec struct {
	binary   string // the executable's name
	pkg      string // the Debian package that installs it
	template string // the default template's file under templates/
	// args returns the command line that runs the gateway in the
	// foreground with the config at conf, whose text is text; dir is the
	// private folder.
	args func(conf, text, dir, errorLog string) []string
	// version is the command line that prints the gateway's version, and
	// product the name its version is given with, as in nginx/1.22.1.
	version []string
	product string
	// stdoutToAccess says the gateway writes its access log to stdout.
	stdoutToAccess bool
}

var specs = map[string]gatewaySpec{
	KindNginx: {
		binary:   "nginx",
		pkg:      "nginx",
		template: "templates/nginx.conf",
		args: func(conf, text, dir, errorLog string) []string {
			global := "daemon off;"
			if !nginxPid.MatchString(text) {
				// Not the pid file of an nginx the system runs.
				global += " pid " + filepath.Join(dir, "nginx.pid") + ";"
			}
			return []string{"-p", dir + "/", "-e", errorLog, "-c", conf, "-g", global}
		},
		version: []string{"-v"},
		product: "nginx",
	},
	KindHAProxy: {
		binary:   "haproxy",
		pkg:      "haproxy",
		template: "templates/haproxy.cfg",
		args: func(conf, _, _, _ string) []string {
			return []string{"-db", "-f", conf}
		},
		version:        []string{"-v"},
		product:        "HAProxy",
		stdoutToAccess: true,
	},
	KindCaddy: {
		binary:   "caddy",
		pkg:      "caddy",
		template: "templates/Caddyfile",
		args: func(conf, _, _, _ string) []string {
			return []string{"run", "--config", conf, "--adapter", "caddyfile"}
		},
		version: []string{"version"},
		product: "Caddy",
	},
}

// nginxPid matches an nginx configuration's pid directive.
var nginxPid = regexp.MustCompile(`(?m)^\s*pid\s`)

// Kinds lists the managed gateway kinds.
func Kinds() []string { return []string{KindNginx, KindHAProxy, KindCaddy} }

func spec(kind string) (gatewaySpec, error) {
	s, ok := specs[kind]
	if !ok {
		return gatewaySpec{}, fmt.Errorf("unknown managed gateway %q; use %s", kind, strings.Join(Kinds(), ", "))
	}
	return s, nil
}

// DefaultTemplate returns the text of the template embedded in gatecrash
// for kind (nginx, haproxy, caddy): the configuration StartManaged renders
// when ManagedConfig.Template is empty, and a starting point for a
// template of one's own.
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

func (e *TemplateError) Error() string {
	return fmt.Sprintf("%s template %s: %v", e.Kind, e.Name, e.Err)
}

func (e *TemplateError) Unwrap() error { return e.Err }

// NotInstalledError is a managed gateway whose executable was not found.
type NotInstalledError struct {
	// Kind is the gateway kind; Binary the executable looked for; Package
	// the Debian package that installs it.
	Kind, Binary, Package string
	// Searched lists where the executable was looked for.
	Searched []string
}

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("%s is not installed: no %s executable on PATH or in %s; install it with apt-get install %s (Debian, Ubuntu), or run with gateway builtin",
		e.Kind, e.Binary, strings.Join(e.Searched, ", "), e.Package)
}

// render renders text, the template of a kind gateway called name, with p.
func render(kind, name, text string, p Placeholders) (string, error) {
	fail := func(err error) (string, error) {
		return "", &TemplateError{Kind: kind, Name: name, Err: err}
	}
	tmpl, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return fail(fmt.Errorf("%w; its placeholders are %s", err, placeholderNames))
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, p); err != nil {
		return fail(fmt.Errorf("%w; its placeholders are %s", err, placeholderNames))
	}
	out := b.String()
	if !hasNumber(out, p.ListenPort) {
		return fail(errors.New("it never uses {{.Listen}} or {{.ListenPort}}, so the gateway would not listen where gatecrash sends the attack"))
	}
	if !hasNumber(out, p.UpstreamPort) {
		return fail(errors.New("it never uses {{.Upstream}} or {{.UpstreamPort}}, so the gateway would not forward through the fault proxy"))
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

// CheckTemplate reports whether text renders as a kind gateway's template,
// with example values; name names it in messages. A problem is a
// *TemplateError. It checks the template, not that the gateway accepts the
// configuration: only StartManaged can tell that.
func CheckTemplate(kind, name, text string) error {
	if _, err := spec(kind); err != nil {
		return err
	}
	_, err := render(kind, name, text, Placeholders{
		Listen: "127.0.0.1:40001", ListenHost: "127.0.0.1", ListenPort: 40001,
		Upstream: "127.0.0.1:40002", UpstreamHost: "127.0.0.1", UpstreamPort: 40002,
		ConnectTimeoutMS: 1000, ReadTimeoutMS: 5000,
		Dir: "/tmp/gatecrash-check", AccessLog: "/tmp/out/" + AccessLogFile, ErrorLog: "/tmp/out/" + ErrorLogFile,
	})
	return err
}

// LookPath finds the executable of a kind gateway: on PATH, then in the
// sbin folder beside each bin folder of PATH (/usr/sbin for /usr/bin),
// where Debian installs nginx and HAProxy even for users whose PATH lacks
// it. A missing executable is a *NotInstalledError.
func LookPath(kind string) (string, error) {
	s, err := spec(kind)
	if err != nil {
		return "", err
	}
	if p, err := exec.LookPath(s.binary); err == nil {
		return p, nil
	}
	var searched []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" || filepath.Base(dir) != "bin" {
			continue
		}
		sbin := filepath.Join(filepath.Dir(dir), "sbin")
		searched = append(searched, sbin)
		p := filepath.Join(sbin, s.binary)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if len(searched) == 0 {
		searched = []string{"no sbin folder beside PATH's"}
	}
	return "", &NotInstalledError{Kind: kind, Binary: s.binary, Package: s.pkg, Searched: searched}
}

// ManagedConfig configures a managed gateway.
type ManagedConfig struct {
	// Kind is nginx, haproxy or caddy.
	Kind string
	// Template is the text of a text/template with the fields of
	// Placeholders; empty means the kind's DefaultTemplate. TemplateName
	// names it in messages, such as the file it was read from; empty
	// means "default".
	Template     string
	TemplateName string
	// Upstream is the host:port the gateway forwards to: the fault proxy.
	Upstream string
	// ConnectTimeout is the gateway's timeout for a connect to its
	// upstream; zero means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// ReadTimeout is how long the gateway waits for the upstream's
	// response headers, and between two reads of its answer; zero means
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// Dir is the run folder, which must exist: the gateway's logs
	// (AccessLogFile, ErrorLogFile) and rendered configuration
	// (ConfigFile) are written there.
	Dir string
}

// Managed is a real gateway process (nginx, HAProxy or Caddy) started by
// StartManaged on a free loopback port, in front of one upstream. The
// caller must call Close, which stops the process; its methods are safe
// for concurrent use.
type Managed struct {
	kind    string
	addr    string
	version string
	dir     string // the private folder, removed by Close
	errLog  string
	cmd     *exec.Cmd
	files   []*os.File // the process's stdout and stderr, closed by Close

	done    chan struct{} // closed once the process has exited and been reaped
	waitErr error         // how it exited, set before done is closed

	mu       sync.Mutex
	stopping bool // Close (or ctx) asked the process to stop

	closeOnce  sync.Once
	closeErr   error
	stopOnDone func() bool // unregisters the stop on ctx's end
}

// StartManaged renders cfg's template, starts the gateway in the
// foreground with it, and returns once the gateway answers HTTP on its
// port, within 10s. The gateway's executable is found with LookPath; a
// missing one is a *NotInstalledError, a bad template a *TemplateError.
// When the gateway exits or never answers, the error holds the end of
// its own output. The gateway stops when Close is called or ctx ends,
// whichever comes first.
func StartManaged(ctx context.Context, cfg ManagedConfig) (*Managed, error) {
	s, err := spec(cfg.Kind)
	if err != nil {
		return nil, err
	}
	bin, err := LookPath(cfg.Kind)
	if err != nil {
		return nil, err
	}
	upHost, upPort, err := splitHostPort(cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("%s upstream: %w", cfg.Kind, err)
	}
	text, name := cfg.Template, cfg.TemplateName
	if text == "" {
		if text, err = DefaultTemplate(cfg.Kind); err != nil {
			return nil, err
		}
		if name == "" {
			name = "default"
		}
	}
	if name == "" {
		name = "template"
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	out, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("%s: run folder: %w", cfg.Kind, err)
	}
	version, err := gatewayVersion(ctx, bin, s.version, s.product)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Kind, err)
	}

	// A port picked now may be taken before the gateway binds it: try
	// again with another one.
	var lastErr error
	for range 3 {
		m, err := startOnce(ctx, cfg.Kind, s, bin, text, name, out, upHost, upPort, cfg)
		if err == nil {
			m.version = version
			return m, nil
		}
		lastErr = err
		var inUse *addrInUseError
		if !errors.As(err, &inUse) {
			break
		}
	}
	return nil, lastErr
}

// addrInUseError is a gateway that could not bind the port picked for it.
type addrInUseError struct{ err error }

func (e *addrInUseError) Error() string { return e.err.Error() }
func (e *addrInUseError) Unwrap() error { return e.err }

// startOnce starts the gateway on one free port.
func startOnce(ctx context.Context, kind string, s gatewaySpec, bin, text, name, out, upHost string, upPort int, cfg ManagedConfig) (m *Managed, err error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	dir, err := os.MkdirTemp("", "gatecrash-"+kind+"-")
	if err != nil {
		return nil, fmt.Errorf("%s: private folder: %w", kind, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	// nginx's workers drop root to nobody, and need to reach the temp
	// folders their master creates in here for them.
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, fmt.Errorf("%s: private folder: %w", kind, err)
	}
	p := Placeholders{
		Listen:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		ListenHost: "127.0.0.1", ListenPort: port,
		Upstream:     net.JoinHostPort(upHost, strconv.Itoa(upPort)),
		UpstreamHost: upHost, UpstreamPort: upPort,
		ConnectTimeoutMS: cfg.ConnectTimeout.Milliseconds(),
		ReadTimeoutMS:    cfg.ReadTimeout.Milliseconds(),
		Dir:              dir,
		AccessLog:        filepath.Join(out, AccessLogFile),
		ErrorLog:         filepath.Join(out, ErrorLogFile),
	}
	conf, err := render(kind, name, text, p)
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(out, ConfigFile)
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("%s: write its configuration: %w", kind, err)
	}
	errLog, err := os.OpenFile(p.ErrorLog, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: error log: %w", kind, err)
	}
	accessLog, err := os.OpenFile(p.AccessLog, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		errLog.Close()
		return nil, fmt.Errorf("%s: access log: %w", kind, err)
	}
	files := []*os.File{errLog, accessLog}
	closeFiles := func() {
		for _, f := range files {
			f.Close()
		}
	}

	cmd := exec.Command(bin, s.args(confPath, conf, dir, p.ErrorLog)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = errLog, errLog
	if s.stdoutToAccess {
		cmd.Stdout = accessLog
	}
	cmd.Env = os.Environ()
	if kind == KindCaddy {
		// Caddy keeps its data and autosaved configuration under these:
		// keep them in the private folder.
		cmd.Env = append(cmd.Env, "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	}
	// A process group of its own: a terminal's Ctrl-C reaches gatecrash
	// alone, which stops the gateway once the results are in, and a
	// SIGKILL reaches the gateway's worker processes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		closeFiles()
		return nil, fmt.Errorf("%s: start %s: %w", kind, bin, err)
	}
	m = &Managed{
		kind:   kind,
		addr:   p.Listen,
		dir:    dir,
		errLog: p.ErrorLog,
		cmd:    cmd,
		files:  files,
		done:   make(chan struct{}),
	}
	go func() {
		m.waitErr = cmd.Wait()
		close(m.done)
	}()
	if err := m.waitReady(ctx); err != nil {
		m.terminate()
		closeFiles()
		exited := errors.Is(err, errExited)
		out := m.output()
		if out != "" {
			err = fmt.Errorf("%w; its output ends:\n%s", err, out)
		}
		switch {
		case strings.Contains(strings.ToLower(out), "address already in use"):
			return nil, &addrInUseError{fmt.Errorf("%s: %w", kind, err)}
		case exited && cfg.Template != "":
			// The gateway rejected the user's configuration.
			return nil, &TemplateError{Kind: kind, Name: name, Err: fmt.Errorf("%s rejected the configuration rendered from it (%s): %w", kind, confPath, err)}
		}
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	m.stopOnDone = context.AfterFunc(ctx, func() { m.Close() })
	return m, nil
}

// errExited is a gateway that exited before it answered.
var errExited = errors.New("exited at start")

// waitReady waits until the gateway answers an HTTP request on its port.
func (m *Managed) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for {
		select {
		case <-m.done:
			return fmt.Errorf("%w (%v)", errExited, m.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if last = probe(m.addr); last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("did not answer HTTP on %s within %s: %v", m.addr, readyTimeout, last)
		}
		select {
		case <-m.done:
		case <-ctx.Done():
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// probe sends addr a request the gateway must answer by itself, without
// asking its upstream (a request line that is not HTTP: 400 Bad Request),
// and reports whether an HTTP answer came back.
func probe(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "GATECRASH-READY\r\n\r\n"); err != nil {
		return err
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil {
		return fmt.Errorf("no answer: %w", err)
	}
	if string(buf) != "HTTP/" {
		return fmt.Errorf("answered %q, not HTTP", buf)
	}
	return nil
}

// Kind returns the gateway kind: nginx, haproxy or caddy.
func (m *Managed) Kind() string { return m.kind }

// Addr returns the host:port the gateway listens on.
func (m *Managed) Addr() string { return m.addr }

// URL returns the gateway's base URL.
func (m *Managed) URL() string { return "http://" + m.addr }

// PID returns the process id of the gateway (nginx's master process); it
// leads a process group of its own.
func (m *Managed) PID() int { return m.cmd.Process.Pid }

// Version returns what the gateway says of its version, such as
// "nginx version: nginx/1.22.1".
func (m *Managed) Version() string { return m.version }

// Close stops the gateway: SIGTERM to its process, then, if it has not
// exited within 3s, SIGKILL to its process group; it returns once the
// process has been reaped, and removes the private folder. It reports an
// error if the gateway had exited before it was asked to stop. Close may
// be called more than once; later calls return the first call's error.
func (m *Managed) Close() error {
	m.closeOnce.Do(func() {
		if m.stopOnDone != nil {
			m.stopOnDone()
		}
		var early error
		select {
		case <-m.done:
			m.mu.Lock()
			if !m.stopping {
				early = fmt.Errorf("%s exited before gatecrash stopped it (%v)", m.kind, m.waitErr)
				if out := m.output(); out != "" {
					early = fmt.Errorf("%w; its output ends:\n%s", early, out)
				}
			}
			m.mu.Unlock()
		default:
		}
		m.terminate()
		for _, f := range m.files {
			f.Close()
		}
		m.closeErr = errors.Join(early, os.RemoveAll(m.dir))
	})
	return m.closeErr
}

// terminate stops the process, as Close says, and waits for it. A
// process that exited by itself may have left children (nginx's workers
// outlive a master that was killed): they are killed too.
func (m *Managed) terminate() {
	m.mu.Lock()
	m.stopping = true
	m.mu.Unlock()
	pid := m.cmd.Process.Pid
	select {
	case <-m.done:
		killGroup(pid)
		return
	default:
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-m.done:
		// Stopped as asked: nginx's master waits for its workers.
	case <-t.C:
		killGroup(pid)
		<-m.done
	}
}

// killGroup kills every process of the group pgid, and waits a little
// for init to reap those that its leader left behind. The group id is not
// reused while a member of the group lives; once the group is empty,
// killing it finds nothing.
func killGroup(pgid int) {
	if syscall.Kill(-pgid, syscall.SIGKILL) != nil {
		return
	}
	deadline := time.Now().Add(stopTimeout)
	for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// output returns the end of the gateway's error log, where its own output
// goes.
func (m *Managed) output() string {
	return tail(m.errLog, 2048)
}

// tail returns up to the last n bytes of the file at path, from a line
// start, trimmed.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-n, 0)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return ""
	}
	if off > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimSpace(string(b))
}

// gatewayVersion runs the gateway's version command, and returns the
// version as product/version, such as nginx/1.22.1; the first line it
// printed if that has no version in it.
func gatewayVersion(ctx context.Context, bin string, args []string, product string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return parseVersion(string(out), product), nil
}

// parseVersion finds the version in what a gateway's version command
// printed: "nginx version: nginx/1.22.1", "HAProxy version 2.6.12-1
// 2023/03/10 - https://haproxy.org/", "v2.6.2 h1:..." or "2.6.2".
func parseVersion(out, product string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	line = strings.TrimSpace(line)
	for _, f := range strings.Fields(line) {
		if _, v, ok := strings.Cut(f, "/"); ok && strings.EqualFold(f[:len(f)-len(v)-1], product) {
			f = v
		}
		f = strings.TrimPrefix(f, "v")
		if f != "" && f[0] >= '0' && f[0] <= '9' && strings.Contains(f, ".") {
			return product + "/" + f
		}
	}
	return line
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// splitHostPort splits a loopback host:port.
func splitHostPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, fmt.Errorf("%q: port %q is not 1 to 65535", addr, port)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", 0, fmt.Errorf("%q is not on loopback", addr)
	}
	return host, n, nil
}
