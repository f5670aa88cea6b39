package run

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Metric names of a run's metrics; see NewMetrics. The run's fault proxy
// adds faults.NewMetrics's to the same registry.
const (
	MetricRequests = "gatecrash_requests_total"
	MetricFailures = "gatecrash_failures_total"
	MetricPending  = "gatecrash_failures_pending"
	MetricLatency  = "gatecrash_request_duration_seconds"
	MetricSendLag  = "gatecrash_send_lag_seconds"
	MetricPhase    = "gatecrash_phase"
	MetricOffered  = "gatecrash_offered_requests_per_second"
	MetricMasked   = "gatecrash_masked_faults"
	MetricEnded    = "gatecrash_run_ended"
)

// MetricBuckets are the bounds, in seconds, of the latency and send-lag
// histograms: 1ms to 30s, about three a decade, enough to tell a
// gateway's own answer from an upstream's timeout.
var MetricBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Metrics publishes a run's live metrics on a Prometheus registry. Create
// it with NewMetrics and hand it to Run in Options.Metrics, once: Run
// feeds it while the attack goes and sets the final values at the end.
// Its methods are safe for concurrent use; serving the registry is the
// caller's (promhttp.HandlerFor).
//
// Failures by cause: a failure whose request met a fault that ended its
// exchange (the proxy in the same process records the fault's event
// before the gateway answers), and did not reach the proxy again after
// it, is counted at once under that fault's cause (a status fault's only
// when the result has its code); any other failure waits in
// gatecrash_failures_pending until the report is made, and is then
// counted under the cause the report gives it. After the end, gatecrash_failures_total holds the report's counts
// (were the report to give a live-counted failure another cause, the
// counter would keep the live one too: counters never go down).
type Metrics struct {
	reg      prometheus.Registerer
	requests *prometheus.CounterVec
	failures *prometheus.CounterVec
	pending  prometheus.Gauge
	latency  *prometheus.HistogramVec
	sendLag  prometheus.Histogram
	masked   *prometheus.GaugeVec
	ended    prometheus.Gauge

	mu     sync.Mutex
	pacer  *attack.Pacer // nil until the attack starts
	phases []string
	clock  time.Time
	done   bool
	causes map[causeKey]ending // the last ending fault of each request in flight
	live   map[[2]string]int   // (class, cause): failures counted live
}

// ending is what the proxy said of a request's latest attempt: the
// cause of the fault that ended it ("" when none did, yet), and the status
// the fault answered with (0: it broke the exchange).
type ending struct {
	attempt int
	cause   string
	status  int
}

// causeKey is a request: its attack and seq.
type causeKey struct {
	attack string
	seq    uint64
}

// NewMetrics returns a run's metrics, registered on reg: a registry of
// the caller's own (prometheus.NewRegistry), not the global one, or one
// wrapped with labels (prometheus.WrapRegistererWith) that set this run's
// metrics apart from others' in the same registry:
//
//   - gatecrash_requests_total{phase,class}: results by the phase they
//     were sent in and their class: 2xx, 3xx, 4xx, the code of a 5xx
//     (500, 502, ...), error (no answer), stream-cut, stream-stall;
//   - gatecrash_failures_total{class,cause}: failures (5xx, error and the
//     stream classes) by class and cause; see Metrics;
//   - gatecrash_failures_pending: failures not yet given a cause;
//   - gatecrash_request_duration_seconds{phase}: latency histogram;
//   - gatecrash_send_lag_seconds: how late the attacker sent each request
//     against the pacer's plan;
//   - gatecrash_phase{phase}: 1 for the phase running now, 0 for the others;
//   - gatecrash_offered_requests_per_second: the pacer's rate now;
//   - gatecrash_masked_faults{kind}: faults that did not end in a failure,
//     set at the end from the report;
//   - gatecrash_run_ended: 1 once the final values are set.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRequests,
			Help: "Results of the attack by phase and class (2xx, 3xx, 4xx, a 5xx code, error, stream-cut, stream-stall).",
		}, []string{"phase", "class"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricFailures,
			Help: "Failures by class and cause: exact causes as the results come, the others once the report is made.",
		}, []string{"class", "cause"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricPending,
			Help: "Failures counted in gatecrash_requests_total but not yet in gatecrash_failures_total: their cause comes with the report.",
		}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricLatency,
			Help:    "Latency of the attack's requests, by phase.",
			Buckets: MetricBuckets,
		}, []string{"phase"}),
		sendLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    MetricSendLag,
			Help:    "How late the attacker sent each request against the pacer's plan.",
			Buckets: MetricBuckets,
		}),
		masked: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricMasked,
			Help: "Faults applied that did not end in a failure (a retry or the gateway hid them), by fault kind; set at the end.",
		}, []string{"kind"}),
		ended: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricEnded,
			Help: "1 once the run has ended and every final value is set.",
		}),
		causes: map[causeKey]ending{},
		live:   map[[2]string]int{},
	}
	phase := prometheus.NewDesc(MetricPhase, "1 for the phase of the attack running now, 0 for the others.", []string{"phase"}, nil)
	cs := []prometheus.Collector{
		m.requests, m.failures, m.pending, m.latency, m.sendLag, m.masked, m.ended,
		runPhase{m: m, desc: phase},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricOffered,
			Help: "The rate the pacer offers now, in requests per second; 0 before and after the attack.",
		}, m.offered),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// proxyStarted registers the proxy's metrics and taps its event log, so
