// Package faults is gatecrash's fault proxy: it sits where the gateway's
// upstream should be, forwards every request to the real upstream, and on
// a reproducible schedule makes the upstream misbehave (latency, resets,
// bad answers, hangs), logging one event per fault it applied. It owns the
// proxy (modes http and tcp), the fault kinds (one file each, behind the
// small capability interfaces of kind.go: Refuser, Acceptor, Idler,
// Exchanger, Streamer), the reproducible decisions (Draw), the event log
// (Event, EventLog, ReadEvents) and the admin API that changes the faults
// of a running proxy. It must not analyse what happened, attribute 502s
// to causes beyond naming the cause a fault leads to (the names come from
// results/causes), or know about reports, expectations or gateways.
package faults
