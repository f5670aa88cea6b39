package compare

import (
	"strconv"
)

// Limit is how far a metric may move in its bad direction before
// the move counts: in percent of the base value for latencies and the
// rate, in percentage points for shares, in seconds for recovery. A move
// must be beyond (greater than) Value. Off turns the check off; the
// metric is still shown. The zero Limit allows no move at all.
type Limit struct {
	Value float64
	Off   bool
}

// Limits holds the limit of every metric compare checks. Start from
// DefaultLimits: the zero Limits allows no move at all.
type Limits struct {
	P50Increase      Limit // percent
	P99Increase      Limit // percent
	RateDecrease     Limit // percent
	Share502Increase Limit // percentage points
	Share503Increase Limit // percentage points
	Share504Increase Limit // percentage points
	ErrorIncrease    Limit // percentage points
	RecoveryIncrease Limit // seconds
	// UserFailureIncrease and AmplificationIncrease limit the client
	// retry metrics, checked only when both reports have retries.
	UserFailureIncrease   Limit // percentage points
	AmplificationIncrease Limit // percent
}

// DefaultLimits returns compare's default limits, as docs/compare.md
// lists them.
func DefaultLimits() Limits {
	return Limits{
		P50Increase:      Limit{Value: 10},
		P99Increase:      Limit{Value: 10},
		RateDecrease:     Limit{Value: 1},
		Share502Increase: Limit{Value: 0.5},
		Share503Increase: Limit{Value: 0.5},
		Share504Increase: Limit{Value: 0.5},
		ErrorIncrease:    Limit{Value: 0.5},
		RecoveryIncrease: Limit{Value: 1},

		UserFailureIncrease:   Limit{Value: 0.5},
		AmplificationIncrease: Limit{Value: 10},
	}
}

// Options are the settings of a comparison.
type Options struct {
	// Alpha is the significance level of each test; zero means 0.01.
	Alpha float64
	// MinBuckets is the fewest buckets each side needs for a test; with
	// fewer, a change beyond its limit is "not enough data to test" and
	// not a regression. Zero means 5; less than 2 counts as 2.
	MinBuckets int
	// NoTest skips the tests: every change beyond its limit is a
	// regression.
	NoTest bool
	// Limits are the limits of the checks.
	Limits Limits
}

func (o Options) withDefaults() Options {
	if !(o.Alpha > 0) {
		o.Alpha = 0.01
	}
	if o.MinBuckets == 0 {
		o.MinBuckets = 5
	}
	o.MinBuckets = max(o.MinBuckets, 2)
	return o
}

// limitFlags writes the limits as their flags take them; those of the
// client retry metrics only when retries says they are compared.
func limitFlags(l Limits, retries bool) map[string]string {
	m := map[string]string{}
	defs := metricDefs
	if retries {
		defs = append(append([]metricDef{}, metricDefs...), retryMetricDefs...)
	}
	for k := range defs {
		if mt := &defs[k]; mt.flag != "" {
			m[mt.flag] = FormatLimit(mt.limit(&l), mt.changeUnit)
		}
	}
	m[recoveryFlag] = FormatLimit(l.RecoveryIncrease, "s")
	return m
}

// FormatLimit writes a limit as its flag takes it: 10%, 0.5pp, 1s, off.
func FormatLimit(l Limit, unit string) string {
	if l.Off {
		return "off"
	}
	return strconv.FormatFloat(l.Value, 'f', -1, 64) + unit
}
