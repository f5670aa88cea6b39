package faults

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Tap calls f with every event recorded from now on, synchronously, in
// Record, under the log's lock and in the order of the log: f must be
// quick and must not call the log. Unlike a subscriber, a tap never
// misses an event. Tap is safe for concurrent use, but a tap cannot be
// removed: add it before the events it must see.
func (l *EventLog) Tap(f func(Event)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.taps = append(l.taps, f)
}

// Stats are a proxy's running counts.
type Stats struct {
	// Requests counts the requests the proxy read, retries included (mode
	// http; always 0 in mode tcp, which reads no requests).
	Requests uint64
	// Connections counts the downstream connections accepted.
	Connections uint64
	// Open is how many downstream connections are open now (mode http;
	// always 0 in mode tcp).
	Open int
	// Phase is the name of the phase running now by the proxy's clock
	// (see SetStart); empty after the last phase.
	Phase string
}

// Stats returns the proxy's running counts. It is safe to call while the
// proxy serves.
func (p *Proxy) Stats() Stats {
	s := Stats{Requests: p.requests.Load(), Connections: p.conns.Load()}
	p.mu.Lock()
	s.Open = len(p.links)
	p.mu.Unlock()
	if ph := p.phaseNow(); ph != nil {
		s.Phase = ph.Name
	}
	return s
}

// Metric names of a proxy's metrics; see NewMetrics.
const (
	MetricFaults       = "gatecrash_proxy_faults_total"
	MetricObservations = "gatecrash_proxy_observations_total"
	MetricRequests     = "gatecrash_proxy_requests_total"
	MetricConnections  = "gatecrash_proxy_connections_total"
	MetricOpen         = "gatecrash_proxy_connections_open"
	MetricProxyPhase   = "gatecrash_proxy_phase"
)

// Metrics are a proxy's Prometheus metrics. Its counters of faults and
// observations are fed by the proxy's event log (see NewMetrics); the
// others read the proxy's Stats at each scrape.
type Metrics struct {
	faults       *prometheus.CounterVec
	observations *prometheus.CounterVec
}

// NewMetrics registers p's metrics on reg and taps events, the log p
// records to, so that every fault and observation p records from now on
// is counted:
//
//   - gatecrash_proxy_faults_total{kind,phase}: faults applied, by fault
//     kind and phase;
//   - gatecrash_proxy_observations_total{kind}: what the proxy saw without
//     causing it (retry, client-retry, upstream-error, gateway-closed,
//     refuse-ended; the end-of-serve bookkeeping, tally and seen, is not
//     counted);
//   - gatecrash_proxy_requests_total: requests read, retries included;
//   - gatecrash_proxy_connections_total and gatecrash_proxy_connections_open:
//     downstream connections accepted, and open now;
//   - gatecrash_proxy_phase{phase}: 1 for the phase running now by the
//     proxy's clock, 0 for the others of its schedule.
//
// Labels take values from the fault kinds, the observation kinds and the
// schedule's phase names, so their number stays bounded. A nil events
// counts no faults nor observations.
func NewMetrics(reg prometheus.Registerer, p *Proxy, events *EventLog) (*Metrics, error) {
	m := &Metrics{
		faults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricFaults,
			Help: "Faults the fault proxy applied, by fault kind and phase.",
		}, []string{"kind", "phase"}),
		observations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricObservations,
			Help: "What the fault proxy saw without causing it (retry, client-retry, upstream-error, gateway-closed, refuse-ended), by kind.",
		}, []string{"kind"}),
	}
	cs := []prometheus.Collector{
		m.faults, m.observations,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: MetricRequests,
			Help: "Requests the fault proxy read, retries included (mode http).",
		}, func() float64 { return float64(p.Stats().Requests) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: MetricConnections,
			Help: "Downstream connections the fault proxy accepted.",
		}, func() float64 { return float64(p.Stats().Connections) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricOpen,
			Help: "Downstream connections of the fault proxy open now (mode http).",
		}, func() float64 { return float64(p.Stats().Open) }),
		phaseCollector{p: p, desc: prometheus.NewDesc(MetricProxyPhase,
			"1 for the phase of the fault proxy's schedule running now, 0 for the others.", []string{"phase"}, nil)},
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	if events != nil {
		events.Tap(m.Observe)
	}
	return m, nil
}

// Observe counts one event: a fault by its kind and phase, an observation
// by its kind. It is safe for concurrent use.
func (m *Metrics) Observe(e Event) {
	switch {
	case e.Type == TypeFault:
		m.faults.WithLabelValues(e.Kind, e.Phase).Inc()
	case e.Kind == ObservedTally || e.Kind == ObservedSeen:
	default:
		m.observations.WithLabelValues(e.Kind).Inc()
	}
}

// phaseCollector collects gatecrash_proxy_phase from the proxy's schedule
// at each scrape, since an admin may replace it.
type phaseCollector struct {
	p    *Proxy
	desc *prometheus.Desc
}

func (c phaseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c phaseCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.p.Stats().Phase
	seen := map[string]bool{}
	for _, ph := range c.p.Phases() {
		if seen[ph.Name] {
			continue // one series per name
		}
		seen[ph.Name] = true
		v := 0.0
		if ph.Name == now {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, ph.Name)
	}
}
