package results

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteText writes the report for a terminal: per phase the requests,
// rates, status counts and latency; then when 502s first appeared; then
// their causes.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	state := ""
	if r.Interrupted {
		state = " INTERRUPTED"
	}
	fmt.Fprintf(&b, "scenario %s, seed %d, started %s, %.1fs%s\n\n", r.Scenario, r.Seed, r.Started.UTC().Format("2006-01-02T15:04:05Z"), r.DurationS, state)

	codes := statusCodes(r)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"phase", "start", "end", "offered/s", "achieved/s", "requests"}
	head = append(head, codes...)
	head = append(head, "errors", "p50 ms", "p90 ms", "p99 ms", "max ms")
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	row := func(name string, start, end, offered, achieved float64, requests int, status map[string]int, errs int, l *Latency) {
		cells := []string{name, secs(start), secs(end), "", "", strconv.Itoa(requests)}
		if l != nil {
			cells[3], cells[4] = num(offered), num(achieved)
		}
		for _, c := range codes {
			cells = append(cells, strconv.Itoa(status[c]))
		}
		cells = append(cells, strconv.Itoa(errs))
		if l != nil {
			cells = append(cells, num(l.P50), num(l.P90), num(l.P99), num(l.Max))
		} else {
			cells = append(cells, "", "", "", "")
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	for _, p := range r.Phases {
		row(p.Name, p.StartS, p.EndS, p.OfferedRate, p.AchievedRate, p.Requests, p.Status, p.Errors, &p.LatencyMS)
	}
	row("total", 0, r.DurationS, 0, 0, r.Totals.Requests, r.Totals.Status, r.Totals.Errors, nil)
	tw.Flush()

	b.WriteString("\n")
	if r.Onset.First502S == nil {
		b.WriteString("no 502 Bad Gateway answers\n")
	} else {
		fmt.Fprintf(&b, "first 502 at %s, in phase %s\n", secs(*r.Onset.First502S), *r.Onset.First502Phase)
	}
	if len(r.Causes) > 0 {
		b.WriteString("\ncauses of 502:\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  cause\tcount\tshare\texact\ttemporal\tsignature\tnone")
		for _, c := range r.Causes {
			fmt.Fprintf(tw, "  %s\t%d\t%.1f%%\t%d\t%d\t%d\t%d\n", c.Cause, c.Count, 100*c.Share, c.Evidence.Exact, c.Evidence.Temporal, c.Evidence.Signature, c.Evidence.None)
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// statusCodes lists every status code in the report, in order.
func statusCodes(r *Report) []string {
	codes := make([]string, 0, len(r.Totals.Status))
	for c := range r.Totals.Status {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return codes
}

func secs(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "s" }

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
