package main

import (
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/run"
)

// TestMatrix runs the gateway matrix, short, against the built-in gateway
// and checks measured facts of a few rows: what the client got.
func TestMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every fault kind")
	}
	// Beside the other tests that mostly wait on their phases' clock: a
	// row mostly waits for its timeouts.
	t.Parallel()
	code, stdout, stderr := gatecrash(t, "matrix", "--gateway", "builtin", "--duration", "500ms", "--rate", "10")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(stdout, "\n") {
		if name, rest, ok := strings.Cut(line, "  "); ok {
			rows[strings.TrimSpace(name)] = rest
		}
	}
	if len(rows) < len(run.MatrixRows()) {
		t.Fatalf("got %d rows, want %d:\n%s", len(rows), len(run.MatrixRows()), stdout)
	}
	for _, tt := range []struct{ row, want string }{
		{"reset before headers", "502 ×"},
		{"close before headers", "502 ×"},
		{"hang", "504 ×"},
		{"latency 1.5s (> read timeout)", "504 ×"},
		{"latency 100ms", "200 ×"},
		{"status 503", "503 ×"},
		{"status 429", "429 ×"},
		{"malformed status-line", "502 ×"},
		{"reset mid-body", "EOF"},
		{"refuse", "502 ×"},
		{"overload 1 in flight, 503", "503 ×"},
	} {
		if got := rows[tt.row]; !strings.Contains(got, tt.want) {
			t.Errorf("%s: got %q, want %q in it\n%s", tt.row, got, tt.want, stdout)
		}
	}
	for _, bad := range [][]string{{"matrix", "--gateway", "envoy"}, {"matrix", "extra"}, {"matrix", "--rate", "0"}} {
		if code, _, stderr := gatecrash(t, bad...); code != exitInput {
			t.Errorf("%v: exit %d (%s), want 2", bad, code, stderr)
		}
	}
}
