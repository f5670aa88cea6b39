package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
)

// streamUpstream streams an OpenAI chat completion of 5 tokens
// (https://platform.openai.com/docs/api-reference/chat-streaming/streaming),
// without its data: [DONE] for every fourth seq.
func streamUpstream(w http.ResponseWriter, r *http.Request) {
	seq, _ := strconv.Atoi(r.Header.Get("X-Vegeta-Seq"))
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	for range 5 {
		io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`+"\n\n")
		rc.Flush()
	}
	if seq%4 == 3 {
		return
	}
	io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
}

// TestRunWritesStreams runs a scenario against a streaming upstream
// through the built-in gateway: streams.jsonl has one line per request,
// and the cut streams are errors (code 0, stream-cut) in the results;
// against the built-in upstream, which does not stream, the folder has no
// streams.jsonl.
func TestRunWritesStreams(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(streamUpstream))
	defer srv.Close()
	for _, tt := range []struct {
		name     string
		upstream string
	}{{"streaming upstream", fmt.Sprintf("upstream: {url: %q}\n", srv.URL)}, {"built-in upstream", ""}} {
		t.Run(tt.name, func(t *testing.T) {
			sc := decode(t, "name: run-streams\nseed: 7\n"+tt.upstream+"client: {stream: {stall: 2s}}\n"+
				"requests: [{method: POST, path: /v1/chat/completions, body: '{\"stream\": true}'}]\n"+
				"phases: [{name: a, duration: 400ms, rate: 40/s}]\n")
			dir := filepath.Join(t.TempDir(), "out")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := Run(ctx, sc, Options{Dir: dir}); err != nil {
				t.Fatal(err)
			}
			f := Folder(dir)
			results := map[uint64]vegeta.Result{}
			rf, err := os.Open(f.Path(ResultsFile))
			if err != nil {
				t.Fatal(err)
			}
			defer rf.Close()
			for dec := vegeta.DecoderFor(rf); ; {
				var r vegeta.Result
				if dec.Decode(&r) != nil {
					break
				}
				results[r.Seq] = r
			}
			sf, err := os.Open(f.Path(StreamsFile))
			if tt.upstream == "" {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s without streams: got %v, want no file", StreamsFile, err)
				}
				if err == nil {
					sf.Close()
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer sf.Close()
			n, cut := 0, 0
			for dec := json.NewDecoder(sf); dec.More(); n++ {
				var s attack.Stream
				if err := dec.Decode(&s); err != nil {
					t.Fatalf("%s line %d: %v", StreamsFile, n+1, err)
				}
				r, ok := results[s.Seq]
				switch {
				case !ok:
					t.Errorf("seq %d: a stream without a result", s.Seq)
				case s.Seq%4 == 3:
					cut++
					if s.End != attack.EndCut || r.Code != 0 || !strings.HasPrefix(r.Error, attack.ErrStreamCut) || s.Error != r.Error {
						t.Errorf("seq %d: got end %q, result %d %q, stream error %q; want cut, 0, stream-cut: ..., the same", s.Seq, s.End, r.Code, r.Error, s.Error)
					}
				default:
					if s.End != attack.EndDone || s.Tokens != 5 || s.FinishReason != "stop" || r.Code != 200 || r.Error != "" {
						t.Errorf("seq %d: got end %q tokens %d finish %q, result %d %q; want done 5 stop, 200", s.Seq, s.End, s.Tokens, s.FinishReason, r.Code, r.Error)
					}
				}
			}
			if n != len(results) || n == 0 || cut == 0 {
				t.Errorf("got %d streams (%d cut) for %d results, want one per result, some cut", n, cut, len(results))
			}
		})
	}
}
