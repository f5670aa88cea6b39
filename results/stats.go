package results

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/montanaflynn/stats"
)

// latencies computes every latency statistic with one scratch buffer: the
// corrected latencies and the send lags first, because sorting plain
// latencies in place breaks their pairing with the lags.
func (a *Analyzer) latencies() (plain, corrected []Latency, buckets []BucketLatency, lag SendLag) {
	scratch := make([]float64, 0, a.total.requests)
	each := func(pi int, fn func(sg *segment)) {
		for i := range a.bucket {
			for j := range a.bucket[i].segs {
				if sg := &a.bucket[i].segs[j]; pi < 0 || sg.phase == pi {
					fn(sg)
				}
			}
		}
	}
	corrected = make([]Latency, len(a.phases))
	for pi := range a.phases {
		scratch = scratch[:0]
		each(pi, func(sg *segment) {
			for j, l := range sg.lat {
				scratch = append(scratch, l+max(sg.lag[j], 0))
			}
		})
		corrected[pi] = latency(scratch)
	}
	scratch = scratch[:0]
	each(-1, func(sg *segment) {
		for _, l := range sg.lag {
			if l != noLag {
				scratch = append(scratch, l)
			}
		}
	})
	lag = sendLag(scratch)
	plain = make([]Latency, len(a.phases))
	for pi := range a.phases {
		scratch = scratch[:0]
		each(pi, func(sg *segment) { scratch = append(scratch, sg.lat...) })
		plain[pi] = latency(scratch)
	}
	buckets = make([]BucketLatency, len(a.bucket))
	for i := range a.bucket {
		segs := a.bucket[i].segs
		ms := scratch[:0]
		for _, sg := range segs {
			ms = append(ms, sg.lat...)
		}
		if len(ms) > 0 {
			p := percentiles(ms, 50, 99)
			buckets[i] = BucketLatency{P50: round(p[0]), P99: round(p[1])}
		}
	}
	return plain, corrected, buckets, lag
}

// latency computes exact statistics in milliseconds. It sorts ms.
func latency(ms []float64) Latency {
	if len(ms) == 0 {
		return Latency{}
	}
	sort.Float64s(ms)
	mean, _ := stats.Mean(ms)
	sd, _ := stats.StandardDeviationPopulation(ms)
	return Latency{P50: round(nearestRank(ms, 50)), P90: round(nearestRank(ms, 90)), P99: round(nearestRank(ms, 99)),
		Max: round(ms[len(ms)-1]), Mean: round(mean), Stdev: round(sd)}
}

// nearestRank is montanaflynn/stats' PercentileNearestRank (v0.7.1) on
// data already sorted, without the copy it sorts each call: millions of
// latencies would be copied three times over. TestPercentileDefinition
// holds the two equal.
func nearestRank(sorted []float64, p float64) float64 {
	return sorted[rank(len(sorted), p)]
}

func sendLag(ms []float64) SendLag {
	if len(ms) == 0 {
		return SendLag{}
	}
	p := percentiles(ms, 50, 99, 100)
	l := SendLag{P50: round(p[0]), P99: round(p[1]), Max: round(p[2])}
	l.Behind = l.P99 > float64(behind)/float64(time.Millisecond)
	return l
}

// percentiles returns the nearest-rank percentiles ps (in increasing
// order) of ms without sorting it: each is found by selection, in linear
// time. It reorders ms.
func percentiles(ms []float64, ps ...float64) []float64 {
	out := make([]float64, len(ps))
	hi := len(ms)
	for i := len(ps) - 1; i >= 0; i-- {
		k := rank(len(ms), ps[i])
		out[i] = kth(ms[:hi], k)
		hi = k + 1
	}
	return out
}

// rank returns the index nearestRank picks in n sorted values.
func rank(n int, p float64) int {
	if p >= 100 {
		return n - 1
	}
	return max(int(math.Ceil(float64(n)*p/100))-1, 0)
}

// kth returns the k-th smallest of a (from 0) and leaves a partitioned
// around it: a[:k] holds nothing larger, a[k+1:] nothing smaller. It is a
// quickselect with a median-of-three pivot and a three-way partition, so
// runs of equal values cost nothing extra.
func kth(a []float64, k int) float64 {
	lo, hi := 0, len(a)-1
	for hi-lo > 16 {
		m := lo + (hi-lo)/2
		p := max(min(a[lo], a[m]), min(max(a[lo], a[m]), a[hi]))
		lt, i, gt := lo, lo, hi
		for i <= gt {
			switch {
			case a[i] < p:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case a[i] > p:
				a[i], a[gt] = a[gt], a[i]
				gt--
			default:
				i++
			}
		}
		switch {
		case k < lt:
			hi = lt - 1
		case k > gt:
			lo = gt + 1
		default:
			return p
		}
	}
	slices.Sort(a[lo : hi+1])
	return a[k]
}
