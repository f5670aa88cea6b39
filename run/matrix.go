package run

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// MatrixRow is one fault the matrix runs against a gateway.
type MatrixRow struct {
	// Name is how the table names it.
	Name string
	// Fault is the fault as written in a scenario's phase (more than one
	// for a row that needs a helper fault); a request is hit when the
	// first fault's kind has an event for it.
	Fault string
	// Kind is the first fault's kind.
	Kind string
	// Conn means the fault acts on connections, not requests: every
	// request of the fault's phase counts as hit.
	Conn bool
	// Request is the row's request as written in a scenario's requests;
	// empty for GET /matrix.
	Request string
	// LLM is the built-in upstream's llm settings as written in a
	// scenario (upstream.builtin.llm); empty for the plain stub.
	LLM string
}

// matrixPost is the POST of the rows that show what a gateway does with a
// request it must not send twice.
const matrixPost = `{method: POST, path: /matrix, headers: {Content-Type: application/json}, body: '{"item": 1}'}`

// matrixChat is the streaming chat completion of the stream rows, and
// matrixLLM the LLM upstream that answers it: 20 tokens, 10ms apart.
const (
	matrixChat = `{method: POST, path: /v1/chat/completions, headers: {Content-Type: application/json}, body: '{"model": "gatecrash-1", "stream": true, "messages": [{"role": "user", "content": "hi"}]}'}`
	matrixLLM  = "{tokens: 20, ttft: 20ms, inter_token: 10ms}"
)

// MatrixRows returns the rows of the matrix: every fault kind, and every
// point of reset, close and malformed.
func MatrixRows() []MatrixRow { return slices.Clone(matrixRows) }

// matrixRows are the rows of MatrixRows; never changed.
var matrixRows = []MatrixRow{
	{"latency 100ms", "{kind: latency, delay: 100ms}", scenarios.KindLatency, false, "", ""},
	{"latency 1.5s (> read timeout)", "{kind: latency, delay: 1500ms}", scenarios.KindLatency, false, "", ""},
	{"slow-headers 300ms", "{kind: slow-headers, duration: 300ms}", scenarios.KindSlowHeaders, false, "", ""},
	{"slow-body 20 KB/s", "{kind: slow-body, bytes_per_second: 20000}", scenarios.KindSlowBody, false, "", ""},
	{"hang", "{kind: hang}", scenarios.KindHang, false, "", ""},
	{"reset at connect", "{kind: reset, at: connect}", scenarios.KindReset, true, "", ""},
	{"reset before headers", "{kind: reset, at: before-headers}", scenarios.KindReset, false, "", ""},
	{"reset after headers", "{kind: reset, at: after-headers}", scenarios.KindReset, false, "", ""},
	{"reset mid-body", "{kind: reset, at: mid-body, after_bytes: 100}", scenarios.KindReset, false, "", ""},
	{"close at connect", "{kind: close, at: connect}", scenarios.KindClose, true, "", ""},
	{"close before headers", "{kind: close, at: before-headers}", scenarios.KindClose, false, "", ""},
	{"close after headers", "{kind: close, at: after-headers}", scenarios.KindClose, false, "", ""},
	{"close mid-body", "{kind: close, at: mid-body, after_bytes: 100}", scenarios.KindClose, false, "", ""},
	{"status 503", "{kind: status, code: 503, body: busy}", scenarios.KindStatus, false, "", ""},
	{"status 429", "{kind: status, code: 429, body: slow down, headers: {Retry-After: \"1\"}}", scenarios.KindStatus, false, "", ""},
	{"malformed status-line", "{kind: malformed, variant: status-line}", scenarios.KindMalformed, false, "", ""},
	{"malformed header", "{kind: malformed, variant: header}", scenarios.KindMalformed, false, "", ""},
	{"malformed oversized-headers", "{kind: malformed, variant: oversized-headers}", scenarios.KindMalformed, false, "", ""},
	{"malformed length-mismatch", "{kind: malformed, variant: length-mismatch}", scenarios.KindMalformed, false, "", ""},
	{"malformed bad-chunked", "{kind: malformed, variant: bad-chunked}", scenarios.KindMalformed, false, "", ""},
	{"malformed garbage", "{kind: malformed, variant: garbage}", scenarios.KindMalformed, false, "", ""},
	{"refuse", "{kind: refuse}", scenarios.KindRefuse, true, "", ""},
	{"blackhole", "{kind: blackhole}", scenarios.KindBlackhole, true, "", ""},
	// At 20/s a pooled connection waits about 50ms between requests.
	{"keepalive idle 30ms, GET", "{kind: keepalive, idle: 30ms}", scenarios.KindKeepalive, false, "", ""},
	{"keepalive idle 30ms, POST", "{kind: keepalive, idle: 30ms}", scenarios.KindKeepalive, false, matrixPost, ""},
	{"keepalive idle 20ms, when idle", "{kind: keepalive, idle: 20ms, when: idle}", scenarios.KindKeepalive, true, "", ""},
	{"overload 1 in flight, 503", "{kind: overload, max_inflight: 1, reject: \"503\"}\n      - {kind: latency, delay: 200ms}", scenarios.KindOverload, false, "", ""},
	{"overload 1 in flight, reset", "{kind: overload, max_inflight: 1, reject: reset}\n      - {kind: latency, delay: 200ms}", scenarios.KindOverload, false, "", ""},
	// Streams: a chat completion cut or paused after 5 of its 20 tokens.
	{"sse-cut after 5 events", "{kind: sse-cut, events: 5}", scenarios.KindSSECut, false, matrixChat, matrixLLM},
	{"sse-cut after 5 events, reset", "{kind: sse-cut, events: 5, cut: reset}", scenarios.KindSSECut, false, matrixChat, matrixLLM},
	{"sse-stall 300ms after 5 events", "{kind: sse-stall, events: 5, for: 300ms}", scenarios.KindSSEStall, false, matrixChat, matrixLLM},
	{"sse-stall 1.5s (> read timeout)", "{kind: sse-stall, events: 5, for: 1500ms}", scenarios.KindSSEStall, false, matrixChat, matrixLLM},
}

