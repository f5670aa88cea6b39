package report

import (
	"bytes"
	"html"
	"io"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/results"
)

// TestRetrySection: with a client retry policy, text, Markdown and HTML
// say what it bought and what it cost, with a row per phase and the
// total; a phase name from the scenario is escaped; without a policy no
// format has the section.
func TestRetrySection(t *testing.T) {
	budget := 2.5
	total := &results.Retries{Requests: 8, Tries: 12, FirstTryFailures: 4, UserFailures: 1, Hidden: 3,
		FirstTryFailureRate: 0.5, UserFailureRate: 0.125, TriesPerRequest: 1.5, UpstreamArrivals: 13, Amplification: 1.625,
		GatewayRetries: 1, AddedLatencyMS: results.BucketLatency{P50: 20, P99: 40}, BudgetExhausted: 1, BudgetFirstS: &budget,
		RetryAfter: 2, Stops: map[string]int{"success": 7, "budget": 1}}
	const words = "The client's retries hid 3 of 4 first-try failures: 12.5% of requests failed as users saw them, against 50.0% on the first try."
	const cost = "1.50 tries per request at the gateway and 1.62 arrivals per request at the upstream (1 retry of the gateway's own)"
	for _, tt := range []struct {
		format string
		render func(io.Writer, *results.Report) error
		want   []string
		escape string // how the phase name shows
	}{
		{"text", Text, []string{"\nclient retries:\n", "tries/req", "upstream/req"}, "<b>calm</b>"},
		{"markdown", Markdown, []string{"\n### Client retries\n\n", "| phase | requests | tries/req |"}, "&lt;b&gt;calm&lt;/b&gt;"},
		{"html", HTML, []string{`<section id="retries">`, "<h2>Client retries</h2>", "<th class=\"num\">upstream/req</th>", `<section id="retry-load">`, "upstream arrivals"}, "&lt;b&gt;calm&lt;/b&gt;"},
	} {
		t.Run(tt.format, func(t *testing.T) {
			rep := analyzed(t)
			var plain bytes.Buffer
			if err := tt.render(&plain, rep); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(strings.ToLower(plain.String()), "client retries") || strings.Contains(plain.String(), "retry-load") {
				t.Errorf("without a policy: the %s report has a client retries section", tt.format)
			}
			rep.Retries = total
			rep.Phases[0].Name = "<b>calm</b>"
			rep.Phases[0].Retries = total
			rep.Timeline[1].Retries = total
			var b bytes.Buffer
			if err := tt.render(&b, rep); err != nil {
				t.Fatal(err)
			}
			got := strings.Join(strings.Fields(b.String()), " ")
			want := append(tt.want, words, cost)
			if tt.format == "html" {
				want = append(tt.want, html.EscapeString(words), html.EscapeString(cost))
			}
			for _, w := range append(want, tt.escape) {
				if !strings.Contains(b.String(), w) && !strings.Contains(got, strings.Join(strings.Fields(w), " ")) {
					t.Errorf("the %s report lacks %q", tt.format, w)
				}
			}
		})
	}
}
