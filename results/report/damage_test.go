package report

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/results"
)

// TestOutputsWarnDamaged checks that every format warns of each damaged
// file as it warns of a fault that never bit (text WARNING:, a Markdown
// quote, an HTML banner, escaped, and in JUnit an <error> case so that CI
// notices), says the expectations were not judged, and says nothing of
// damage without any.
func TestOutputsWarnDamaged(t *testing.T) {
	const warning = `The results file is cut: 7 bytes after its last whole record (the 46th) were dropped, so the report covers only the 46 requests read <b>.`
	for _, tt := range []struct {
		name  string
		write func(io.Writer, *results.Report) error
		want  []string
		mark  string // what only damage writes
	}{
		{"text", Text, []string{"\nWARNING: " + warning + "\n", "expectations: none of 3 judged: the run is damaged\n"}, "damaged"},
		{"markdown", Markdown, []string{"\n> **⚠ Damaged**: " + strings.ReplaceAll(warning, "<b>", "&lt;b&gt;") + "\n", "**❌ None of the 3 expectations was judged: the run is damaged.**"}, "Damaged"},
		{"html", HTML, []string{`<p class="banner bad">Damaged: ` + strings.ReplaceAll(warning, "<b>", "&lt;b&gt;") + "</p>", "None of the 3 expectations was judged: the run is damaged."}, "Damaged"},
		{"junit", JUnit, []string{`<testcase classname="gatecrash.upstream-resets" name="file results" time="0">` + "\n" +
			`      <error message="` + strings.ReplaceAll(warning, "<b>", "&lt;b&gt;") + `" type="damaged">results: cut; dropped: 7 bytes after record 46, the last whole one</error>`,
			`<failure message="not measured: the run is damaged" type="expectation">expected masked &gt; 0; not measured: the run is damaged</failure>`}, `type="damaged"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := outputFixture()
			r.Damaged = []results.Damaged{{File: "results", Problem: results.DamageCut, Dropped: "7 bytes after record 46, the last whole one", DroppedBytes: 7, Warning: warning}}
			for _, x := range []string{"rate(status=502) < 5%", "p99(latency) < 250ms", "masked > 0"} {
				r.Expectations = append(r.Expectations, results.Verdict{Expr: x, Detail: "not measured: the run is damaged"})
			}
			var b bytes.Buffer
			if err := tt.write(&b, r); err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.want {
				if !strings.Contains(b.String(), want) {
					t.Errorf("got no %q in:\n%s", want, b.String())
				}
			}
			b.Reset()
			if err := tt.write(&b, outputFixture()); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), tt.mark) {
				t.Errorf("without damage, got %q in:\n%s", tt.mark, b.String())
			}
		})
	}
}

// TestJUnitDamagedCounts: each damaged file is one more test case in
// error, in the suite's and the document's counts.
func TestJUnitDamagedCounts(t *testing.T) {
	r := outputFixture()
	r.Damaged = []results.Damaged{
		{File: "results", Problem: results.DamageEmpty, Warning: "The results file is empty."},
		{File: "expect.json", Problem: results.DamageMissing, Warning: "expect.json is missing."},
	}
	var with, without bytes.Buffer
	if err := JUnit(&with, r); err != nil {
		t.Fatal(err)
	}
	if err := JUnit(&without, outputFixture()); err != nil {
		t.Fatal(err)
	}
	count := func(s, sub string) int { return strings.Count(s, sub) }
	if got, want := count(with.String(), "<testcase "), count(without.String(), "<testcase ")+2; got != want {
		t.Errorf("test cases: got %d, want %d", got, want)
	}
	if got := count(with.String(), `type="damaged"`); got != 2 {
		t.Errorf("damaged errors: got %d, want 2", got)
	}
	if !strings.Contains(with.String(), `errors="2"`) && !strings.Contains(with.String(), `errors="3"`) {
		t.Errorf("the suites' errors do not count the damaged files:\n%s", with.String())
	}
}
