package results

// What the client retry policy bought and cost, in words every report
// format shares.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gatecrash/gatecrash/scenarios"
)

// Ratio writes a ratio such as an amplification with two decimals: "1.60".
func Ratio(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// Bought says what the retries bought, e.g. "The client's retries hid 1
// of 4 first-try failures: 60.0% of requests failed as users saw them,
// against 80.0% on the first try."
func (r *Retries) Bought() string {
	if r.Requests == 0 {
		return "The client retry policy had no request to retry."
	}
	return fmt.Sprintf("The client's retries hid %d of %s: %s of requests failed as users saw them, against %s on the first try.",
		r.Hidden, counted(r.FirstTryFailures, "first-try failure", "first-try failures"), Percent(r.UserFailureRate), Percent(r.FirstTryFailureRate))
}

// Cost says what the retries cost, e.g. "They cost 1.60 tries per request
// at the gateway and 1.60 arrivals per request at the upstream (1 of them
// the gateway's own retries); ...".
func (r *Retries) Cost() string {
	if r.Requests == 0 {
		return ""
	}
	parts := []string{fmt.Sprintf("They cost %s tries per request at the gateway and %s arrivals per request at the upstream",
		Ratio(r.TriesPerRequest), Ratio(r.Amplification))}
	if r.GatewayRetries > 0 {
		parts[0] += fmt.Sprintf(" (%s of the gateway's own)", counted(r.GatewayRetries, "retry", "retries"))
	}
	if r.Hidden > 0 {
		parts = append(parts, fmt.Sprintf("the requests that succeeded after a retry took %s ms more at p50, %s ms at p99",
			Decimal(r.AddedLatencyMS.P50), Decimal(r.AddedLatencyMS.P99)))
	}
	if r.BudgetExhausted > 0 && r.BudgetFirstS != nil {
		parts = append(parts, fmt.Sprintf("the retry budget refused %s, the first at %s", counted(r.BudgetExhausted, "retry", "retries"), instant(*r.BudgetFirstS)))
	}
	if r.RetryAfter > 0 {
		parts = append(parts, fmt.Sprintf("%s waited as Retry-After asked", counted(r.RetryAfter, "try", "tries")))
	}
	return strings.Join(parts, "; ") + "."
}

// counted says "1 retry", "2 retries".
func counted(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// SurgeWords says when the retries multiplied the load on the upstream,
// e.g. "the retries multiplied the load reaching the upstream by 2.90
// from 6.0s to 14.0s (290.0/s for 100.0/s offered)"; "" without a surge.
func (r *Retries) SurgeWords() string {
	if r.Surge == nil {
		return ""
	}
	return "the retries " + r.Surge.String()
}

// String says what the retries did over the surge, e.g. "multiplied the
// load reaching the upstream by 2.90 from 6.0s to 14.0s (290.0/s for
// 100.0/s offered)".
func (g *Surge) String() string {
	return fmt.Sprintf("multiplied the load reaching the upstream by %s from %s to %s (%s/s for %s/s offered)",
		Ratio(g.Amplification), Secs(g.FromS), Secs(g.ToS), Decimal(g.UpstreamRate), Decimal(g.OfferedRate))
}

// RetryRecovery says, with a client retry policy, whether the failures
// users saw fell back after each phase whose faults (some of them) ended,
// and why not, when a surge of retries overlapped the failures that
// outlasted the phase: "After phase spike the failures users saw stayed
// over 10.0% for 8.0s: the retries multiplied the load reaching the
// upstream by 2.90 from 6.0s to 14.0s (290.0/s for 100.0/s offered)."
// A surge that explains no phase's failures is said alone.
func (r *Report) RetryRecovery() []string {
	if r.Retries == nil {
		return nil
	}
	var out []string
	surge, told := r.Retries.SurgeWords(), false
	for _, p := range r.Phases {
		rec, ok := p.OtherRecovery[scenarios.ClassUserFailure]
		if !ok || rec.State == "not-measured" {
			continue
		}
		line := ""
		switch {
		case rec.State == "recovered" && rec.S != nil && *rec.S == 0:
			line = fmt.Sprintf("After phase %s the failures users saw fell under %s at once", p.Name, Percent(r.Analysis.Threshold))
		case rec.State == "recovered" && rec.S != nil:
			line = fmt.Sprintf("After phase %s the failures users saw stayed over %s for %s", p.Name, Percent(r.Analysis.Threshold), Secs(*rec.S))
		default:
			until := p.EndS
			if p.RecoveryUntilS != nil {
				until = *p.RecoveryUntilS
			}
			line = fmt.Sprintf("After phase %s the failures users saw never fell under %s (to %s)", p.Name, Percent(r.Analysis.Threshold), Secs(until))
		}
		// The surge explains failures that outlasted the phase when it
		// overlaps them.
		lasted := p.EndS
		switch {
		case rec.State == "recovered" && rec.S != nil:
			lasted += *rec.S
		case p.RecoveryUntilS != nil:
			lasted = *p.RecoveryUntilS
		}
		if g := r.Retries.Surge; g != nil && !told && lasted > p.EndS && g.FromS < lasted && g.ToS > p.EndS {
			line += ": " + surge
			told = true
		}
		out = append(out, line+".")
	}
	if !told && surge != "" {
		out = append(out, strings.ToUpper(surge[:1])+surge[1:]+".")
	}
	return out
}
