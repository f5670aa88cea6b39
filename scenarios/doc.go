// Package scenarios owns the scenario file of gatecrash: its types
// (Scenario, Phase, Fault, Expectation, the client retry policy Retry,
// ...), strict YAML decoding with
// the file, line, field and fix in every error, validation, defaults, the
// grammar of the expectations under expect:, fault files and single
// faults as `gatecrash proxy` and its admin API take them, and the
// embedded catalog of ready scenarios. It reads text and hands back plain
// values: it must not start anything (servers, gateways, processes), send
// traffic, or analyse results; the run, faults, lab and results packages
// do that with what it returns. It imports no other gatecrash package but
// the leaf table results/causes.
package scenarios
