package policies

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/report"
)

// head is the table's head, before one column per recovery phase and
// the verdict.
var head = []string{"policy", "user-seen failures", "hidden", "first-try failures", "tries/request", "amplification", "p99 ms"}

// cells returns the table's head and rows as text cells.
func (t *Table) cells() (hd []string, rows [][]string) {
	hd = append([]string{}, head...)
	for _, p := range t.Phases {
		hd = append(hd, "recovery after "+p)
	}
	hd = append(hd, "verdict")
	for _, r := range t.Rows {
		row := []string{label(r.Policy),
			fmt.Sprintf("%d (%s)", r.UserFailures, results.Percent(r.UserFailureRate)),
			strconv.Itoa(r.Hidden), results.Percent(r.FirstTryFailureRate),
			results.Ratio(r.TriesPerRequest), results.Ratio(r.Amplification), results.Decimal(r.P99MS)}
		for _, rec := range r.Recovery {
			row = append(row, recoveryCell(rec))
		}
		v := r.Verdict
		if len(r.Failed) > 0 {
			v += fmt.Sprintf(" (%d of %d failed)", len(r.Failed), r.Expectations)
		}
		rows = append(rows, append(row, v))
	}
	return hd, rows
}

// described says what a row's policy is: its description, which begins
// with the name of a built-in policy, after the mapping given otherwise.
func described(r Row) string {
	if strings.HasPrefix(r.Describe, label(r.Policy)+":") {
		return r.Describe
	}
	return label(r.Policy) + ": " + r.Describe
}

// recoveryCell writes a recovery in a cell.
func recoveryCell(r Recovery) string {
	switch {
	case r.State == "recovered" && r.S != nil:
		return results.Secs(*r.S)
	case r.State == "not-recovered":
		return "never"
	}
	return "not measured"
}

// Text writes the table for a terminal.
func Text(w io.Writer, t *Table) error {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s, seed %d, under %d client retry policies\n\n", t.Scenario, t.Seed, len(t.Rows))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	hd, rows := t.cells()
	fmt.Fprintln(tw, strings.Join(hd, "\t")+"\t")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")
	for _, s := range t.Summary {
		b.WriteString(s + "\n")
	}
	if len(t.Summary) > 0 {
		b.WriteString("\n")
	}
	for _, r := range t.Rows {
		fmt.Fprintf(&b, "%s; %s\n", described(r), r.Dir)
		for _, s := range r.Story {
			b.WriteString("  " + s + "\n")
		}
		for _, f := range r.Failed {
			b.WriteString("  FAILED " + f + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Markdown writes the table for a CI summary.
func Markdown(w io.Writer, t *Table) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## gatecrash policies: %s\n\nSeed %d, under %d client retry policies.\n\n", md(t.Scenario), t.Seed, len(t.Rows))
	hd, rows := t.cells()
	b.WriteString("| " + strings.Join(mdAll(hd), " | ") + " |\n|")
	for range hd {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(mdAll(r), " | ") + " |\n")
	}
	b.WriteString("\n")
	for _, s := range t.Summary {
		b.WriteString(md(s) + "\n\n")
	}
	for _, r := range t.Rows {
		fmt.Fprintf(&b, "- %s.", md(described(r)))
		for _, s := range r.Story {
			b.WriteString(" " + md(s))
		}
		for _, f := range r.Failed {
			b.WriteString(" Failed: " + report.MarkdownCode(f) + ".")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// JSON writes the table as JSON, indented.
func JSON(w io.Writer, t *Table) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// md escapes text for a Markdown table cell or paragraph.
func md(s string) string { return report.MarkdownText(s) }

func mdAll(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = md(c)
	}
	return out
}
