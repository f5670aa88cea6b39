package results

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/montanaflynn/stats"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"go.uber.org/goleak"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/internal/golden"
	"github.com/gatecrash/gatecrash/results/causes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRecordsReadByVegeta(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in := []vegeta.Result{
		{Attack: "a", Seq: 0, Code: 200, Timestamp: t0, Latency: time.Millisecond, Body: []byte("ok body")},
		{Attack: "a", Seq: 1, Code: 502, Timestamp: t0.Add(time.Millisecond), Latency: 2 * time.Millisecond, Body: bytes.Repeat([]byte("x"), 5000), Error: "502 Bad Gateway"},
		{Attack: "a", Seq: 2, Code: 0, Timestamp: t0.Add(2 * time.Millisecond), Error: "unexpected EOF"},
	}
	for i := range in {
		r := in[i]
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()

	// vegeta's own decoder, as `vegeta report` uses it.
	dec := vegeta.DecoderFor(bytes.NewReader(data))
	if dec == nil {
		t.Fatal("vegeta.DecoderFor does not recognise the record file")
	}
	var got []vegeta.Result
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			break
		}
		got = append(got, r)
	}
	if len(got) != len(in) {
		t.Fatalf("vegeta decoded %d results, want %d", len(got), len(in))
	}
	if got[0].Body != nil {
		t.Errorf("2xx body: got %q, want none kept", got[0].Body)
	}
	if len(got[1].Body) != MaxBody {
		t.Errorf("502 body: got %d bytes, want cut to %d", len(got[1].Body), MaxBody)
	}
	if got[2].Error != "unexpected EOF" || got[1].Seq != 1 || !got[1].Timestamp.Equal(in[1].Timestamp) {
		t.Errorf("got %+v, want the fields written", got)
	}

	// A file cut short is read up to its last whole record.
	for cut := len(data) - 1; cut > len(data)-20; cut-- {
		rs, err := Read(bytes.NewReader(data[:cut]))
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if len(rs) != len(in)-1 {
			t.Fatalf("cut at %d: got %d results, want %d", cut, len(rs), len(in)-1)
		}
	}
}

// TestPercentileDefinition pins the percentile definition every report
// relies on: nearest rank, as montanaflynn/stats computes it. A dependency
// bump that changes it fails here.
func TestPercentileDefinition(t *testing.T) {
	data := stats.Float64Data{15, 20, 35, 40, 50}
	for _, tt := range []struct{ p, want float64 }{{5, 15}, {30, 20}, {40, 20}, {50, 35}, {100, 50}} {
		got, err := stats.PercentileNearestRank(data, tt.p)
		if err != nil || got != tt.want {
			t.Errorf("p%v: got %v, %v; want %v", tt.p, got, err, tt.want)
		}
	}
	// nearestRank, used on sorted latencies to spare stats' copies, agrees
	// with stats on every size and percentile.
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 1; n <= 300; n += 1 + n/16 {
		data := make([]float64, n)
		for i := range data {
			data[i] = float64(rng.IntN(1 + n/3)) // many equal values
		}
		sorted := slices.Sorted(slices.Values(data))
		ps := []float64{0, 0.1, 1, 25, 50, 90, 99, 99.9, 100}
		// percentiles selects instead of sorting; it must pick the same.
		byPick := percentiles(slices.Clone(data), ps...)
		for i, p := range ps {
			want, err := stats.PercentileNearestRank(data, p)
			if got := nearestRank(sorted, p); err != nil || got != want {
				t.Fatalf("n %d p%v: got %v, stats says %v (%v)", n, p, got, want, err)
			}
			if byPick[i] != want {
				t.Fatalf("n %d p%v: selection got %v, stats says %v", n, p, byPick[i], want)
			}
		}
	}
	if got := latency([]float64{4, 1, 3, 2}); got != (Latency{P50: 2, P90: 4, P99: 4, Max: 4, Mean: 2.5, Stdev: 1.118}) {
		t.Errorf("latency: got %+v, want p50 2, p90 4, p99 4, max 4, mean 2.5, stdev 1.118", got)
	}
}

func u64(v uint64) *uint64 { return &v }

