package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// StoryText writes a request's story as text, as gatecrash explain and
// the HTML report's examples show it: one line for the request (seq, when
// it was sent, phase, answer, latency, cause, slow cause), then one per
// event of each attempt, one per line of the gateway's logs, why the
// cause's evidence is of its level, why the answer was slow, and how a
// fault was masked. Strings from a target are written as they are (an
// error cut to a reasonable length, quoted): the caller escapes for its
// output.
func StoryText(w io.Writer, st *results.Story) {
	answer := strconv.Itoa(st.Status)
	if st.Status == 0 {
		answer = "error " + strconv.Quote(scenarios.Cut(st.Error))
	}
	fmt.Fprintf(w, "seq %d  +%.3fs", st.Seq, st.TimeS)
	if st.Phase != "" {
		fmt.Fprintf(w, "  phase %s", st.Phase)
	}
	fmt.Fprintf(w, "  %s  %.1fms", answer, st.LatencyMS)
	if st.Cause != "" {
		fmt.Fprintf(w, "  cause %s (%s)", st.Cause, st.Evidence)
	}
	if st.Slow != "" {
		fmt.Fprintf(w, "  slow %s (%s)", st.Slow, st.SlowEvidence)
	}
	fmt.Fprintln(w)
	for _, at := range st.Attempts {
		try := ""
		if at.Try != 0 {
			try = fmt.Sprintf(" try %d", at.Try)
		}
		for _, e := range at.Events {
			fmt.Fprintf(w, "  attempt %d%s  +%.3fs  %s %s", at.Attempt, try, e.AtS, e.Type, e.Kind)
			if e.Cause != "" {
				fmt.Fprintf(w, " (%s", e.Cause)
				if e.Ended {
					fmt.Fprint(w, ", ended the attempt")
				}
				fmt.Fprint(w, ")")
			}
			if e.Status != 0 {
				fmt.Fprintf(w, " answered %d", e.Status)
			}
			fmt.Fprintf(w, "  conn %d: %s\n", e.Conn, e.Detail)
		}
	}
	for _, t := range st.Gateway {
		fmt.Fprintf(w, "  gateway %s  +%.3fs", t.Gateway, t.AtS)
		if t.Status != 0 {
			fmt.Fprintf(w, "  answered %d", t.Status)
		}
		if len(t.Upstream) > 0 {
			fmt.Fprintf(w, "  upstream %s", strings.Join(t.Upstream, ", "))
		}
		switch {
		case t.Retries == 1:
			fmt.Fprint(w, "  1 retry")
		case t.Retries > 1:
			fmt.Fprintf(w, "  %d retries", t.Retries)
		}
		if t.WaitMS != nil {
			fmt.Fprintf(w, "  held %.0fms before its last try", *t.WaitMS)
		}
		if t.Words != "" {
			fmt.Fprintf(w, "  said %q", t.Words)
		}
		fmt.Fprintln(w)
	}
	if st.Why != "" {
		fmt.Fprintf(w, "  why %s: %s\n", st.Evidence, st.Why)
	}
	if st.SlowWhy != "" {
		fmt.Fprintf(w, "  slow %s: %s\n", st.SlowEvidence, st.SlowWhy)
	}
	if st.Masked != "" {
		fmt.Fprintf(w, "  masked: %s\n", st.Masked)
	}
}
