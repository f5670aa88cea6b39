package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Schema identifies the report.json format; docs/report.md describes
// every field.
const Schema = "gatecrash/report/v1"

// Report is report.json. Times are seconds from Started; rates are per
// second; latencies are milliseconds.
type Report struct {
	// Schema is always "gatecrash/report/v1".
	Schema string `json:"schema"`
	// Scenario is the scenario's name.
	Scenario string `json:"scenario"`
	// Seed is the seed of every fault decision; run again with it to get
	// the same decisions.
	Seed uint64 `json:"seed"`
	// Interrupted is true when the run was stopped before its end:
	// interrupted, or aborted.
	Interrupted bool `json:"interrupted"`
	// Aborted says why the run was stopped early when an expectation with
	// abort: true failed for good; nil otherwise.
	Aborted *string `json:"aborted"`
	// Started is when the attack began: the zero of every time.
	Started time.Time `json:"started"`
	// DurationS runs from Started to the end of the last request.
	DurationS float64 `json:"duration_s"`
	// Analysis holds the settings the report was made with.
	Analysis Options `json:"analysis"`
	// Diagnosis says in one paragraph when 502s began and why.
	Diagnosis string `json:"diagnosis"`
	// Expectations are the verdicts of the scenario's expectations, in
	// its order; see [Report.SetExpectations].
	Expectations Verdicts `json:"expectations"`
	// Gateway is the gateway kind and how it is known.
	Gateway Gateway `json:"gateway"`
	// Totals count the whole run.
	Totals Totals `json:"totals"`
	// Phases are in the scenario's order.
	Phases []PhaseReport `json:"phases"`
	// Timeline has one bucket per Analysis.BucketS of the run.
	Timeline []Bucket `json:"timeline"`
	// Onset says when 502s appeared; OtherOnsets the same for 503, 504,
	// every other 5xx code seen, and "error" (requests without an answer).
	Onset       Onset            `json:"onset"`
	OtherOnsets map[string]Onset `json:"other_onsets"`
	// Causes of 502s, most frequent first; OtherCauses the same for the
	// other failure classes seen, by class.
	Causes      []Cause            `json:"causes"`
	OtherCauses map[string][]Cause `json:"other_causes"`
	// Masked accounts for the faults that did not end in a failure.
	Masked Masked `json:"masked"`
	// Retries says what the client retry policy bought and cost over the
	// whole run; absent from report.json when the run had no policy.
	Retries *Retries `json:"retries,omitempty"`
	// Correlations tie each fault kind's timeline to the 502 timeline.
	Correlations []Correlation `json:"correlations"`
	// Unapplied are the faults that never bit: never applied, or far
	// fewer times than their probability implies; see [Unapplied]. Every
	// report format warns of each.
	Unapplied []Unapplied `json:"unapplied"`
	// Damaged lists the files of the run folder that are not whole (cut,
	// empty, missing) and a run that never ended; see [Damaged]. Absent
	// from report.json when nothing is damaged. Every report format warns
	// of each, and the expectations of a damaged run are not judged.
	Damaged []Damaged `json:"damaged,omitempty"`
	// SendLagMS is how late the attacker sent its requests against the
	// pacer's plan.
	SendLagMS SendLag `json:"send_lag_ms"`
	// Streams summarises the streaming answers (streams.jsonl) and the
	// streams cut and stalled, with the buffering check; absent from
	// report.json when the run had no stream.
	Streams *Streams `json:"streams,omitempty"`
	// Slow says which answers were slow (at least Slow.ThresholdMS) and
	// why; absent from reports written before it was measured.
	Slow *Slow `json:"slow,omitempty"`
	// Advice lists the gateway settings to change, each with the figure
	// the run measured that justifies it; empty when the run measured no
	// rule's evidence, or gatecrash does not know the configuration.
	Advice []Advice `json:"advice"`
	// Examples are the stories of the first requests (by send time, at
	// most ExamplesPerCause) of each failure cause and each cause of slow
	// answers, for the HTML report to link each cause to; absent unless
	// the report's writer gathered them (run.Folder.Examples).
	Examples []Story `json:"examples,omitempty"`
}

// ExamplesPerCause bounds Report.Examples per cause.
const ExamplesPerCause = 3

