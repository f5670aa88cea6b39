package compare

import (
	"fmt"

	"github.com/gatecrash/gatecrash/results"
)

// Flags of the client retry limits.
const (
	userFailureFlag   = "max-user-failure-increase"
	amplificationFlag = "max-amplification-increase"
)

// retryMetricDefs are the metrics of the client retry policy
// (report.json's retries), in their order: compared only when both
// reports have retries, after the other metrics of a phase and of
// overall.
var retryMetricDefs = []metricDef{
	retryShareMetric("user_failure_rate", "user-seen failures", 1, userFailureFlag,
		func(l *Limits) Limit { return l.UserFailureIncrease },
		func(r *results.Retries) int { return r.UserFailures }),
	retryShareMetric("first_try_failure_rate", "first-try failures", 1, "", nil,
		func(r *results.Retries) int { return r.FirstTryFailures }),
	// Hidden errors are what the policy bought: fewer is the bad way,
	// though it also falls when fewer first tries fail, hence no limit.
	retryShareMetric("hidden_share", "hidden errors", -1, "", nil,
		func(r *results.Retries) int { return r.Hidden }),
	retryRatioMetric("tries_per_request", "tries per request", "", nil,
		func(r *results.Retries) int { return r.Tries }),
	retryRatioMetric("amplification", "amplification", amplificationFlag,
		func(l *Limits) Limit { return l.AmplificationIncrease },
		func(r *results.Retries) int { return r.UpstreamArrivals }),
	{key: "budget_refused", label: "budget-refused retries", unit: "count", changeUnit: "count", worse: 1,
		value: func(v *view) (float64, bool) {
			if v.retries == nil {
				return 0, false
			}
			return float64(v.retries.BudgetExhausted), true
		},
		sample: retrySample(func(r *results.Retries) (float64, bool) { return float64(r.BudgetExhausted), true })},
}

// retryShareMetric is a share of the requests, in pp.
func retryShareMetric(key, label string, worse int, flag string, limit func(*Limits) Limit, count func(*results.Retries) int) metricDef {
	share := func(r *results.Retries) (float64, bool) {
		if r.Requests <= 0 {
			return 0, false
		}
		return float64(count(r)) / float64(r.Requests), true
	}
	return metricDef{key: key, label: label, unit: "share", changeUnit: "pp", worse: worse, flag: flag, limit: limit,
		value:  retryValue(share),
		sample: retrySample(share)}
}

// retryRatioMetric is a count per request, a ratio whose change is in %
// of BASE; higher is worse.
func retryRatioMetric(key, label, flag string, limit func(*Limits) Limit, count func(*results.Retries) int) metricDef {
	ratio := func(r *results.Retries) (float64, bool) {
		if r.Requests <= 0 {
			return 0, false
		}
		return float64(count(r)) / float64(r.Requests), true
	}
	return metricDef{key: key, label: label, unit: "x", changeUnit: "%", worse: 1, flag: flag, limit: limit,
		value:  retryValue(ratio),
		sample: retrySample(ratio)}
}

func retryValue(f func(*results.Retries) (float64, bool)) func(*view) (float64, bool) {
	return func(v *view) (float64, bool) {
		if v.retries == nil {
			return 0, false
		}
		return f(v.retries)
	}
}

// retrySample is a bucket's sample: only a bucket some request was first
// sent in has one.
func retrySample(f func(*results.Retries) (float64, bool)) func(*results.Bucket) (float64, bool) {
	return func(b *results.Bucket) (float64, bool) {
		if b.Retries == nil || b.Retries.Requests <= 0 {
			return 0, false
		}
		return f(b.Retries)
	}
}

// addRetries sums r into the totals of a view; rates are worked out from
// the counts when a metric reads them.
func addRetries(sum *results.Retries, r *results.Retries) {
	if r == nil {
		return
	}
	sum.Requests += r.Requests
	sum.Tries += r.Tries
	sum.FirstTryFailures += r.FirstTryFailures
	sum.UserFailures += r.UserFailures
	sum.Hidden += r.Hidden
	sum.UpstreamArrivals += r.UpstreamArrivals
	sum.GatewayRetries += r.GatewayRetries
	sum.BudgetExhausted += r.BudgetExhausted
	sum.RetryAfter += r.RetryAfter
}

// retriesCompared says whether both reports have client retries, and
// when only one does, the line that says so.
func retriesCompared(base, cur *results.Report, opt Options) (both bool, onlyIn, line string) {
	switch {
	case base.Retries != nil && cur.Retries != nil:
		return true, "", ""
	case base.Retries != nil:
		return false, "base", retriesOnlyLine("BASE", base.Retries.Policy)
	case cur.Retries != nil:
		return false, "new", retriesOnlyLine("NEW", cur.Retries.Policy)
	}
	return false, "", ""
}

// retriesOnlyLine says that one side only had a client retry policy.
func retriesOnlyLine(side, policy string) string {
	if policy != "" {
		policy = fmt.Sprintf(" (policy %s)", policy)
	}
	return fmt.Sprintf("client retries: only in %s%s: not compared", side, policy)
}
