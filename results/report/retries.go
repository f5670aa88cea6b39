package report

import (
	"strconv"

	"github.com/gatecrash/gatecrash/results"
)

// retryHead heads the table of what the client retry policy bought and
// cost, in every format.
var retryHead = []string{"phase", "requests", "tries/req", "first-try fail", "user fail", "hidden", "upstream/req", "gateway retries", "added p50 ms", "added p99 ms", "budget refused", "retry-after"}

// retryRows returns the table's rows: a row per phase with requests, and
// the total.
func retryRows(r *results.Report) [][]string {
	row := func(name string, x *results.Retries) []string {
		return []string{name, strconv.Itoa(x.Requests), results.Ratio(x.TriesPerRequest), results.Percent(x.FirstTryFailureRate),
			results.Percent(x.UserFailureRate), strconv.Itoa(x.Hidden), results.Ratio(x.Amplification), strconv.Itoa(x.GatewayRetries),
			results.Decimal(x.AddedLatencyMS.P50), results.Decimal(x.AddedLatencyMS.P99), strconv.Itoa(x.BudgetExhausted), strconv.Itoa(x.RetryAfter)}
	}
	var rows [][]string
	for _, p := range r.Phases {
		if p.Retries != nil {
			rows = append(rows, row(p.Name, p.Retries))
		}
	}
	return append(rows, row("total", r.Retries))
}
