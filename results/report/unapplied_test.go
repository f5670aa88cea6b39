package report

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/results"
)

// TestOutputsWarnUnapplied checks that every format warns of each fault
// that never bit, in its own way, and says nothing of it without one.
func TestOutputsWarnUnapplied(t *testing.T) {
	const warning = "keepalive (phase resets) never applied: no connection was idle 50ms; lower idle or the rate."
	for _, tt := range []struct {
		name  string
		write func(io.Writer, *results.Report) error
		want  string // the warning line
		mark  string // what only a warning writes
	}{
		{"text", Text, "\nWARNING: " + warning + "\n", "WARNING: keepalive"},
		{"markdown", Markdown, "\n> **⚠ Warning**: " + warning + "\n", "Warning"},
		{"html", HTML, `<p class="banner warn">Warning: ` + warning + "</p>", `class="banner warn"`},
		{"junit", JUnit, `<testcase classname="gatecrash.upstream-resets" name="fault 2 (keepalive) in phase resets" time="0">` + "\n" +
			`      <skipped message="` + warning + `"></skipped>`, "<skipped"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b, outputFixture()); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), tt.want) {
				t.Errorf("got no %q in:\n%s", tt.want, b.String())
			}
			r := outputFixture()
			r.Unapplied = nil
			b.Reset()
			if err := tt.write(&b, r); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), tt.mark) {
				t.Errorf("without a fault that never bit, got %q in:\n%s", tt.mark, b.String())
			}
		})
	}
}
