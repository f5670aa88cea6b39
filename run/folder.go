package run

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results"
)

// The files of a run folder: this list is the folder's layout, and the
// only place that names them.
const (
	// ResultsFile holds every request's vegeta Result in vegeta's own gob
	// encoding, so that vegeta report and vegeta plot read it.
	ResultsFile = "results"
	// EventsFile holds one JSON line (faults.Event) per fault the proxy
	// applied and per thing it saw.
	EventsFile = "events.jsonl"
	// PlanFile holds the plan and the clock of the run (results.Run).
	PlanFile = "run.json"
	// ExpectFile holds the scenario's expectations, and why the run was
	// aborted.
	ExpectFile = "expect.json"
	// TestimonyFile holds what the gateway's own logs said of each
	// request (results.Testimony), when gatecrash started the gateway.
	TestimonyFile = "testimony.jsonl"
	// TriesFile holds one JSON line (attack.Try) per try of every
	// request, when the scenario has a client retry policy.
	TriesFile = "tries.jsonl"
	// StreamsFile holds one JSON line (attack.Stream) per streaming
	// answer (per try), when the run had any.
	StreamsFile = "streams.jsonl"
	// ReportFile is the report, schema gatecrash/report/v1.
	ReportFile = "report.json"
	// TextFile, MarkdownFile, HTMLFile and JUnitFile are the report in
	// its other formats.
	TextFile     = "report.txt"
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	JUnitFile    = "report.xml"
	// CompareTextFile, CompareMarkdownFile and CompareJSONFile are the
	// comparison with a baseline (run --baseline).
	CompareTextFile     = "compare.txt"
	CompareMarkdownFile = "compare.md"
	CompareJSONFile     = "compare.json"
	// GatewayLogFile is the built-in gateway's log of its error answers.
	GatewayLogFile = "gateway.log"
	// AccessLogFile, ErrorLogFile and GatewayConfigFile are the access
	// log, the error log and the rendered configuration of the nginx,
	// HAProxy or Caddy gatecrash started.
	AccessLogFile     = "gateway-access.log"
	ErrorLogFile      = "gateway-error.log"
	GatewayConfigFile = "gateway.conf"
)

// planPartFile is run.json while results.WriteRun writes it, before the
// rename: a run killed at that moment leaves it behind.
const planPartFile = PlanFile + ".new"

// Files returns the names of every file a run may write into its folder,
// in the order above, the one being written included: what run --force
// removes from a folder before a new run.
func Files() []string {
	return []string{
		ResultsFile, EventsFile, PlanFile, planPartFile, ExpectFile, TestimonyFile, TriesFile, StreamsFile,
		ReportFile, TextFile, MarkdownFile, HTMLFile, JUnitFile,
		CompareTextFile, CompareMarkdownFile, CompareJSONFile,
		GatewayLogFile, AccessLogFile, ErrorLogFile, GatewayConfigFile,
	}
}

// Folder is a run folder, by its path: what one run wrote, and the one
// way to read it back.
type Folder string

// Path returns the path of one of the folder's files.
func (f Folder) Path(name string) string { return filepath.Join(string(f), name) }

