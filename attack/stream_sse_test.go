package attack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sseEvent is one dispatched event, for tests.
type sseEvent struct{ typ, data string }

// parseAll feeds in to a parser in pieces cut at cuts (offsets, any
// order, out of range ones ignored) and returns the events dispatched.
func parseAll(in []byte, cuts ...int) []sseEvent {
	var got []sseEvent
	p := sseParser{dispatch: func(typ, data []byte) { got = append(got, sseEvent{string(typ), string(data)}) }}
	prev := 0
	for _, c := range cuts {
		if c > prev && c < len(in) {
			p.feed(in[prev:c])
			prev = c
		}
	}
	p.feed(in[prev:])
	return got
}

// refParse is the WHATWG algorithm written plainly over a whole stream
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation),
// to check the incremental parser against.
func refParse(in []byte) []sseEvent {
	in = bytes.TrimPrefix(in, utf8BOM)
	var (
		out       []sseEvent
		typ, data string
	)
	for {
		i := bytes.IndexAny(in, "\r\n")
		if i < 0 {
			break // an unfinished line at the end: discarded
		}
		line := string(in[:i])
		if in[i] == '\r' && i+1 < len(in) && in[i+1] == '\n' {
			in = in[i+2:]
		} else {
			in = in[i+1:]
		}
		switch {
		case line == "":
			if data != "" {
				out = append(out, sseEvent{typ, strings.TrimSuffix(data, "\n")})
			}
			typ, data = "", ""
		case line[0] == ':':
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				typ = value
			case "data":
				data += value + "\n"
			}
		}
	}
	return out
}

