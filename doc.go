// Command gatecrash load-tests an HTTP gateway while its upstream
// misbehaves on a schedule, and reports when 502 Bad Gateway answers
// appeared and why.
//
// This package is the command line only: one file per command
// (cmd_run.go, cmd_report.go, ...), each with its flags, what it prints
// and its exit code; the work is in the packages (run does a run). It must
// hold no behaviour that another client of those packages would need.
package main