// Options are the settings of an analysis. In report.json they are
// {"bucket_s", "threshold", "sustain"}.
type Options struct {
	// Bucket is the timeline's bucket width; zero means a second.
	Bucket time.Duration
	// Threshold is the share of a bucket's requests a failure class must
	// reach for the bucket to count as failing; zero means 0.01.
	Threshold float64
	// Sustain is how many failing buckets in a row make a sustained
	// onset; zero means 3.
	Sustain int
	// Slow is the slow threshold: an answer that took at least this long
	// is slow (Report.Slow); zero derives it from the baseline. SlowFrom
	// says where a non-zero Slow comes from: "" for the --slow flag, else
	// the text of the expectation it is the bound of. Neither is in
	// report.json's "analysis": Report.Slow says both.
	Slow     time.Duration
	SlowFrom string
}

type optionsJSON struct {
	BucketS   float64 `json:"bucket_s"`
	Threshold float64 `json:"threshold"`
	Sustain   int     `json:"sustain"`
}

// MarshalJSON writes the bucket width in seconds.
func (o Options) MarshalJSON() ([]byte, error) {
	return json.Marshal(optionsJSON{o.Bucket.Seconds(), o.Threshold, o.Sustain})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (o *Options) UnmarshalJSON(b []byte) error {
	var j optionsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*o = Options{Bucket: time.Duration(math.Round(j.BucketS * float64(time.Second))), Threshold: j.Threshold, Sustain: j.Sustain}
	return nil
}

// WithDefaults returns the options with every zero setting at its default:
// 1s buckets, a 1% threshold, 3 buckets to sustain.
func (o Options) WithDefaults() Options {
	if o.Bucket <= 0 {
		o.Bucket = time.Second
	}
	if o.Threshold <= 0 {
		o.Threshold = 0.01
	}
	if o.Sustain <= 0 {
		o.Sustain = 3
	}
	return o
}

// Gateway says which gateway answered and how that is known.
type Gateway struct {
	// Kind is builtin, nginx, haproxy, envoy, caddy, traefik, go, or
	// unknown.
	Kind string `json:"kind"`
	// Evidence says how the kind is known.
	Evidence string `json:"evidence"`
}

// Totals count every request of the run.
type Totals struct {
	// Requests counts every request sent.
	Requests int `json:"requests"`
	// Status counts HTTP answers by code; requests without an answer are
	// not in it.
	Status map[string]int `json:"status"`
	// Errors counts requests that got no HTTP answer at all (vegeta's code
	// 0: connection refused or reset, timeout, unexpected EOF).
	Errors int `json:"errors"`
	// ErrorKinds counts Errors by kind: timeout, eof (the answer was cut),
	// reset, refused, canceled, other; and stream-cut, stream-stall (a
	// streaming answer's, which had its status: they are in Errors, as
	// vegeta counts them, but not in the error failure class).
	ErrorKinds map[string]int `json:"error_kinds"`
}

// PhaseReport is one phase of the run. A request belongs to the phase its
// timestamp (the moment it was sent) falls in.
type PhaseReport struct {
	// Name is the phase's name.
	Name string `json:"name"`
	// StartS and EndS bound the phase as planned.
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	// Faults lists the kinds of the faults active in the phase.
	Faults []string `json:"faults"`
	// OfferedRate is the pacer's planned hits over the phase's length.
	OfferedRate float64 `json:"offered_rate"`
	// AchievedRate is the requests sent in the phase over its length (over
	// the part that ran, when the run was interrupted).
	AchievedRate float64 `json:"achieved_rate"`
	// Requests, Status and Errors count as in Totals.
	Requests int            `json:"requests"`
	Status   map[string]int `json:"status"`
	Errors   int            `json:"errors"`
	// LatencyMS summarises the phase's request latencies.
	LatencyMS Latency `json:"latency_ms"`
	// CorrectedLatencyMS adds each request's send lag to its latency: the
	// latency a user arriving on schedule would have seen (as wrk2 does).
	CorrectedLatencyMS Latency `json:"corrected_latency_ms"`
	// Histogram holds the phase's latencies in mergeable buckets.
	Histogram *Histogram `json:"histogram"`
	// Recovery is "recovered", "not-recovered" or "not-measured";
	// RecoveryS is how long after the phase's end the 502 share fell under
	// the threshold for good, null unless recovered. Recovery is measured
	// after a phase when the next phase keeps only some of its faults (a
	// fault phase followed by a quiet one; a cap that outlasts a spike),
	// over the whole buckets from its end until a phase with a fault the
	// next phase did not have, or the end of the plan; otherwise, or
	// when no whole bucket fits, it is not measured.
	Recovery  string   `json:"recovery"`
	RecoveryS *float64 `json:"recovery_s"`
	// RecoveryUntilS is the end of the span recovery was measured over,
	// in seconds from the start; absent when it was not measured.
	RecoveryUntilS *float64 `json:"recovery_until_s,omitempty"`
	// OtherRecovery is the same for the other failure classes (503, 504,
	// error, every other 5xx seen, and user-failure: every request not
	// answered in full with a 2xx or 3xx, as the user saw it).
	OtherRecovery map[string]Recovery `json:"other_recovery"`
	// Retries is Report.Retries over the requests first sent in the
	// phase; absent without a policy.
	Retries *Retries `json:"retries,omitempty"`
	// Streams is Report.Streams over the streams sent in the phase (its
	// tokens/s over the phase's length); absent without streams.
	Streams *Streams `json:"streams,omitempty"`
	// Slow is Report.Slow over the requests sent in the phase.
	Slow *PhaseSlow `json:"slow,omitempty"`
}

// Recovery says whether and when a failure class's share fell back under
// the threshold after a phase with faults.
type Recovery struct {
	State string   `json:"recovery"`
	S     *float64 `json:"recovery_s"`
}

// Latency holds exact statistics of request latencies, in milliseconds;
// all zero without requests.
type Latency struct {
	// P50, P90 and P99 are nearest-rank percentiles; Max is the largest.
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
	// Mean and Stdev are the mean and population standard deviation.
	Mean  float64 `json:"mean"`
	Stdev float64 `json:"stdev"`
}

// Bucket is one slice of the timeline; requests count in the bucket they
// were sent in, fault events in the bucket they happened in.
type Bucket struct {
	// TS is when the bucket starts.
	TS float64 `json:"t_s"`
	// Phase is the phase running when the bucket starts.
	Phase string `json:"phase"`
	// OfferedRate is the pacer's planned hits in the bucket over its
	// length; AchievedRate the requests sent.
	OfferedRate  float64 `json:"offered_rate"`
	AchievedRate float64 `json:"achieved_rate"`
	// Requests, Status and Errors count the requests sent in the bucket.
	Requests int            `json:"requests"`
	Status   map[string]int `json:"status"`
	Errors   int            `json:"errors"`
	// Faults counts the faults the proxy applied, by kind; Masked those of
	// them that ended in no failure.
	Faults map[string]int `json:"faults"`
	Masked int            `json:"masked"`
	// Causes counts the bucket's 502s by cause.
	Causes map[string]int `json:"causes"`
	// Retries is Report.Retries over the requests first sent in the
	// bucket; absent without a policy, and from a bucket no request was
	// first sent in.
	Retries *Retries `json:"retries,omitempty"`
	// LatencyMS are the exact percentiles of the bucket's latencies.
	LatencyMS BucketLatency `json:"latency_ms"`
	// Streams is Report.Streams over the streams sent in the bucket (its
	// tokens/s over the bucket's width); absent without streams.
	Streams *Streams `json:"streams,omitempty"`
}

// BucketLatency holds a bucket's latency percentiles in milliseconds.
type BucketLatency struct {
	// P50 and P99 are nearest-rank percentiles.
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

// Onset says when a failure class appeared; every field is null without
// any.
type Onset struct {
	// FirstS is when the first failing request was sent, FirstPhase its
	// phase and FirstRate the offered rate at that moment.
	FirstS     *float64 `json:"first_s"`
	FirstPhase *string  `json:"first_phase"`
	FirstRate  *float64 `json:"first_rate"`
	// SustainedS is when the first run of Analysis.Sustain buckets in a row
	// whose failure share reaches Analysis.Threshold begins, and
	// SustainedPhase the phase then.
	SustainedS     *float64 `json:"sustained_s"`
	SustainedPhase *string  `json:"sustained_phase"`
	// KneeRate is the offered rate at the sustained onset when it falls in
	// a ramping phase: the load at which failures took hold.
	KneeRate *float64 `json:"knee_rate"`
}

// Cause is one cause of a failure class.
type Cause struct {
	// Cause is a stable cause name, such as reset-before-headers.
	Cause string `json:"cause"`
	// Count is how many failures it explains.
	Count int `json:"count"`
	// Share is Count over all failures of the class.
	Share float64 `json:"share"`
	// Evidence says how the failures were tied to the cause.
	Evidence Evidence `json:"evidence"`
	// GatewayWords are what the gateway's own logs said about these
	// failures, the most frequent first (at most three), when gatecrash
	// started the gateway.
	GatewayWords []Words `json:"gateway_words"`
}

// Words is one thing a gateway logged, and how often.
type Words struct {
	Words string `json:"words"`
	Count int    `json:"count"`
}

// Evidence counts how each failure was tied to its cause: exact (the
// proxy's event for the same attack and seq), temporal (a connection-level
// fault while the request was in flight, or active while a request the
// proxy never saw failed), signature (the gateway's own answer), none.
type Evidence struct {
	Exact     int `json:"exact"`
	Temporal  int `json:"temporal"`
	Signature int `json:"signature"`
	None      int `json:"none"`
}

// Masked accounts for the faults the proxy applied that ended an attempt
// but not the request: the request still got an answer that is not a
// failure.
type Masked struct {
	// Faults counts every fault that ended an attempt or a connection.
	Faults int `json:"faults"`
	// Count is how many of them were masked.
	Count int `json:"count"`
	// Reasons counts Count by reason: gateway-retried (the same seq
	// reached the proxy again and that attempt went well), client-retried
	// (a later try of the client's reached the proxy and the request went
	// well: client.retry masked it), absorbed (no
	// retry seen, yet no failure), connection-unused (a fault on a
	// connection that no failed request is tied to), no-result (no result
	// has the fault's seq).
	Reasons map[string]int `json:"reasons"`
	// ByKind counts Count by fault kind.
	ByKind map[string]int `json:"by_kind"`
	// Repeated counts faults on an attempt the gateway retried, whose
	// request failed anyway: the retry failed too.
	Repeated int `json:"repeated"`
	// PassedOn counts faults whose own answer (an injected 4xx) reached
	// the client: neither masked nor a failure.
	PassedOn int `json:"passed_on"`
	// GatewayConfirmed counts the masked faults whose retry the gateway's
	// own log confirms (nginx's $upstream_status lists several tries,
	// HAProxy's retry count is above zero).
	GatewayConfirmed int `json:"gateway_confirmed"`
	// Price is what the masked faults cost, per kind and phase, in the
	// order of kinds then phases.
	Price []MaskedPrice `json:"price"`
}

// Correlation is the Pearson correlation between the per-bucket count of
// a fault kind's events and of 502s.
type Correlation struct {
	// Kind is the fault kind.
	Kind string `json:"kind"`
	// Pearson is null when either timeline is constant or has fewer than
	// three buckets.
	Pearson *float64 `json:"pearson"`
}

// SendLag summarises how late requests left against the pacer's plan, in
// milliseconds.
type SendLag struct {
	// P50 and P99 are nearest-rank percentiles; Max is the largest.
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
	// Behind is true when P99 exceeds 10 ms: the attacker fell behind its
	// schedule and plain latencies understate; see the corrected ones.
	Behind bool `json:"behind"`
}

// round keeps three decimals, so reports are stable and readable.
func round(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1000) / 1000
}

// MarshalIndent renders the report as indented JSON with a final newline.
// It leaves <, > and & as they are, so that expectations such as
// "rate(status=502) < 1%" read as written; whoever puts the JSON into HTML
// escapes it there.
func (r *Report) MarshalIndent() ([]byte, error) {
	return marshalIndent(r, "report")
}

// marshalIndent renders v as indented JSON with a final newline, without
// escaping <, > and &.
func marshalIndent(v any, what string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode %s: %w", what, err)
	}
	return b.Bytes(), nil
}
