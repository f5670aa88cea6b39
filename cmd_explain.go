package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/results/report"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

// defaultExplainLimit is how many requests explain tells without --seq
// and --limit.
const defaultExplainLimit = 100

// explainFlags are explain's settings, as its flags give them.
type explainFlags struct {
	dir      run.Folder
	seqs     map[uint64]bool // nil: any
	seqOrder []uint64
	answers  []results.AnswerFilter // empty: any
	cause    string                 // "": any
	phase    string                 // "": any
	limit    int                    // 0: all
	json     bool
	// slow keeps only the slow answers; threshold is --slow-threshold,
	// zero when not given (explain then takes report.json's, or the
	// analysis's: slowThreshold).
	slow      bool
	threshold time.Duration
}

func cmdExplain(_ context.Context, args []string, stdout, _ io.Writer) error {
	f, err := parseExplainFlags(args, stdout)
	if err != nil {
		return err
	}
	return explain(f, stdout)
}

// parseExplainFlags parses and checks explain's flags and its folder's
// plan; every error is bad input and names its flag or file.
func parseExplainFlags(args []string, stdout io.Writer) (*explainFlags, error) {
	fs := flagSet("explain", "DIR", `Tell the story of each request of a run folder: when it was sent (seconds
from the run's start), its phase, what the client got and how long it took,
each attempt the fault proxy saw with its fault events and observations,
what the gateway's own logs said of it, and its cause with its evidence
(exact, temporal, signature, none) and why the evidence is of that level.
The filters combine: a request must pass every one given.

--slow keeps the slow answers: requests answered with a status that is not
a failure (not a 5xx, not an error) in at least the slow threshold, each
with the cause of its slowness. The threshold is --slow-threshold when
given; else the one report.json in DIR was built with (slow.threshold_ms);
else explain analyses the folder as gatecrash report does (a full pass
over its files) and takes the analysis's. Without --slow, a story gets its
cause of slowness when the threshold is known without that pass (from
--slow-threshold or report.json).

Exit codes: 0 told; 2 bad input (a folder that is not a run folder, an
unknown seq, a bad flag value); 3 a file of the folder could not be read.`, stdout)
	seqs := fs.StringArray("seq", nil, "tell only the request of this seq (X-Vegeta-Seq, as the report names it); repeat for several")
	statuses := fs.StringArray("status", nil, "only the requests that got this answer: a code (502), a class (5xx), error (no answer), stream-cut or stream-stall; repeat for several")
	cause := fs.String("cause", "", "only the failed requests of this cause (a name of the report's causes, such as reset-before-headers)")
	phase := fs.String("phase", "", "only the requests sent in this phase")
	limit := fs.Int("limit", defaultExplainLimit, "tell at most this many requests, the first recorded; 0 for all (default 100, or all with --seq)")
	asJSON := fs.Bool("json", false, "print one JSON object per request (JSON lines) instead of text")
	slow := fs.Bool("slow", false, "only the slow answers: not a failure, and at least the slow threshold long")
	threshold := fs.String("slow-threshold", "", "the slow threshold, a duration such as 500ms or 1.5s; implies --slow (default: report.json's, else the analysis's)")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		return nil, inputErrf("explain takes one run folder, got %d; give the folder gatecrash run wrote", fs.NArg())
	}
	f := &explainFlags{dir: run.Folder(fs.Arg(0)), cause: *cause, phase: *phase, limit: *limit, json: *asJSON, slow: *slow}
	if fs.Changed("slow-threshold") {
		d, err := time.ParseDuration(strings.TrimSpace(*threshold))
		if err != nil || d <= 0 {
			return nil, inputErrf("--slow-threshold %s: not a positive duration; give one such as 500ms or 1.5s", scenarios.Quote(scenarios.Cut(*threshold)))
		}
		f.threshold, f.slow = d, true
	}
	for _, s := range *seqs {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, inputErrf("--seq %s: not a request's seq; give a whole number as the report and the results name it, for example --seq 205", scenarios.Cut(s))
		}
		if f.seqs == nil {
			f.seqs = map[uint64]bool{}
		}
		if !f.seqs[n] {
			f.seqOrder = append(f.seqOrder, n)
		}
		f.seqs[n] = true
	}
	switch {
	case *limit < 0:
		return nil, inputErrf("--limit %d: give 0 (every request) or more, for example --limit 20", *limit)
	case f.seqs != nil && !fs.Changed("limit"):
		f.limit = 0
	}
	for _, s := range *statuses {
		a, err := results.ParseAnswer(s)
		if err != nil {
			return nil, inputErrf("--status %s: %w", scenarios.Cut(s), err)
		}
		f.answers = append(f.answers, a)
	}
	if f.cause != "" && !causes.Known(f.cause) {
		if near, ok := scenarios.Closest(f.cause, causes.Names()); ok {
			return nil, inputErrf("--cause %s: not a cause (did you mean %s?); give a cause name as the report prints it", scenarios.Cut(f.cause), near)
		}
		return nil, inputErrf("--cause %s: not a cause; give one of the report's causes: %s", scenarios.Cut(f.cause), strings.Join(causes.Names(), ", "))
	}
	dir := string(f.dir)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, inputErrf("explain: %s is not a run folder; give the folder gatecrash run wrote", scenarios.Cut(dir))
	}
	if f.phase != "" {
		plan, err := f.dir.Plan()
		if err != nil {
			return nil, inputErr(err)
		}
		names := make([]string, len(plan.Phases))
		found := false
		for i, p := range plan.Phases {
			names[i] = p.Name
			found = found || p.Name == f.phase
		}
		if !found {
			return nil, inputErrf("--phase %s: the run in %s has no such phase; give one of its phases: %s", scenarios.Cut(f.phase), scenarios.Cut(dir), strings.Join(names, ", "))
		}
	}
	return f, nil
}

