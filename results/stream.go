package results

// The streaming answers of a run: the report's figures from streams.jsonl
// (one attack.Stream per streaming answer, per try), the stream-cut and
// stream-stall failure classes, and the buffering check.
//
// Metric definitions, as NVIDIA GenAI-Perf (now AIPerf) defines them
// (https://docs.nvidia.com/aiperf/reference/ai-perf-metrics-reference,
// https://docs.nvidia.com/nim/benchmarking/llm/metrics):
//   - time to first token (TTFT): from sending the request to the first
//     content token (attack.Stream.TTFT);
//   - inter-token latency (ITL): per stream, (last token - first token) /
//     (tokens - 1) (attack.Stream.ITL); the report gives the p99 of it;
//   - output token throughput per request: a stream's tokens over its
//     generation time, (request latency - TTFT); the report gives the mean
//     over the streams of at least two tokens;
//   - output token throughput: every token of the scope's streams over the
//     scope's length.

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/scenarios"
)

// The stream kinds of client error ErrorKind tells apart beside the
// Error constants: results whose streaming answer was cut, or stalled.
const (
	ErrorStreamCut   = scenarios.ClassStreamCut
	ErrorStreamStall = scenarios.ClassStreamStall
)

// Streams summarises the streaming answers of a scope (the run, a phase, a
// timeline bucket): the streams.jsonl lines whose try was sent in it, and
// the results of class stream-cut and stream-stall sent in it. Times are
// milliseconds.
type Streams struct {
	// Streams counts the streaming answers (each try's, with a client
	// retry policy); Tokens the content tokens they carried.
	Streams int `json:"streams"`
	Tokens  int `json:"tokens"`
	// TTFTMS are the nearest-rank percentiles of the time to first token
	// of the streams that had one; zero without any.
	TTFTMS StreamPercentiles `json:"ttft_ms"`
	// ITLP99MS is the nearest-rank p99 of the streams' mean inter-token
	// latencies, over the streams of at least two tokens; 0 without any.
	ITLP99MS float64 `json:"itl_p99_ms"`
	// TokensPerSPerRequest is the mean, over the streams of at least two
	// tokens, of tokens / (duration - TTFT): GenAI-Perf's output token
	// throughput per request.
	TokensPerSPerRequest float64 `json:"tokens_per_s_per_request"`
	// TokensPerS is Tokens over the scope's length (a phase's as planned,
	// or the part that ran; a bucket's width; the run's duration).
	TokensPerS float64 `json:"tokens_per_s"`
	// Ends counts the streams by how they ended: done, message_stop, eof,
	// cut, stall, error.
	Ends map[string]int `json:"ends"`
	// Cut and Stalled count the results of class stream-cut and
	// stream-stall (the request's outcome; with a client retry policy,
	// its last try's).
	Cut     int `json:"cut"`
	Stalled int `json:"stalled"`
	// CutCauses and StallCauses count them by cause; the run's Cause
	// lists, with their evidence, are other_causes["stream-cut"] and
	// other_causes["stream-stall"].
	CutCauses   map[string]int `json:"cut_causes"`
	StallCauses map[string]int `json:"stall_causes"`
	// Buffering is set in the run's Streams alone, and only when most
	// streams arrived in one burst: see [Buffering].
	Buffering *Buffering `json:"buffering,omitempty"`
}

// StreamPercentiles are nearest-rank percentiles in milliseconds.
type StreamPercentiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

// Buffering says that a gateway (or another proxy) buffered the streams:
// their tokens arrived in one burst at the end, instead of one by one.
//
// The rule, conservative on purpose: a stream looks buffered when it
// carried at least BufferedMinTokens tokens, its first token came after
// at least 90% of its whole duration, and its tokens, first to last,
// arrived within 5% of that duration. The report says the run's streams
// were buffered when at least BufferedMinStreams streams carried that
// many tokens and more than half of them look buffered. An upstream that
// sends all its tokens at once (no inter-token delay) looks the same to
// the client.
type Buffering struct {
	// Streams counts the streams of at least BufferedMinTokens tokens;
	// Buffered those of them that look buffered.
	Streams  int `json:"streams"`
	Buffered int `json:"buffered"`
	// TTFTMS, DurationMS, SpanMS (first token to last) and Tokens are the
	// medians over the buffered streams.
	TTFTMS     float64 `json:"ttft_ms"`
	DurationMS float64 `json:"duration_ms"`
	SpanMS     float64 `json:"span_ms"`
	Tokens     float64 `json:"tokens"`
	// Gateway is the report's gateway kind; Setting the setting that
	// streams with it, "" when it has none to change.
	Gateway string `json:"gateway"`
	Setting string `json:"setting"`
	// Warning says it in one sentence, with the figures.
	Warning string `json:"warning"`
}

