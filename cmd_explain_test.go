package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/internal/golden"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

// recorded is the recorded run folder of `gatecrash run upstream-resets`.
var recorded = filepath.Join("testdata", "runs", "upstream-resets")

// TestExplainGolden tells the stories of the recorded run folder with a
// few filters, in text and JSON lines, and compares them with golden
// files under testdata/explain (go test -run TestExplainGolden -update
// rewrites them).
func TestExplainGolden(t *testing.T) {
	for _, tt := range []struct {
		golden string
		args   []string
	}{
		{"first.txt", []string{"--limit", "3"}},
		{"5xx.txt", []string{"--status", "5xx"}},
		{"5xx.jsonl", []string{"--status", "5xx", "--json"}},
		{"seq.txt", []string{"--seq", "205", "--seq", "486", "--seq", "10"}},
		{"seq.jsonl", []string{"--seq", "205", "--seq", "486", "--seq", "10", "--json"}},
		{"phase-cause.txt", []string{"--phase", "resets", "--cause", "reset-before-headers", "--limit", "2"}},
		{"none.txt", []string{"--phase", "baseline", "--status", "error"}},
		{"slow.txt", []string{"--slow-threshold", "27ms"}},
		{"slow.jsonl", []string{"--slow", "--slow-threshold", "27ms", "--json"}},
		{"slow-phase.txt", []string{"--slow-threshold", "20ms", "--phase", "resets", "--status", "2xx", "--limit", "2"}},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			code, stdout, stderr := gatecrash(t, append(append([]string{"explain"}, tt.args...), recorded)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden.Check(t, filepath.Join("explain", tt.golden), []byte(stdout))
			if !strings.HasSuffix(tt.golden, ".jsonl") {
				return
			}
			for i, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
				var st results.Story
				if err := json.Unmarshal([]byte(line), &st); err != nil {
					t.Errorf("line %d is no story: %v", i+1, err)
				}
			}
		})
	}
}

// TestExplainFilters checks what each filter lets through on the recorded
// run, against the report's own counts.
func TestExplainFilters(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want int // stories
	}{
		{"default limit", nil, defaultExplainLimit},
		{"all", []string{"--limit", "0"}, 1000},
		{"502s", []string{"--status", "502", "--limit", "0"}, 4},
		{"5xx or 200", []string{"--status", "5xx", "--status", "200", "--limit", "0"}, 1000},
		{"cause", []string{"--cause", "reset-before-headers"}, 4},
		{"cause elsewhere", []string{"--cause", "reset-mid-body"}, 0},
		{"phase", []string{"--phase", "baseline", "--limit", "0"}, 200},
		{"seq and phase", []string{"--seq", "205", "--phase", "baseline"}, 0},
		{"seq with limit", []string{"--seq", "1", "--seq", "2", "--seq", "3", "--limit", "2"}, 2},
		{"slow", []string{"--slow-threshold", "27ms", "--limit", "0"}, 11},
		{"slow and a 502", []string{"--slow-threshold", "1ms", "--status", "502", "--limit", "0"}, 0},
		{"slow and a phase", []string{"--slow-threshold", "20ms", "--phase", "baseline", "--limit", "0"}, 0},
		{"slow, threshold from the analysis", []string{"--slow", "--limit", "0"}, 0},
		{"slow and a seq", []string{"--slow-threshold", "27ms", "--seq", "233", "--seq", "10"}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := gatecrash(t, append(append([]string{"explain", "--json"}, tt.args...), recorded)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got := strings.Count(stdout, "\n"); got != tt.want {
				t.Errorf("got %d stories, want %d", got, tt.want)
			}
		})
	}
}

