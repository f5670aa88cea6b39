package run

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"go.uber.org/goleak"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// short is a scenario of well under a second on the built-in target,
// with resets in its second phase.
const short = `name: run-test
seed: 7
requests:
  - {method: GET, path: /}
phases:
  - {name: clean, duration: 300ms, rate: 40/s}
  - name: resets
    duration: 300ms
    rate: 40/s
    faults:
      - {kind: reset, at: before-headers, probability: 0.5}
expect:
  - rate(class=5xx) < 1% in clean
`

func decode(t *testing.T, src string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Decode("run-test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestRunFolder runs a short scenario and reads its folder back: every
// file of the layout that a built-in run writes is there, vegeta's own
// decoder reads the results, the events name the resets, and the folder
// alone gives the report the run returned.
func TestRunFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, decode(t, short), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	f := Folder(dir)
	for _, name := range []string{ResultsFile, EventsFile, PlanFile, ExpectFile, TestimonyFile, ReportFile, GatewayLogFile} {
		if _, err := os.Stat(f.Path(name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	rf, err := os.Open(f.Path(ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	dec := vegeta.DecoderFor(rf)
	n := 0
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			break
		}
		n++
	}
	if n == 0 || n != rep.Totals.Requests {
		t.Errorf("vegeta's decoder read %d results, the report counts %d; want the same, more than 0", n, rep.Totals.Requests)
	}
	resets := 0
	if err := f.EachEvent(func(e *faults.Event) {
		if e.Type == faults.TypeFault && e.Kind == scenarios.KindReset {
			resets++
		}
	}); err != nil {
		t.Fatal(err)
	}
	if resets == 0 {
		t.Error("no reset events: the fault never applied")
	}
	again, err := f.Analyze(results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := rep.MarshalIndent()
	got, _ := again.MarshalIndent()
	if !bytes.Equal(got, want) {
		t.Errorf("the folder's report differs from the run's:\ngot  %s\nwant %s", got, want)
	}
	written, err := os.ReadFile(f.Path(ReportFile))
	if err != nil || !bytes.Equal(written, want) {
		t.Errorf("report.json: %v; want the run's report", err)
	}
	if len(rep.Expectations) != 1 || !rep.Expectations[0].OK {
		t.Errorf("expectations: got %+v, want one that held", rep.Expectations)
	}
}

// TestFolderRecorded reads the recorded run of the root's testdata and
// gives the report its golden file holds.
func TestFolderRecorded(t *testing.T) {
	rep, err := Folder(filepath.Join("..", "testdata", "runs", "upstream-resets")).Analyze(results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := rep.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "testdata", "report-upstream-resets.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report of testdata/runs/upstream-resets differs from testdata/report-upstream-resets.json:\n%s", got)
	}
}

// TestRunInputErrors: what the user can fix is an *InputError, and
// nothing is left running.
func TestRunInputErrors(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		opt  Options
		want string
	}{
		{"proxy port taken", Options{Dir: t.TempDir(), ProxyListen: taken.Addr().String()}, "fault proxy: listen on " + taken.Addr().String()},
		{"folder is a file", Options{Dir: filepath.Join(file, "out")}, "output folder:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), decode(t, short), tt.opt)
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v (%T), want an *InputError saying %q", err, err, tt.want)
			}
		})
	}
	sc := decode(t, short)
	sc.Target.Gateway = "nginx"
	sc.Target.Config = filepath.Join(t.TempDir(), "missing.conf.tmpl")
	t.Setenv("PATH", t.TempDir()) // no gateway on PATH
	var ie *InputError
	if _, err := Check(sc); !errors.As(err, &ie) || !strings.Contains(err.Error(), "nginx") {
		t.Errorf("Check with nginx missing: got %v, want an *InputError naming nginx", err)
	}
}

// TestCheckRendersOnce: the template of a scenario loaded from a file was
// parsed and checked by the loading; Check starts from it, without
// reading or rendering the file again (here it is gone by then).
func TestCheckRendersOnce(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "gw.conf.tmpl")
	if err := os.WriteFile(tmpl, []byte("events {}\nhttp { server { listen {{.Listen}}; location / { proxy_pass http://{{.Upstream}}; } } }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(file, []byte("name: once\ntarget: {gateway: nginx, config: gw.conf.tmpl}\nrequests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(tmpl); err != nil {
		t.Fatal(err)
	}
	got, err := Check(sc)
	if err != nil {
		t.Fatalf("Check: %v; want the template Load checked", err)
	}
	if got.Kind() != "nginx" || got.Name() != tmpl {
		t.Errorf("Check: got the %s template %s, want nginx's %s", got.Kind(), got.Name(), tmpl)
	}
}