// Plan reads the folder's run.json. A folder without one gets an error
// that says so, and what to do.
func (f Folder) Plan() (*results.Run, error) {
	plan, err := results.ReadRun(f.Path(PlanFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no %s, the plan every report needs: gatecrash writes it as the attack starts, so this folder is not one gatecrash run wrote, or its run never began; give the run folder gatecrash run wrote, or run the scenario again", string(f), PlanFile)
	}
	return plan, err
}

// EachResult calls fn with every result of the folder, in the order
// recorded; fn must not keep the Result.
func (f Folder) EachResult(fn func(*vegeta.Result)) error {
	rf, err := os.Open(f.Path(ResultsFile))
	if err != nil {
		return err
	}
	defer rf.Close()
	if err := results.Each(rf, fn); err != nil {
		return fmt.Errorf("%s: %w", rf.Name(), err)
	}
	return nil
}

// EachEvent calls fn with every event of the folder, in the order
// recorded; fn must not keep the Event.
func (f Folder) EachEvent(fn func(*faults.Event)) error {
	ef, err := os.Open(f.Path(EventsFile))
	if err != nil {
		return err
	}
	defer ef.Close()
	if err := faults.EachEvent(ef, fn); err != nil {
		return fmt.Errorf("%s: %w", ef.Name(), err)
	}
	return nil
}

// EachEventOf reads the folder's events as results.EachEventOf does:
// only the lines of no request and those of the seqs keep accepts are
// decoded.
func (f Folder) EachEventOf(keep func(seq uint64) bool, fn func(*faults.Event)) error {
	ef, err := os.Open(f.Path(EventsFile))
	if err != nil {
		return f.openErr(EventsFile, err)
	}
	defer ef.Close()
	if err := results.EachEventOf(ef, keep, fn); err != nil {
		return fmt.Errorf("%s: %w", ef.Name(), err)
	}
	return nil
}

// EachTry calls fn with every try of the folder's tries.jsonl, in the
// order recorded; fn must not keep the Try. A folder without the file (a
// run without a client retry policy) has no tries: fn is never called.
// A last line cut short is skipped, as in events.jsonl.
func (f Folder) EachTry(fn func(*attack.Try)) error {
	_, err := f.eachTryCut(fn)
	return err
}

// eachTryCut reads the folder's tries as EachTry does, and says which
// last line it skipped as cut short.
func (f Folder) eachTryCut(fn func(*attack.Try)) (faults.CutLine, error) {
	return eachSidecar(f, TriesFile, eachTry, fn)
}

// eachSidecar reads the folder's file name, one a run writes only when it
// has something to say (tries.jsonl, streams.jsonl), with each; a folder
// without it has no lines: fn is never called.
func eachSidecar[T any](f Folder, name string, each func(io.Reader, func(*T)) (faults.CutLine, error), fn func(*T)) (faults.CutLine, error) {
	file, err := os.Open(f.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return faults.CutLine{}, nil
	}
	if err != nil {
		return faults.CutLine{}, err
	}
	defer file.Close()
	cut, err := each(file, fn)
	if err != nil {
		return faults.CutLine{}, fmt.Errorf("%s: %w", file.Name(), err)
	}
	return cut, nil
}

// eachTry decodes JSON lines of tries as faults.EachEventCut decodes
// events: a line that does not decode is an error unless it is the last,
// which is skipped as cut short.
func eachTry(r io.Reader, fn func(*attack.Try)) (faults.CutLine, error) {
	return faults.EachLineCut(r, "tries", "; every line but a cut last one must be a whole try: this file is not one gatecrash wrote, or it was edited", fn)
}

// EachStream calls fn with every streaming answer of the folder's
// streams.jsonl, in the order recorded; fn must not keep the Stream. A
// folder without the file (a run without streaming answers) has none: fn
// is never called. A last line cut short is skipped, as in tries.jsonl.
func (f Folder) EachStream(fn func(*attack.Stream)) error {
	_, err := f.eachStreamCut(fn)
	return err
}

// eachStreamCut reads the folder's streams as EachStream does, and says
// which last line it skipped as cut short.
func (f Folder) eachStreamCut(fn func(*attack.Stream)) (faults.CutLine, error) {
	return eachSidecar(f, StreamsFile, eachStream, fn)
}

// eachStream decodes JSON lines of streams as eachTry decodes tries.
func eachStream(r io.Reader, fn func(*attack.Stream)) (faults.CutLine, error) {
	return faults.EachLineCut(r, "streams", "; every line but a cut last one must be a whole stream: this file is not one gatecrash wrote, or it was edited", fn)
}

// Testimony reads what the gateway's logs said; a folder without
// testimony (a gateway gatecrash did not start) has none.
func (f Folder) Testimony() ([]results.Testimony, error) {
	tf, err := os.Open(f.Path(TestimonyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer tf.Close()
	ts, err := results.ReadTestimony(tf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tf.Name(), err)
	}
	return ts, nil
}

// Analyze builds the folder's report from its records alone, with the
// verdicts of the expectations in its expect.json. A damaged folder is
// reported on all the same, from what was recorded, and the report's
// Damaged says what is wrong: results cut short or empty, events cut
// inside their last line, a missing expect.json, a run.json still
// running (gatecrash was killed: the run counts as interrupted, stopped
// at the last request recorded).
func (f Folder) Analyze(opt results.Options) (*results.Report, error) {
	plan, err := f.Plan()
	if err != nil {
		return nil, err
	}
	var damaged []results.Damaged
	if plan.Running {
		stopped, err := f.lastSent(plan.Started)
		if err != nil {
			return nil, err
		}
		plan.Interrupted, plan.StoppedS = true, stopped
		damaged = append(damaged, results.NotEnded(PlanFile, stopped))
	}
	exps, aborted, err := results.ReadExpect(f.Path(ExpectFile))
	if err != nil {
		return nil, err
	}
	if opt.Slow == 0 {
		opt.Slow, opt.SlowFrom = SlowBound(exps)
	}
	a := results.NewAnalyzer(plan, opt)
	cut, err := f.eachEventCut(a.AddEvent)
	if err != nil {
		return nil, err
	}
	told, err := f.Testimony()
	if err != nil {
		return nil, err
	}
	a.AddTestimony(told)
	triesCut, err := f.eachTryCut(a.AddTry)
	if err != nil {
		return nil, err
	}
	streamsCut, err := f.eachStreamCut(a.AddStream)
	if err != nil {
		return nil, err
	}
	end, err := f.eachRecord(a.Add)
	if err != nil {
		return nil, err
	}
	if d, ok := results.RecordsDamage(ResultsFile, end); ok {
		damaged = append(damaged, d)
	}
	if cut.Line > 0 {
		damaged = append(damaged, results.LinesDamage(EventsFile, cut.Line, cut.Bytes))
	}
	if triesCut.Line > 0 {
		damaged = append(damaged, results.TriesDamage(TriesFile, triesCut.Line, triesCut.Bytes))
	}
	if streamsCut.Line > 0 {
		damaged = append(damaged, results.StreamsDamage(StreamsFile, streamsCut.Line, streamsCut.Bytes))
	}
	rep := a.Report()
	if err := f.advise(rep, plan); err != nil {
		return nil, err
	}
	if _, err := os.Stat(f.Path(ExpectFile)); errors.Is(err, fs.ErrNotExist) {
		damaged = append(damaged, results.ExpectMissing(ExpectFile))
	}
	rep.Damaged = damaged
	rep.SetExpectations(exps, aborted)
	return rep, nil
}

// eachRecord reads the folder's results as EachResult does, and says how
// the file ended.
func (f Folder) eachRecord(fn func(*vegeta.Result)) (results.Ending, error) {
	rf, err := os.Open(f.Path(ResultsFile))
	if err != nil {
		return results.Ending{}, f.openErr(ResultsFile, err)
	}
	defer rf.Close()
	end, err := results.EachRecord(rf, fn)
	if err != nil {
		return results.Ending{}, fmt.Errorf("%s: %w", rf.Name(), err)
	}
	return end, nil
}

// eachEventCut reads the folder's events as EachEvent does, and says
// which last line it skipped as cut short.
func (f Folder) eachEventCut(fn func(*faults.Event)) (faults.CutLine, error) {
	ef, err := os.Open(f.Path(EventsFile))
	if err != nil {
		return faults.CutLine{}, f.openErr(EventsFile, err)
	}
	defer ef.Close()
	cut, err := faults.EachEventCut(ef, fn)
	if err != nil {
		return faults.CutLine{}, fmt.Errorf("%s: %w", ef.Name(), err)
	}
	return cut, nil
}

// openErr words the error of opening a file every run folder holds: a
// missing one says so, and what to give instead.
func (f Folder) openErr(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: no %s, which every run folder holds; give the whole folder gatecrash run wrote", string(f), name)
	}
	return err
}

// lastSent returns where the run of a killed gatecrash stopped, as far
// as its records tell: when the last request recorded was sent, or the
// last event happened if that came later (the proxy saw a request the
// results lost), in seconds from started; 0 without either.
func (f Folder) lastSent(started time.Time) (float64, error) {
	var last time.Duration
	if _, err := f.eachRecord(func(r *vegeta.Result) {
		last = max(last, r.Timestamp.Sub(started))
	}); err != nil {
		return 0, err
	}
	if _, err := f.eachEventCut(func(e *faults.Event) {
		last = max(last, e.Time.Sub(started))
	}); err != nil {
		return 0, err
	}
	return last.Seconds(), nil
}

// WriteReport writes report.json into the folder.
func (f Folder) WriteReport(rep *results.Report) error {
	b, err := rep.MarshalIndent()
	if err != nil {
		return err
	}
	if err := os.WriteFile(f.Path(ReportFile), b, 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// ReadReport reads a report.json, or DIR/report.json when path is a
// run folder. Its errors name the file and say what to give instead. Fields
// it does not know are ignored: fields are only ever added within a
// schema version.
func ReadReport(path string) (*results.Report, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file or folder; give a report.json or the run folder gatecrash run wrote", path)
		}
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	file := path
	if st.IsDir() {
		file = Folder(path).Path(ReportFile)
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no %s in this folder; rebuild it with gatecrash report %s, or give a report.json", path, ReportFile, path)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, unwrapPath(err))
	}
	return results.DecodeReport(file, b)
}

// unwrapPath drops the *fs.PathError around err: the caller names the
// file already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
