package report

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/results"
)

// wordsFixture is outputFixture with requests of the error class both
// without any answer and cut after their headers, and reset and latency
// applied in the same buckets with the same r.
func wordsFixture() *results.Report {
	r := outputFixture()
	r.OtherCauses["error"] = []results.Cause{
		{Cause: "reset-before-headers", Count: 2, Share: 0.5, Evidence: results.Evidence{Exact: 2}},
		{Cause: "length-mismatch", Count: 1, Share: 0.25, Evidence: results.Evidence{Exact: 1}},
		{Cause: "reset-mid-body", Count: 1, Share: 0.25, Evidence: results.Evidence{Exact: 1}},
	}
	one := 1.0
	r.Correlations = []results.Correlation{{Kind: "latency", Pearson: &one}, {Kind: "reset", Pearson: &one}}
	return r
}

// TestOutputsWords checks that every format splits the error class's
// causes into no answer at all and answers cut after their headers, and
// says that kinds active in the same seconds cannot be told apart instead
// of printing their r.
func TestOutputsWords(t *testing.T) {
	const same = "Latency and reset were active in the same seconds: their correlations cannot be told apart."
	for _, tt := range []struct {
		name  string
		write func(io.Writer, *results.Report) error
		want  []string
		not   []string
	}{
		{"text", Text,
			[]string{"\ncauses of requests with no answer at all:\n", "  reset-before-headers  2      100.0%", "\ncauses of answers cut after their headers:\n", "  length-mismatch  1      50.0%", "\n" + same + "\n"},
			[]string{"without an answer", "Pearson r", "latency 1.00"}},
		{"markdown", Markdown,
			[]string{"### Causes of requests with no answer at all", "| `reset-before-headers` | 2 | 100.0% |", "### Causes of answers cut after their headers", "| `reset-mid-body` | 1 | 50.0% |"},
			[]string{"without an answer"}},
		{"html", HTML,
			[]string{"<h3>Causes of requests with no answer at all</h3>", "<h3>Causes of answers cut after their headers</h3>", "<p>" + same + "</p>", ">latency<", ">reset<"},
			[]string{"without an answer", "Correlation with the 502 timeline", "(r 1.00)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b, wordsFixture()); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("got no %q in:\n%s", w, b.String())
				}
			}
			for _, w := range tt.not {
				if strings.Contains(b.String(), w) {
					t.Errorf("got %q in:\n%s", w, b.String())
				}
			}
		})
	}
}
