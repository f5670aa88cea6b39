package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// matrixRow is one fault the matrix runs against a gateway.
type matrixRow struct {
	name string // how the table names it
	// fault is the fault, as in a scenario's phase; a request is hit when
	// the first fault's kind has an event for it.
	fault string
	// conn: the fault acts on connections, not requests: every request of
	// the run counts as hit.
	conn bool
}

// matrixRows covers every fault kind, and every point of reset, close and
// malformed.
var matrixRows = []matrixRow{
	{"latency 100ms", "{kind: latency, delay: 100ms}", false},
	{"latency 1.5s (> read timeout)", "{kind: latency, delay: 1500ms}", false},
	{"slow-headers 300ms", "{kind: slow-headers, duration: 300ms}", false},
	{"slow-body 20 KB/s", "{kind: slow-body, bytes_per_second: 20000}", false},
	{"hang", "{kind: hang}", false},
	{"reset at connect", "{kind: reset, at: connect}", true},
	{"reset before headers", "{kind: reset, at: before-headers}", false},
	{"reset after headers", "{kind: reset, at: after-headers}", false},
	{"reset mid-body", "{kind: reset, at: mid-body, after_bytes: 100}", false},
	{"close at connect", "{kind: close, at: connect}", true},
	{"close before headers", "{kind: close, at: before-headers}", false},
	{"close after headers", "{kind: close, at: after-headers}", false},
	{"close mid-body", "{kind: close, at: mid-body, after_bytes: 100}", false},
	{"status 503", "{kind: status, code: 503, body: busy}", false},
	{"status 429", "{kind: status, code: 429, body: slow down, headers: {Retry-After: \"1\"}}", false},
	{"malformed status-line", "{kind: malformed, variant: status-line}", false},
	{"malformed header", "{kind: malformed, variant: header}", false},
	{"malformed oversized-headers", "{kind: malformed, variant: oversized-headers}", false},
	{"malformed length-mismatch", "{kind: malformed, variant: length-mismatch}", false},
	{"malformed bad-chunked", "{kind: malformed, variant: bad-chunked}", false},
	{"malformed garbage", "{kind: malformed, variant: garbage}", false},
	{"refuse", "{kind: refuse}", true},
	{"blackhole", "{kind: blackhole}", true},
	{"keepalive idle 20ms", "{kind: keepalive, idle: 20ms}", true},
	{"overload 1 in flight, 503", "{kind: overload, max_inflight: 1, reject: \"503\"}\n      - {kind: latency, delay: 200ms}", false},
	{"overload 1 in flight, reset", "{kind: overload, max_inflight: 1, reject: reset}\n      - {kind: latency, delay: 200ms}", false},
}

// matrixCell is what one row measured.
type matrixCell struct {
	row     matrixRow
	hit     int            // requests the fault hit
	got     map[string]int // what the client got, by status or error kind
	retried int            // hit requests the gateway sent again
	words   string         // the gateway's most frequent words
}