func TestAnalyze(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	run := &Run{Schema: RunSchema, Scenario: "s", Attack: "a", Seed: 3, Started: t0, Phases: []PhasePlan{
		{Name: "clean", StartS: 0, EndS: 1, Planned: 4},
		{Name: "faulty", StartS: 1, EndS: 3, Planned: 4},
	}}
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	res := []vegeta.Result{
		{Attack: "a", Seq: 0, Code: 200, Timestamp: at(0), Latency: time.Millisecond},
		{Attack: "a", Seq: 1, Code: 200, Timestamp: at(250), Latency: 2 * time.Millisecond},
		{Attack: "a", Seq: 2, Code: 200, Timestamp: at(500), Latency: 3 * time.Millisecond},
		{Attack: "a", Seq: 3, Code: 200, Timestamp: at(750), Latency: 4 * time.Millisecond},
		{Attack: "a", Seq: 4, Code: 502, Timestamp: at(1500), Latency: 5 * time.Millisecond},
		{Attack: "a", Seq: 5, Code: 502, Timestamp: at(2000), Latency: 6 * time.Millisecond},
		{Attack: "a", Seq: 6, Code: 502, Timestamp: at(2500), Latency: 7 * time.Millisecond},
		{Attack: "a", Seq: 7, Code: 0, Timestamp: at(2900), Latency: 8 * time.Millisecond, Error: "EOF"},
	}
	events := []faults.Event{
		// Seq 4: reset once, retried, then a malformed answer ended it.
		{Time: at(1501), Type: faults.TypeFault, Attack: "a", Seq: u64(4), Attempt: 0, Kind: "reset", Cause: "reset-before-headers", Ended: true},
		{Time: at(1502), Type: faults.TypeObservation, Attack: "a", Seq: u64(4), Attempt: 1, Kind: faults.ObservedRetry},
		{Time: at(1502), Type: faults.TypeFault, Attack: "a", Seq: u64(4), Attempt: 1, Kind: "malformed", Cause: "malformed-status-line", Ended: true},
		// Seq 5: latency, then a reset: the reset ended it.
		{Time: at(2001), Type: faults.TypeFault, Attack: "a", Seq: u64(5), Kind: "latency", Cause: "upstream-timeout"},
		{Time: at(2002), Type: faults.TypeFault, Attack: "a", Seq: u64(5), Kind: "reset", Cause: "reset-before-headers", Ended: true},
		// Another attack's event for seq 6 must not match.
		{Time: at(2501), Type: faults.TypeFault, Attack: "other", Seq: u64(6), Kind: "reset", Cause: "reset-before-headers", Ended: true},
		// The proxy's tallies as it stopped: the reset applied as its
		// probability says; the keepalive fault never did.
		{Time: at(3100), Type: faults.TypeObservation, Kind: faults.ObservedTally, Phase: "faulty", Fault: 0, FaultKind: "reset",
			Matched: 5, Applied: 3, P: 0.5, Detail: "matched 5, applied 3, probability 0.5"},
		{Time: at(3100), Type: faults.TypeObservation, Kind: faults.ObservedTally, Phase: "faulty", Fault: 1, FaultKind: "keepalive",
			Matched: 5, P: 1, Conditional: true, Detail: "no connection was idle 50ms; lower idle or the rate"},
	}
	rep := Analyze(run, res, events, Options{})

	if rep.Totals.Requests != 8 || rep.Totals.Status["200"] != 4 || rep.Totals.Status["502"] != 3 || rep.Totals.Errors != 1 {
		t.Errorf("totals: got %+v, want 8 requests, 4x200, 3x502, 1 error", rep.Totals)
	}
	clean, faulty := rep.Phases[0], rep.Phases[1]
	if clean.Requests != 4 || clean.Status["502"] != 0 || clean.OfferedRate != 4 || clean.AchievedRate != 4 {
		t.Errorf("clean phase: got %+v, want 4 requests at 4/s offered and achieved, no 502", clean)
	}
	if faulty.Requests != 4 || faulty.Status["502"] != 3 || faulty.OfferedRate != 2 || faulty.LatencyMS.Max != 8 || faulty.LatencyMS.P50 != 6 {
		t.Errorf("faulty phase: got %+v, want 4 requests, 3x502, offered 2/s, p50 6ms, max 8ms", faulty)
	}
	if rep.Onset.FirstS == nil || *rep.Onset.FirstS != 1.5 || *rep.Onset.FirstPhase != "faulty" {
		t.Errorf("onset: got %+v, want 1.5s in faulty", rep.Onset)
	}
	if len(rep.Timeline) != 3 || rep.Timeline[1].Faults["reset"] != 1 || rep.Timeline[1].Faults["malformed"] != 1 || rep.Timeline[2].Faults["reset"] != 2 || rep.Timeline[0].Requests != 4 {
		t.Errorf("timeline: got %+v, want 3 seconds with the faults per kind", rep.Timeline)
	}
	want := []Cause{
		{Cause: "malformed-status-line", Count: 1, Share: 0.333, Evidence: Evidence{Exact: 1}},
		{Cause: "reset-before-headers", Count: 1, Share: 0.333, Evidence: Evidence{Exact: 1}},
		{Cause: causes.Unattributed, Count: 1, Share: 0.333, Evidence: Evidence{None: 1}},
	}
	if len(rep.Causes) != len(want) {
		t.Fatalf("causes: got %+v, want %+v", rep.Causes, want)
	}
	for i := range want {
		if !sameCause(rep.Causes[i], want[i]) {
			t.Errorf("cause %d: got %+v, want %+v", i, rep.Causes[i], want[i])
		}
	}

	const warning = "keepalive (phase faulty) never applied: no connection was idle 50ms; lower idle or the rate."
	if len(rep.Unapplied) != 1 || rep.Unapplied[0].Warning != warning || !strings.Contains(rep.Diagnosis, warning) {
		t.Errorf("unapplied: got %+v, diagnosis %q; want the keepalive fault's warning in both", rep.Unapplied, rep.Diagnosis)
	}

	js, err := rep.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "analyze.json", js)
	// report.TestTextGolden renders analyze.json for a terminal.
	if want := "502s began at 1.5s (phase faulty, 2.0/s offered)"; !strings.Contains(rep.Diagnosis, want) {
		t.Errorf("diagnosis lacks %q:\n%s", want, rep.Diagnosis)
	}
}