// TestSSEParser checks the parser on the WHATWG rules, table-driven, each
// input fed whole and a byte at a time.
func TestSSEParser(t *testing.T) {
	whatwg, err := os.ReadFile(filepath.Join("testdata", "streams", "whatwg.sse"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want []sseEvent
	}{
		{"one event", "data: a\n\n", []sseEvent{{"", "a"}}},
		{"two data lines joined with LF", "data: a\ndata: b\n\n", []sseEvent{{"", "a\nb"}}},
		{"event type", "event: message_stop\ndata: {}\n\n", []sseEvent{{"message_stop", "{}"}}},
		{"type reset after dispatch", "event: x\ndata: 1\n\ndata: 2\n\n", []sseEvent{{"x", "1"}, {"", "2"}}},
		{"CRLF", "data: a\r\n\r\n", []sseEvent{{"", "a"}}},
		{"CR", "data: a\r\rdata: b\r\r", []sseEvent{{"", "a"}, {"", "b"}}},
		{"only one space stripped", "data:  a\n\n", []sseEvent{{"", " a"}}},
		{"no space", "data:a\n\n", []sseEvent{{"", "a"}}},
		{"field without colon", "data\n\n", []sseEvent{{"", ""}}},
		{"comment", ": keep-alive\n\n", nil},
		{"event without data not dispatched", "event: ping\n\n", nil},
		{"unfinished at the end", "data: a\n", nil},
		{"BOM", "\ufeffdata: a\n\n", []sseEvent{{"", "a"}}},
		{"unknown fields and id", "id: 7\nretry: 10\nfoo: bar\ndata: a\n\n", []sseEvent{{"", "a"}}},
		{"whatwg.sse", string(whatwg), []sseEvent{{"tick", "one\ntwo"}, {"", "\n"}, {"", "three"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			if got := parseAll(in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("whole: got %q, want %q", got, tt.want)
			}
			every := make([]int, len(in))
			for i := range every {
				every[i] = i
			}
			if got := parseAll(in, every...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("a byte at a time: got %q, want %q", got, tt.want)
			}
			if got := refParse(in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("reference: got %q, want %q", got, tt.want)
			}
		})
	}
}

// seedStreams adds the streams of testdata/streams to f.
func seedStreams(f *testing.F, add func(b []byte)) {
	files, err := filepath.Glob(filepath.Join("testdata", "streams", "*.sse"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed streams: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// FuzzSSEParser: whatever the bytes and wherever the reads split them,
// the incremental parser dispatches what the plain algorithm does.
func FuzzSSEParser(f *testing.F) {
	seedStreams(f, func(b []byte) { f.Add(b, uint16(1), uint16(7)) })
	f.Add([]byte("\xef\xbb"), uint16(1), uint16(1))
	f.Add([]byte("data: a\r"), uint16(8), uint16(0))
	f.Fuzz(func(t *testing.T, in []byte, a, b uint16) {
		want := refParse(in)
		for _, cuts := range [][]int{nil, {int(a)}, {int(a), int(a) + int(b)}} {
			if got := parseAll(in, cuts...); !reflect.DeepEqual(got, want) {
				t.Fatalf("cut at %v: got %q, want %q", cuts, got, want)
			}
		}
	})
}

// chunkReader returns its chunks one per Read, then err.
type chunkReader struct {
	chunks [][]byte
	err    error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, r.err
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	if len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

func (r *chunkReader) Close() error { return nil }

// readStream reads in, split into reads at step bytes, through a
// streamBody whose body then ends with end, and returns the stream's
// line and the read's error.
func readStream(in []byte, step int, end error) (Stream, []byte, error) {
	var chunks [][]byte
	for len(in) > 0 {
		n := min(step, len(in))
		chunks = append(chunks, in[:n])
		in = in[n:]
	}
	var got []Stream
	_, cancel := context.WithCancel(context.Background())
	b := newStreamBody(&chunkReader{chunks: chunks, err: end}, Stream{Time: time.Now(), Try: 1, Code: 200}, 0, cancel, func(s Stream) { got = append(got, s) })
	body, err := io.ReadAll(b)
	b.Close()
	if len(got) != 1 {
		panic("not one stream")
	}
	return got[0], body, err
}

// TestStreamBodyFormats reads the testdata streams through a streamBody,
// whole and cut short, in reads of a few sizes.
func TestStreamBodyFormats(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "streams", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	openai, anthropic := read("openai.sse"), read("anthropic.sse")
	// midSecond cuts openai.sse in the middle of its second token's chunk.
	midSecond := openai[:bytes.Index(openai, []byte(`" world"`))]
	tests := []struct {
		name   string
		in     []byte
		end    error
		format string
		tokens int
		finish string
		stop   string // the End
		err    string // the read's error; "" for EOF
	}{
		{"openai", openai, io.EOF, FormatOpenAI, 2, "stop", EndDone, ""},
		{"anthropic", anthropic, io.EOF, FormatAnthropic, 2, "end_turn", EndMessageStop, ""},
		{"openai without [DONE]", openai[:bytes.Index(openai, []byte("data: [DONE]"))], io.EOF, FormatOpenAI, 2, "stop", EndCut,
			"stream-cut: the stream ended after 2 tokens without its end marker (data: [DONE])"},
		{"anthropic without message_stop", anthropic[:bytes.Index(anthropic, []byte("event: message_stop"))], io.EOF, FormatAnthropic, 2, "end_turn", EndCut,
			"stream-cut: the stream ended after 2 tokens without its end marker (message_stop)"},
		{"openai cut mid-chunk", midSecond, io.ErrUnexpectedEOF, FormatOpenAI, 1, "", EndCut,
			"stream-cut: the stream ended after 1 tokens without its end marker (data: [DONE]): unexpected EOF"},
		{"another error passed on", midSecond, errors.New("context deadline exceeded"), FormatOpenAI, 1, "", EndError,
			"context deadline exceeded"},
		{"error after [DONE]", openai, io.ErrUnexpectedEOF, FormatOpenAI, 2, "stop", EndDone, "unexpected EOF"},
		{"empty body", nil, io.EOF, FormatSSE, 0, "", EndEOF, ""},
		{"plain sse", []byte("data: a\n\ndata: b\n\n"), io.EOF, FormatSSE, 2, "", EndEOF, ""},
		{"anthropic without event lines", []byte(`data: {"type":"message_start"}` + "\n\n" +
			`data: {"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}` + "\n\n" +
			`data: {"type":"message_stop"}` + "\n\n"), io.EOF, FormatAnthropic, 1, "", EndMessageStop, ""},
	}
	for _, tt := range tests {
		for _, step := range []int{1, 7, 64, 1 << 20} {
			s, body, err := readStream(bytes.Clone(tt.in), step, tt.end)
			errText := ""
			if err != nil {
				errText = err.Error()
			}
			if s.Format != tt.format || s.Tokens != tt.tokens || s.FinishReason != tt.finish || s.End != tt.stop || errText != tt.err || s.Error != tt.err {
				t.Errorf("%s, reads of %d: got format %q tokens %d finish %q end %q error %q (line %q), want %q %d %q %q %q",
					tt.name, step, s.Format, s.Tokens, s.FinishReason, s.End, errText, s.Error, tt.format, tt.tokens, tt.finish, tt.stop, tt.err)
			}
			if !bytes.Equal(body, tt.in) {
				t.Errorf("%s, reads of %d: the body was changed", tt.name, step)
			}
		}
	}
}

// FuzzStreamBody: any bytes, read in any steps, come out unchanged with
// one line, whose numbers hold together.
func FuzzStreamBody(f *testing.F) {
	seedStreams(f, func(b []byte) { f.Add(b, uint8(5), false) })
	f.Fuzz(func(t *testing.T, in []byte, step uint8, cut bool) {
		end := io.EOF
		if cut {
			end = io.ErrUnexpectedEOF
		}
		s, body, _ := readStream(bytes.Clone(in), int(step)+1, end)
		if !bytes.Equal(body, in) {
			t.Fatal("the body was changed")
		}
		if s.Tokens < 0 || s.Tokens > len(refParse(in)) || s.TTFT < 0 || s.ITL < 0 || s.MaxGap < 0 {
			t.Fatalf("got %+v from %d events", s, len(refParse(in)))
		}
		switch s.End {
		case EndDone, EndMessageStop, EndEOF, EndCut, EndError:
		default:
			t.Fatalf("got end %q", s.End)
		}
		if (s.End == EndCut) != strings.HasPrefix(s.Error, ErrStreamCut) {
			t.Fatalf("end %q with error %q", s.End, s.Error)
		}
	})
}
