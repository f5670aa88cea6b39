package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"time"
)

// The histogram scheme as report.json names it.
const (
	histScheme     = "log-linear"
	histUnit       = "us"
	histSubBits    = 6
	histSubBuckets = 1 << histSubBits // 64

	// histMaxMicros is the largest whole microsecond a time.Duration holds.
	histMaxMicros = math.MaxInt64 / int64(time.Microsecond)
)

// Histogram counts durations in log-linear buckets, so that histograms of
// different runs or phases can be merged and compared without the
// durations themselves. The zero value is an empty histogram ready to
// use. A Histogram is not safe for concurrent use.
//
// Durations are counted in whole microseconds (truncated; negative
// durations count as 0). Each value below 64µs has its own bucket
// [v, v+1). Above that, every power of two [2^k, 2^(k+1)) is split into
// 64 equal sub-buckets of width 2^(k-6), so a bucket is never wider than
// 1/64 (1.6%) of its lower bound, and values below 128µs stay exact.
//
// This scheme is part of report.json (gatecrash/report/v1). A histogram's
// JSON form names the scheme and lists, sorted by lower bound, only the
// buckets with counts: lo is inclusive, hi exclusive, both in
// microseconds, and n is the count:
//
//	{"scheme":"log-linear","unit":"us","sub_buckets":64,"buckets":[{"lo":1024,"hi":1040,"n":3},{"lo":1040,"hi":1056,"n":1}]}
//
// Two histograms merge by adding the n of buckets with the same bounds;
// an empty histogram has "buckets":[].
type Histogram struct {
	// counts is indexed by bucket index (see histIndex); it grows by
	// whole powers of two as larger durations come.
	counts []int64
	n      int64
}

// histIndex returns the index of the bucket holding v microseconds.
// Indexes run without gaps: values below 128 are their own index; above,
// index shift*64 + v>>shift holds the 64 buckets of width 2^shift.
func histIndex(v int64) int {
	shift := max(bits.Len64(uint64(v))-(histSubBits+1), 0)
	return shift<<histSubBits + int(v>>shift)
}

// histBounds returns the bounds [lo, hi) in microseconds of bucket i.
func histBounds(i int) (lo, hi int64) {
	shift := max(i>>histSubBits-1, 0)
	m := int64(i - shift<<histSubBits)
	return m << shift, (m + 1) << shift
}

// Record counts d. Once h has grown to the durations it sees, Record does
// not allocate.
func (h *Histogram) Record(d time.Duration) {
	i := histIndex(int64(max(d, 0) / time.Microsecond))
	if i >= len(h.counts) {
		h.grow(i)
	}
	h.counts[i]++
	h.n++
}

// grow makes room for bucket i and the rest of its power of two.
func (h *Histogram) grow(i int) {
	n := (i | (histSubBuckets - 1)) + 1
	h.counts = append(h.counts, make([]int64, n-len(h.counts))...)
}

