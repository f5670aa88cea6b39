package scenarios

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// problems returns the *Error values in err, joined or not.
func problems(t *testing.T, err error) []*Error {
	t.Helper()
	var all []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		all = j.Unwrap()
	} else {
		all = []error{err}
	}
	var out []*Error
	for _, e := range all {
		var se *Error
		if !errors.As(e, &se) {
			t.Fatalf("got error %T %q, want a *scenarios.Error", e, e)
		}
		out = append(out, se)
	}
	return out
}

// want is one problem a broken file must report.
type want struct {
	line  int
	field string
	fix   string // a substring of the message
}

// decodeErrorTest is a broken scenario and the problems it must report.
type decodeErrorTest struct {
	name string
	src  string
	want []want
}

func TestDecodeDefaults(t *testing.T) {
	src := `name: demo
requests:
  - path: /v1/items
phases:
  - name: a
    duration: 2s
    rate: 50/s
    faults:
      - kind: reset
      - kind: malformed
      - {kind: latency, delay: 10ms, probability: 0.25}
`
	s, err := Decode("demo.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	checks := []fieldCheck{
		{"file", s.File, "demo.yaml"},
		{"gateway", s.Target.Gateway, GatewayBuiltin},
		{"timeout", s.Target.Timeout.D(), 10 * time.Second},
		{"upstream timeout", s.Target.UpstreamTimeout.D(), 5 * time.Second},
		{"connect timeout", s.Target.ConnectTimeout.D(), time.Second},
		{"config", s.Target.Config, ""},
		{"config path", s.ConfigPath(), ""},
		{"upstream builtin", s.Upstream.Builtin != nil, true},
		{"body bytes", s.Upstream.Builtin.BodyBytes, 512},
		{"method", s.Requests[0].Method, "GET"},
		{"reset at", s.Phases[0].Faults[0].At, AtBeforeHeaders},
		{"reset probability", s.Phases[0].Faults[0].P(), 1.0},
		{"reset probability pointer", s.Phases[0].Faults[0].Probability == nil, true},
		{"malformed variant", s.Phases[0].Faults[1].Variant, MalformedStatusLine},
		{"latency probability", s.Phases[0].Faults[2].P(), 0.25},
		{"latency delay", s.Phases[0].Faults[2].Delay.D(), 10 * time.Millisecond},
		{"fault lines", []int{s.Phases[0].Faults[0].Line, s.Phases[0].Faults[1].Line, s.Phases[0].Faults[2].Line}, []int{9, 10, 11}},
		{"rate", s.Phases[0].Rate, Rate{Freq: 50, Per: time.Second}},
		{"ramp", s.Phases[0].RampTo == nil, true},
		{"seed", s.Seed == nil, true},
		{"duration", s.Duration(), 2 * time.Second},
	}
	runChecks(t, checks)
}

func TestDecodeKeepsSetValues(t *testing.T) {
	src := `name: demo
seed: 3
target:
  gateway: none
  url: http://localhost:8080
  timeout: 2s
  upstream_timeout: 1s
upstream:
  url: http://[::1]:9000
requests:
  - {method: POST, path: /v1/chat, body: '{"q": 1}', headers: {Content-Type: application/json}}
phases:
  - {name: a, duration: 1m30s, rate: 6000/m, ramp_to: 0/s}
  - name: b
    duration: 1s
    rate: 1/s
    faults:
      - {kind: status, code: 503, body: busy, headers: {Retry-After: "1"}, match: {method: POST, header: {X-Test: "1"}}}
      - {kind: hang, for: 2s, probability: 0}
`
	s, err := Decode("demo.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	seven := uint64(3)
	checks := []fieldCheck{
		{"seed", s.Seed, &seven},
		{"gateway", s.Target.Gateway, GatewayNone},
		{"timeout", s.Target.Timeout.D(), 2 * time.Second},
		{"upstream timeout", s.Target.UpstreamTimeout.D(), time.Second},
		{"upstream builtin", s.Upstream.Builtin == nil, true},
		{"upstream url", s.Upstream.URL, "http://[::1]:9000"},
		{"method", s.Requests[0].Method, "POST"},
		{"rate", s.Phases[0].Rate, Rate{Freq: 6000, Per: time.Minute}},
		{"ramp", s.Phases[0].RampTo, &Rate{Freq: 0, Per: time.Second}},
		{"status", s.Phases[1].Faults[0].Code, 503},
		{"hang for", s.Phases[1].Faults[1].For.D(), 2 * time.Second},
		{"probability 0", s.Phases[1].Faults[1].P(), 0.0},
		{"duration", s.Duration(), 91 * time.Second},
	}
	runChecks(t, checks)
}

func TestBodyBytesZero(t *testing.T) {
	src := `name: demo
upstream: {builtin: {body_bytes: 0}}
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`
	s, err := Decode("demo.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Upstream.Builtin.BodyBytes; got != 0 {
		t.Errorf("got body_bytes %d, want 0 as written", got)
	}
}

// TestRoundTrip checks that a decoded scenario, written back as YAML,
// decodes to the same scenario.
func TestRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/valid-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range Catalog() {
		files = append(files, "catalog/"+e.Name+".yaml")
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			first, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			out, err := yaml.Marshal(first)
			if err != nil {
				t.Fatal(err)
			}
			second, err := Decode(file, out)
			if err != nil {
				t.Fatalf("decoding the written scenario: %v\n%s", err, out)
			}
			clearLines(first)
			clearLines(second)
			if (first.GatewayTemplate() != nil) != (first.Target.Config != "") {
				t.Errorf("Load: target.config %q, parsed template %v; want one exactly when config is set", first.Target.Config, first.GatewayTemplate())
			}
			first.gatewayTemplate = nil // Decode reads no file
			if !reflect.DeepEqual(first, second) {
				t.Errorf("got %+v, want %+v\n%s", second, first, out)
			}
		})
	}
}

