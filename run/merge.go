package run

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// MergeOptions are the settings of Merge.
type MergeOptions struct {
	// Events are files of fault events to join, such as the one gatecrash
	// proxy --scenario --events wrote; the shards' own events.jsonl are
	// joined too.
	Events []string
	// Analysis are the report's settings.
	Analysis results.Options
	// Log receives the warnings (a shard's file cut short); nil discards
	// them.
	Log io.Writer
}

// shardFolder is one shard's folder as Merge reads it.
type shardFolder struct {
	dir     Folder
	plan    *results.Run
	exps    []scenarios.Expectation
	aborted string
}

// Merge joins the folders of the shards of one sharded run (run --shard)
// into the run folder out, which the caller has made sure is new or
// empty: one results file (vegeta's encoding, every shard's records), the
// events of opt.Events and of the shards, their tries and streams, a
// run.json of the whole scenario with the shared start and the list of
// shards, and the expectations, which must be the same in every shard.
// Then it analyses out as a run folder, writes its report.json and
// returns the report, whose expectations are judged over every shard.
// Every error about the folders given (a shard missing or given twice,
// shards of other scenarios, seeds, N or starts, overlapping attack
// names) is an *InputError.
func Merge(out string, dirs []string, opt MergeOptions) (*results.Report, error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	shards, err := readShards(dirs)
	if err != nil {
		return nil, err
	}
	for _, e := range opt.Events {
		if _, err := os.Stat(e); err != nil {
			return nil, inputErrf("--events: %w; give the events file gatecrash proxy --scenario --events wrote", err)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, inputErrf("output folder: %w", err)
	}
	dst := Folder(out)
	plan, err := mergedPlan(shards)
	if err != nil {
		return nil, err
	}
	if err := mergeResults(dst, shards, opt.Log); err != nil {
		return nil, err
	}
	eventFiles := slices.Clone(opt.Events)
	for _, s := range shards {
		eventFiles = append(eventFiles, s.dir.Path(EventsFile))
	}
	for _, side := range []struct {
		name    string
		sources []string
		always  bool
	}{
		{EventsFile, eventFiles, true},
		{TriesFile, paths(shards, TriesFile), false},
		{StreamsFile, paths(shards, StreamsFile), false},
	} {
		if err := joinLines(dst.Path(side.name), side.sources, side.always, opt.Log); err != nil {
			return nil, err
		}
	}
	var aborted []string
	for _, s := range shards {
		if s.aborted != "" {
			aborted = append(aborted, fmt.Sprintf("shard %s: %s", s.plan.Shard, s.aborted))
		}
	}
	if err := errors.Join(results.WriteRun(dst.Path(PlanFile), plan),
		results.WriteExpect(dst.Path(ExpectFile), shards[0].exps, strings.Join(aborted, "; "))); err != nil {
		return nil, err
	}
	rep, err := dst.Analyze(opt.Analysis)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return rep, dst.WriteReport(rep)
}

// readShards reads the plans and expectations of the shards' folders,
// checks they are the N shards of one run, and returns them by K.
func readShards(dirs []string) ([]shardFolder, error) {
	if len(dirs) == 0 {
		return nil, inputErrf("no shard folders: give the folders of every shard, such as gatecrash merge OUT shard-1 shard-2")
	}
	var shards []shardFolder
	for _, d := range dirs {
		f := Folder(d)
		plan, err := f.Plan()
		if err != nil {
			return nil, &InputError{err}
		}
		if plan.Shard == nil {
			return nil, inputErrf("%s: its run.json names no shard: it is the folder of a whole run, not of gatecrash run --shard; give only the shards' folders", d)
		}
		exps, aborted, err := results.ReadExpect(f.Path(ExpectFile))
		if err != nil {
			return nil, &InputError{err}
		}
		shards = append(shards, shardFolder{dir: f, plan: plan, exps: exps, aborted: aborted})
	}
	first := shards[0]
	fp, fs0 := first.plan, first.plan.Shard
	byK := map[int]Folder{}
	byAttack := map[string]Folder{}
	var errs []error
	for _, s := range shards {
		p, sh := s.plan, s.plan.Shard
		switch {
		case sh.StartAt.IsZero():
			errs = append(errs, fmt.Errorf("%s: shard %s ran without a shared start (--start-at), so its phases need not line up with the others'; run the shards again with one --start-at", s.dir, sh))
		case p.Scenario != fp.Scenario:
			errs = append(errs, fmt.Errorf("%s is a shard of the scenario %s, %s of %s: give the shards of one run", s.dir, scenarios.Quote(p.Scenario), first.dir, scenarios.Quote(fp.Scenario)))
		case p.Seed != fp.Seed:
			errs = append(errs, fmt.Errorf("%s ran with seed %d, %s with seed %d: the shards of one run share the seed (--seed)", s.dir, p.Seed, first.dir, fp.Seed))
		case sh.N != fs0.N:
			errs = append(errs, fmt.Errorf("%s is shard %s, %s shard %s: the shards of one run share N", s.dir, sh, first.dir, fs0))
		case !sh.StartAt.Equal(fs0.StartAt):
			errs = append(errs, fmt.Errorf("%s started at %s, %s at %s: the shards of one run share --start-at", s.dir, sh.StartAt.Format(time.RFC3339Nano), first.dir, fs0.StartAt.Format(time.RFC3339Nano)))
		case !samePhases(p.Phases, fp.Phases) || p.Retry != fp.Retry:
			errs = append(errs, fmt.Errorf("%s and %s planned different phases or retries: they ran different versions of %s", s.dir, first.dir, scenarios.Quote(fp.Scenario)))
		case !sameExpect(s.exps, first.exps):
			errs = append(errs, fmt.Errorf("%s and %s hold different expectations (%s): they ran different versions of %s", s.dir, first.dir, ExpectFile, scenarios.Quote(fp.Scenario)))
		}
		if d, ok := byK[sh.K]; ok {
			errs = append(errs, fmt.Errorf("shard %s is given twice, %s and %s: give each shard once", sh, d, s.dir))
		} else if d, ok := byAttack[sh.Attack]; ok {
			errs = append(errs, fmt.Errorf("%s and %s share the attack name %s: their requests could not be told apart; give folders gatecrash run --shard wrote, unedited", d, s.dir, scenarios.Quote(sh.Attack)))
		}
		byK[sh.K] = s.dir
		byAttack[sh.Attack] = s.dir
	}
	if len(errs) > 0 {
		return nil, &InputError{errors.Join(errs...)}
	}
	var missing []string
	for k := 1; k <= fs0.N; k++ {
		if _, ok := byK[k]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", k, fs0.N))
		}
	}
	if len(missing) > 0 {
		return nil, inputErrf("shard %s of %s missing: a merge needs every shard's folder, or its report would count only part of the load; give them all", strings.Join(missing, ", "), scenarios.Quote(fp.Scenario))
	}
	slices.SortFunc(shards, func(a, b shardFolder) int { return a.plan.Shard.K - b.plan.Shard.K })
	return shards, nil
}

