package results

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func f64(v float64) *float64 { return &v }

func str(s string) *string { return &s }

// TestOnsetWords checks the onset in plain words: "no sustained onset"
// when the share never held, and a sustained onset never said to come
// before the first failure (its bucket may begin before it).
func TestOnsetWords(t *testing.T) {
	tests := []struct {
		name string
		o    Onset
		want string
	}{
		{"never sustained", Onset{FirstS: f64(1.5), FirstPhase: str("faulty"), FirstRate: f64(2)},
			"502s began at 1.5s (phase faulty, 2.0/s offered), no sustained onset"},
		{"sustained from the first's bucket", Onset{FirstS: f64(12.4), FirstPhase: str("resets"), FirstRate: f64(180), SustainedS: f64(12)},
			"502s began at 12.4s (phase resets, 180.0/s offered), sustained from the first on"},
		{"sustained from the first's own instant", Onset{FirstS: f64(12.05), SustainedS: f64(12)},
			"502s began at 12.0s, sustained from the first on"},
		{"sustained later", Onset{FirstS: f64(12.4), SustainedS: f64(13)},
			"502s began at 12.4s, sustained from 13.0s"},
		{"sustained on a ramp", Onset{FirstS: f64(12.4), SustainedS: f64(14), KneeRate: f64(150)},
			"502s began at 12.4s, sustained from 14.0s (the knee: 150.0/s offered)"},
		{"sustained at once on a ramp", Onset{FirstS: f64(12.4), SustainedS: f64(12), KneeRate: f64(150)},
			"502s began at 12.4s, sustained from the first on (the knee: 150.0/s offered)"},
		{"after the plan", Onset{FirstS: f64(20), FirstPhase: str("quiet")},
			"502s began at 20.0s (phase quiet, after the plan), no sustained onset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := onsetWords("502s", tt.o); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestErrorWords checks that the requests of the error class are told
// apart: no answer at all, or an answer cut after its headers.
func TestErrorWords(t *testing.T) {
	before := Cause{Cause: "reset-before-headers", Count: 3, Share: 0.6, Evidence: Evidence{Exact: 3}}
	refused := Cause{Cause: "connection-refused", Count: 1, Share: 0.2, Evidence: Evidence{Temporal: 1}}
	midBody := Cause{Cause: "reset-mid-body", Count: 1, Share: 0.2, Evidence: Evidence{Exact: 1}}
	length := Cause{Cause: "length-mismatch", Count: 2, Share: 0.5, Evidence: Evidence{Exact: 2}}
	afterHeaders := Cause{Cause: "closed-after-headers", Count: 2, Share: 0.5, Evidence: Evidence{Exact: 2}}
	unattributed := Cause{Cause: "unattributed", Count: 1, Share: 1}
	o := Onset{FirstS: f64(2.9), FirstPhase: str("faulty"), FirstRate: f64(2)}
	tests := []struct {
		name string
		cs   []Cause
		want string
	}{
		{"one cut", []Cause{{Cause: "truncated-chunked", Count: 1, Share: 1, Evidence: Evidence{Exact: 1}}},
			"1 answer was cut after its headers, the first at 2.9s (phase faulty, 2.0/s offered), no sustained onset: 100.0% follow broken chunked bodies (exact)."},
		{"no answer only", []Cause{unattributed},
			"1 request got no answer at all, the first at 2.9s (phase faulty, 2.0/s offered), no sustained onset: 100.0% unattributed."},
		{"cut only", []Cause{length, afterHeaders},
			"4 answers were cut after their headers, the first at 2.9s (phase faulty, 2.0/s offered), no sustained onset: 50.0% follow wrong Content-Length (exact), 50.0% upstream closes after headers (exact)."},
		{"both", []Cause{before, refused, midBody},
			"5 requests failed without a whole answer, the first at 2.9s (phase faulty, 2.0/s offered), no sustained onset. Of them, 4 got no answer at all: 75.0% follow upstream resets before headers (exact), 25.0% refused connections (temporal); 1 answer was cut after its headers: 100.0% follow upstream resets mid-body (exact)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorWords(causeCount(tt.cs), o, tt.cs); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestSplitErrorCauses checks which causes end an answer after its
// headers, and that each part's shares are of that part.
func TestSplitErrorCauses(t *testing.T) {
	var cs []Cause
	for _, n := range []string{"reset-before-headers", "closed-before-headers", "reset-after-headers", "closed-after-headers",
		"reset-mid-body", "closed-mid-body", "length-mismatch", "truncated-chunked", "upstream-reset-mid-body",
		"connection-refused", "upstream-timeout", "keepalive-race", "gateway-local", "unattributed", "no-such-cause"} {
		cs = append(cs, Cause{Cause: n, Count: 1})
	}
	none, cut := SplitErrorCauses(cs)
	names := func(cs []Cause) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Cause)
		}
		return out
	}
	if want := []string{"reset-before-headers", "closed-before-headers", "connection-refused", "upstream-timeout", "keepalive-race", "gateway-local", "unattributed", "no-such-cause"}; !reflect.DeepEqual(names(none), want) {
		t.Errorf("no answer: got %v, want %v", names(none), want)
	}
	if want := []string{"reset-after-headers", "closed-after-headers", "reset-mid-body", "closed-mid-body", "length-mismatch", "truncated-chunked", "upstream-reset-mid-body"}; !reflect.DeepEqual(names(cut), want) {
		t.Errorf("cut: got %v, want %v", names(cut), want)
	}
	if none[0].Share != 0.125 || cut[0].Share != 0.143 {
		t.Errorf("shares: got %v and %v, want 0.125 and 0.143", none[0].Share, cut[0].Share)
	}
	if none, cut := SplitErrorCauses(nil); none != nil || cut != nil {
		t.Errorf("no causes: got %v and %v, want nil", none, cut)
	}
}

// TestSameSeconds checks which correlations cannot be told apart: same
// buckets and same r.
func TestSameSeconds(t *testing.T) {
	tl := func(faults ...map[string]int) []Bucket {
		out := make([]Bucket, len(faults))
		for i, f := range faults {
			out[i].Faults = f
		}
		return out
	}
	corr := func(kv ...any) []Correlation {
		var out []Correlation
		for i := 0; i < len(kv); i += 2 {
			c := Correlation{Kind: kv[i].(string)}
			if v, ok := kv[i+1].(float64); ok {
				c.Pearson = &v
			}
			out = append(out, c)
		}
		return out
	}
	tests := []struct {
		name  string
		tl    []Bucket
		corr  []Correlation
		want  [][]string
		shown []string
		same  []string
	}{
		{"one kind", tl(nil, map[string]int{"reset": 3}), corr("reset", 1.0), nil, []string{"reset"}, nil},
		{"same buckets, same r", tl(nil, map[string]int{"reset": 3, "latency": 5}, map[string]int{"reset": 1, "latency": 2}),
			corr("latency", 1.0, "reset", 1.0), [][]string{{"latency", "reset"}}, nil,
			[]string{"latency and reset were active in the same seconds: their correlations cannot be told apart"}},
		{"same buckets, r apart", tl(map[string]int{"status": 1, "latency": 1}, map[string]int{"status": 2, "latency": 1}),
			corr("latency", nil, "status", -1.0), nil, []string{"latency", "status"}, nil},
		{"other buckets, same r", tl(map[string]int{"reset": 1}, map[string]int{"latency": 1}),
			corr("latency", 0.5, "reset", 0.5), nil, []string{"latency", "reset"}, nil},
		{"three alike and one apart", tl(map[string]int{"a": 1, "b": 2, "c": 1, "d": 1}, map[string]int{"a": 1, "b": 1, "c": 3}),
			corr("a", 0.9, "b", 0.9, "c", 0.9, "d", 0.9), [][]string{{"a", "b", "c"}}, []string{"d"},
			[]string{"a, b and c were active in the same seconds: their correlations cannot be told apart"}},
		{"never applied", tl(nil, nil), corr("reset", nil, "latency", nil), nil, []string{"reset", "latency"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Timeline: tt.tl, Correlations: tt.corr}
			if got := r.SameSeconds(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SameSeconds: got %v, want %v", got, tt.want)
			}
			shown, same := r.Correlated()
			var kinds []string
			for _, c := range shown {
				kinds = append(kinds, c.Kind)
			}
			if !reflect.DeepEqual(kinds, tt.shown) || !reflect.DeepEqual(same, tt.same) {
				t.Errorf("Correlated: got %v and %q, want %v and %q", kinds, same, tt.shown, tt.same)
			}
		})
	}
}

// TestDiagnosisSameSeconds checks that the diagnosis does not name one
// kind of several that cannot be told apart as the one the 502s follow.
func TestDiagnosisSameSeconds(t *testing.T) {
	r := &Report{
		Totals:       Totals{Requests: 100},
		Onset:        Onset{FirstS: f64(1)},
		Causes:       []Cause{{Cause: "reset-before-headers", Count: 20, Share: 1, Evidence: Evidence{Exact: 20}}},
		Timeline:     []Bucket{{}, {Faults: map[string]int{"latency": 10, "reset": 10}}, {Faults: map[string]int{"latency": 10, "reset": 10}}},
		Correlations: []Correlation{{Kind: "latency", Pearson: f64(1)}, {Kind: "reset", Pearson: f64(1)}},
	}
	d := Diagnosis(r)
	if want := "The latency and reset faults, active in the same seconds, follow the 502 timeline closest (Pearson r 1.00); which of them caused the 502s is for the causes above to say, not the correlation."; !strings.Contains(d, want) {
		t.Errorf("diagnosis lacks %q:\n%s", want, d)
	}
	if strings.Contains(d, "faults' timeline follows") {
		t.Errorf("diagnosis names one kind:\n%s", d)
	}
}

// TestSustainedNotBeforeFirst checks a run whose first 502 falls within
// the bucket its sustained onset starts: report.json keeps the bucket's
// start (2.0s, before the first 502 at 2.5s), the diagnosis does not say
// the 502s were sustained from before they began.
func TestSustainedNotBeforeFirst(t *testing.T) {
	run := oneRun()
	res := scheduled(run, func(d time.Duration) uint16 {
		if d >= 2500*time.Millisecond && d < 6*time.Second {
			return 502
		}
		return 200
	})
	rep := Analyze(run, res, nil, Options{})
	if o := rep.Onset; o.FirstS == nil || *o.FirstS != 2.5 || o.SustainedS == nil || *o.SustainedS != 2 {
		t.Fatalf("onset: got %v and %v, want first 2.5s, sustained 2s", deref(o.FirstS), deref(o.SustainedS))
	}
	if want := "502s began at 2.5s (phase p, 10.0/s offered), sustained from the first on:"; !strings.Contains(rep.Diagnosis, want) {
		t.Errorf("diagnosis lacks %q:\n%s", want, rep.Diagnosis)
	}
	if strings.Contains(rep.Diagnosis, "sustained from 2.0s") {
		t.Errorf("diagnosis says sustained before the first 502:\n%s", rep.Diagnosis)
	}
}