// MatrixOptions are a matrix's settings.
type MatrixOptions struct {
	// Gateway is the gateway kind: builtin, nginx, haproxy or caddy.
	Gateway string
	// Rate and Duration are each row's offered rate and length.
	Rate     int
	Duration time.Duration
	// Dir is the folder that keeps each row's run folder.
	Dir string
	// Log is told of each row as it starts; nil discards.
	Log io.Writer
}

// MatrixCell is what one row measured.
type MatrixCell struct {
	Row     MatrixRow      // the row measured
	Hit     int            // requests the fault hit
	Got     map[string]int // what the client got, by status or error kind
	Retried int            // hit requests the gateway sent again
	Words   string         // the gateway's most frequent words
}

// Matrix runs every row of MatrixRows() against the gateway, one run each,
// and measures what the requests the fault hit met. It returns the cells
// and the gateway's version (its kind, when it says none).
func Matrix(ctx context.Context, opt MatrixOptions) ([]MatrixCell, string, error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	var cells []MatrixCell
	version := ""
	for i, row := range matrixRows {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		sc, err := matrixScenario(row, opt)
		if err != nil {
			return nil, "", err
		}
		dir := Folder(filepath.Join(opt.Dir, fmt.Sprintf("%02d-%s", i, strings.NewReplacer(" ", "-", "/", "-").Replace(row.Name))))
		fmt.Fprintf(opt.Log, "matrix %s: %s\n", opt.Gateway, row.Name)
		if _, err := Run(ctx, sc, Options{Dir: string(dir)}); err != nil {
			return nil, "", fmt.Errorf("matrix row %q: %w", row.Name, err)
		}
		cell, err := measureRow(row, dir)
		if err != nil {
			return nil, "", fmt.Errorf("matrix row %q: %w", row.Name, err)
		}
		cells = append(cells, cell)
		if version == "" {
			if plan, err := dir.Plan(); err == nil {
				version = plan.GatewayVersion
			}
		}
	}
	if version == "" {
		version = opt.Gateway
	}
	return cells, version, nil
}