// The buffering rule's thresholds; see [Buffering].
const (
	BufferedMinTokens  = 10
	BufferedMinStreams = 3
)

// streamAcc accumulates the streams of one scope.
type streamAcc struct {
	streams, tokens int
	ttft, itl       []float64
	tpsSum          float64
	tpsN            int
	ends            map[string]int
	cut, stalled    int
	cutCauses       map[string]int
	stallCauses     map[string]int
}

// streamsAcc holds every scope's streams; nil in an Analyzer until the
// run shows a stream.
type streamsAcc struct {
	total  streamAcc
	phases []streamAcc
	bucket []streamAcc
	// The buffering check, over the whole run: streams long enough,
	// and those that look buffered with their figures.
	long     int
	buffered []bufferedStream
}

type bufferedStream struct {
	ttft, duration, span float64
	tokens               int
}

// streamsOf returns the run's stream accumulators, new when needed.
func (a *Analyzer) streamsOf() *streamsAcc {
	if a.streams == nil {
		a.streams = &streamsAcc{phases: make([]streamAcc, len(a.run.Phases))}
	}
	return a.streams
}

// scopes returns the accumulators a stream or result sent at off counts
// in: the run's, its phase's (when the run has phases) and its bucket's.
func (s *streamsAcc) scopes(a *Analyzer, off time.Duration) []*streamAcc {
	i := min(max(int(off/a.width), 0), a.limit)
	for len(s.bucket) <= i {
		s.bucket = append(s.bucket, streamAcc{})
	}
	out := []*streamAcc{&s.total, &s.bucket[i]}
	if pi := phaseIndex(a.run, off); pi >= 0 {
		out = append(out, &s.phases[pi])
	}
	return out
}

// AddStream takes one streaming answer, a line of streams.jsonl. It does
// not keep st. Its try counts in the bucket and the phase it was sent in.
func (a *Analyzer) AddStream(st *attack.Stream) {
	s := a.streamsOf()
	off := st.Time.Sub(a.run.Started)
	a.bucketAt(off) // the timeline reaches it
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for _, acc := range s.scopes(a, off) {
		acc.streams++
		acc.tokens += st.Tokens
		if acc.ends == nil {
			acc.ends = map[string]int{}
		}
		acc.ends[st.End]++
		if st.Tokens > 0 {
			acc.ttft = append(acc.ttft, ms(st.TTFT))
		}
		if st.Tokens >= 2 {
			acc.itl = append(acc.itl, ms(st.ITL))
			if gen := st.Duration - st.TTFT; gen > 0 {
				acc.tpsSum += float64(st.Tokens) / gen.Seconds()
				acc.tpsN++
			}
		}
	}
	if st.Tokens >= BufferedMinTokens && st.Duration > 0 {
		s.long++
		span := st.ITL * time.Duration(st.Tokens-1)
		if st.TTFT*10 >= st.Duration*9 && span*20 <= st.Duration {
			s.buffered = append(s.buffered, bufferedStream{ms(st.TTFT), ms(st.Duration), ms(span), st.Tokens})
		}
	}
}

// addStreamFailure counts a result of class stream-cut or stream-stall,
// sent at off, with its cause.
func (a *Analyzer) addStreamFailure(class, cause string, off time.Duration) {
	s := a.streamsOf()
	for _, acc := range s.scopes(a, off) {
		m := &acc.cutCauses
		if class == scenarios.ClassStreamCut {
			acc.cut++
		} else {
			acc.stalled++
			m = &acc.stallCauses
		}
		if *m == nil {
			*m = map[string]int{}
		}
		(*m)[cause]++
	}
}

// report returns the scope's figures; seconds is its length.
func (acc *streamAcc) report(seconds float64) *Streams {
	out := &Streams{Streams: acc.streams, Tokens: acc.tokens, Ends: acc.ends, Cut: acc.cut, Stalled: acc.stalled,
		CutCauses: acc.cutCauses, StallCauses: acc.stallCauses}
	for _, m := range []*map[string]int{&out.Ends, &out.CutCauses, &out.StallCauses} {
		if *m == nil {
			*m = map[string]int{}
		}
	}
	if len(acc.ttft) > 0 {
		p := percentiles(acc.ttft, 50, 99)
		out.TTFTMS = StreamPercentiles{P50: round(p[0]), P99: round(p[1])}
	}
	if len(acc.itl) > 0 {
		out.ITLP99MS = round(percentiles(acc.itl, 99)[0])
	}
	if acc.tpsN > 0 {
		out.TokensPerSPerRequest = round(acc.tpsSum / float64(acc.tpsN))
	}
	if seconds > 0 {
		out.TokensPerS = round(float64(acc.tokens) / seconds)
	}
	return out
}

