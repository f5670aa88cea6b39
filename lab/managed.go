package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// Managed gateway kinds: real gateways gatecrash starts from a template.

// Defaults of ManagedConfig.
const (
	DefaultConnectTimeout = time.Second     // ManagedConfig.ConnectTimeout
	DefaultReadTimeout    = 5 * time.Second // ManagedConfig.ReadTimeout
)

// gatewaySpec is what gatecrash knows of one managed gateway kind.
type gatewaySpec struct {
	binary   string // the executable's name
	pkg      string // the Debian package that installs it
	template string // the default template's file under templates/
	// args returns the command line that runs the gateway in the
	// foreground with the config at conf, whose text is text; dir is the
	// private folder.
	args func(conf, text, dir, errorLog string) []string
	// env returns what the gateway's environment adds to gatecrash's,
	// for the private folder dir; nil adds nothing.
	env func(dir string) []string
	// version is the command line that prints the gateway's version, and
	// product the name its version is given with, as in nginx/1.22.1.
	version []string
	product string
	// stdoutToAccess says the gateway writes its access log to stdout.
	stdoutToAccess bool
	// stop is the signal that stops the gateway gracefully: it stops
	// accepting, finishes the requests it holds and writes their log
	// lines. SIGTERM is a hard stop for nginx and HAProxy, which can lose
	// the access-log line of a request just answered.
	stop syscall.Signal
	// deathsig is the signal the gateway's process gets when gatecrash
	// dies (Pdeathsig). nginx's workers outlive a master killed by
	// SIGKILL (they keep listening, under init): its master gets SIGTERM,
	// its fast shutdown, which ends the workers first. HAProxy gets
	// SIGTERM too, which stops it at once, and its workers with it if a
	// template runs it as master-worker; Caddy, one process, SIGKILL.
	deathsig syscall.Signal
}

var specs = map[string]gatewaySpec{
	scenarios.GatewayNginx: {
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
		version:  []string{"-v"},
		product:  "nginx",
		stop:     syscall.SIGQUIT, // graceful shutdown
		deathsig: syscall.SIGTERM,
	},
	scenarios.GatewayHAProxy: {
		binary:   "haproxy",
		pkg:      "haproxy",
		template: "templates/haproxy.cfg",
		args: func(conf, _, _, _ string) []string {
			return []string{"-db", "-f", conf}
		},
		version:        []string{"-v"},
		product:        "HAProxy",
		stdoutToAccess: true,
		stop:           syscall.SIGUSR1, // soft stop
		deathsig:       syscall.SIGTERM,
	},
	scenarios.GatewayCaddy: {
		binary:   "caddy",
		pkg:      "caddy",
		template: "templates/Caddyfile",
		args: func(conf, _, _, _ string) []string {
			return []string{"run", "--config", conf, "--adapter", "caddyfile"}
		},
		// Caddy keeps its data and autosaved configuration under these:
		// keep them in the private folder.
		env: func(dir string) []string {
			return []string{"HOME=" + dir, "XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config")}
		},
		version:  []string{"version"},
		product:  "Caddy",
		stop:     syscall.SIGTERM, // graceful exit
		deathsig: syscall.SIGKILL,
	},
}

// nginxPid matches an nginx configuration's pid directive.
var nginxPid = regexp.MustCompile(`(?m)^\s*pid\s`)

// Kinds lists the managed gateway kinds.
func Kinds() []string {
	return []string{scenarios.GatewayNginx, scenarios.GatewayHAProxy, scenarios.GatewayCaddy}
}

func spec(kind string) (gatewaySpec, error) {
	s, ok := specs[kind]
	if !ok {
		return gatewaySpec{}, fmt.Errorf("unknown managed gateway %q; use %s", kind, strings.Join(Kinds(), ", "))
	}
	return s, nil
}

// ManagedConfig configures a managed gateway.
type ManagedConfig struct {
	// Template is the gateway's template, parsed and checked by Render or
	// RenderDefault; the gateway is of its kind (nginx, haproxy or
	// caddy). It must not be nil.
	Template *Template
	// Upstream is the host:port the gateway forwards to: the fault proxy.
	Upstream string
	// ConnectTimeout is the gateway's timeout for a connect to its
	// upstream; zero means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// ReadTimeout is how long the gateway waits for the upstream's
	// response headers, and between two reads of its answer; zero means
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// Config is where the configuration rendered from Template is
	// written, for the gateway to run with; AccessLog and ErrorLog are
	// where the gateway writes its access log (one line per request, in
	// the fixed formats of the default templates) and its error log (with
	// whatever the process writes to its stderr and, except for HAProxy,
	// its stdout). Their folders must exist; the caller names the files
	// (the run folder's layout is package run's).
	Config, AccessLog, ErrorLog string
	// Secrets are values the logs must not keep, such as the values of
	// the secret headers (results.SecretValues) the run's requests
	// carry: Close replaces each, wherever it appears in the access and
	// error logs, with results.Redacted, as it does the value of every
	// secret header (results.SecretHeader) in a JSON log line (Caddy's).
	// Nil leaves the values, not the JSON headers.
	Secrets []string
}

// Managed is a real gateway process (nginx, HAProxy or Caddy) started by
// StartManaged on a free loopback port, in front of one upstream. The
// caller must call Close, which stops the process; its methods are safe
// for concurrent use.
type Managed struct {
	kind    string
	stop    syscall.Signal // the graceful-stop signal of its kind
	addr    string
	version string
	dir     string // the private folder, removed by Close
	errLog  string
	// accessLog is the access log; redact what Close removes from both.
	accessLog string
	redact    *redactor
	cmd       *exec.Cmd
	files     []*os.File // the process's stdout and stderr, closed by Close

	done    chan struct{} // closed once the process has exited and been reaped
	waitErr error         // how it exited, set before done is closed

	mu       sync.Mutex
	stopping bool // Close (or ctx) asked the process to stop

	closeOnce  sync.Once
	closeErr   error
	stopOnDone func() bool // unregisters the stop on ctx's end
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
