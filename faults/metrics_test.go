package faults

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatecrash/gatecrash/scenarios"
)

// TestEventLogTapMissesNothing: a tap gets every event, in order, even
// far more than a subscriber's buffer, which loses the excess.
func TestEventLogTapMissesNothing(t *testing.T) {
	log := NewEventLog(io.Discard)
	var got []int
	log.Tap(func(e Event) { got = append(got, e.Fault) })
	ch, stop := log.Subscribe()
	defer stop()
	n := 3 * SubscriberBuffer
	for i := range n {
		log.Record(Event{Type: TypeFault, Fault: i})
	}
	if len(got) != n {
		t.Fatalf("the tap got %d events, want %d", len(got), n)
	}
	for i, f := range got {
		if f != i {
			t.Fatalf("event %d: got fault %d, want %d (in order)", i, f, i)
		}
	}
	if len(ch) != SubscriberBuffer || log.Dropped() != n-SubscriberBuffer {
		t.Errorf("subscriber: got %d buffered and %d dropped, want %d and %d", len(ch), log.Dropped(), SubscriberBuffer, n-SubscriberBuffer)
	}
}

// TestProxyMetrics serves a proxy with metrics and checks each after a few
// requests: faults by kind and phase, retries seen, requests read,
// connections accepted and open, the phase running now.
func TestProxyMetrics(t *testing.T) {
	tests := []struct {
		name   string
		faults []scenarios.Fault
		seqs   []int // one request each, on a connection of its own
		want   map[string]float64
	}{
		{
			name: "no fault",
			seqs: []int{0, 1, 2},
			want: map[string]float64{
				MetricRequests:    3,
				MetricConnections: 4, // and the kept-alive one
			},
		},
		{
			name:   "status on every request, one retried",
			faults: []scenarios.Fault{{Kind: scenarios.KindStatus, Code: 503}},
			seqs:   []int{0, 1, 1},
			want: map[string]float64{
				MetricRequests:    3,
				MetricConnections: 4,
				MetricFaults + `{kind="status",phase="only"}`:  4, // and the kept-alive request
				MetricObservations + `{kind="retry"}`:          1,
				MetricProxyPhase + `{phase="only"}`:            1,
				MetricOpen:                                     1,
				MetricObservations + `{kind="upstream-error"}`: 0,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(hello))
			defer up.Close()
			log := NewEventLog(io.Discard)
			p, err := New(Config{Upstream: up.Listener.Addr().String(), Seed: 1, Events: log,
				Phases: []Phase{onlyPhase(t, tt.faults...), {Name: "later", Duration: time.Hour}}})
			if err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			if _, err := NewMetrics(reg, p, log); err != nil {
				t.Fatal(err)
			}
			addr, stop := serve(t, p)
			defer stop()
			// One connection kept open (its request has no seq: the
			// proxy numbers it apart, not as a retry).
			c := dialProxy(t, addr)
			defer c.Close()
			keptAlive(t, c)
			for _, seq := range tt.seqs {
				if _, err := rawRequest(t, addr, seq); err != nil {
					t.Fatal(err)
				}
			}
			// The connections of rawRequest end after their answers; the
			// proxy notices at its next read, so wait for it, bounded.
			for i := 0; i < 500 && p.Stats().Open != 1; i++ {
				time.Sleep(2 * time.Millisecond)
			}
			want := map[string]float64{MetricOpen: 1, MetricProxyPhase + `{phase="only"}`: 1, MetricProxyPhase + `{phase="later"}`: 0}
			for k, v := range tt.want {
				want[k] = v
			}
			want[MetricRequests]++ // the kept-alive connection's request
			for name, v := range want {
				if g := value(t, reg, name); g != v {
					t.Errorf("%s: got %v, want %v", name, g, v)
				}
			}
		})
	}
}

// value reads one series of reg from its text exposition; 0 when absent.
func value(t *testing.T, reg *prometheus.Registry, series string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := ""
			for i, l := range m.GetLabel() {
				if i > 0 {
					labels += ","
				}
				labels += fmt.Sprintf("%s=%q", l.GetName(), l.GetValue())
			}
			name := mf.GetName()
			if labels != "" {
				name += "{" + labels + "}"
			}
			if name != series {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// TestProxyMetricsLint: the metrics follow Prometheus's naming rules as
// its own linter reads them.
func TestProxyMetricsLint(t *testing.T) {
	p, err := New(Config{Upstream: "127.0.0.1:1", Phases: []Phase{{Name: "only"}}})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Observe(Event{Type: TypeFault, Kind: "reset", Phase: "only"})
	m.Observe(Event{Type: TypeObservation, Kind: ObservedRetry})
	m.Observe(Event{Type: TypeObservation, Kind: ObservedTally}) // not counted
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("%s: %s", pr.Metric, pr.Text)
	}
	if n := testutil.CollectAndCount(reg, MetricObservations); n != 1 {
		t.Errorf("%s: got %d series, want 1 (tally is not an observation to count)", MetricObservations, n)
	}
}

// BenchmarkEventLogTap measures what the metrics add to each event the
// proxy records: one Record with and without the metrics' tap.
//
//	go test -run '^$' -bench BenchmarkEventLogTap -benchmem ./faults
func BenchmarkEventLogTap(b *testing.B) {
	for _, tapped := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%v", tapped), func(b *testing.B) {
			log := NewEventLog(io.Discard)
			if tapped {
				p, err := New(Config{Upstream: "127.0.0.1:1", Phases: []Phase{{Name: "only"}}})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := NewMetrics(prometheus.NewRegistry(), p, log); err != nil {
					b.Fatal(err)
				}
			}
			seq := uint64(1)
			e := Event{Type: TypeFault, Attack: "a", Seq: &seq, Kind: "reset", Phase: "only", Cause: "reset-before-headers", Ended: true}
			b.ReportAllocs()
			for b.Loop() {
				log.Record(e)
			}
		})
	}
}