func cmdMatrix(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flagSet("matrix", "", `Run every fault kind, one at a time, against a gateway and print what the
client got for the requests the fault hit, what the gateway logged (when
gatecrash starts it) and whether it retried. Every cell is measured.`, stdout)
	gateway := fs.String("gateway", scenarios.GatewayBuiltin, "the gateway: builtin, nginx, haproxy or caddy")
	rate := fs.Int("rate", 20, "requests per second of each row")
	duration := fs.Duration("duration", 2*time.Second, "length of each row's run")
	out := fs.StringP("out", "o", "", "keep each row's run folder under this folder (default: a temporary folder, removed)")
	markdown := fs.Bool("markdown", false, "print a Markdown table")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return inputErrf("matrix takes no arguments, got %q; name the gateway with --gateway", fs.Args())
	}
	if !slices.Contains([]string{scenarios.GatewayBuiltin, "nginx", "haproxy", "caddy"}, *gateway) {
		return inputErrf("--gateway %q: give builtin, nginx, haproxy or caddy", *gateway)
	}
	if *rate < 1 || *rate > 1000 || *duration < 500*time.Millisecond || *duration > time.Minute {
		return inputErrf("--rate %d, --duration %s: give a rate from 1 to 1000 and a duration from 500ms to 1m", *rate, *duration)
	}
	dir := *out
	if dir == "" {
		tmp, err := os.MkdirTemp("", "gatecrash-matrix-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	var cells []matrixCell
	version := ""
	for i, row := range matrixRows {
		if ctx.Err() != nil {
			return &exitError{code: exitBroken, err: errors.New("interrupted")}
		}
		sc, err := matrixScenario(row, *gateway, *rate, *duration)
		if err != nil {
			return err
		}
		runDir := filepath.Join(dir, fmt.Sprintf("%02d-%s", i, strings.NewReplacer(" ", "-", "/", "-").Replace(row.name)))
		fmt.Fprintf(stderr, "matrix %s: %s\n", *gateway, row.name)
		if _, err := execute(ctx, sc, runOptions{out: runDir, proxyListen: "127.0.0.1:0", stderr: io.Discard}); err != nil {
			return fmt.Errorf("matrix row %q: %w", row.name, err)
		}
		cell, err := measureRow(row, runDir)
		if err != nil {
			return fmt.Errorf("matrix row %q: %w", row.name, err)
		}
		cells = append(cells, cell)
		if version == "" {
			if run, err := results.ReadRun(filepath.Join(runDir, results.RunFile)); err == nil {
				version = run.GatewayVersion
			}
		}
	}
	if version == "" {
		version = *gateway
	}
	fmt.Fprintf(stdout, "gateway %s (%s); %d/s for %s per row; read timeout 1s\n\n", *gateway, version, *rate, *duration)
	writeMatrix(stdout, cells, *markdown)
	return nil
}

// matrixScenario is one row's scenario: the fault on every request of
// its first phase, against the gateway, then a quiet phase.
func matrixScenario(row matrixRow, gateway string, rate int, d time.Duration) (*scenarios.Scenario, error) {
	src := fmt.Sprintf(`name: matrix
seed: 1
target: {gateway: %s, timeout: 5s, upstream_timeout: 1s}
upstream:
  builtin: {latency: 1ms, body_bytes: 2048}
requests:
  - {method: GET, path: /matrix}
phases:
  - name: fault
    duration: %s
    rate: %d/s
    faults:
      - %s
  # Long enough for what the fault holds back to end (the read timeout is
  # 1s) before everything stops; not measured.
  - {name: settle, duration: 1500ms, rate: 2/s}
`, gateway, d, rate, row.fault)
	sc, err := scenarios.Decode("matrix.yaml", []byte(src))
	if err != nil {
		return nil, fmt.Errorf("matrix row %q: %w", row.name, err)
	}
	return sc, nil
}

// measureRow reads a row's run folder: which requests the fault hit, what
// the client got for them, whether the gateway sent them again, what it
// logged.
func measureRow(row matrixRow, dir string) (matrixCell, error) {
	cell := matrixCell{row: row, got: map[string]int{}}
	type key struct {
		attack string
		seq    uint64
	}
	hit := map[key]bool{}
	again := map[key]bool{}
	kind := strings.TrimSpace(strings.TrimPrefix(strings.FieldsFunc(row.fault, func(r rune) bool { return r == ',' || r == '}' })[0], "{kind:"))
	f, err := os.Open(filepath.Join(dir, results.EventsFile))
	if err != nil {
		return cell, err
	}
	defer f.Close()
	if err := faults.EachEvent(f, func(e *faults.Event) {
		if e.Seq == nil {
			return
		}
		k := key{e.Attack, *e.Seq}
		if e.Type == faults.TypeFault && e.Kind == kind {
			hit[k] = true
		}
		if e.Attempt > 0 {
			again[k] = true
		}
	}); err != nil {
		return cell, err
	}
	words := map[key]string{}
	if tf, err := os.Open(filepath.Join(dir, results.TestimonyFile)); err == nil {
		ts, err := results.ReadTestimony(tf)
		tf.Close()
		if err != nil {
			return cell, err
		}
		for _, t := range ts {
			if t.Seq == nil {
				continue
			}
			k := key{t.Attack, *t.Seq}
			if t.Retries > 0 || len(t.Upstream) > 1 {
				again[k] = true
			}
			if t.Words != "" {
				words[k] = t.Words
			}
		}
	}
	run, err := results.ReadRun(filepath.Join(dir, results.RunFile))
	if err != nil {
		return cell, err
	}
	faultEnd := run.Started.Add(time.Duration(run.Phases[0].EndS * float64(time.Second)))
	rf, err := os.Open(filepath.Join(dir, results.RecordFile))
	if err != nil {
		return cell, err
	}
	defer rf.Close()
	said := map[string]int{}
	err = results.Each(rf, func(r *vegeta.Result) {
		k := key{r.Attack, r.Seq}
		if !r.Timestamp.Before(faultEnd) || (!row.conn && !hit[k]) {
			return
		}
		cell.hit++
		if r.Code == 0 {
			cell.got[errorWords(r.Error)]++
		} else {
			cell.got[strconv.Itoa(int(r.Code))]++
		}
		if again[k] {
			cell.retried++
		}
		if w := words[k]; w != "" {
			said[w]++
		}
	})
	if err != nil {
		return cell, err
	}
	best := 0
	for w, n := range said {
		if n > best || (n == best && w < cell.words) {
			cell.words, best = w, n
		}
	}
	return cell, nil
}

// errorWords names a client error briefly.
func errorWords(msg string) string {
	switch {
	case strings.Contains(msg, "unexpected EOF"):
		return "cut (unexpected EOF)"
	case strings.Contains(msg, "Timeout") || strings.Contains(msg, "deadline"):
		return "client timeout"
	case strings.Contains(msg, "reset"):
		return "reset"
	case strings.HasSuffix(msg, "EOF"):
		return "EOF"
	}
	return "error"
}

// writeMatrix prints the measured table.
func writeMatrix(w io.Writer, cells []matrixCell, markdown bool) {
	head := []string{"fault", "hit", "the client got", "retried", "the gateway logged"}
	rows := make([][]string, 0, len(cells))
	for _, c := range cells {
		keys := make([]string, 0, len(c.got))
		for k := range c.got {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if c.got[keys[i]] != c.got[keys[j]] {
				return c.got[keys[i]] > c.got[keys[j]]
			}
			return keys[i] < keys[j]
		})
		var got []string
		for _, k := range keys {
			got = append(got, fmt.Sprintf("%s ×%d", k, c.got[k]))
		}
		retried := "no"
		if c.retried > 0 {
			retried = fmt.Sprintf("%d of %d", c.retried, c.hit)
		}
		words := c.words
		if len(words) > 90 {
			words = words[:87] + "..."
		}
		if words == "" {
			words = "-"
		}
		rows = append(rows, []string{c.row.name, strconv.Itoa(c.hit), strings.Join(got, ", "), retried, words})
	}
	if markdown {
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
		for _, r := range rows {
			for i := range r {
				r[i] = strings.ReplaceAll(r[i], "|", `\|`)
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}
