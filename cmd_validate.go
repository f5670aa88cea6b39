package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

	"github.com/gatecrash/gatecrash/scenarios"
)

func cmdValidate(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := flagSet("validate", "FILE|NAME...", `Check scenario files (or catalog names) without running them. Every problem is
reported with its file, line and field; the exit code is 2 if any file is invalid.
A scenario aimed beyond loopback validates with the same --allow-host that
gatecrash run needs for it.`, stdout)
	allowHostFlag(fs, runConsentHelp)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return inputErrf("validate: name at least one scenario file")
	}
	consent, err := consentOf(fs)
	if err != nil {
		return err
	}
	var errs []error
	for _, arg := range fs.Args() {
		sc, err := consent.Resolve(arg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		retry := ""
		if sc.Client.Retry != nil {
			retry = "; client retry " + sc.Client.Retry.String()
		}
		beyond := ""
		if hosts := remoteHosts(sc); len(hosts) > 0 {
			beyond = "; beyond loopback, by consent: " + strings.Join(hosts, ", ")
		}
		fmt.Fprintf(stdout, "%s: ok (%s, %d phases, %s%s%s)\n", arg, sc.Name, len(sc.Phases), sc.Duration(), retry, beyond)
	}
	if len(errs) > 0 {
		return inputErr(errors.Join(errs...))
	}
	return nil
}

// remoteHosts lists the fields of a valid scenario that aim beyond
// loopback, as field host.
func remoteHosts(sc *scenarios.Scenario) []string {
	var out []string
	for _, f := range []struct{ field, url string }{{"target.url", sc.Target.URL}, {"upstream.url", sc.Upstream.URL}} {
		if u, err := url.Parse(f.url); f.url != "" && err == nil && !scenarios.LoopbackHost(u.Hostname()) {
			out = append(out, f.field+" "+u.Hostname())
		}
	}
	if host, _, err := net.SplitHostPort(sc.Proxy.Listen); err == nil && !scenarios.LoopbackHost(host) {
		out = append(out, "proxy.listen "+host)
	}
	return out
}
