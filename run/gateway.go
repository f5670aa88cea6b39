package run

import (
	"errors"
	"fmt"
	"os"

	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// startGateway starts the gateway under test in front of the fault proxy
// at proxyAddr: the built-in one, or nginx, HAProxy or Caddy from their
// template. It returns the URL the attack goes to and, for a managed
// gateway, its version. With gateway none it starts nothing and returns
// the scenario's URL. What it starts stops with the session.
func (s *session) startGateway(proxyAddr string) (target, version string, err error) {
	kind := s.sc.Target.Gateway
	switch {
	case kind == scenarios.GatewayNone:
		return s.sc.Target.URL, "", nil
	case scenarios.Managed(kind):
		m, err := s.startManaged(proxyAddr)
		if err != nil {
			return "", "", err
		}
		s.onStop(m.Close)
		fmt.Fprintf(s.opt.Log, "%s started on %s (pid %d), forwarding to the fault proxy on %s; its logs: %s, %s\n",
			m.Version(), m.Addr(), m.PID(), proxyAddr, s.dir.Path(AccessLogFile), s.dir.Path(ErrorLogFile))
		return m.URL(), m.Version(), nil
	}
	logFile, err := os.Create(s.dir.Path(GatewayLogFile))
	if err != nil {
		return "", "", fmt.Errorf("create gateway log: %w", err)
	}
	s.onStop(logFile.Close)
	gw, err := lab.NewGateway("http://"+proxyAddr, s.sc.Target.UpstreamTimeout.D(), logFile)
	if err != nil {
		return "", "", err
	}
	srv, err := lab.Start(gw)
	if err != nil {
		return "", "", fmt.Errorf("built-in gateway: %w", err)
	}
	s.onStop(srv.Close)
	return srv.URL(), "", nil
}

// startManaged starts the scenario's nginx, HAProxy or Caddy from its
// template as Check rendered and checked it (opt.Gateway; nil: checked
// here). A gateway that is not installed, and a template of the user's
// that does not render or that the gateway rejects, are bad input.
func (s *session) startManaged(proxyAddr string) (*lab.Managed, error) {
	sc, tmpl := s.sc, s.opt.Gateway
	if tmpl == nil || tmpl.Kind() != sc.Target.Gateway {
		var err error
		if tmpl, err = Check(sc); err != nil {
			return nil, err
		}
	}
	m, err := lab.StartManaged(s.srvCtx, lab.ManagedConfig{
		Template:       tmpl,
		Upstream:       proxyAddr,
		ConnectTimeout: sc.Target.ConnectTimeout.D(),
		ReadTimeout:    sc.Target.UpstreamTimeout.D(),
		Config:         s.dir.Path(GatewayConfigFile),
		AccessLog:      s.dir.Path(AccessLogFile),
		ErrorLog:       s.dir.Path(ErrorLogFile),
		Secrets:        secretValues(sc),
	})
	if err != nil {
		var missing *lab.NotInstalledError
		var bad *lab.TemplateError
		if errors.As(err, &missing) || errors.As(err, &bad) {
			return nil, &InputError{err}
		}
		return nil, fmt.Errorf("start %s: %w", tmpl.Kind(), err)
	}
	return m, nil
}

// secretValues returns the values of the secret headers
// (results.SecretValues) the scenario's requests carry, which the
// gateway's logs must not keep.
func secretValues(sc *scenarios.Scenario) []string {
	var out []string
	for _, r := range sc.Requests {
		for name, v := range r.Headers {
			out = append(out, results.SecretValues(name, v)...)
		}
	}
	return out
}

// Check checks, before anything starts, that the managed gateway the
// scenario names is installed, and renders and checks its template
// (target.config, or gatecrash's own) once: Run starts the gateway from
// what it returns (Options.Gateway). It returns nil for a gateway
// gatecrash does not manage. An error the user can fix (the gateway not
// installed, a template that cannot be read or does not render) is an
// *InputError.
func Check(sc *scenarios.Scenario) (*lab.Template, error) {
	kind := sc.Target.Gateway
	if !scenarios.Managed(kind) {
		return nil, nil
	}
	if _, err := lab.LookPath(kind); err != nil {
		return nil, &InputError{err}
	}
	path := sc.ConfigPath()
	if path == "" {
		return lab.RenderDefault(kind)
	}
	if parsed := sc.GatewayTemplate(); parsed != nil {
		// Loaded from a file: checked already, not rendered again.
		return lab.Checked(kind, path, parsed)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, inputErrf("target.config: cannot read the %s template: %w", kind, err)
	}
	tmpl, err := lab.Render(kind, path, string(b))
	if err != nil {
		return nil, &InputError{err}
	}
	return tmpl, nil
}
