// Package attack is gatecrash's client side: the phased pacer (a
// vegeta.Pacer that walks a scenario's phases as one attack, with no gap
// between them), the targets built from the scenario's requests, and the
// vegeta attacker run once over the whole plan, with every result
// streamed out as it comes and the phase's index sent on every request.
//
// It owns what is sent and when; it must not record, analyse or know about
// faults, gateways or reports: its caller (package run) decides what
// happens to each result.
package attack
