package results

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/montanaflynn/stats"
)

// histOf returns a histogram that recorded ds.
func histOf(ds ...time.Duration) *Histogram {
	var h Histogram
	for _, d := range ds {
		h.Record(d)
	}
	return &h
}

// histBytes returns h's JSON form or fails t.
func histBytes(t testing.TB, h *Histogram) []byte {
	t.Helper()
	b, err := h.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// histSample returns n pseudo-random durations, the same on every run:
// log-uniform from 1µs to 10s with nanosecond parts, so that they cover
// the exact buckets and many powers of two.
func histSample(seed uint64, n int) []time.Duration {
	r := rand.New(rand.NewPCG(seed, 1))
	ds := make([]time.Duration, n)
	for i := range ds {
		us := time.Duration(math.Exp(r.Float64() * math.Log(1e7)))
		ds[i] = us*time.Microsecond + time.Duration(r.IntN(1000))
	}
	return ds
}

func TestHistogramBounds(t *testing.T) {
	for _, tt := range []struct {
		name   string
		d      time.Duration
		lo, hi int64
	}{
		{"negative", -time.Second, 0, 1},
		{"zero", 0, 0, 1},
		{"below 1µs", 999 * time.Nanosecond, 0, 1},
		{"63µs", 63 * time.Microsecond, 63, 64},
		{"63.999µs", 63*time.Microsecond + 999, 63, 64},
		{"64µs", 64 * time.Microsecond, 64, 65},
		{"65µs", 65 * time.Microsecond, 65, 66},
		{"127µs", 127 * time.Microsecond, 127, 128},
		{"128µs", 128 * time.Microsecond, 128, 130},
		{"129µs", 129 * time.Microsecond, 128, 130},
		{"1024µs", 1024 * time.Microsecond, 1024, 1040},
		{"1<<20µs - 1µs", (1<<20 - 1) * time.Microsecond, 127 << 13, 1 << 20},
		{"1<<20µs", 1 << 20 * time.Microsecond, 1 << 20, 1<<20 + 1<<14},
		{"largest duration", math.MaxInt64, 65 << 47, 66 << 47},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := histBounds(histIndex(int64(max(tt.d, 0) / time.Microsecond)))
			if lo != tt.lo || hi != tt.hi {
				t.Errorf("got [%d, %d), want [%d, %d)", lo, hi, tt.lo, tt.hi)
			}
			// The JSON form carries the same bounds.
			var doc histJSON
			if err := json.Unmarshal(histBytes(t, histOf(tt.d)), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Buckets) != 1 || doc.Buckets[0].Lo != tt.lo || doc.Buckets[0].Hi != tt.hi || doc.Buckets[0].N != 1 {
				t.Errorf("got buckets %+v, want [{Lo:%d Hi:%d N:1}]", doc.Buckets, tt.lo, tt.hi)
			}
		})
	}
}

// TestHistogramGrid checks that the buckets tile [0, histMaxMicros] without
// gaps or overlaps, each no wider than 1/64 of its lower bound.
func TestHistogramGrid(t *testing.T) {
	last := histIndex(histMaxMicros)
	for i := range last + 1 {
		lo, hi := histBounds(i)
		if got := histIndex(lo); got != i {
			t.Fatalf("bucket %d [%d, %d): lo is in bucket %d, want %d", i, lo, hi, got, i)
		}
		if got := histIndex(hi - 1); got != i {
			t.Fatalf("bucket %d [%d, %d): hi-1 is in bucket %d, want %d", i, lo, hi, got, i)
		}
		if i > 0 {
			if _, prevHi := histBounds(i - 1); prevHi != lo {
				t.Fatalf("bucket %d: got lo %d, want the previous hi %d", i, lo, prevHi)
			}
		}
		if lo >= histSubBuckets && (hi-lo)*histSubBuckets > lo {
			t.Fatalf("bucket %d [%d, %d): got width %d, want at most lo/64 = %v", i, lo, hi, hi-lo, float64(lo)/64)
		}
	}
	if _, hi := histBounds(last); hi <= histMaxMicros {
		t.Errorf("last bucket: got hi %d, want above the largest duration's %dµs", hi, histMaxMicros)
	}
}