// samePhases reports whether two shards' plans are the same.
func samePhases(a, b []results.PhasePlan) bool {
	return slices.EqualFunc(a, b, func(x, y results.PhasePlan) bool {
		return x.Name == y.Name && x.StartS == y.StartS && x.EndS == y.EndS && x.Rate == y.Rate && x.RampTo == y.RampTo &&
			slices.Equal(x.FaultSpecs, y.FaultSpecs)
	})
}

// sameExpect reports whether two shards' expectations are the same.
func sameExpect(a, b []scenarios.Expectation) bool {
	return slices.EqualFunc(a, b, func(x, y scenarios.Expectation) bool { return x.Expr == y.Expr && x.Abort == y.Abort })
}

// mergedPlan returns the run.json of the whole run: the scenario's
// phases (N times each shard's share), the shared start, the shards.
func mergedPlan(shards []shardFolder) (*results.Run, error) {
	fp := shards[0].plan
	n := float64(fp.Shard.N)
	plan := &results.Run{
		Schema:   results.RunSchema,
		Scenario: fp.Scenario,
		Seed:     fp.Seed,
		Retry:    fp.Retry,
		Started:  fp.Shard.StartAt,
		Gateway:  fp.Gateway,
	}
	for _, p := range fp.Phases {
		p.Planned, p.Rate, p.RampTo = p.Planned*n, p.Rate*n, p.RampTo*n
		plan.Phases = append(plan.Phases, p)
	}
	var end float64
	if len(plan.Phases) > 0 {
		end = plan.Phases[len(plan.Phases)-1].EndS
	}
	// A shard stopped early makes the merged run interrupted, stopped
	// when the last shard stopped: those that ran to the end keep the
	// whole plan's timeline.
	interrupted, last := false, 0.0
	for i, s := range shards {
		sh := *s.plan.Shard
		plan.Shards = append(plan.Shards, sh)
		p := s.plan
		stopped := end
		switch {
		case p.Running:
			st, err := s.dir.lastSent(p.Started)
			if err != nil {
				return nil, &InputError{err}
			}
			stopped, interrupted = st, true
		case p.Interrupted:
			stopped, interrupted = p.StoppedS, true
		}
		// The shard's clock began when its attack did, a moment after
		// the shared start.
		at := stopped + p.Started.Sub(sh.StartAt).Seconds()
		if i == 0 || at > last {
			last = at
		}
	}
	if interrupted {
		plan.Interrupted, plan.StoppedS = true, last
	}
	return plan, nil
}