// streamReports sets the streams of the report, its phases and its
// buckets; it leaves them nil when the run had no stream.
func (a *Analyzer) streamReports(rep *Report) {
	s := a.streams
	if s == nil {
		return
	}
	rep.Streams = s.total.report(rep.DurationS)
	for i := range rep.Phases {
		p := &rep.Phases[i]
		rep.Phases[i].Streams = s.phases[i].report(ranUntil(a.run, p.EndS) - p.StartS)
	}
	for i := range rep.Timeline {
		acc := streamAcc{}
		if i < len(s.bucket) {
			acc = s.bucket[i]
		}
		rep.Timeline[i].Streams = acc.report(a.width.Seconds())
	}
	rep.Streams.Buffering = s.buffering(rep.Gateway.Kind)
}

// buffering applies the buffering rule to the run's streams; nil when
// they were not buffered.
func (s *streamsAcc) buffering(gateway string) *Buffering {
	n := len(s.buffered)
	if s.long < BufferedMinStreams || n*2 <= s.long {
		return nil
	}
	med := func(f func(b bufferedStream) float64) float64 {
		v := make([]float64, n)
		for i, b := range s.buffered {
			v[i] = f(b)
		}
		sort.Float64s(v)
		return round(nearestRank(v, 50))
	}
	b := &Buffering{
		Streams: s.long, Buffered: n, Gateway: gateway, Setting: bufferSetting[gateway],
		TTFTMS:     med(func(b bufferedStream) float64 { return b.ttft }),
		DurationMS: med(func(b bufferedStream) float64 { return b.duration }),
		SpanMS:     med(func(b bufferedStream) float64 { return b.span }),
		Tokens:     med(func(b bufferedStream) float64 { return float64(b.tokens) }),
	}
	who := gateway
	switch gateway {
	case scenarios.GatewayBuiltin:
		who = "a proxy between the client and the upstream"
	case "", "unknown", scenarios.GatewayNone:
		who = "the gateway"
	}
	b.Warning = fmt.Sprintf("%s buffered the stream: TTFT %s ms, the whole answer's %s ms, %s tokens arriving within %s ms (%d of %d streams of %d tokens or more)",
		who, Thousands(b.TTFTMS), Thousands(b.DurationMS), Thousands(b.Tokens), Thousands(b.SpanMS), n, s.long, BufferedMinTokens)
	switch {
	case b.Setting != "":
		b.Warning += "; " + b.Setting
	case gateway == scenarios.GatewayBuiltin:
		b.Warning += "; the built-in gateway (Go's httputil.ReverseProxy) flushes event streams at once, so look at the upstream, or whatever sits between"
	default:
		b.Warning += "; turn the gateway's response buffering off for text/event-stream"
	}
	b.Warning += "."
	return b
}

// bufferSetting names the setting that makes each gateway kind stream, as
// the warning words it:
//   - nginx: proxy_buffering off
//     (https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_buffering;
//     the upstream may also answer X-Accel-Buffering: no);
//   - Caddy: reverse_proxy's flush_interval -1
//     (https://caddyserver.com/docs/caddyfile/directives/reverse_proxy#flush_interval);
//   - HAProxy forwards a response as it arrives unless a filter holds it
//     (https://docs.haproxy.org/2.8/configuration.html#9: compression);
//   - the built-in gateway, Go's httputil.ReverseProxy, flushes a
//     text/event-stream answer at once (FlushInterval's doc in
//     net/http/httputil/reverseproxy.go): none.
var bufferSetting = map[string]string{
	"nginx":   "set proxy_buffering off in the location",
	"caddy":   "set flush_interval -1 in the reverse_proxy block",
	"haproxy": "HAProxy does not buffer answers by itself: remove the filter that holds text/event-stream (compression of it, or another filter)",
}

// Thousands writes v with its thousands separated by commas and at most
// one decimal: 2,100; 3.5.
func Thousands(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprint(v)
	}
	whole := math.Trunc(v)
	frac := math.Round((v-whole)*10) / 10
	if frac >= 1 {
		whole, frac = whole+1, 0
	}
	digits := fmt.Sprintf("%.0f", math.Abs(whole))
	out := ""
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			out += ","
		}
		out += string(d)
	}
	if v < 0 {
		out = "-" + out
	}
	if frac > 0 {
		out += fmt.Sprintf("%.1f", frac)[1:]
	}
	return out
}
