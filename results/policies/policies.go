package policies

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Schema identifies the JSON format of a Table.
const Schema = "gatecrash/policies/v1"

// Table is one scenario run under several client retry policies, one Row
// per policy, the baseline (policy none) first.
type Table struct {
	// Schema is always "gatecrash/policies/v1".
	Schema string `json:"schema"`
	// Scenario is the scenario's name; Seed the seed every run used.
	Scenario string `json:"scenario"`
	Seed     uint64 `json:"seed"`
	// Threshold is the share of a timeline bucket's requests that fail
	// for the bucket to count as failing, in every recovery.
	Threshold float64 `json:"threshold"`
	// Phases names the phases recovery is measured after, in the
	// scenario's order: those whose next phase keeps only some of their
	// faults. Every Row has a Recovery for each.
	Phases []string `json:"phases"`
	// Rows are the policies, in the order given, the baseline first.
	Rows []Row `json:"rows"`
	// Summary says, in sentences, which policy recovered soonest after
	// each phase of Phases and why the others did not.
	Summary []string `json:"summary"`
}

// Row is what one policy's run bought and cost.
type Row struct {
	// Policy is the policy as given (a name, or a mapping); Describe is
	// the policy in words, as gatecrash validate prints it.
	Policy   string `json:"policy"`
	Describe string `json:"describe"`
	// Dir is the run's folder.
	Dir string `json:"dir"`
	// Requests counts the requests (first tries).
	Requests int `json:"requests"`
	// UserFailures counts the requests whose outcome, as users saw it,
	// was not a 2xx or 3xx answered in full; UserFailureRate is over
	// Requests.
	UserFailures    int     `json:"user_failures"`
	UserFailureRate float64 `json:"user_failure_rate"`
	// FirstTryFailureRate is the share of requests whose first try
	// failed; Hidden counts the requests whose first try failed and whose
	// last succeeded: the errors the policy hid.
	FirstTryFailureRate float64 `json:"first_try_failure_rate"`
	Hidden              int     `json:"hidden"`
	// TriesPerRequest is the load on the gateway per request;
	// Amplification the arrivals at the upstream per request (the
	// client's retries times the gateway's).
	TriesPerRequest float64 `json:"tries_per_request"`
	Amplification   float64 `json:"amplification"`
	// P99MS is the p99 of the latencies users saw (backoffs included),
	// over the whole run, in milliseconds.
	P99MS float64 `json:"p99_ms"`
	// Recovery is, for each phase of Table.Phases, whether and how soon
	// after it the failures users saw fell back under the threshold.
	Recovery []Recovery `json:"recovery"`
	// Surge is the longest stretch in which the retries multiplied the
	// load on the upstream by 1.5 or more; null when they never did.
	Surge *results.Surge `json:"surge"`
	// Expectations counts the scenario's expectations; Failed lists
	// those that failed under this policy.
	Expectations int      `json:"expectations"`
	Failed       []string `json:"failed"`
	// Verdict is "pass" when every expectation held, "fail" when one
	// failed or the run was aborted, "broken" when the run was
	// interrupted or its folder is damaged.
	Verdict string `json:"verdict"`
	// Story says, in sentences, how the failures users saw fell back
	// after each phase, and what the retries did to the load.
	Story []string `json:"story"`
}

// Recovery is whether and how soon the failures users saw fell back under
// the threshold after a phase.
type Recovery struct {
	Phase string `json:"phase"`
	// State is "recovered", "not-recovered" or "not-measured".
	State string `json:"state"`
	// S is how long after the phase's end, null unless recovered.
	S *float64 `json:"s"`
}

// Verdicts of a Row.
const (
	Pass   = "pass"
	Fail   = "fail"
	Broken = "broken"
)

// Run is one policy's run, as Build takes it.
type Run struct {
	// Policy is the policy as given; Retry is the policy itself.
	Policy string
	Retry  *scenarios.Retry
	// Dir is the run's folder; Report its report.
	Dir    string
	Report *results.Report
}

// Build sets the runs side by side. The runs are of one scenario with
// one seed; the first is the baseline.
func Build(runs []Run) *Table {
	t := &Table{Schema: Schema, Phases: []string{}, Rows: []Row{}, Summary: []string{}}
	if len(runs) == 0 {
		return t
	}
	first := runs[0].Report
	t.Scenario, t.Seed, t.Threshold = first.Scenario, first.Seed, first.Analysis.WithDefaults().Threshold
	for _, p := range first.Phases {
		if rec, ok := p.OtherRecovery[scenarios.ClassUserFailure]; ok && p.RecoveryUntilS != nil && rec.State != "" {
			t.Phases = append(t.Phases, p.Name)
		}
	}
	for _, r := range runs {
		t.Rows = append(t.Rows, rowOf(r, t.Phases))
	}
	t.Summary = summary(t)
	return t
}