// Merge adds the counts of o into h, as if h had recorded the durations o
// recorded. o is not changed; it may be h itself.
func (h *Histogram) Merge(o *Histogram) {
	if len(o.counts) > len(h.counts) {
		h.grow(len(o.counts) - 1)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// Count returns the number of durations recorded.
func (h *Histogram) Count() int64 { return h.n }

// Quantile returns the q-quantile of the recorded durations by nearest
// rank: it finds the bucket holding the ⌈q·n⌉-th smallest of the n
// durations (the one stats.PercentileNearestRank picks for 100·q percent)
// and returns the largest whole microsecond in that bucket. The result
// is thus never below that duration truncated to microseconds, at most
// one bucket width (1/64 of it) above it, and exact below 128µs. Rounding
// in q, as in 0.07·100 = 7.000000000000001, does not move the rank. q is
// clamped to [0, 1]; a NaN counts as 0. The result saturates at the
// largest Duration. Quantile returns 0 when h is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := h.rank(q)
	i, seen := 0, int64(0)
	for ; i < len(h.counts); i++ {
		if seen += h.counts[i]; seen >= rank {
			break
		}
	}
	_, hi := histBounds(min(i, len(h.counts)-1))
	if top := hi - 1; top <= histMaxMicros {
		return time.Duration(top) * time.Microsecond
	}
	return math.MaxInt64
}

// rank returns ⌈q·n⌉ in [1, n], forgiving a few ulps of rounding above
// a whole rank.
func (h *Histogram) rank(q float64) int64 {
	switch {
	case !(q > 0):
		return 1
	case q >= 1:
		return h.n
	}
	r := q * float64(h.n)
	k := math.Floor(r)
	if r-k > r*0x1p-50 {
		k++
	}
	return min(max(int64(k), 1), h.n)
}

// MarshalJSON returns h in the JSON form described on Histogram; the
// same counts always give the same bytes. Its receiver is a pointer:
// encoding/json uses it for a *Histogram or an addressable Histogram.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 96)
	b = append(b, `{"scheme":"`+histScheme+`","unit":"`+histUnit+`","sub_buckets":`...)
	b = strconv.AppendInt(b, histSubBuckets, 10)
	b = append(b, `,"buckets":[`...)
	first := true
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		lo, hi := histBounds(i)
		b = append(b, `{"lo":`...)
		b = strconv.AppendInt(b, lo, 10)
		b = append(b, `,"hi":`...)
		b = strconv.AppendInt(b, hi, 10)
		b = append(b, `,"n":`...)
		b = strconv.AppendInt(b, c, 10)
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// histJSON is the JSON form of a Histogram, as read.
type histJSON struct {
	Scheme     string `json:"scheme"`
	Unit       string `json:"unit"`
	SubBuckets int    `json:"sub_buckets"`
	Buckets    []struct {
		Lo int64 `json:"lo"`
		Hi int64 `json:"hi"`
		N  int64 `json:"n"`
	} `json:"buckets"`
}

// UnmarshalJSON sets h to the histogram b holds in the JSON form
// described on Histogram. It rejects another scheme, unit or number of
// sub-buckets, and buckets that are not on the scheme's grid, start past
// the largest Duration, are not sorted by lo, are repeated, or lack a
// positive count; each error says which bucket. A missing or null buckets
// is empty. On error, h is unchanged.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var doc histJSON
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("histogram: %w", err)
	}
	var errs []error
	if doc.Scheme != histScheme {
		errs = append(errs, fmt.Errorf("histogram: scheme %q is not %q", doc.Scheme, histScheme))
	}
	if doc.Unit != histUnit {
		errs = append(errs, fmt.Errorf("histogram: unit %q is not %q", doc.Unit, histUnit))
	}
	if doc.SubBuckets != histSubBuckets {
		errs = append(errs, fmt.Errorf("histogram: sub_buckets %d is not %d", doc.SubBuckets, histSubBuckets))
	}
	if errs != nil {
		// The buckets of another scheme are not worth checking.
		return errors.Join(errs...)
	}

	idx := make([]int, len(doc.Buckets))
	var total int64
	prev := int64(-1)
	for k, bk := range doc.Buckets {
		if bk.Lo < 0 || bk.Lo > histMaxMicros {
			errs = append(errs, fmt.Errorf("histogram: buckets[%d]: lo %d is outside [0, %d], the microseconds a time.Duration holds", k, bk.Lo, histMaxMicros))
			continue
		}
		i := histIndex(bk.Lo)
		lo, hi := histBounds(i)
		if bk.Lo != lo || bk.Hi != hi {
			errs = append(errs, fmt.Errorf("histogram: buckets[%d]: [%d, %d) is not a bucket of the %s scheme; the bucket holding %d is [%d, %d)", k, bk.Lo, bk.Hi, histScheme, bk.Lo, lo, hi))
			continue
		}
		if bk.Lo <= prev {
			errs = append(errs, fmt.Errorf("histogram: buckets[%d]: lo %d does not follow the previous lo %d; buckets are sorted by lo, each once", k, bk.Lo, prev))
		}
		prev = bk.Lo
		switch {
		case bk.N <= 0:
			errs = append(errs, fmt.Errorf("histogram: buckets[%d]: n %d is not positive", k, bk.N))
		case bk.N > math.MaxInt64-total:
			errs = append(errs, fmt.Errorf("histogram: buckets[%d]: the counts add up past %d", k, int64(math.MaxInt64)))
		default:
			total += bk.N
		}
		idx[k] = i
	}
	if errs != nil {
		return errors.Join(errs...)
	}

	var counts []int64
	if len(idx) > 0 {
		// Sorted, so the last bucket is the largest.
		counts = make([]int64, (idx[len(idx)-1]|(histSubBuckets-1))+1)
	}
	for k, i := range idx {
		counts[i] = doc.Buckets[k].N
	}
	h.counts, h.n = counts, total
	return nil
}
