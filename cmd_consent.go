package main

import (
	"errors"
	"fmt"
	"net"

	"github.com/spf13/pflag"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/scenarios"
)

// allowHostName is the flag that gives consent to hosts beyond loopback.
const allowHostName = "allow-host"

// allowHostFlag adds --allow-host to fs. Its values are checked by
// consentOf after parsing, so that a bad one gets gatecrash's own message
// (pflag's would repeat the value, a password included).
func allowHostFlag(fs *pflag.FlagSet, what string) {
	fs.StringArray(allowHostName, nil, "consent to a `HOST` beyond loopback: "+what+"; repeat or separate with commas; an IP address matches itself, 0.0.0.0 or :: lets a server listen on every interface; a scenario file alone never aims beyond loopback")
}

// consentOf returns the consent that fs's --allow-host gives: none when fs
// has no such flag.
func consentOf(fs *pflag.FlagSet) (scenarios.Consent, error) {
	f := fs.Lookup(allowHostName)
	if f == nil {
		return scenarios.Consent{}, nil
	}
	// GetSlice, not GetStringArray, which loses an empty value.
	c, err := scenarios.ParseConsent(f.Value.(pflag.SliceValue).GetSlice()...)
	if err != nil {
		return scenarios.Consent{}, inputErrf("--%s: %w", allowHostName, err)
	}
	return c, nil
}

// listenConsented checks an address a server listens on: host:port on
// loopback, or on a host that consent allows.
func listenConsented(addr string, consent scenarios.Consent) error {
	host, _, err := net.SplitHostPort(addr)
	switch {
	case err != nil:
		return fmt.Errorf("%s is not host:port; use 127.0.0.1:PORT or [::1]:PORT", scenarios.Quote(addr))
	case host == "":
		return fmt.Errorf("%s has %w", scenarios.Quote(addr), scenarios.ErrEmptyHost)
	case !consent.Allows(host):
		return fmt.Errorf("%s is not a loopback address; use 127.0.0.1:PORT or [::1]:PORT, or %s", scenarios.Quote(addr), scenarios.RefusedHost(host))
	}
	return nil
}

// errAdminToken is the refusal of an admin API beyond loopback without a
// token.
var errAdminToken = errors.New("the admin API beyond loopback needs a bearer token, which every request must then send (Authorization: Bearer TOKEN): give it with --admin-token TOKEN or the environment variable " + faults.TokenEnv + " (at least 16 characters, such as the output of openssl rand -hex 16), or keep --admin on 127.0.0.1")

// checkAdmin checks --admin and the admin token: beyond loopback, the
// address needs consent and a token. tokenFlag says the token came from
// --admin-token, not the environment. No message holds the token.
func checkAdmin(opt *proxyOptions, tokenFlag bool) error {
	source := "--admin-token"
	if !tokenFlag {
		source = faults.TokenEnv
	}
	var errs []error
	if err := listenConsented(opt.admin, opt.consent); err != nil {
		errs = append(errs, fmt.Errorf("--admin: %w", err))
	} else if host, _, _ := net.SplitHostPort(opt.admin); !scenarios.LoopbackHost(host) && opt.adminToken == "" && !tokenFlag {
		errs = append(errs, fmt.Errorf("--admin %s: %w", scenarios.Quote(opt.admin), errAdminToken))
	}
	if opt.adminToken != "" || tokenFlag {
		if err := faults.CheckToken(opt.adminToken); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
		}
	}
	return errors.Join(errs...)
}

// runConsentHelp says what --allow-host allows in run and policies.
const runConsentHelp = "the host of the scenario's target.url, upstream.url or proxy.listen (or --proxy-listen)"

// proxyListenConsented checks the fault proxy's address in a run: on
// loopback, or beyond it with consent, and then only for a gateway the
// user runs (gateway none): gatecrash's own gateways reach the proxy on
// loopback.
func proxyListenConsented(addr, gateway string, consent scenarios.Consent) error {
	if err := listenConsented(addr, consent); err != nil {
		return err
	}
	if host, _, _ := net.SplitHostPort(addr); !scenarios.LoopbackHost(host) && gateway != scenarios.GatewayNone {
		return fmt.Errorf("%s is not on loopback, but gateway %s, which gatecrash starts, reaches the proxy on loopback: an address beyond loopback serves only a gateway you run (target.gateway: none); use 127.0.0.1:PORT", scenarios.Quote(addr), gateway)
	}
	return nil
}
