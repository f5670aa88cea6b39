package results

import vegeta "github.com/tsenart/vegeta/v12/lib"

// The causes of slow answers: why an answer that is not a failure took
// at least Slow.ThresholdMS. Stable names, used in every report format
// and by gatecrash explain --slow.
const (
	// SlowInjected: a fault of the proxy (latency, slow-headers,
	// slow-body) held back the attempt that answered. Exact.
	SlowInjected = "injected-latency"
	// SlowGatewayRetried: the gateway retried the request at the upstream
	// (the proxy saw the same seq again, or the gateway's log says so):
	// the failed attempts before the one that answered cost the time.
	// Exact when the proxy saw the retry, signature from the log alone.
	SlowGatewayRetried = "gateway-retried"
	// SlowClientRetried: the client's retry policy sent the request
	// again; the earlier tries cost the time. Exact.
	SlowClientRetried = "client-retried"
	// SlowConnectRetried: the request was in flight while the proxy's
	// listener refused connections (a refuse fault): the gateway retried
	// its connect until the listener opened again. Temporal.
	SlowConnectRetried = "connect-retried"
	// SlowOverloadQueued: the proxy's overload fault queued the request
	// for a slot. Exact.
	SlowOverloadQueued = "overload-queued"
	// SlowGatewayQueued: nothing at the proxy held the request back, and
	// the gateway's own log says it spent the time before the upstream
	// answered (waiting in its queue, connecting). Signature.
	SlowGatewayQueued = "gateway-queueing"
	// SlowUnexplained: none of the above.
	SlowUnexplained = "unexplained"
)

// Where a slow threshold comes from (Slow.From).
const (
	SlowFromFlag        = "flag"        // the --slow flag (Options.Slow)
	SlowFromExpectation = "expectation" // the scenario's smallest latency bound
	SlowFromBaseline    = "baseline"    // 3x the baseline's p99, at least its p99 + 50ms
	SlowFromDefault     = "default"     // no baseline: 1s
)

// Slow says which answers were slow and why: every request answered
// (a status, not a failure class) in at least ThresholdMS gets a cause
// of slowness with its evidence, as failures get theirs.
type Slow struct {
	// ThresholdMS is the slow threshold in milliseconds, and From where
	// it comes from (SlowFromFlag, ...); Expectation is the expectation
	// it was taken from, when From is "expectation".
	ThresholdMS float64 `json:"threshold_ms"`
	From        string  `json:"from"`
	Expectation string  `json:"expectation,omitempty"`
	// Baseline is the latency of the answers no fault touched (2xx and
	// 3xx, no fault event, not retried), in the phases without faults,
	// or, when every phase has one, in every phase.
	Baseline SlowBaseline `json:"baseline"`
	// Answers counts the requests answered with a status that is not a
	// failure; Count those of them that were slow.
	Answers int `json:"answers"`
	Count   int `json:"count"`
	// Causes are the causes of the slow answers over the whole run, most
	// frequent first.
	Causes []SlowCause `json:"causes"`
}

// SlowBaseline is the latency of the answers no fault touched.
type SlowBaseline struct {
	// Scope is "quiet-phases" (phases without faults) or "untouched" (no
	// such phase: the untouched answers of every phase).
	Scope    string  `json:"scope"`
	Requests int     `json:"requests"`
	P50MS    float64 `json:"p50_ms"`
	P99MS    float64 `json:"p99_ms"`
}

// SlowCause is one cause of slow answers.
type SlowCause struct {
	// Cause is one of the Slow constants (injected-latency, ...).
	Cause string `json:"cause"`
	// Count is how many slow answers it explains; Share is Count over
	// every slow answer of the scope (the run or the phase).
	Count int     `json:"count"`
	Share float64 `json:"share"`
	// Evidence says how the answers were tied to the cause.
	Evidence Evidence `json:"evidence"`
	// LatencyMS is the range of their latencies; AddedMS of what each
	// took over the baseline's p50.
	LatencyMS Range `json:"latency_ms"`
	AddedMS   Range `json:"added_ms"`
}

// Range is the smallest, median and largest of some figures.
type Range struct {
	Min float64 `json:"min"`
	P50 float64 `json:"p50"`
	Max float64 `json:"max"`
}

// PhaseSlow is Slow over the requests sent in one phase.
type PhaseSlow struct {
	Answers int         `json:"answers"`
	Count   int         `json:"count"`
	Causes  []SlowCause `json:"causes"`
}

// MaskedPrice is what the masked faults of one kind cost in one phase:
// the latency they added to the requests that survived them, and the
// attempts at the upstream they added.
type MaskedPrice struct {
	Kind  string `json:"kind"`
	Phase string `json:"phase"`
	// Faults counts the masked faults; Requests the requests they hit.
	Faults   int `json:"faults"`
	Requests int `json:"requests"`
	// AddedMS is the latency the requests took over the baseline's p50,
	// summed over Requests, and the largest; ExtraAttempts the attempts
	// at the upstream beyond each request's first, summed.
	AddedMS       float64 `json:"added_ms"`
	AddedMaxMS    float64 `json:"added_max_ms"`
	ExtraAttempts int     `json:"extra_attempts"`
}

// Advice is one setting of the gateway to change, from a rule of
// results/advice, with the figure the run measured that justifies it.
type Advice struct {
	// Rule is the rule's stable name, such as nginx-read-timeout.
	Rule string `json:"rule"`
	// Gateway is the gateway kind; Setting the directive; Current its
	// value in the configuration the run used ("unset (default 60s)");
	// Suggest what to set it to, or how to change it.
	Gateway string `json:"gateway"`
	Setting string `json:"setting"`
	Current string `json:"current"`
	Suggest string `json:"suggest"`
	// Cause is the failure or slow-answer cause it answers; Evidence the
	// measured figure, in words ("112 answers 504 after 1.0s while
	// the upstream's p99 was 1.4s").
	Cause    string `json:"cause"`
	Evidence string `json:"evidence"`
}

// Slowness returns the cause of slowness a result gets if it is slow (a
// Slow constant), its evidence level (exact, temporal, signature, none)
// and why, in plain words, whatever its latency: the caller compares the
// latency with the threshold (Report.Slow.ThresholdMS). A result of a
// failure class (a 5xx, no answer, a stream cut or stalled) gets "": its
// cause is Explain's. Call it after every event and testimony is in, as
// Explain.
func (a *Analyzer) Slowness(r *vegeta.Result) (cause, evidence, why string) {
	a.finishEvidence()
	if classOf(r.Code, r.Error) != "" {
		return "", "", ""
	}
	return SlowUnexplained, "none", "nothing at the proxy or in the gateway's log held it back" // TODO(lead): the analysis
}
