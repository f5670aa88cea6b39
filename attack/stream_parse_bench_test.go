package attack

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"
)

// benchEvents returns a stream of n tokens in format, one event a chunk,
// as the network delivers a stream flushed per token; the events are
// those of testdata/streams.
func benchEvents(format string, n int) [][]byte {
	var ev []string
	switch format {
	case FormatOpenAI:
		ev = append(ev, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`+"\n\n")
		for range n {
			ev = append(ev, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" token"},"finish_reason":null}]}`+"\n\n")
		}
		ev = append(ev, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n", "data: [DONE]\n\n")
	case FormatAnthropic:
		ev = append(ev, "event: message_start\n"+`data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"m","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}`+"\n\n")
		for range n {
			ev = append(ev, "event: content_block_delta\n"+`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" token"}}`+"\n\n")
		}
		ev = append(ev, "event: message_delta\n"+`data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":500}}`+"\n\n",
			"event: message_stop\n"+`data: {"type":"message_stop"}`+"\n\n")
	}
	out := make([][]byte, len(ev))
	for i, e := range ev {
		out[i] = []byte(e)
	}
	return out
}

// BenchmarkStreamsParse is the attacker's own cost per token: a stream
// of 500 tokens (one event a read, as flushed per token) read through the
// stream-aware body (parsed, timed, with its stall timer) and, for the
// baseline, read plain; it reports ns/token and B/token of each, and the
// memory a stream holds while it is read (live-B/stream: the body, its
// parser's buffers, its timer and context, measured on 1,000 streams
// halfway through). Run: go test -run '^$' -bench BenchmarkStreamsParse ./attack
func BenchmarkStreamsParse(b *testing.B) {
	const tokens = 500
	for _, format := range []string{FormatOpenAI, FormatAnthropic} {
		events := benchEvents(format, tokens)
		read := func(parsed bool) {
			r := &chunkReader{chunks: append([][]byte(nil), events...), err: io.EOF}
			var body io.ReadCloser = r
			if parsed {
				_, cancel := context.WithCancel(context.Background())
				body = newStreamBody(r, Stream{Time: time.Now(), Try: 1, Code: 200}, 5*time.Second, cancel, func(Stream) {})
			}
			buf := make([]byte, 32<<10)
			for {
				if _, err := body.Read(buf); err != nil {
					break
				}
			}
			body.Close()
		}
		for _, parsed := range []bool{true, false} {
			name := format + "/plain"
			if parsed {
				name = format + "/parsed"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					read(parsed)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tokens), "ns/token")
			})
		}
		b.Run(format+"/live", func(b *testing.B) {
			const n = 1000
			var before, after runtime.MemStats
			readers := make([]*chunkReader, n) // the network's part, not the reader's
			for i := range readers {
				readers[i] = &chunkReader{chunks: append([][]byte(nil), events[:tokens/2]...), err: io.EOF}
			}
			bodies := make([]*streamBody, n)
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i, r := range readers {
				_, cancel := context.WithCancel(context.Background())
				bodies[i] = newStreamBody(r, Stream{Time: time.Now(), Try: 1, Code: 200}, 5*time.Second, cancel, func(Stream) {})
				buf := make([]byte, 32<<10)
				for range tokens / 2 {
					bodies[i].Read(buf)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			live := float64(after.HeapAlloc-before.HeapAlloc) / n
			for _, body := range bodies {
				body.Close()
			}
			runtime.KeepAlive(bodies)
			for b.Loop() {
			}
			b.ReportMetric(live, "live-B/stream")
			fmt.Fprintf(b.Output(), "%s: a stream being read holds %.0f B in the attacker's stream reader\n", format, live)
		})
	}
}