// matrixScenario is one row's scenario: the fault on every request of
// its first phase, against the gateway, then a quiet phase.
func matrixScenario(row MatrixRow, opt MatrixOptions) (*scenarios.Scenario, error) {
	request := row.Request
	if request == "" {
		request = "{method: GET, path: /matrix}"
	}
	upstream := "{latency: 1ms, body_bytes: 2048}"
	if row.LLM != "" {
		upstream = "{llm: " + row.LLM + "}"
	}
	src := fmt.Sprintf(`name: matrix
seed: 1
target: {gateway: %s, timeout: 5s, upstream_timeout: 1s}
upstream:
  builtin: %s
requests:
  - %s
phases:
  - name: fault
    duration: %s
    rate: %d/s
    faults:
      - %s
  # Long enough for what the fault holds back to end (the read timeout is
  # 1s) before everything stops; not measured.
  - {name: settle, duration: 1500ms, rate: 2/s}
`, opt.Gateway, upstream, request, opt.Duration, opt.Rate, row.Fault)
	sc, err := scenarios.Decode("matrix.yaml", []byte(src))
	if err != nil {
		return nil, fmt.Errorf("matrix row %q: %w", row.Name, err)
	}
	return sc, nil
}

// requestID identifies a request of a run.
type requestID struct {
	attack string
	seq    uint64
}

// measureRow reads a row's run folder: which requests the fault hit, what
// the client got for them, whether the gateway sent them again, what it
// logged.
func measureRow(row MatrixRow, dir Folder) (MatrixCell, error) {
	cell := MatrixCell{Row: row, Got: map[string]int{}}
	hit := map[requestID]bool{}
	again := map[requestID]bool{}
	if err := dir.EachEvent(func(e *faults.Event) {
		if e.Seq == nil {
			return
		}
		k := requestID{e.Attack, *e.Seq}
		if e.Type == faults.TypeFault && e.Kind == row.Kind {
			hit[k] = true
		}
		if e.Attempt > 0 {
			again[k] = true
		}
	}); err != nil {
		return cell, err
	}
	words, err := testimonyWords(dir, again)
	if err != nil {
		return cell, err
	}
	plan, err := dir.Plan()
	if err != nil {
		return cell, err
	}
	faultEnd := plan.Started.Add(time.Duration(plan.Phases[0].EndS * float64(time.Second)))
	said := map[string]int{}
	err = dir.EachResult(func(r *vegeta.Result) {
		k := requestID{r.Attack, r.Seq}
		if !r.Timestamp.Before(faultEnd) || (!row.Conn && !hit[k]) {
			return
		}
		cell.Hit++
		if r.Code == 0 {
			cell.Got[errorWords(r.Error)]++
		} else {
			cell.Got[strconv.Itoa(int(r.Code))]++
		}
		if again[k] {
			cell.Retried++
		}
		if w := words[k]; w != "" {
			said[w]++
		}
	})
	if err != nil {
		return cell, err
	}
	cell.Words = mostSaid(said)
	return cell, nil
}

// testimonyWords reads what the gateway logged of each request, and marks
// in again the requests it says it sent more than once.
func testimonyWords(dir Folder, again map[requestID]bool) (map[requestID]string, error) {
	ts, err := dir.Testimony()
	if err != nil {
		return nil, err
	}
	words := map[requestID]string{}
	for _, t := range ts {
		if t.Seq == nil {
			continue
		}
		k := requestID{t.Attack, *t.Seq}
		if t.Retries > 0 || len(t.Upstream) > 1 {
			again[k] = true
		}
		if t.Words != "" {
			words[k] = t.Words
		}
	}
	return words, nil
}

// mostSaid returns the words said most often; the first in byte order
// among equals.
func mostSaid(said map[string]int) string {
	best, words := 0, ""
	for w, n := range said {
		if n > best || (n == best && w < words) {
			words, best = w, n
		}
	}
	return words
}

// errorWords names a client error briefly: an answer cut after its
// headers apart from a connection that ended before them.
func errorWords(msg string) string {
	switch results.ErrorKind(msg) {
	case results.ErrorStreamCut:
		return "stream cut"
	case results.ErrorStreamStall:
		return "stream stalled"
	}
	if strings.Contains(msg, "unexpected EOF") {
		return "cut (unexpected EOF)"
	}
	switch results.ErrorKind(msg) {
	case results.ErrorTimeout:
		return "client timeout"
	case results.ErrorReset:
		return "reset"
	case results.ErrorEOF:
		return "EOF"
	}
	return "error"
}
