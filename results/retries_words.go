package results

// What the client retry policy bought and cost, in words every report
// format shares.

import (
	"fmt"
	"strconv"
	"strings"
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
