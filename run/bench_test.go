package run

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

var (
	benchResults = flag.Int("bench-analyze-results", 5_000_000, "analysis benchmark: results in the synthetic run")
	benchDense   = flag.Bool("bench-analyze-dense", false, "analysis benchmark: a latency event on every request and resets on 10%, instead of 1%")
	benchDir     = flag.String("bench-analyze-dir", "", "analysis benchmark: write the synthetic run into this folder and keep it, or reuse the run already there (its results count and density are then its own)")
	benchProfile = flag.String("bench-analyze-cpuprofile", "", "analysis benchmark: write the CPU profile of each side to this path with the side's name appended")
)

// benchChildEnv tells the test binary, run again by BenchmarkAnalyze, which
// side of the comparison to measure.
const benchChildEnv = "GATECRASH_BENCH_ANALYZE"

// BenchmarkAnalyze writes a synthetic run of -bench-analyze-results
// results (1% 502s with nginx's page, each tied to a reset event; 0.1%
// cut answers; a ramp; with -bench-analyze-dense, an event on every
// request) and measures, each in a fresh process so that its peak memory
// is its own: vegeta's Metrics over the decoded results file, gatecrash's
// whole analysis of the run folder (report.json included), and the built
// gatecrash binary's `explain DIR --seq N` of one 502 in the middle of
// the run. It prints the three times, the analysis' ratio to vegeta's,
// and the peak resident memory of each.
//
//	make bench-analysis
//	make bench-analysis-dense
func BenchmarkAnalyze(b *testing.B) {
	dir := *benchDir
	if dir == "" {
		dir = b.TempDir()
	}
	start := time.Now()
	if _, err := os.Stat(filepath.Join(dir, EventsFile)); err == nil {
		b.Logf("reusing the run in %s", dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	} else if err := writeBenchRun(dir, *benchResults, *benchDense); err != nil {
		b.Fatal(err)
	}
	plan, err := Folder(dir).Plan()
	if err != nil {
		b.Fatal(err)
	}
	n := int(plan.Phases[0].Planned)
	st, _ := os.Stat(filepath.Join(dir, ResultsFile))
	se, _ := os.Stat(filepath.Join(dir, EventsFile))
	b.Logf("%d results (%.0f MB) and their events (%.0f MB) ready in %s", n, float64(st.Size())/1e6, float64(se.Size())/1e6, time.Since(start).Round(time.Millisecond))
	bin := filepath.Join(b.TempDir(), "gatecrash")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		b.Fatalf("build gatecrash: %v\n%s", err, out)
	}
	// A 502 (i%100 == 37) in the middle of the run.
	seq := strconv.Itoa(n/200*100 + 37)
	for range b.N {
		var vt, gt, et, vc, gc, ec []time.Duration
		var vrss, grss, erss int64
		for range 3 {
			d, cpu, rss := benchChild(b, "vegeta", dir)
			vt, vc, vrss = append(vt, d), append(vc, cpu), max(vrss, rss)
			d, cpu, rss = benchChild(b, "gatecrash", dir)
			gt, gc, grss = append(gt, d), append(gc, cpu), max(grss, rss)
			d, cpu, rss = benchExplain(b, bin, dir, seq)
			et, ec, erss = append(et, d), append(ec, cpu), max(erss, rss)
		}
		v, g, e := median(vt), median(gt), median(et)
		ratio := g.Seconds() / v.Seconds()
		ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
		b.Logf("vegeta Metrics:        %s (median of 3; CPU of the process %s), peak RSS %d MB", ms(v), ms(median(vc)), vrss>>20)
		b.Logf("gatecrash analysis:    %s (median of 3; CPU of the process %s), peak RSS %d MB", ms(g), ms(median(gc)), grss>>20)
		b.Logf("gatecrash explain --seq %s: %s (median of 3, the whole process; its CPU %s), peak RSS %d MB (want under 1s on 1,000,000 dense requests)", seq, ms(e), ms(median(ec)), erss>>20)
		b.Logf("ratio gatecrash/vegeta: %.2f (want at most 1.5); analysis peak memory want under %.0f MB (150 MB per million requests)", ratio, 150*max(float64(n)/1e6, 1))
		b.ReportMetric(ratio, "x-vegeta")
		b.ReportMetric(float64(grss>>20), "MB-peak")
		b.ReportMetric(e.Seconds(), "s-explain")
	}
}

// benchExplain runs `gatecrash explain dir --seq seq` and returns how
// long the whole process took, its CPU time (user and system) and its
// peak resident memory in bytes.
func benchExplain(b *testing.B, bin, dir, seq string) (time.Duration, time.Duration, int64) {
	b.Helper()
	cmd := exec.Command(bin, "explain", dir, "--seq", seq)
	start := time.Now()
	out, err := cmd.Output()
	d := time.Since(start)
	if err != nil || !strings.HasPrefix(string(out), "seq "+seq+" ") {
		b.Fatalf("explain --seq %s: %v\n%s", seq, err, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return d, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), ru.Maxrss << 10
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// benchChild runs TestBenchAnalyzeChild in a fresh process and returns the
// time it reports, the CPU time (user and system) of the whole process,
// and its peak resident memory in bytes.
func benchChild(b *testing.B, side, dir string) (time.Duration, time.Duration, int64) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchAnalyzeChild$", "-test.count=1", "-bench-analyze-cpuprofile="+*benchProfile)
	cmd.Env = append(os.Environ(), benchChildEnv+"="+side+":"+dir)
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%s child: %v\n%s", side, err, out)
	}
	_, rest, ok := strings.Cut(string(out), "elapsed_ns=")
	if !ok {
		b.Fatalf("%s child printed no time:\n%s", side, out)
	}
	ns, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return time.Duration(ns), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), ru.Maxrss << 10 // kilobytes on Linux
}