// reqKey identifies a request.
type reqKey struct {
	attack string
	seq    uint64
}

// explain tells the stories f selects.
func explain(f *explainFlags, stdout io.Writer) error {
	dir := f.dir
	plan, err := dir.Plan()
	if err != nil {
		return inputErr(err)
	}
	for _, name := range []string{run.ResultsFile, run.EventsFile} {
		if _, err := os.Stat(dir.Path(name)); errors.Is(err, fs.ErrNotExist) {
			return inputErrf("explain: %s: no %s, which every run folder holds; give the whole folder gatecrash run wrote", scenarios.Cut(string(dir)), name)
		}
	}
	th, from, err := f.slowThreshold()
	if err != nil {
		return err
	}
	// The threshold is the analyzer's too: whether the gateway's logged
	// wait made an answer slow depends on it.
	a := results.NewAnalyzer(plan, results.Options{Slow: th})
	// With --seq the requests are known before the events are read: keep
	// theirs on the way, and read events.jsonl once.
	bySeq := map[reqKey][]faults.Event{}
	keep := func(e *faults.Event) {
		if e.Seq != nil && f.seqs[*e.Seq] {
			k := reqKey{e.Attack, *e.Seq}
			bySeq[k] = append(bySeq[k], e.Kept())
		}
	}
	if f.seqs != nil {
		err = dir.EachEventOf(func(seq uint64) bool { return f.seqs[seq] }, func(e *faults.Event) {
			a.AddEvent(e)
			keep(e)
		})
	} else {
		err = dir.EachEvent(a.AddEvent)
	}
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	told, err := dir.Testimony()
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	a.AddTestimony(told)

	var picked []vegeta.Result
	found := map[uint64]bool{}
	more := 0
	if err := dir.EachResult(func(r *vegeta.Result) {
		if f.seqs != nil && !f.seqs[r.Seq] {
			return
		}
		found[r.Seq] = true
		if !f.pick(a, plan, r, th) {
			return
		}
		if f.limit > 0 && len(picked) >= f.limit {
			more++
			return
		}
		c := *r
		c.Body, c.Headers = append([]byte(nil), r.Body...), r.Headers.Clone()
		picked = append(picked, c)
	}); err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	for _, s := range f.seqOrder {
		if !found[s] {
			return inputErrf("--seq %d: no request of that seq in %s; give a seq of its results, as the report names them", s, scenarios.Cut(dir.Path(run.ResultsFile)))
		}
	}
	if f.seqs == nil && len(picked) > 0 {
		want := map[reqKey]bool{}
		for i := range picked {
			want[reqKey{picked[i].Attack, picked[i].Seq}] = true
		}
		if err := dir.EachEvent(func(e *faults.Event) {
			if e.Seq != nil && want[reqKey{e.Attack, *e.Seq}] {
				k := reqKey{e.Attack, *e.Seq}
				bySeq[k] = append(bySeq[k], e.Kept())
			}
		}); err != nil {
			return fmt.Errorf("explain: %w", err)
		}
	}
	toldBy := map[reqKey][]results.Testimony{}
	for _, t := range told {
		if t.Seq != nil {
			k := reqKey{t.Attack, *t.Seq}
			toldBy[k] = append(toldBy[k], t)
		}
	}
	w := bufio.NewWriter(stdout)
	if f.slow && !f.json {
		fmt.Fprintf(w, "slow answers: at least %s (%s)\n", th, from)
	}
	enc := json.NewEncoder(w)
	for i := range picked {
		r := &picked[i]
		k := reqKey{r.Attack, r.Seq}
		st := a.Story(r, bySeq[k], toldBy[k])
		if th > 0 && r.Latency >= th {
			st.Slow, st.SlowEvidence, st.SlowWhy = a.Slowness(r)
		}
		if f.json {
			if err := enc.Encode(&st); err != nil {
				return fmt.Errorf("explain: %w", err)
			}
			continue
		}
		report.StoryText(w, &st)
	}
	if more > 0 && !f.json {
		fmt.Fprintf(w, "... %d more requests match; give --limit 0 for all, or a larger --limit\n", more)
	}
	if len(picked) == 0 && !f.json {
		fmt.Fprintln(w, "no request matches")
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	return nil
}

// slowThreshold returns the slow threshold explain compares latencies
// with, and where it comes from, in words: --slow-threshold when given;
// else report.json's slow.threshold_ms, when the folder holds a readable
// report.json that has it; else, with --slow only, the analysis of the
// folder (run.Folder.Analyze, a full pass over its files, as gatecrash
// report makes), or 1s when the analysis gives none (a report of before
// slow answers were measured). Without --slow and with neither of the
// first two, it returns 0: the stories get no cause of slowness, and
// explain --seq stays one pass.
func (f *explainFlags) slowThreshold() (time.Duration, string, error) {
	if f.threshold > 0 {
		return f.threshold, "from --slow-threshold", nil
	}
	if _, err := os.Stat(f.dir.Path(run.ReportFile)); err == nil {
		if rep, err := run.ReadReport(f.dir.Path(run.ReportFile)); err == nil && rep.Slow != nil && rep.Slow.ThresholdMS > 0 {
			return msDuration(rep.Slow.ThresholdMS), "from " + run.ReportFile + ", where it comes from the " + rep.Slow.From, nil
		}
	}
	if !f.slow {
		return 0, "", nil
	}
	rep, err := f.dir.Analyze(results.Options{})
	if err != nil {
		// Bad input (run.InputError) exits 2, a file that cannot be
		// read 3, as the help says.
		return 0, "", fmt.Errorf("explain: %w", err)
	}
	if rep.Slow == nil || rep.Slow.ThresholdMS <= 0 {
		return time.Second, "the default: the analysis of the folder gave no threshold", nil
	}
	return msDuration(rep.Slow.ThresholdMS), "from the analysis of the folder, where it comes from the " + rep.Slow.From, nil
}

// msDuration is a number of milliseconds as a duration.
func msDuration(ms float64) time.Duration {
	return time.Duration(math.Round(ms * float64(time.Millisecond)))
}

// pick reports whether a result passes the filters other than --seq and
// --limit.
func (f *explainFlags) pick(a *results.Analyzer, plan *results.Run, r *vegeta.Result, threshold time.Duration) bool {
	if f.phase != "" && plan.PhaseAt(r.Timestamp) != f.phase {
		return false
	}
	if f.slow {
		if r.Latency < threshold {
			return false
		}
		if c, _, _ := a.Slowness(r); c == "" {
			return false
		}
	}
	if len(f.answers) > 0 {
		ok := false
		for _, an := range f.answers {
			ok = ok || an.Match(r.Code, r.Error)
		}
		if !ok {
			return false
		}
	}
	if f.cause != "" {
		if c, _ := a.Explain(r); c != f.cause {
			return false
		}
	}
	return true
}
