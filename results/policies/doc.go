// Package policies sets the reports of one scenario run under several
// client retry policies side by side: what each policy hid from users,
// what it cost the upstream, its p99 latency, how soon the failures fell
// back after each phase whose faults ended, and its verdict. gatecrash
// policies writes it as text, Markdown and JSON (schema
// gatecrash/policies/v1).
package policies
