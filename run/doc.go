// Package run is one gatecrash run: a scenario and its options in, a run
// folder out. Run starts everything the scenario needs (the built-in
// upstream or the user's, the fault proxy, the built-in gateway or nginx,
// HAProxy or Caddy from a template), attacks the gateway through every
// phase, stops everything it started, whatever happened, and writes and
// analyses the folder. Folder defines the run folder's layout once, and
// reads it back for gatecrash report, compare and matrix; Matrix runs every
// fault kind against a gateway.
//
// run orchestrates the leaf packages (scenarios, attack, faults, lab,
// results) and owns no behaviour of theirs: it must not parse flags, print
// reports or choose exit codes, which are package main's, nor inject
// faults, analyse or render, which are theirs.
package run
