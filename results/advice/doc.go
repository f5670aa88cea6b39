// Package advice turns the causes a run measured into the settings of
// the gateway to change: when gatecrash started nginx, HAProxy or Caddy
// (or the user gave their own template), it knows the configuration the
// run used (the run folder's gateway.conf), reads the settings that
// matter from it, and compares them with what the run measured.
//
// Every rule is one row of the table in rules.go: it gives advice only
// when the run measured its evidence (a count of failures of a cause, a
// latency it added), never a generic tip, and not when the setting is
// already right. Each Advice words the measured figure that justifies it.
//
// The readers of the configurations (config.go) are small directive
// readers, not the gateways' own parsers: they read the few settings the
// rules need, with each setting's documented default when it is unset.
package advice
