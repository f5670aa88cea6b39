package report

import (
	"math"
	"strconv"

	"github.com/gatecrash/gatecrash/results"
)

// streamHead heads the table of the streaming answers, in every format.
var streamHead = []string{"phase", "streams", "tokens", "TTFT p50 ms", "TTFT p99 ms", "ITL p99 ms", "tokens/s/req", "tokens/s", "cut", "stalled"}

// streamBucketHead heads the table of the streams per timeline bucket.
var streamBucketHead = []string{"t", "phase", "streams", "tokens", "TTFT p50 ms", "TTFT p99 ms", "ITL p99 ms", "tokens/s/req", "tokens/s", "cut", "stalled"}

// streamCells are a scope's figures, as streamHead orders them after its
// name.
func streamCells(x *results.Streams) []string {
	return []string{strconv.Itoa(x.Streams), strconv.Itoa(x.Tokens), results.Decimal(x.TTFTMS.P50), results.Decimal(x.TTFTMS.P99),
		results.Decimal(x.ITLP99MS), results.Decimal(x.TokensPerSPerRequest), results.Decimal(x.TokensPerS), strconv.Itoa(x.Cut), strconv.Itoa(x.Stalled)}
}

// streamRows returns the table's rows: a row per phase with streams, and
// the total; nil without streams.
func streamRows(r *results.Report) [][]string {
	if r.Streams == nil {
		return nil
	}
	var rows [][]string
	for _, p := range r.Phases {
		if p.Streams != nil && (p.Streams.Streams > 0 || p.Streams.Cut+p.Streams.Stalled > 0) {
			rows = append(rows, append([]string{p.Name}, streamCells(p.Streams)...))
		}
	}
	return append(rows, append([]string{"total"}, streamCells(r.Streams)...))
}

// streamBucketRows returns a row per timeline bucket with a stream, or a
// stream cut or stalled.
func streamBucketRows(r *results.Report) [][]string {
	var rows [][]string
	for _, b := range r.Timeline {
		x := b.Streams
		if x == nil || x.Streams == 0 && x.Cut+x.Stalled == 0 {
			continue
		}
		rows = append(rows, append([]string{results.Secs(b.TS), b.Phase}, streamCells(x)...))
	}
	return rows
}

// streamPanels are the streams' chart: above, TTFT p50 and p99 per
// bucket; below, the tokens per second and the streams cut and stalled
// per second.
func streamPanels(tl chartBuckets) []chartPanel {
	n := len(tl.b)
	p50, p99, tokens, cut, stalled := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i, b := range tl.b {
		p50[i], p99[i] = math.NaN(), math.NaN()
		x := b.Streams
		if x == nil {
			continue
		}
		if x.Tokens > 0 {
			p50[i], p99[i] = x.TTFTMS.P50, x.TTFTMS.P99
		}
		tokens[i] = float64(x.Tokens) / tl.width
		cut[i], stalled[i] = float64(x.Cut)/tl.width, float64(x.Stalled)/tl.width
	}
	return []chartPanel{
		{ylabel: "TTFT ms", lines: []chartSeries{
			{name: "TTFT p99", color: colP99, ys: p99},
			{name: "TTFT p50", color: colP50, ys: p50},
		}},
		{ylabel: "tokens/s", lines: []chartSeries{
			{name: "tokens/s", color: col2xx, ys: tokens},
		}},
		{ylabel: "streams/s", lines: []chartSeries{
			{name: "cut", color: col502, ys: cut},
			{name: "stalled", color: col504, ys: stalled},
		}},
	}
}

// mergeStreams adds a bucket's streams to a merged bucket's: counts add
// up, TTFT p50 averages (over the buckets with a token, sum in p50sum and
// their count in n), p99s take the largest.
func mergeStreams(m *results.Bucket, x *results.Streams, p50sum *float64, n *int) {
	if x == nil {
		return
	}
	if m.Streams == nil {
		m.Streams = &results.Streams{}
	}
	s := m.Streams
	s.Streams += x.Streams
	s.Tokens += x.Tokens
	s.Cut += x.Cut
	s.Stalled += x.Stalled
	if x.Tokens > 0 {
		*p50sum += x.TTFTMS.P50
		*n++
		s.TTFTMS.P50 = *p50sum / float64(*n)
		s.TTFTMS.P99 = max(s.TTFTMS.P99, x.TTFTMS.P99)
		s.ITLP99MS = max(s.ITLP99MS, x.ITLP99MS)
	}
}
