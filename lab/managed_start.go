package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// How long StartManaged waits for the gateway to answer, and Close for it
// to stop after its graceful-stop signal before it sends SIGKILL.
const (
	readyTimeout = 10 * time.Second
	stopTimeout  = 3 * time.Second
)

// StartManaged starts the gateway in the foreground with the
// configuration cfg's template renders for this run, and returns once the
// gateway answers HTTP on its port, within 10s. The gateway's executable
// is found with LookPath; a missing one is a *NotInstalledError. When the
// gateway exits or never answers, the error holds the end of its own
// output; a template of the user's own that the gateway rejects is a
// *TemplateError. The gateway stops when Close is called or ctx ends,
// whichever comes first.
func StartManaged(ctx context.Context, cfg ManagedConfig) (*Managed, error) {
	l, err := prepareLaunch(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// A port picked now may be taken before the gateway binds it: try
	// again with another one.
	var lastErr error
	for range 3 {
		m, err := l.once(ctx)
		if err == nil {
			m.version = l.version
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

// launch is what every attempt at starting one managed gateway shares.
type launch struct {
	tmpl                 *Template
	spec                 gatewaySpec
	bin                  string // the gateway's executable
	version              string // what it says of its version
	conf, access, errLog string // the files of ManagedConfig, absolute
	upHost               string
	upPort               int
	connect              time.Duration // ManagedConfig.ConnectTimeout, or its default
	read                 time.Duration // ManagedConfig.ReadTimeout, or its default
	redact               *redactor     // what Close removes from the logs
}

// prepareLaunch finds the gateway's executable and its version, and
// checks cfg's upstream and run folder.
func prepareLaunch(ctx context.Context, cfg ManagedConfig) (*launch, error) {
	// What a gatecrash killed before it could stop its gateway left.
	removeStale(os.TempDir())
	if cfg.Template == nil {
		return nil, errors.New("managed gateway: no template; set ManagedConfig.Template to what Render or RenderDefault returned")
	}
	kind := cfg.Template.kind
	l := &launch{tmpl: cfg.Template, spec: specs[kind], connect: cfg.ConnectTimeout, read: cfg.ReadTimeout,
		conf: cfg.Config, access: cfg.AccessLog, errLog: cfg.ErrorLog, redact: newRedactor(cfg.Secrets)}
	var err error
	if l.bin, err = LookPath(kind); err != nil {
		return nil, err
	}
	if l.upHost, l.upPort, err = splitHostPort(cfg.Upstream); err != nil {
		return nil, fmt.Errorf("%s upstream: %w", kind, err)
	}
	if l.connect <= 0 {
		l.connect = DefaultConnectTimeout
	}
	if l.read <= 0 {
		l.read = DefaultReadTimeout
	}
	for _, f := range []*string{&l.conf, &l.access, &l.errLog} {
		if *f == "" {
			return nil, fmt.Errorf("%s: ManagedConfig names no file for its configuration or logs", kind)
		}
		if *f, err = filepath.Abs(*f); err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
	}
	if l.version, err = gatewayVersion(ctx, l.bin, l.spec.version, l.spec.product); err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return l, nil
}

// addrInUseError is a gateway that could not bind the port picked for it.
type addrInUseError struct{ err error }

func (e *addrInUseError) Error() string { return e.err.Error() }
func (e *addrInUseError) Unwrap() error { return e.err }

// once starts the gateway on one free port.
func (l *launch) once(ctx context.Context) (m *Managed, err error) {
	kind := l.tmpl.kind
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	dir, err := privateDir(kind)
	if err != nil {
		return nil, err
	}
	if err := writeOwner(dir, l.access, l.errLog); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%s: private folder: %w", kind, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	p := l.placeholders(port, dir)
	conf, err := l.tmpl.fill(p)
	if err != nil {
		return nil, err
	}
	confPath := l.conf
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("%s: write its configuration: %w", kind, err)
	}
	errLog, accessLog, err := openLogs(kind, p)
	if err != nil {
		return nil, err
	}
	files := []*os.File{errLog, accessLog}
	cmd := l.command(confPath, conf, dir, p.ErrorLog, errLog, accessLog)
	m = &Managed{kind: kind, stop: l.spec.stop, addr: p.Listen, dir: dir, errLog: p.ErrorLog, accessLog: p.AccessLog,
		redact: l.redact, cmd: cmd, files: files, done: make(chan struct{})}
	if err := m.start(); err != nil {
		closeFiles(files)
		return nil, fmt.Errorf("%s: start %s: %w", kind, l.bin, err)
	}
	if err := m.waitReady(ctx); err != nil {
		m.terminate()
		closeFiles(files)
		return nil, l.notReady(m, err, confPath)
	}
	m.stopOnDone = context.AfterFunc(ctx, func() { m.Close() })
	return m, nil
}

// start starts the gateway's process, and reaps it once it exits.
//
// The process gets a parent-death signal (SysProcAttr.Pdeathsig), so that
// it dies with gatecrash, even with a gatecrash killed by SIGKILL. Linux
// sends it when the thread that forked the child exits, not the process
// (golang/go#27505), and Go ends a thread when a goroutine locked to it
// exits without unlocking: so the fork happens on a goroutine that locks
// its thread for the gateway's whole life, waiting for it, and no other
// goroutine can hold (and end) that thread meanwhile.
func (m *Managed) start() error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := m.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		m.waitErr = m.cmd.Wait()
		close(m.done)
	}()
	return <-started
}

// privateDir makes the private folder of one kind gateway.
func privateDir(kind string) (string, error) {
	dir, err := os.MkdirTemp("", privatePrefix+kind+"-")
	if err != nil {
		return "", fmt.Errorf("%s: private folder: %w", kind, err)
	}
	// nginx's workers drop root to nobody, and need to reach the temp
	// folders their master creates in here for them.
	if err := os.Chmod(dir, 0o711); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("%s: private folder: %w", kind, err)
	}
	return dir, nil
}