func TestAnalyzeWithoutAny502(t *testing.T) {
	t0 := time.Now()
	run := &Run{Schema: RunSchema, Started: t0, Phases: []PhasePlan{{Name: "p", EndS: 1, Planned: 1}}}
	rep := Analyze(run, []vegeta.Result{{Code: 200, Timestamp: t0}}, nil, Options{})
	b, err := rep.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"first_s": null`, `"sustained_s": null`, `"knee_rate": null`, `"causes": []`, `"schema": "gatecrash/report/v1"`} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("report.json lacks %s:\n%s", s, b)
		}
	}
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	r := vegeta.Result{Attack: "a", Seq: 1, Code: 502, Timestamp: time.Unix(1, 0), Body: []byte("x")}
	w.Write(&r)
	w.Flush()
	f.Add(buf.Bytes())
	f.Add([]byte(`{"attack":"a","seq":1,"code":200,"timestamp":"2026-01-01T00:00:00Z"}` + "\n"))
	f.Add([]byte("1,200,1,0,0,,,a,1,GET,/,\n"))
	whole := bytes.Clone(buf.Bytes())
	w.Write(&r)
	w.Flush()
	for _, n := range []int{0, 1, 2, len(whole) / 2, len(whole) - 1, len(whole) + 5} {
		f.Add(buf.Bytes()[:n]) // cut: empty, in the header, mid-record
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Read(bytes.NewReader(data))
		if err != nil && rs != nil {
			t.Errorf("got %d results with error %v, want none", len(rs), err)
		}
		calls := 0
		end, err := EachRecord(bytes.NewReader(data), func(*vegeta.Result) { calls++ })
		if err != nil {
			return
		}
		if end.Records != calls || end.Empty != (len(data) == 0) || end.Dropped < 0 || end.Dropped > int64(len(data)) {
			t.Errorf("%d bytes: got %+v after %d records, want Records the records read, Empty only without a byte, Dropped within the file", len(data), end, calls)
		}
	})
}

func TestAnalyzeInterrupted(t *testing.T) {
	t0 := time.Now()
	run := &Run{Schema: RunSchema, Started: t0, Interrupted: true, StoppedS: 0.5, Phases: []PhasePlan{
		{Name: "first", EndS: 2, Planned: 200},
		{Name: "second", StartS: 2, EndS: 4, Planned: 200},
	}}
	var res []vegeta.Result
	for i := range 50 {
		res = append(res, vegeta.Result{Code: 200, Seq: uint64(i), Timestamp: t0.Add(time.Duration(i) * 10 * time.Millisecond)})
	}
	rep := Analyze(run, res, nil, Options{})
	if p := rep.Phases[0]; p.OfferedRate != 100 || p.AchievedRate != 100 {
		t.Errorf("first phase: got offered %v achieved %v, want 100 and 100 over the half second that ran", p.OfferedRate, p.AchievedRate)
	}
	if p := rep.Phases[1]; p.AchievedRate != 0 || p.Requests != 0 {
		t.Errorf("second phase: got %+v, want nothing achieved", p)
	}
	if !rep.Interrupted || len(rep.Timeline) != 1 {
		t.Errorf("got interrupted %v and %d timeline seconds, want true and 1", rep.Interrupted, len(rep.Timeline))
	}
	full := Analyze(&Run{Schema: RunSchema, Started: t0, Phases: run.Phases}, res, nil, Options{})
	if len(full.Timeline) != 4 {
		t.Errorf("timeline: got %d seconds, want one per second of the 4s run", len(full.Timeline))
	}
}

// sameCause compares causes, words included.
func sameCause(a, b Cause) bool {
	if a.Cause != b.Cause || a.Count != b.Count || a.Share != b.Share || a.Evidence != b.Evidence || len(a.GatewayWords) != len(b.GatewayWords) {
		return false
	}
	for i := range a.GatewayWords {
		if a.GatewayWords[i] != b.GatewayWords[i] {
			return false
		}
	}
	return true
}