// rowOf reads one run's report.
func rowOf(r Run, phases []string) Row {
	rep := r.Report
	row := Row{Policy: r.Policy, Describe: r.Retry.String(), Dir: r.Dir, Requests: rep.Totals.Requests,
		Recovery: []Recovery{}, Failed: []string{}, Story: rep.RetryRecovery(), Expectations: len(rep.Expectations)}
	if row.Story == nil {
		row.Story = []string{}
	}
	if x := rep.Retries; x != nil {
		row.Requests, row.UserFailures, row.UserFailureRate = x.Requests, x.UserFailures, x.UserFailureRate
		row.FirstTryFailureRate, row.Hidden = x.FirstTryFailureRate, x.Hidden
		row.TriesPerRequest, row.Amplification, row.Surge = x.TriesPerRequest, x.Amplification, x.Surge
	} else {
		// A run without tries.jsonl: one try per request, as the answers say.
		ok := 0
		for code, n := range rep.Totals.Status {
			if code >= "200" && code < "400" && len(code) == 3 {
				ok += n
			}
		}
		row.UserFailures = rep.Totals.Requests - ok
		if row.Requests > 0 {
			row.UserFailureRate = round(float64(row.UserFailures) / float64(row.Requests))
			row.FirstTryFailureRate, row.TriesPerRequest = row.UserFailureRate, 1
		}
	}
	var h results.Histogram
	for _, p := range rep.Phases {
		if p.Histogram != nil {
			h.Merge(p.Histogram)
		}
	}
	if h.Count() > 0 {
		row.P99MS = round(float64(h.Quantile(0.99)) / float64(time.Millisecond))
	}
	for _, name := range phases {
		rec := Recovery{Phase: name, State: "not-measured"}
		for _, p := range rep.Phases {
			if got, ok := p.OtherRecovery[scenarios.ClassUserFailure]; ok && p.Name == name {
				rec.State, rec.S = got.State, got.S
			}
		}
		row.Recovery = append(row.Recovery, rec)
	}
	for _, v := range rep.Expectations.Failed() {
		row.Failed = append(row.Failed, v.Expr)
	}
	switch {
	case rep.Interrupted && rep.Aborted == nil, len(rep.Damaged) > 0:
		row.Verdict = Broken
	case rep.Aborted != nil, len(row.Failed) > 0:
		row.Verdict = Fail
	default:
		row.Verdict = Pass
	}
	return row
}

// summary says, for each phase recovery is measured after, which policy
// recovered soonest, and why the slowest did not, with its surge of
// retries when it had one.
func summary(t *Table) []string {
	out := []string{}
	for i, phase := range t.Phases {
		type ranked struct {
			row *Row
			s   float64 // +Inf: not recovered
		}
		var rs []ranked
		for j := range t.Rows {
			row := &t.Rows[j]
			switch rec := row.Recovery[i]; {
			case rec.State == "recovered" && rec.S != nil:
				rs = append(rs, ranked{row, *rec.S})
			case rec.State == "not-recovered":
				rs = append(rs, ranked{row, math.Inf(1)})
			}
		}
		if len(rs) == 0 {
			continue
		}
		sort.SliceStable(rs, func(a, b int) bool { return rs[a].s < rs[b].s })
		best, worst := rs[0], rs[len(rs)-1]
		var names []string
		for _, r := range rs {
			if r.s == best.s {
				names = append(names, label(r.row.Policy))
			}
		}
		line := fmt.Sprintf("After phase %s, %s recovered soonest: %s.", phase, andList(names), recoveredWords(best.s, t.Threshold))
		if worst.s > best.s {
			line += fmt.Sprintf(" %s recovered last: %s", label(worst.row.Policy), recoveredWords(worst.s, t.Threshold))
			if g := worst.row.Surge; g != nil {
				line += ", while its retries " + g.String()
			}
			line += "."
		}
		out = append(out, line)
	}
	return out
}

// recoveredWords says how soon the failures fell back: "the failures users
// saw fell under 1.0% at once", "... within 2.0s", "... never fell under
// 1.0%".
func recoveredWords(s, threshold float64) string {
	switch {
	case math.IsInf(s, 1):
		return "the failures users saw never fell under " + results.Percent(threshold)
	case s == 0:
		return "the failures users saw fell under " + results.Percent(threshold) + " at once"
	}
	return "the failures users saw fell under " + results.Percent(threshold) + " within " + results.Secs(s)
}

// Failed reports whether an expectation failed, or a run was aborted,
// under some policy.
func (t *Table) Failed() bool {
	for _, r := range t.Rows {
		if r.Verdict == Fail {
			return true
		}
	}
	return false
}

// round keeps three decimals, as the report does.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// andList writes names as "a", "a and b", "a, b and c".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// label is a policy's name in the table's text: its mapping on one line.
func label(p string) string { return strings.Join(strings.Fields(p), " ") }