// TestExplainBadInput checks that every mistake exits 2 with a message
// that names the flag or the folder, and the fix.
func TestExplainBadInput(t *testing.T) {
	empty := t.TempDir()
	noResults := t.TempDir()
	b, err := os.ReadFile(filepath.Join(recorded, run.PlanFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(noResults, run.PlanFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, "notes.txt", "not a folder")
	for _, tt := range []struct {
		args []string
		out  string
	}{
		{nil, "explain takes one run folder, got 0; give the folder gatecrash run wrote"},
		{[]string{recorded, recorded}, "explain takes one run folder, got 2"},
		{[]string{"/nonexistent/run"}, "explain: /nonexistent/run is not a run folder; give the folder gatecrash run wrote"},
		{[]string{file}, "is not a run folder; give the folder gatecrash run wrote"},
		{[]string{empty}, "no run.json, the plan every report needs"},
		{[]string{noResults}, "no results, which every run folder holds; give the whole folder gatecrash run wrote"},
		{[]string{"--seq", "99999", recorded}, "--seq 99999: no request of that seq in testdata/runs/upstream-resets/results; give a seq of its results"},
		{[]string{"--seq", "205", "--seq", "1000", recorded}, "--seq 1000: no request of that seq"},
		{[]string{"--seq", "abc", recorded}, "--seq abc: not a request's seq; give a whole number as the report and the results name it, for example --seq 205"},
		{[]string{"--seq", "-1", recorded}, "--seq -1: not a request's seq"},
		{[]string{"--status", "5x2", recorded}, "--status 5x2: not a status; give a code from 100 to 599 (502), a class (5xx), error (no answer), stream-cut or stream-stall"},
		{[]string{"--status", "600", recorded}, "--status 600: not a status"},
		{[]string{"--status", "", recorded}, "--status : not a status"},
		{[]string{"--cause", "reset-befor-headers", recorded}, "--cause reset-befor-headers: not a cause (did you mean reset-before-headers?); give a cause name as the report prints it"},
		{[]string{"--cause", "gremlins", recorded}, "--cause gremlins: not a cause; give one of the report's causes: reset-before-headers, "},
		{[]string{"--phase", "reset", recorded}, "--phase reset: the run in testdata/runs/upstream-resets has no such phase; give one of its phases: baseline, resets, recover"},
		{[]string{"--limit", "-1", recorded}, "--limit -1: give 0 (every request) or more, for example --limit 20"},
		{[]string{"--limit", "many", recorded}, `invalid argument "many" for "--limit" flag`},
		{[]string{"--slow=maybe", recorded}, `invalid argument "maybe" for "--slow" flag`},
		{[]string{"--slow-threshold", "fast", recorded}, `--slow-threshold "fast": not a positive duration; give one such as 500ms or 1.5s`},
		{[]string{"--slow-threshold", "500", recorded}, `--slow-threshold "500": not a positive duration`},
		{[]string{"--slow-threshold", "-1s", "--slow", recorded}, `--slow-threshold "-1s": not a positive duration`},
		{[]string{"--slow-threshold", "0s", recorded}, `--slow-threshold "0s": not a positive duration`},
		{[]string{"--slow-threshold=", recorded}, `--slow-threshold "": not a positive duration`},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := gatecrash(t, append([]string{"explain"}, tt.args...)...)
			if code != exitInput {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitInput, stderr)
			}
			if !strings.Contains(stderr, tt.out) {
				t.Errorf("stderr %q, want it to hold %q", stderr, tt.out)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

// TestExplainHelp checks explain's --help and its line in the usage.
func TestExplainHelp(t *testing.T) {
	code, stdout, _ := gatecrash(t, "explain", "--help")
	for _, want := range []string{"Usage: gatecrash explain DIR", "--seq", "--status", "--cause", "--phase", "--limit", "--json", "--slow ", "--slow-threshold", "report.json"} {
		if code != exitOK || !strings.Contains(stdout, want) {
			t.Errorf("explain --help: exit %d, output lacks %q:\n%s", code, want, stdout)
		}
	}
	if _, stdout, _ := gatecrash(t, "--help"); !strings.Contains(stdout, "  explain ") {
		t.Errorf("gatecrash --help does not list explain:\n%s", stdout)
	}
}

// TestClosestName checks the "did you mean" of --cause.
func TestClosestName(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"reset-befor-headers", causes.ResetBeforeHeaders, true},
		{"RESET-MID-BODY", causes.ResetMidBody, true},
		{"conection-refused", causes.ConnectionRefused, true},
		{"gremlins", "", false},
		{strings.Repeat("x", 100), "", false},
	} {
		got, ok := scenarios.Closest(tt.in, causes.Names())
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("Closest(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

var benchExplainN = flag.Int("bench-explain-requests", 200_000, "BenchmarkExplainSeq: requests in the synthetic run")

// BenchmarkExplainSeq writes a synthetic run folder of 200,000 requests
// with one fault event each (a latency event on every request, a reset
// that ends 1% of them in a 502) and times explain --seq of one request
// in the middle: the whole events file is read, since the evidence of one
// request may lie in any event.
//
//	go test -run '^$' -bench BenchmarkExplainSeq -benchtime 3x .
//	go test -run '^$' -bench BenchmarkExplainSeq -benchtime 3x -bench-explain-requests 1000000 .
func BenchmarkExplainSeq(b *testing.B) {
	n := *benchExplainN
	dir := b.TempDir()
	if err := writeExplainRun(dir, n); err != nil {
		b.Fatal(err)
	}
	se, _ := os.Stat(filepath.Join(dir, run.EventsFile))
	b.Logf("synthetic run: %d results, events.jsonl %.0f MB", n, float64(se.Size())/1e6)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		var stdout, stderr bytes.Buffer
		code := cli(context.Background(), []string{"explain", "--seq", strconv.Itoa(n/200*100 + 37), dir}, &stdout, &stderr)
		if code != exitOK || !strings.Contains(stdout.String(), "cause reset-before-headers (exact)") {
			b.Fatalf("exit %d: %s%s", code, stdout.String(), stderr.String())
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.Logf("explain --seq on %d requests with one event each: %s per run; projected for 1,000,000 (linear): %s",
		n, per.Round(time.Millisecond), (per * time.Duration(1_000_000) / time.Duration(n)).Round(time.Millisecond))
}

// writeExplainRun writes a run folder of n requests, each with one event.
func writeExplainRun(dir string, n int) error {
	started := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := 60.0
	plan := &results.Run{Schema: results.RunSchema, Scenario: "bench", Attack: "bench", Started: started, Gateway: "builtin",
		Phases: []results.PhasePlan{{Name: "steady", EndS: d, Planned: float64(n), Rate: float64(n) / d, RampTo: float64(n) / d, Faults: []string{"reset", "latency"}}}}
	if err := results.WriteRun(filepath.Join(dir, run.PlanFile), plan); err != nil {
		return err
	}
	rf, err := os.Create(filepath.Join(dir, run.ResultsFile))
	if err != nil {
		return err
	}
	defer rf.Close()
	ef, err := os.Create(filepath.Join(dir, run.EventsFile))
	if err != nil {
		return err
	}
	defer ef.Close()
	w := results.NewWriter(rf)
	events := faults.NewEventLog(ef)
	step := time.Duration(d * float64(time.Second) / float64(n))
	for i := range n {
		seq := uint64(i)
		ts := started.Add(time.Duration(i) * step)
		r := vegeta.Result{Attack: "bench", Seq: seq, Code: 200, Timestamp: ts, Latency: time.Duration(500+(i*7919)%20000) * time.Microsecond,
			Method: "GET", URL: "http://127.0.0.1:8080/"}
		e := faults.Event{Time: ts.Add(time.Millisecond), Type: faults.TypeFault, Attack: "bench", Seq: &seq, Phase: "steady", Kind: scenarios.KindLatency, Detail: "delay 1ms"}
		if i%100 == 37 {
			r.Code, r.Error = 502, "502 Bad Gateway"
			e.Kind, e.Cause, e.Ended, e.Detail = scenarios.KindReset, causes.ResetBeforeHeaders, true, "reset after reading the request, before any response byte"
		}
		events.Record(e)
		if err := w.Write(&r); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return events.Close()
}

// TestExplainSeqSameStory checks that --seq, which decodes only the events
// of its requests and of none, tells each request's story exactly as the
// full listing does.
func TestExplainSeqSameStory(t *testing.T) {
	code, all, stderr := gatecrash(t, "explain", "--json", "--limit", "0", recorded)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	// The 502s, requests whose fault a retry masked, clean ones, the last.
	for _, seq := range []int{10, 205, 208, 448, 461, 486, 600, 999} {
		code, one, stderr := gatecrash(t, "explain", "--json", "--seq", strconv.Itoa(seq), recorded)
		if code != exitOK {
			t.Fatalf("seq %d: exit %d: %s", seq, code, stderr)
		}
		want := ""
		for _, l := range lines {
			if strings.Contains(l, `"seq":`+strconv.Itoa(seq)+`,`) {
				want = l + "\n"
			}
		}
		if want == "" || one != want {
			t.Errorf("seq %d: --seq says\n%s\nthe listing\n%s", seq, one, want)
		}
	}
}

// TestExplainTestimony tells the stories of a copy of the recorded run
// with the gateway's testimony added, as gatecrash writes it when it
// started nginx: the lines of the gateway's log show in each story.
func TestExplainTestimony(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{run.PlanFile, run.ResultsFile, run.EventsFile, run.ExpectFile} {
		b, err := os.ReadFile(filepath.Join(recorded, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := run.Folder(dir).Plan()
	if err != nil {
		t.Fatal(err)
	}
	seq := func(n uint64) *uint64 { return &n }
	ms := func(n int) time.Time { return plan.Started.Add(time.Duration(n) * time.Millisecond) }
	reset := "recv() failed (104: Connection reset by peer) while reading response header from upstream"
	told := []results.Testimony{
		{Gateway: "nginx", Time: ms(2052), Attack: plan.Attack, Seq: seq(205), Status: 200, Upstream: []string{"502", "200"}, Retries: 1, Words: reset},
		{Gateway: "nginx", Time: ms(3989), Attack: plan.Attack, Seq: seq(448), Status: 502, Upstream: []string{"502"}, Words: reset},
	}
	tf, err := os.Create(filepath.Join(dir, run.TestimonyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := results.WriteTestimony(tf, told); err != nil {
		t.Fatal(err)
	}
	if err := tf.Close(); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := gatecrash(t, "explain", "--seq", "205", "--seq", "448", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden.Check(t, filepath.Join("explain", "testimony.txt"), []byte(stdout))
}

// FuzzExplainFlags checks that explain's flags never panic, that every
// mistake is bad input (exit 2) or --help, and that what they accept is
// in range.
func FuzzExplainFlags(f *testing.F) {
	for _, args := range [][]string{
		{"--seq", "205", recorded},
		{"--status", "5xx", "--status", "error", "--json", recorded},
		{"--cause", "reset-befor-headers", recorded},
		{"--phase", "resets", "--limit", "0", recorded},
		{"--limit", "-1", "--seq", "18446744073709551616", recorded},
		{"--status", "٥٠٢", "x", "y"},
		{"--slow-threshold", "1.5s", "--slow", recorded},
		{"--slow-threshold", "-3ms", recorded},
		{"-h"},
	} {
		f.Add(strings.Join(args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		var args []string
		if joined != "" {
			args = strings.Split(joined, "\x00")
		}
		fl, err := parseExplainFlags(args, io.Discard)
		if err != nil {
			if code := exitCode(err, io.Discard); code != exitInput && code != exitOK {
				t.Fatalf("%q: exit %d for %v, want %d", args, code, err, exitInput)
			}
			return
		}
		if fl.threshold < 0 || (fl.threshold > 0 && !fl.slow) {
			t.Fatalf("%q: accepted threshold %s, slow %v", args, fl.threshold, fl.slow)
		}
		if fl.limit < 0 || (fl.cause != "" && !causes.Known(fl.cause)) {
			t.Fatalf("%q: accepted limit %d, cause %q", args, fl.limit, fl.cause)
		}
	})
}

// TestExplainSlowThreshold checks where explain takes the slow threshold
// from: --slow-threshold over report.json's slow.threshold_ms, that over
// the analysis of the folder; and that without --slow a story gets its
// cause of slowness only when the threshold is known without the
// analysis.
// slowLine matches a story's cause of slowness, in its first line.
var slowLine = regexp.MustCompile(`  slow [a-z-]+ \((exact|temporal|signature|none)\)`)

func TestExplainSlowThreshold(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{run.PlanFile, run.ResultsFile, run.EventsFile, run.ExpectFile} {
		b, err := os.ReadFile(filepath.Join(recorded, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := run.Folder(dir).Analyze(results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep.Slow = &results.Slow{ThresholdMS: 27, From: results.SlowFromBaseline, Causes: []results.SlowCause{}}
	if err := run.Folder(dir).WriteReport(rep); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		args    []string
		head    string
		stories int
		slow    int // stories with a cause of slowness
	}{
		{"report.json", []string{"--slow"}, "slow answers: at least 27ms (from report.json, where it comes from the baseline)", 11, 11},
		{"the flag over report.json", []string{"--slow-threshold", "27.3ms"}, "slow answers: at least 27.3ms (from --slow-threshold)", 4, 4},
		{"no --slow: report.json's threshold", []string{"--phase", "resets", "--status", "200", "--limit", "0"}, "", 596, 11},
		{"no --slow, a seq", []string{"--seq", "233", "--seq", "10"}, "", 2, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := gatecrash(t, append(append([]string{"explain"}, tt.args...), dir)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			first, _, _ := strings.Cut(stdout, "\n")
			if tt.head != "" && first != tt.head {
				t.Errorf("got the head %q, want %q", first, tt.head)
			}
			if got := strings.Count(stdout, "\nseq ") + strings.Count(first, "seq "); got != tt.stories {
				t.Errorf("got %d stories, want %d:\n%s", got, tt.stories, stdout)
			}
			if got := len(slowLine.FindAllString(stdout, -1)); got != tt.slow {
				t.Errorf("got %d slow stories, want %d", got, tt.slow)
			}
		})
	}
	// Without report.json nor --slow, no story gets a cause of slowness.
	if err := os.Remove(filepath.Join(dir, run.ReportFile)); err != nil {
		t.Fatal(err)
	}
	if _, stdout, _ := gatecrash(t, "explain", "--limit", "0", dir); strings.Contains(stdout, " slow ") {
		t.Errorf("without a threshold, a story has a cause of slowness")
	}
}

// TestExplainSlowUnreadable: with --slow and no threshold to read,
// explain analyses the folder; a results file that cannot be read is a
// broken folder (exit 3), not bad input.
func TestExplainSlowUnreadable(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{run.PlanFile, run.EventsFile, run.ExpectFile} {
		b, err := os.ReadFile(filepath.Join(recorded, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, run.ResultsFile), 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := gatecrash(t, "explain", "--slow", dir)
	if code != exitBroken || !strings.Contains(stderr, "is a directory") {
		t.Errorf("got exit %d (%s), want 3 and the read error", code, stderr)
	}
}
