package run

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// llmScenario streams chat completions from the built-in LLM upstream
// through the built-in gateway. Each answer takes at least 90ms (a TTFT
// of 50ms, then 4 tokens 10ms apart) and a request goes every 25ms, so
// the third of three in a row finds both slots taken and gets 429.
const llmScenario = `name: run-llm
seed: 7
upstream:
  builtin:
    llm: {tokens: 5, ttft: 50ms, inter_token: 10ms, max_concurrent: 2, retry_after: 3s}
requests:
  - method: POST
    path: /v1/chat/completions
    headers: {Content-Type: application/json}
    body: '{"model": "m", "stream": true}'
phases:
  - {name: only, duration: 400ms, rate: 40/s}
`

// TestRunLLMUpstream: a run whose upstream has llm starts the LLM
// upstream: its answers are whole streams, and the requests beyond
// max_concurrent get 429.
func TestRunLLMUpstream(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := Run(ctx, decode(t, llmScenario), Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	rf, err := os.Open(Folder(dir).Path(ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	dec := vegeta.DecoderFor(rf)
	codes := map[uint16]int{}
	done := 0
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			break
		}
		codes[r.Code]++
		// The records keep no 2xx body: a whole stream is its size
		// (about 200 bytes an event, 8 events) and its time.
		if r.Code == 200 && r.BytesIn >= 1000 && r.Latency >= 90*time.Millisecond {
			done++
		}
	}
	if codes[200] == 0 || codes[429] == 0 || codes[200]+codes[429] != 16 {
		t.Errorf("got codes %v, want 16 answers, 200s and 429s only", codes)
	}
	if done != codes[200] {
		t.Errorf("got %d of %d 200s with a whole stream (1000 bytes or more, 90ms or more), want all", done, codes[200])
	}
	t.Logf("codes %v", codes)
}
