package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/internal/golden"
	"github.com/gatecrash/gatecrash/internal/htmltest"
	"github.com/gatecrash/gatecrash/results"
)

// TestTextSlowGolden renders, for a terminal, the fixture whose causes of
// slow answers, masked faults' price and advice are filled by hand.
func TestTextSlowGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, outputFixture()); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "slow.txt", b.Bytes())
}

// render writes r in every format that shows the slow answers.
func render(t *testing.T, r *results.Report) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, write := range map[string]func(*bytes.Buffer, *results.Report) error{
		"text":     func(b *bytes.Buffer, r *results.Report) error { return Text(b, r) },
		"markdown": func(b *bytes.Buffer, r *results.Report) error { return Markdown(b, r) },
		"html":     func(b *bytes.Buffer, r *results.Report) error { return HTML(b, r) },
	} {
		var b bytes.Buffer
		if err := write(&b, r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = b.String()
	}
	return out
}

// TestOutputsSlow checks, in every format, the section of the causes of
// slow answers: a table when some answers were slow, one line when none
// was, nothing for a report written before they were measured; and the
// masked faults' price and the advice only when there are some.
func TestOutputsSlow(t *testing.T) {
	for _, tt := range []struct {
		name     string
		change   func(*results.Report)
		want     []string
		wantNone []string
	}{
		{
			name: "slow answers",
			want: []string{"12 of 1459 answers (0.8%) took at least 50ms", "injected-latency", "gateway-retried", "249.7-1000.7 (p50 259.2)",
				"0 of 400", "12 of 558", "3843.2", "73.9", "proxy", "1500ms"},
			wantNone: []string{"no slow answers"},
		},
		{
			name: "none slow",
			change: func(r *results.Report) {
				r.Slow.Count, r.Slow.Causes, r.Examples = 0, []results.SlowCause{}, r.Examples[:1]
				for i := range r.Phases {
					r.Phases[i].Slow = &results.PhaseSlow{Answers: r.Phases[i].Requests, Causes: []results.SlowCause{}}
				}
			},
			want:     []string{"no slow answers (threshold 50ms)."},
			wantNone: []string{"injected-latency", "slow answers per phase", "12 of 558"},
		},
		{
			name: "a threshold over a second, set by flag",
			change: func(r *results.Report) {
				r.Slow.ThresholdMS, r.Slow.From = 1500, results.SlowFromFlag
			},
			want: []string{"took at least 1.50s, the threshold set by flag"},
		},
		{
			name: "an old report",
			change: func(r *results.Report) {
				r.Slow, r.Advice, r.Masked.Price, r.Examples = nil, nil, nil, nil
				for i := range r.Phases {
					r.Phases[i].Slow = nil
				}
			},
			wantNone: []string{"slow answers", "cost", "advice", "first requests", "example requests"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := outputFixture()
			if tt.change != nil {
				tt.change(r)
			}
			for format, out := range render(t, r) {
				out = strings.ToLower(out)
				for _, w := range tt.want {
					if !strings.Contains(out, strings.ToLower(w)) {
						t.Errorf("%s: does not hold %q", format, w)
					}
				}
				for _, w := range tt.wantNone {
					if strings.Contains(out, strings.ToLower(w)) {
						t.Errorf("%s: holds %q", format, w)
					}
				}
			}
		})
	}
}

// TestHTMLExampleLinks checks that every cause row with an example links
// to an anchor of the page, that every example has its anchor, and that
// a cause links to at most results.ExamplesPerCause requests, the first
// in the report's order.
func TestHTMLExampleLinks(t *testing.T) {
	r := outputFixture()
	base := r.Examples[1]
	for i := range 4 {
		x := base
		x.Seq = uint64(500 + i)
		r.Examples = append(r.Examples, x)
	}
	page := renderHTML(t, r, nil)
	for _, w := range []string{
		`<td><a href="#example-1">seq 412</a></td>`,
		`<a href="#example-2">seq 430</a>, <a href="#example-3">seq 500</a>, <a href="#example-4">seq 501</a></td>`,
		`<div class="example" id="example-1">`, `<div class="example" id="example-6">`,
		"Example of <code>reset-before-headers (502s)</code>.",
		"Example of <code>injected-latency (slow answers)</code>.",
		"slow exact: the proxy delayed attempt 0 of seq 430 by 250ms",
	} {
		if !strings.Contains(page, w) {
			t.Errorf("the page does not hold %q", w)
		}
	}
	if strings.Contains(page, `href="#example-5"`) {
		t.Errorf("a cause links to more than %d examples", results.ExamplesPerCause)
	}
}

// TestHTMLEscapesSlow parses the page of the evil fixture as a browser
// does: what a target wrote in the slow answers' expectation, the price's
// phase, the advice and the examples' stories shows as text, and none of
// it is markup.
func TestHTMLEscapesSlow(t *testing.T) {
	page := renderHTML(t, evilFixture(), nil)
	for _, bad := range []string{"<script", "<img", "</pre><"} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("the page holds %q unescaped", bad)
		}
	}
	all := htmltest.Inert(t, page)
	for _, w := range []string{
		`p99(latency) < 50ms in <script>alert(1)</script>`,
		"<script>alert(1)</script> | `x`",
		"a|b\n## c <img src=x onerror=alert(5)>",
		"said \"<script>alert(1)</script> </pre>\"",
		"</pre><script>alert(7)</script>",
	} {
		if !strings.Contains(all, w) {
			t.Errorf("the page does not show %q as text", w)
		}
	}
}