// placeholders returns the template's values for a gateway listening on
// port, with the private folder dir.
func (l *launch) placeholders(port int, dir string) scenarios.TemplateValues {
	return scenarios.TemplateValues{
		Listen:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		ListenHost: "127.0.0.1", ListenPort: port,
		Upstream:     net.JoinHostPort(l.upHost, strconv.Itoa(l.upPort)),
		UpstreamHost: l.upHost, UpstreamPort: l.upPort,
		ConnectTimeoutMS: l.connect.Milliseconds(),
		ReadTimeoutMS:    l.read.Milliseconds(),
		Dir:              dir,
		AccessLog:        l.access,
		ErrorLog:         l.errLog,
	}
}

// openLogs creates (or empties) the gateway's error and access logs.
func openLogs(kind string, p scenarios.TemplateValues) (errLog, accessLog *os.File, err error) {
	errLog, err = os.OpenFile(p.ErrorLog, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: error log: %w", kind, err)
	}
	accessLog, err = os.OpenFile(p.AccessLog, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		errLog.Close()
		return nil, nil, fmt.Errorf("%s: access log: %w", kind, err)
	}
	return errLog, accessLog, nil
}

// closeFiles closes each of files.
func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// command returns the command that runs the gateway with the
// configuration conf, written at confPath, in the private folder dir; its
// output goes to the logs.
func (l *launch) command(confPath, conf, dir, errLogPath string, errLog, accessLog *os.File) *exec.Cmd {
	cmd := exec.Command(l.bin, l.spec.args(confPath, conf, dir, errLogPath)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = errLog, errLog
	if l.spec.stdoutToAccess {
		cmd.Stdout = accessLog
	}
	cmd.Env = os.Environ()
	if l.spec.env != nil {
		cmd.Env = append(cmd.Env, l.spec.env(dir)...)
	}
	// A process group of its own: a terminal's Ctrl-C reaches gatecrash
	// alone, which stops the gateway once the results are in, and a
	// SIGKILL reaches the gateway's worker processes too.
	// Pdeathsig: the gateway dies with gatecrash (see Managed.start).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: l.spec.deathsig}
	return cmd
}

// notReady says why the gateway m, started with the configuration at
// confPath, did not answer (err), with the end of its output: a port
// already in use is an *addrInUseError, a template of the user's own
// that the gateway rejected a *TemplateError.
func (l *launch) notReady(m *Managed, err error, confPath string) error {
	kind := l.tmpl.kind
	exited := errors.Is(err, errExited)
	out := m.output()
	if out != "" {
		err = fmt.Errorf("%w; its output ends:\n%s", err, out)
	}
	switch {
	case strings.Contains(strings.ToLower(out), "address already in use"):
		return &addrInUseError{fmt.Errorf("%s: %w", kind, err)}
	case exited && l.tmpl.own:
		// The gateway rejected the user's configuration.
		return &TemplateError{Kind: kind, Name: l.tmpl.name, Err: fmt.Errorf("%s rejected the configuration rendered from it (%s): %w", kind, confPath, err)}
	}
	return fmt.Errorf("%s: %w", kind, err)
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
	if !scenarios.LoopbackHost(host) {
		return "", 0, fmt.Errorf("%q is not on loopback", addr)
	}
	return host, n, nil
}