// paths returns the path of a file in every shard's folder.
func paths(shards []shardFolder, name string) []string {
	var out []string
	for _, s := range shards {
		out = append(out, s.dir.Path(name))
	}
	return out
}

// mergeResults writes every shard's records into dst's results file, in
// vegeta's encoding: decoded and encoded again, for a gob stream cannot
// be appended to another. A record of an attack not its shard's is an
// error: the attack names of the shards overlap.
func mergeResults(dst Folder, shards []shardFolder, log io.Writer) (err error) {
	file, err := os.Create(dst.Path(ResultsFile))
	if err != nil {
		return fmt.Errorf("create results: %w", err)
	}
	defer func() {
		if cerr := file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("write results: %w", cerr)
		}
	}()
	w := results.NewWriter(file)
	for _, s := range shards {
		attack := s.plan.Shard.Attack
		var bad *vegeta.Result
		var werr error
		end, err := s.dir.eachRecord(func(r *vegeta.Result) {
			if bad != nil || werr != nil {
				return
			}
			if r.Attack != attack {
				c := *r
				bad = &c
				return
			}
			werr = w.Write(r)
		})
		switch {
		case err != nil:
			return &InputError{err}
		case werr != nil:
			return fmt.Errorf("write results: %w", werr)
		case bad != nil:
			return inputErrf("%s: request %d of the attack %s in the results of shard %s, whose attack is %s: the attack names overlap, or the folder holds another run's results; give folders gatecrash run --shard wrote", s.dir, bad.Seq, scenarios.Quote(bad.Attack), s.plan.Shard, scenarios.Quote(attack))
		}
		if d, ok := results.RecordsDamage(ResultsFile, end); ok {
			fmt.Fprintf(log, "warning: shard %s (%s): %s %s; its whole records are merged\n", s.plan.Shard, s.dir, d.File, d.Problem)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// joinLines writes the whole lines of the JSON-lines files sources, one
// after the other, into path; a last line cut short is left out, with a
// warning. A source that does not exist has no lines; without any line
// and unless always, path is not made.
func joinLines(path string, sources []string, always bool, log io.Writer) (err error) {
	var out *os.File
	var w *bufio.Writer
	open := func() error {
		if out != nil {
			return nil
		}
		if out, err = os.Create(path); err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
		w = bufio.NewWriter(out)
		return nil
	}
	defer func() {
		if out == nil {
			return
		}
		if ferr := w.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("write %s: %w", path, ferr)
		}
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("write %s: %w", path, cerr)
		}
	}()
	if always {
		if err := open(); err != nil {
			return err
		}
	}
	for _, src := range sources {
		if err := copyLines(src, open, func() *bufio.Writer { return w }, log); err != nil {
			return err
		}
	}
	return nil
}

// copyLines copies the whole lines of src to the writer that open makes
// (once src has a line) and w returns; a last line cut short is left
// out, with a warning. A src that does not exist has no lines.
func copyLines(src string, open func() error, w func() *bufio.Writer, log io.Writer) error {
	f, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &InputError{err}
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: gather it whole.
			rest, rerr := r.ReadBytes('\n')
			line, err = append(slices.Clone(line), rest...), rerr
		}
		if err == io.EOF {
			if len(line) > 0 {
				fmt.Fprintf(log, "warning: %s: its last line is cut short (%d bytes); left out\n", src, len(line))
			}
			return nil
		}
		if err != nil {
			return &InputError{fmt.Errorf("%s: %w", src, err)}
		}
		if err := open(); err != nil {
			return err
		}
		if _, err := w().Write(line); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
}
