package run

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/internal/golden"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/results/report"
	"github.com/gatecrash/gatecrash/scenarios"
)

// streamsExpect are the expectations of streamsFolder's run.
var streamsExpect = []string{
	"p99(ttft) < 800ms in steady",
	"p99(itl) < 20ms",
	"rate(class=stream-cut) < 0.1%",
	"count(class=stream-stall) == 5 in cuts",
}

// streamsFolder writes the folder of an nginx run of 40 streaming
// requests at 10/s, steady (0-2s) then cuts (2-4s, sse-cut and
// sse-stall), as the contract of issue 15 writes streams.jsonl: each
// stream 20 tokens, TTFT 80ms + seq ms, ITL 10ms; in cuts, seq%4 == 0 cut
// by an sse-cut after 8 tokens, seq%4 == 2 stalled by an sse-stall after
// 5 tokens, seq 23 cut with no fault (the upstream's own).
func streamsFolder(t *testing.T) Folder {
	t.Helper()
	dir := Folder(t.TempDir())
	plan := &results.Run{
		Schema: results.RunSchema, Scenario: "llm", Attack: "llm", Seed: 3, Started: damageStart, Gateway: "nginx", GatewayVersion: "nginx/1.22.1",
		Phases: []results.PhasePlan{
			{Name: "steady", StartS: 0, EndS: 2, Planned: 20, Rate: 10, RampTo: 10},
			{Name: "cuts", StartS: 2, EndS: 4, Planned: 20, Rate: 10, RampTo: 10, Faults: []string{"sse-cut", "sse-stall"}},
		},
	}
	if err := results.WriteRun(dir.Path(PlanFile), plan); err != nil {
		t.Fatal(err)
	}
	var rb, eb, sb bytes.Buffer
	w := results.NewWriter(&rb)
	events := faults.NewEventLog(&eb)
	enc := json.NewEncoder(&sb)
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	for i := range 40 {
		at := damageStart.Add(ms(i * 100))
		seq := uint64(i)
		st := attack.Stream{Time: at, Attack: "llm", Seq: seq, Try: 1, Format: attack.FormatOpenAI, Code: 200,
			TTFT: ms(80 + i), Tokens: 20, ITL: ms(10), End: attack.EndDone, FinishReason: "stop"}
		r := &vegeta.Result{Attack: "llm", Seq: seq, Code: 200, Timestamp: at, Method: "POST", URL: "http://127.0.0.1/v1/chat/completions"}
		switch {
		case i >= 20 && i%4 == 0:
			st.Tokens, st.End, st.FinishReason = 8, attack.EndCut, ""
			st.Error = "stream-cut: the stream ended after 8 tokens without its end marker"
			events.Record(faults.Event{Time: at.Add(ms(150)), Type: faults.TypeFault, Attack: "llm", Seq: &seq, Phase: "cuts", Kind: scenarios.KindSSECut,
				Cause: causes.ClosedMidBody, Ended: true, Detail: "stream close after 9 events"})
		case i >= 20 && i%4 == 2:
			st.Tokens, st.End, st.FinishReason = 5, attack.EndStall, ""
			st.Error = "stream-stall: no token for 1s after 5 tokens"
			events.Record(faults.Event{Time: at.Add(ms(1200)), Type: faults.TypeFault, Attack: "llm", Seq: &seq, Phase: "cuts", Kind: scenarios.KindSSEStall,
				Fault: 1, Detail: "stream stalled 2s after 6 events"})
		case i == 23:
			st.Tokens, st.End, st.FinishReason = 12, attack.EndCut, ""
			st.Error = "stream-cut: the stream ended after 12 tokens without its end marker"
		}
		st.MaxGap = st.TTFT
		st.Duration = st.TTFT + st.ITL*time.Duration(st.Tokens-1) + ms(2)
		if st.End == attack.EndStall {
			st.MaxGap = time.Second
			st.Duration += time.Second
		}
		r.Latency = st.Duration
		if st.Error != "" {
			r.Code, r.Error = 0, st.Error
		}
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		if err := enc.Encode(st); err != nil {
			t.Fatal(err)
		}
	}
	events.Record(faults.Event{Time: damageStart.Add(4 * time.Second), Type: faults.TypeObservation, Attack: "llm", Kind: faults.ObservedSeen, Fault: -1, Ranges: [][2]uint64{{0, 40}}})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := events.Close(); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{ResultsFile: rb.Bytes(), EventsFile: eb.Bytes(), StreamsFile: sb.Bytes()} {
		if err := os.WriteFile(dir.Path(name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var exps []scenarios.Expectation
	for _, x := range streamsExpect {
		e, err := scenarios.ParseExpectation(x, false)
		if err != nil {
			t.Fatal(err)
		}
		exps = append(exps, e)
	}
	if err := results.WriteExpect(dir.Path(ExpectFile), exps, ""); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFolderStreams: Folder.Analyze reads streams.jsonl into report.json's
// streams (the run's, each phase's, each bucket's) and judges the stream
// expectations; a folder without it has no streams key; a last line cut
// short is damage, as in tries.jsonl; a bad line before the last is an
// error naming the file and the line. Goldens: testdata/streams.json,
// streams.txt and streams.md (go test -update rewrites them).
func TestFolderStreams(t *testing.T) {
	for _, tt := range []struct {
		name    string
		change  func(t *testing.T, dir Folder)
		streams int    // in report.json; -1: no streams key
		damaged string // file:problem, "" for none
		err     string // a part of the error, "" for none
	}{
		{"whole", func(*testing.T, Folder) {}, 40, "", ""},
		{"cut", func(t *testing.T, dir Folder) { cutBy(t, dir, StreamsFile, 9) }, 39, "streams.jsonl:cut", ""},
		{"bad line", func(t *testing.T, dir Folder) {
			b, err := os.ReadFile(dir.Path(StreamsFile))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dir.Path(StreamsFile), append([]byte("{not json\n"), b...), 0o644); err != nil {
				t.Fatal(err)
			}
		}, 0, "", "streams.jsonl: line 1: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := streamsFolder(t)
			tt.change(t, dir)
			rep, err := dir.Analyze(results.Options{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var damaged []string
			for _, d := range rep.Damaged {
				damaged = append(damaged, d.File+":"+d.Problem)
			}
			if got := strings.Join(damaged, ","); got != tt.damaged {
				t.Errorf("damaged: got %q, want %q", got, tt.damaged)
			}
			if rep.Streams == nil || rep.Streams.Streams != tt.streams {
				t.Fatalf("got streams %+v, want %d", rep.Streams, tt.streams)
			}
			if tt.name != "whole" {
				return
			}
			st := rep.Streams
			if st.Cut != 6 || st.Stalled != 5 || st.CutCauses[causes.ClosedMidBody] != 5 || st.CutCauses[causes.UpstreamEndedStream] != 1 || st.StallCauses[causes.StalledMidStream] != 5 {
				t.Errorf("got %+v, want 6 cut (5 closed-mid-body, 1 upstream-ended-stream), 5 stalled (stalled-mid-stream)", st)
			}
			var verdicts []string
			for _, v := range rep.Expectations {
				verdicts = append(verdicts, v.Expr+": "+v.Measured())
				if v.OK != (v.Expr != "rate(class=stream-cut) < 0.1%") {
					t.Errorf("%s: got ok %v", v.Expr, v.OK)
				}
			}
			if got, want := strings.Join(verdicts, "; "), "p99(ttft) < 800ms in steady: 99ms; p99(itl) < 20ms: 10ms; rate(class=stream-cut) < 0.1%: 15%; count(class=stream-stall) == 5 in cuts: 5"; got != want {
				t.Errorf("got verdicts %q, want %q", got, want)
			}
			js, err := rep.MarshalIndent()
			if err != nil {
				t.Fatal(err)
			}
			var text, md, html bytes.Buffer
			if err := report.Text(&text, rep); err != nil {
				t.Fatal(err)
			}
			if err := report.Markdown(&md, rep); err != nil {
				t.Fatal(err)
			}
			if err := report.HTML(&html, rep); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`<section id="streams">`, "Streams over time", "TTFT p99", `<section id="streams-table">`, "<code>stalled-mid-stream</code>"} {
				if !strings.Contains(html.String(), want) {
					t.Errorf("the HTML report has no %q", want)
				}
			}
			golden.Check(t, "streams.json", js)
			golden.Check(t, "streams.txt", text.Bytes())
			golden.Check(t, "streams.md", md.Bytes())
		})
	}
}

// TestFolderWithoutStreams: the folder of a run without streams.jsonl
// gets no streams key, and its report.json is as before (the damage
// folder's goldens hold that too).
func TestFolderWithoutStreams(t *testing.T) {
	dir := streamsFolder(t)
	remove(t, dir, StreamsFile)
	rep, err := dir.Analyze(results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The results still say 11 streams cut or stalled.
	if rep.Streams == nil || rep.Streams.Streams != 0 || rep.Streams.Cut != 6 {
		t.Errorf("got %+v, want no stream recorded and 6 cut", rep.Streams)
	}
	dir, _ = damageFolder(t)
	rep, err = dir.Analyze(results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	js, err := rep.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Streams != nil || bytes.Contains(js, []byte(`"streams"`)) {
		t.Errorf("got streams in a run without: %+v", rep.Streams)
	}
}

// TestStreamsDocumented: docs/report.md names every key of report.json's
// streams, as the golden of TestFolderStreams holds them.
func TestStreamsDocumented(t *testing.T) {
	var rep struct {
		Streams map[string]any `json:"streams"`
	}
	doc := docAndGolden(t, "streams.json", &rep)
	if len(rep.Streams) < 10 {
		t.Fatalf("the golden's streams has %d keys, want them all", len(rep.Streams))
	}
	keys := []string{"buffering", "ttft_ms", "stream-cut", "stream-stall", "p50(ttft)", "p99(ttft)", "p99(itl)"}
	for k, v := range rep.Streams {
		keys = append(keys, k)
		if m, ok := v.(map[string]any); ok && k == "ttft_ms" {
			for inner := range m {
				keys = append(keys, inner)
			}
		}
	}
	var b results.Buffering
	bj, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var bm map[string]any
	if err := json.Unmarshal(bj, &bm); err != nil {
		t.Fatal(err)
	}
	for k := range bm {
		keys = append(keys, k)
	}
	checkDocumented(t, doc, keys)
}

// FuzzEachStream: no input panics the reader of streams.jsonl; what it
// accepts it reads whole but a cut last line, which it says is the last;
// a bad line before the last is an error naming it.
func FuzzEachStream(f *testing.F) {
	var b bytes.Buffer
	for i := range 3 {
		st := attack.Stream{Time: damageStart, Attack: "a", Seq: uint64(i), Try: 1, Format: attack.FormatAnthropic, Code: 200,
			TTFT: time.Millisecond, Tokens: 3, ITL: time.Millisecond, Duration: 5 * time.Millisecond, End: attack.EndMessageStop, FinishReason: "end_turn"}
		line, err := json.Marshal(st)
		if err != nil {
			f.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	f.Add(b.Bytes())
	f.Add(b.Bytes()[:b.Len()-9])
	f.Add([]byte("{not json\n" + b.String()))
	f.Add([]byte(`{"ttft_ms":"x"}` + "\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cut, err := eachStream(bytes.NewReader(data), func(*attack.Stream) {})
		if err != nil {
			if !strings.Contains(err.Error(), "line ") {
				t.Fatalf("got %v, want an error naming the line", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n"))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			lines++
		}
		if cut.Line != 0 && cut.Line != lines {
			t.Fatalf("cut line %d of %d lines: only the last may be cut", cut.Line, lines)
		}
	})
}
