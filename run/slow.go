package run

import (
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// SlowBound returns the slow threshold the expectations set: the smallest
// bound of a latency expectation with < or <= (p99(latency) < 250ms), and
// its text; zero and "" when none sets one. An answer that breaks the
// bound, or comes near it, is what the user calls slow.
func SlowBound(exps []scenarios.Expectation) (time.Duration, string) {
	var best time.Duration
	text := ""
	for _, e := range exps {
		if e.Metric != scenarios.MetricLatency || (e.Op != "<" && e.Op != "<=") {
			continue
		}
		ms := e.Value / e.Scale()
		d := time.Duration(ms * float64(time.Millisecond))
		if d > 0 && (best == 0 || d < best) {
			best, text = d, e.Expr
		}
	}
	return best, text
}