// that the run's metrics learn each request's ending fault.
func (m *Metrics) proxyStarted(p *faults.Proxy, events *faults.EventLog) error {
	if _, err := faults.NewMetrics(m.reg, p, events); err != nil {
		return err
	}
	events.Tap(m.event)
	return nil
}

// event keeps the cause of a fault that ended a request's latest
// attempt. A request that reaches the proxy again (a gateway's or the
// client's retry) is decided by the later attempt: unless a fault ends
// that one too, only the report can tell its cause. Attempts go by the
// events' Attempt, not by their order in the log: a fault that broke an
// exchange may be recorded after the retry it provoked.
func (m *Metrics) event(e faults.Event) {
	if e.Seq == nil {
		return
	}
	fault := e.Type == faults.TypeFault && e.Ended && e.Cause != ""
	retry := e.Type == faults.TypeObservation && (e.Kind == faults.ObservedRetry || e.Kind == faults.ObservedClientRetry)
	if !fault && !retry {
		return
	}
	k := causeKey{e.Attack, *e.Seq}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.causes[k]
	switch {
	case m.done, ok && e.Attempt < cur.attempt:
		// the end, or an earlier attempt's, recorded late
	case fault:
		m.causes[k] = ending{attempt: e.Attempt, cause: e.Cause, status: e.Status}
	case !ok || e.Attempt > cur.attempt:
		m.causes[k] = ending{attempt: e.Attempt}
	}
}

// started says the attack began at clock, paced by pacer.
func (m *Metrics) started(sc *scenarios.Scenario, pacer *attack.Pacer, clock time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pacer, m.clock = pacer, clock
	m.phases = make([]string, len(sc.Phases))
	for i, ph := range sc.Phases {
		m.phases[i] = ph.Name
	}
}

// classOf is a result's class, as the report counts it.
func classOf(r *vegeta.Result) string {
	if c := results.ClassOf(r.Code, r.Error); c != "" {
		return c
	}
	return strconv.Itoa(int(r.Code/100)) + "xx"
}

// result counts one result.
func (m *Metrics) result(r *vegeta.Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	phase := ""
	var lag time.Duration = -1
	if m.pacer != nil {
		off := r.Timestamp.Sub(m.clock)
		if i := m.pacer.PhaseClamped(off); i >= 0 && i < len(m.phases) {
			phase = m.phases[i]
		}
		if due, ok := m.pacer.Due(r.Seq); ok {
			lag = max(off-due, 0)
		}
	}
	class := classOf(r)
	m.requests.WithLabelValues(phase, class).Inc()
	m.latency.WithLabelValues(phase).Observe(r.Latency.Seconds())
	if lag >= 0 {
		m.sendLag.Observe(lag.Seconds())
	}
	k := causeKey{r.Attack, r.Seq}
	end, ok := m.causes[k]
	delete(m.causes, k)
	if results.ClassOf(r.Code, r.Error) == "" {
		return
	}
	// A fault's answer that is not the result's (the gateway replaced it)
	// is left to the report.
	if !ok || end.cause == "" || end.status != 0 && end.status != int(r.Code) {
		m.pending.Inc()
		return
	}
	m.failures.WithLabelValues(class, end.cause).Inc()
	m.live[[2]string{class, end.cause}]++
}

// end sets the final values from the report: the failures still pending
// get the report's causes, the masked faults are set, and the phase and
// offered rate fall to 0. A nil rep (the run broke) only marks the end.
func (m *Metrics) end(rep *results.Report) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done = true
	clear(m.causes)
	if rep != nil {
		add := func(class string, cs []results.Cause) {
			for _, c := range cs {
				k := [2]string{class, c.Cause}
				if n := c.Count - m.live[k]; n > 0 {
					m.failures.WithLabelValues(class, c.Cause).Add(float64(n))
				}
			}
		}
		add("502", rep.Causes)
		for class, cs := range rep.OtherCauses {
			add(class, cs)
		}
		m.pending.Set(0)
		for kind, n := range rep.Masked.ByKind {
			m.masked.WithLabelValues(kind).Set(float64(n))
		}
	}
	m.ended.Set(1)
}

// offered is the pacer's rate now.
func (m *Metrics) offered() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pacer == nil || m.done {
		return 0
	}
	return m.pacer.Rate(time.Since(m.clock))
}

// runPhase collects gatecrash_phase at each scrape.
type runPhase struct {
	m    *Metrics
	desc *prometheus.Desc
}

func (c runPhase) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c runPhase) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	now := -1
	if c.m.pacer != nil && !c.m.done {
		now = c.m.pacer.Phase(time.Since(c.m.clock))
	}
	seen := map[string]bool{}
	for i, name := range c.m.phases {
		if seen[name] {
			continue
		}
		seen[name] = true
		v := 0.0
		if i == now {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, name)
	}
}