// TestHistogramWidth sweeps values from 1µs to the largest duration and
// checks that each falls in a bucket no wider than 1/64 of the value.
func TestHistogramWidth(t *testing.T) {
	for v := 1.0; v <= float64(histMaxMicros); v *= 1.003 {
		us := int64(v)
		lo, hi := histBounds(histIndex(us))
		if us < lo || us >= hi {
			t.Fatalf("%dµs: got bucket [%d, %d), want it to hold the value", us, lo, hi)
		}
		if width := float64(hi - lo); us >= histSubBuckets && width/float64(us) > 1.0/64 {
			t.Fatalf("%dµs: got bucket [%d, %d), relative width %v, want at most 1/64", us, lo, hi, width/float64(us))
		}
		if us < 2*histSubBuckets && hi-lo != 1 {
			t.Fatalf("%dµs: got bucket [%d, %d), want an exact bucket", us, lo, hi)
		}
	}
}

// TestHistogramQuantileDefinition pins the rank Quantile picks against
// stats.PercentileNearestRank on exact values, as TestPercentileDefinition
// does for the reports' exact percentiles.
func TestHistogramQuantileDefinition(t *testing.T) {
	data := stats.Float64Data{15, 20, 35, 40, 50}
	h := histOf(15*time.Microsecond, 20*time.Microsecond, 35*time.Microsecond, 40*time.Microsecond, 50*time.Microsecond)
	for _, p := range []float64{0, 5, 20, 30, 40, 50, 60, 80, 81, 100} {
		want, err := stats.PercentileNearestRank(data, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Quantile(p / 100); got != time.Duration(want)*time.Microsecond {
			t.Errorf("p%v: got %v, want %vµs", p, got, want)
		}
	}
	for _, tt := range []struct {
		name string
		q    float64
		want time.Duration
	}{
		{"below 0", -1, 15 * time.Microsecond},
		{"NaN", math.NaN(), 15 * time.Microsecond},
		{"above 1", 2, 50 * time.Microsecond},
	} {
		if got := h.Quantile(tt.q); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	var empty Histogram
	if got := empty.Quantile(0.5); got != 0 {
		t.Errorf("empty: got %v, want 0", got)
	}
	if got := histOf(math.MaxInt64).Quantile(1); got != math.MaxInt64 {
		t.Errorf("largest duration: got %v, want %v", got, time.Duration(math.MaxInt64))
	}
}

// TestHistogramQuantile compares Quantile with the exact nearest-rank
// percentile of a pseudo-random sample: it must be the top of the
// exact value's bucket, so within one bucket width of it.
func TestHistogramQuantile(t *testing.T) {
	for _, n := range []int{1, 7, 100, 1000, 10007} {
		ds := histSample(uint64(n), n)
		h := histOf(ds...)
		if got := h.Count(); got != int64(n) {
			t.Errorf("n=%d: got count %d, want %d", n, got, n)
		}
		data := make(stats.Float64Data, n)
		for i, d := range ds {
			data[i] = float64(d)
		}
		for _, p := range []float64{0, 1, 7, 10, 25, 29, 50, 57, 75, 90, 99, 99.9, 99.99, 100} {
			f, err := stats.PercentileNearestRank(data, p)
			if err != nil {
				t.Fatal(err)
			}
			exact := time.Duration(f)
			lo, hi := histBounds(histIndex(int64(exact / time.Microsecond)))
			got := h.Quantile(p / 100)
			if want := time.Duration(hi-1) * time.Microsecond; got != want {
				t.Errorf("n=%d p%v: got %v, want %v, the top of [%dµs, %dµs) holding the exact %v", n, p, got, want, lo, hi, exact)
			}
			if diff, width := (got - exact).Abs(), time.Duration(hi-lo)*time.Microsecond; diff >= width {
				t.Errorf("n=%d p%v: got %v, %v from the exact %v, want within the bucket width %v", n, p, got, diff, exact, width)
			}
		}
	}
}

func TestHistogramMerge(t *testing.T) {
	small := histSample(1, 50)
	for i := range small {
		small[i] /= 1000 // Below 10ms: a shorter slice.
	}
	large := histSample(2, 500)
	for _, tt := range []struct {
		name string
		a, b []time.Duration
	}{
		{"both empty", nil, nil},
		{"into empty", nil, large},
		{"empty into", large, nil},
		{"small into large", large, small},
		{"large into small", small, large},
		{"overlapping", large[:300], large[200:]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := histOf(tt.a...), histOf(tt.b...)
			before := histBytes(t, b)
			a.Merge(b)
			want := histOf(append(append([]time.Duration{}, tt.a...), tt.b...)...)
			if got, want := histBytes(t, a), histBytes(t, want); !bytes.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if got, want := a.Count(), int64(len(tt.a)+len(tt.b)); got != want {
				t.Errorf("got count %d, want %d", got, want)
			}
			if got := histBytes(t, b); !bytes.Equal(got, before) {
				t.Errorf("merged-in histogram changed: got\n%s\nwant\n%s", got, before)
			}
		})
	}
	t.Run("itself", func(t *testing.T) {
		h := histOf(large...)
		h.Merge(h)
		want := histOf(append(append([]time.Duration{}, large...), large...)...)
		if got, want := histBytes(t, h), histBytes(t, want); !bytes.Equal(got, want) {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
}

func TestHistogramJSON(t *testing.T) {
	us := time.Microsecond
	for _, tt := range []struct {
		name string
		h    *Histogram
		want string // "" to check only the round trip
	}{
		{"empty", &Histogram{}, `{"scheme":"log-linear","unit":"us","sub_buckets":64,"buckets":[]}`},
		{"doc example", histOf(1024*us, 1030*us, 1039*us+999, 1040*us), `{"scheme":"log-linear","unit":"us","sub_buckets":64,"buckets":[{"lo":1024,"hi":1040,"n":3},{"lo":1040,"hi":1056,"n":1}]}`},
		{"exact and largest", histOf(0, 0, 63*us, math.MaxInt64), `{"scheme":"log-linear","unit":"us","sub_buckets":64,"buckets":[{"lo":0,"hi":1,"n":2},{"lo":63,"hi":64,"n":1},{"lo":9147936743096320,"hi":9288674231451648,"n":1}]}`},
		{"sample", histOf(histSample(3, 2000)...), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := histBytes(t, tt.h)
			if tt.want != "" && string(b) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b, tt.want)
			}
			var back Histogram
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if got := histBytes(t, &back); !bytes.Equal(got, b) {
				t.Errorf("round trip: got\n%s\nwant\n%s", got, b)
			}
			if got, want := back.Count(), tt.h.Count(); got != want {
				t.Errorf("round trip: got count %d, want %d", got, want)
			}
			for _, q := range []float64{0, 0.5, 0.99, 1} {
				if got, want := back.Quantile(q), tt.h.Quantile(q); got != want {
					t.Errorf("round trip: q%v: got %v, want %v", q, got, want)
				}
			}
		})
	}

	// Inside a report, encoding/json calls the methods of a field.
	type phase struct {
		Latency *Histogram `json:"latency"`
	}
	b, err := json.Marshal(phase{histOf(1024 * us)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"latency":{"scheme":"log-linear","unit":"us","sub_buckets":64,"buckets":[{"lo":1024,"hi":1040,"n":1}]}}`; string(b) != want {
		t.Errorf("field: got %s, want %s", b, want)
	}
	var p phase
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Latency == nil || p.Latency.Count() != 1 {
		t.Errorf("field: got %+v, want one duration", p.Latency)
	}
}

func TestHistogramUnmarshalErrors(t *testing.T) {
	const head = `{"scheme":"log-linear","unit":"us","sub_buckets":64,"buckets":`
	for _, tt := range []struct {
		name, in string
		want     []string // substrings of the error
	}{
		{"not JSON", `{"scheme":`, []string{"histogram: unexpected end of JSON input"}},
		{"trailing data", head + `[]} {}`, []string{"histogram: invalid character"}},
		{"wrong scheme", `{"scheme":"hdr","unit":"us","sub_buckets":64,"buckets":[]}`, []string{`scheme "hdr" is not "log-linear"`}},
		{"no scheme", `{"unit":"us","sub_buckets":64,"buckets":[]}`, []string{`scheme "" is not "log-linear"`}},
		{"wrong unit", `{"scheme":"log-linear","unit":"ms","sub_buckets":64,"buckets":[]}`, []string{`unit "ms" is not "us"`}},
		{"wrong sub_buckets", `{"scheme":"log-linear","unit":"us","sub_buckets":32,"buckets":[]}`, []string{"sub_buckets 32 is not 64"}},
		{"all three wrong", `{"scheme":"hdr","unit":"ms","sub_buckets":32,"buckets":[{"lo":1,"hi":1,"n":1}]}`, []string{`scheme "hdr"`, `unit "ms"`, "sub_buckets 32"}},
		{"lo off the grid", head + `[{"lo":1025,"hi":1041,"n":1}]}`, []string{"buckets[0]: [1025, 1041) is not a bucket of the log-linear scheme; the bucket holding 1025 is [1024, 1040)"}},
		{"hi off the grid", head + `[{"lo":1024,"hi":1056,"n":1}]}`, []string{"buckets[0]: [1024, 1056) is not a bucket"}},
		{"exact bucket too wide", head + `[{"lo":10,"hi":12,"n":1}]}`, []string{"buckets[0]: [10, 12) is not a bucket"}},
		{"negative lo", head + `[{"lo":-1,"hi":0,"n":1}]}`, []string{"buckets[0]: lo -1 is outside [0, 9223372036854775]"}},
		{"lo past the largest duration", head + `[{"lo":9288674231451648,"hi":9429411719806976,"n":1}]}`, []string{"buckets[0]: lo 9288674231451648 is outside"}},
		{"unsorted", head + `[{"lo":1040,"hi":1056,"n":1},{"lo":1024,"hi":1040,"n":1}]}`, []string{"buckets[1]: lo 1024 does not follow the previous lo 1040"}},
		{"duplicate", head + `[{"lo":5,"hi":6,"n":1},{"lo":5,"hi":6,"n":2}]}`, []string{"buckets[1]: lo 5 does not follow the previous lo 5"}},
		{"zero n", head + `[{"lo":5,"hi":6,"n":0}]}`, []string{"buckets[0]: n 0 is not positive"}},
		{"negative n", head + `[{"lo":5,"hi":6,"n":-3}]}`, []string{"buckets[0]: n -3 is not positive"}},
		{"counts overflow", head + `[{"lo":5,"hi":6,"n":9223372036854775807},{"lo":6,"hi":7,"n":1}]}`, []string{"buckets[1]: the counts add up past"}},
		{"float n", head + `[{"lo":5,"hi":6,"n":1.5}]}`, []string{"histogram: json: cannot unmarshal number 1.5"}},
		{"every bad bucket", head + `[{"lo":1025,"hi":1041,"n":1},{"lo":5,"hi":6,"n":0}]}`, []string{"buckets[0]: [1025, 1041)", "buckets[1]: n 0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := histOf(time.Millisecond)
			before := histBytes(t, h)
			err := h.UnmarshalJSON([]byte(tt.in))
			if err == nil {
				t.Fatalf("got no error, want one with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to hold %q", err, w)
				}
			}
			if got := histBytes(t, h); !bytes.Equal(got, before) {
				t.Errorf("histogram changed on error: got\n%s\nwant\n%s", got, before)
			}
		})
	}
}

// FuzzHistogramJSON checks that UnmarshalJSON never panics and that what
// it accepts marshals to a canonical form that reads back to the same
// bytes.
func FuzzHistogramJSON(f *testing.F) {
	for _, h := range []*Histogram{{}, histOf(time.Millisecond, 1040*time.Microsecond), histOf(0, 0, 100*time.Microsecond, math.MaxInt64)} {
		f.Add(histBytes(f, h))
	}
	f.Add([]byte(` { "buckets" : [ {"n":2,"hi":6,"lo":5} ], "sub_buckets":64, "unit":"us", "scheme":"log-linear" } `))
	f.Add([]byte(`{"scheme":"log-linear","unit":"us","sub_buckets":64,"buckets":null}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var h Histogram
		if h.UnmarshalJSON(in) != nil {
			return
		}
		b := histBytes(t, &h)
		var back Histogram
		if err := back.UnmarshalJSON(b); err != nil {
			t.Fatalf("accepted %q, but not its re-marshalled form %s: %v", in, b, err)
		}
		if got := histBytes(t, &back); !bytes.Equal(got, b) {
			t.Fatalf("accepted %q: got\n%s\nwant\n%s", in, got, b)
		}
		if got, want := back.Count(), h.Count(); got != want {
			t.Fatalf("accepted %q: got count %d, want %d", in, got, want)
		}
	})
}

// TestHistogramRecordAllocs checks that Record does not allocate once the
// histogram has grown.
func TestHistogramRecordAllocs(t *testing.T) {
	ds := histSample(5, 1024)
	h := histOf(ds...)
	i := 0
	if got := testing.AllocsPerRun(10000, func() {
		h.Record(ds[i%len(ds)])
		i++
	}); got != 0 {
		t.Errorf("got %v allocs per Record, want 0", got)
	}
}

// BenchmarkHistogramRecord measures Record on pseudo-random latencies
// from 1µs to 10s:
//
//	go test -run '^$' -bench HistogramRecord -benchmem ./results/
func BenchmarkHistogramRecord(b *testing.B) {
	ds := histSample(6, 4096)
	h := histOf(ds...) // Grown: the loop measures Record alone.
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.Record(ds[i&(len(ds)-1)])
		i++
	}
}