func clearLines(s *Scenario) {
	for i := range s.Phases {
		for j := range s.Phases[i].Faults {
			s.Phases[i].Faults[j].Line = 0
		}
	}
}

func TestTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("got no files in testdata, want some")
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			_, err := Load(file)
			valid := strings.HasPrefix(filepath.Base(file), "valid-")
			switch {
			case valid && err != nil:
				t.Errorf("got %v, want no error", err)
			case !valid && err == nil:
				t.Errorf("got no error, want one")
			case !valid:
				for _, p := range problems(t, err) {
					if p.File != file || p.Msg == "" {
						t.Errorf("got %#v, want file %s and a message", p, file)
					}
				}
			}
		})
	}
}

// withSection is a valid scenario with section, whole lines, after its
// name: line 2 is the section's first.
func withSection(section string) string {
	return "name: demo\n" + section + "requests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n"
}

// onePhase is a scenario whose one phase, named a, goes on with lines,
// indented by four spaces; the first is on line 5.
func onePhase(lines string) string {
	return "name: demo\nrequests: [{path: /}]\nphases:\n  - name: a\n" + lines
}

// checkProblems checks that err holds exactly the problems in want, in
// file.
func checkProblems(t *testing.T, err error, file string, wants []want) {
	t.Helper()
	got := problems(t, err)
	if len(got) != len(wants) {
		t.Fatalf("got %d problems, want %d:\n%v", len(got), len(wants), err)
	}
	for i, w := range wants {
		g := got[i]
		if g.File != file {
			t.Errorf("problem %d: got file %q, want %s", i, g.File, file)
		}
		if g.Line != w.line {
			t.Errorf("problem %d: got line %d, want %d (%v)", i, g.Line, w.line, g)
		}
		if g.Field != w.field {
			t.Errorf("problem %d: got field %q, want %q (%v)", i, g.Field, w.field, g)
		}
		if !strings.Contains(g.Msg, w.fix) {
			t.Errorf("problem %d: got message %q, want it to contain %q", i, g.Msg, w.fix)
		}
	}
}

// inPhase is a scenario whose one phase has the faults in faults, a YAML
// list indented by six spaces; the first fault is on line 8.
func inPhase(faults string) string {
	return onePhase("    duration: 1s\n    rate: 1/s\n    faults:\n" + faults)
}

// checkDecodeErrors decodes each broken scenario of tests and checks that
// it reports exactly the problems it must, and no scenario.
func checkDecodeErrors(t *testing.T, tests []decodeErrorTest) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode("scenario.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("got scenario %+v and no error, want %d problems", s, len(tt.want))
			}
			if s != nil {
				t.Errorf("got scenario %+v with the error, want nil", s)
			}
			checkProblems(t, err, "scenario.yaml", tt.want)
		})
	}
}

// fieldCheck is one value a decoded scenario must hold.
type fieldCheck struct {
	name      string
	got, want any
}

// runChecks checks each value, in a subtest of its name.
func runChecks(t *testing.T, checks []fieldCheck) {
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
}