// TestBenchAnalyzeChild is one side of BenchmarkAnalyze; it does nothing
// unless that benchmark started it.
func TestBenchAnalyzeChild(t *testing.T) {
	spec := os.Getenv(benchChildEnv)
	if spec == "" {
		t.Skip("run by BenchmarkAnalyze only")
	}
	side, dir, _ := strings.Cut(spec, ":")
	if *benchProfile != "" {
		pf, err := os.Create(*benchProfile + "." + side)
		if err != nil {
			t.Fatal(err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			t.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	switch side {
	case "vegeta":
		f, err := os.Open(filepath.Join(dir, ResultsFile))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		dec := vegeta.DecoderFor(bufio.NewReaderSize(f, 1<<16))
		var m vegeta.Metrics
		for {
			var r vegeta.Result
			if err := dec.Decode(&r); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatal(err)
			}
			m.Add(&r)
		}
		m.Close()
		if m.Requests == 0 {
			t.Fatal("vegeta counted no requests")
		}
	case "gatecrash":
		rep, err := Folder(dir).Analyze(results.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rep.MarshalIndent(); err != nil {
			t.Fatal(err)
		}
		if rep.Totals.Requests == 0 || len(rep.Causes) == 0 {
			t.Fatalf("analysis found %d requests and causes %v", rep.Totals.Requests, rep.Causes)
		}
	default:
		t.Fatalf("unknown side %q", side)
	}
	fmt.Printf("elapsed_ns=%d\n", time.Since(start).Nanoseconds())
}

// writeBenchRun writes a run folder of n results: a 60s ramp from n/120 to
// n/40 per second (n hits in all), 1% 502s with nginx's error page, each
// tied to a reset event, and 0.1% answers cut after their headers. Dense
// adds a latency event to every request and a reset, retried to a 200 by
// the gateway, to 9% more.
func writeBenchRun(dir string, n int, dense bool) error {
	d := 60.0
	r0 := float64(n) / d / 2
	run := &results.Run{Schema: results.RunSchema, Scenario: "bench", Attack: "bench", Started: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Gateway: "none",
		Phases: []results.PhasePlan{{Name: "ramp", EndS: d, Planned: float64(n), Rate: r0, RampTo: 3 * r0, Faults: []string{"reset"}}}}
	if err := results.WriteRun(filepath.Join(dir, PlanFile), run); err != nil {
		return err
	}
	rf, err := os.Create(filepath.Join(dir, ResultsFile))
	if err != nil {
		return err
	}
	defer rf.Close()
	ef, err := os.Create(filepath.Join(dir, EventsFile))
	if err != nil {
		return err
	}
	defer ef.Close()
	w := results.NewWriter(rf)
	events := faults.NewEventLog(ef)
	page := []byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n")
	hdr := http.Header{"Server": {"nginx/1.22.1"}, "Content-Type": {"text/html"}, "Content-Length": {strconv.Itoa(len(page))}}
	sched := run.Schedule()
	for i := range n {
		seq := uint64(i)
		due, ok := sched.Due(seq)
		if !ok {
			due = sched.Duration()
		}
		ts := run.Started.Add(due + time.Duration(i%7)*100*time.Microsecond)
		r := vegeta.Result{Attack: "bench", Seq: seq, Code: 200, Timestamp: ts, Latency: time.Duration(500+(i*7919)%20000) * time.Microsecond,
			BytesIn: 512, Method: "GET", URL: "http://127.0.0.1:8080/"}
		switch {
		case i%100 == 37:
			r.Code, r.Body, r.Headers, r.Error = 502, page, hdr, "502 Bad Gateway"
			events.Record(faults.Event{Time: ts.Add(time.Millisecond), Type: faults.TypeFault, Attack: "bench", Seq: &seq, Phase: "ramp", Kind: scenarios.KindReset, Cause: causes.ResetBeforeHeaders, Ended: true, Detail: "reset before any response byte"})
		case i%1000 == 501:
			r.Code, r.Error = 0, "unexpected EOF"
		case dense && i%100 < 10:
			events.Record(faults.Event{Time: ts.Add(time.Millisecond), Type: faults.TypeFault, Attack: "bench", Seq: &seq, Phase: "ramp", Kind: scenarios.KindReset, Cause: causes.ResetBeforeHeaders, Ended: true, Detail: "reset before any response byte"})
			events.Record(faults.Event{Time: ts.Add(2 * time.Millisecond), Type: faults.TypeObservation, Attack: "bench", Seq: &seq, Attempt: 1, Phase: "ramp", Kind: faults.ObservedRetry, Fault: -1, Detail: "seen again"})
		}
		if dense {
			events.Record(faults.Event{Time: ts, Type: faults.TypeFault, Attack: "bench", Seq: &seq, Phase: "ramp", Kind: scenarios.KindLatency, Detail: "waited 20ms"})
		}
		if err := w.Write(&r); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return events.Close()
}
