package report

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/internal/golden"
	"github.com/gatecrash/gatecrash/results"
)

func TestJUnitGolden(t *testing.T) {
	interrupted := outputFixture()
	interrupted.Interrupted = true
	for _, tt := range []struct {
		name string
		r    *results.Report
		vs   []shownVerdict
	}{
		{"junit-phases.xml", outputFixture(), nil},
		{"junit-expectations.xml", outputFixture(), fixtureVerdicts()},
		{"junit-interrupted.xml", interrupted, fixtureVerdicts()[:1]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeJUnit(&b, tt.r, tt.vs); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tt.name, b.Bytes())
		})
	}
}

// TestJUnitRoundTrip reads the XML back with encoding/xml: it is well
// formed, every string (markup, quotes, control characters included)
// comes back as it went in or, for what XML cannot hold, replaced, and
// the counts agree with the test cases.
func TestJUnitRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name      string
		r         *results.Report
		vs        []shownVerdict
		cases     int
		failures  int
		errors    int
		wantNames []string
	}{
		{"expectations", outputFixture(), fixtureVerdicts(), 5, 2, 0, []string{
			"rate(status=502) < 0.5% in baseline", "p99(latency) < 25ms in resets",
			"share(cause=reset-before-headers) >= 99%", "first(status=502) > 2s", "fault 2 (keepalive) in phase resets"}},
		{"phases", outputFixture(), nil, 4, 0, 0, []string{"phase baseline", "phase resets", "phase recover", "fault 2 (keepalive) in phase resets"}},
		{"escaped", evilFixture(), []shownVerdict{{Expr: `a < b && c > "d" ]]> </testcase>`, OK: false, Value: "<1> & more"}}, 2, 1, 0,
			[]string{`a < b && c > "d" ]]> </testcase>`, "fault 2 (keepalive) in phase <script>alert(1)</script>"}},
		{"escaped phases", evilFixture(), nil, 4, 0, 0, []string{"phase baseline", "phase <script>alert(1)</script>", "phase a|b\n## c <img src=x onerror=alert(2)>",
			"fault 2 (keepalive) in phase <script>alert(1)</script>"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeJUnit(&b, tt.r, tt.vs); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(b.String(), xml.Header) {
				t.Errorf("no XML header: %.80q", b.String())
			}
			var got junitSuites
			dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
			dec.Strict = true
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("the JUnit XML does not parse: %v\n%s", err, b.String())
			}
			if len(got.Suites) != 1 {
				t.Fatalf("got %d suites, want 1", len(got.Suites))
			}
			s := got.Suites[0]
			if len(s.Cases) != tt.cases || s.Tests != tt.cases || got.Tests != tt.cases {
				t.Errorf("test cases: got %d (tests=%d, root tests=%d), want %d", len(s.Cases), s.Tests, got.Tests, tt.cases)
			}
			if s.Failures != tt.failures || got.Failures != tt.failures || s.Errors != tt.errors {
				t.Errorf("failures %d (root %d), errors %d; want %d, %d", s.Failures, got.Failures, s.Errors, tt.failures, tt.errors)
			}
			var names, skipped []string
			failed := 0
			for _, c := range s.Cases {
				names = append(names, c.Name)
				if c.Skipped != nil {
					skipped = append(skipped, c.Skipped.Message)
				}
				if c.Failure != nil {
					failed++
					if !strings.HasPrefix(c.Failure.Message, "measured ") {
						t.Errorf("failure message %q does not give the measured value", c.Failure.Message)
					}
				}
			}
			if !reflect.DeepEqual(names, tt.wantNames) {
				t.Errorf("names: got %q, want %q", names, tt.wantNames)
			}
			if failed != tt.failures {
				t.Errorf("got %d <failure> elements, want %d", failed, tt.failures)
			}
			// A fault that never bit is a skipped case whose message is
			// its warning.
			var warnings []string
			for _, u := range tt.r.Unapplied {
				warnings = append(warnings, u.Warning)
			}
			if !reflect.DeepEqual(skipped, warnings) || s.Skipped != len(warnings) {
				t.Errorf("skipped: got %q (skipped=%d), want the warnings %q", skipped, s.Skipped, warnings)
			}
			if tt.vs != nil {
				for i, v := range tt.vs {
					if f := s.Cases[i].Failure; !v.OK && f.Message != "measured "+v.Value {
						t.Errorf("case %d: failure message %q, want %q", i, f.Message, "measured "+v.Value)
					}
				}
			}
			if s.SystemOut != tt.r.Diagnosis {
				t.Errorf("system-out: got %q, want the diagnosis %q", s.SystemOut, tt.r.Diagnosis)
			}
		})
	}
}

func TestJUnitInterrupted(t *testing.T) {
	r := outputFixture()
	r.Interrupted = true
	var b bytes.Buffer
	if err := writeJUnit(&b, r, nil); err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	s := got.Suites[0]
	last := s.Cases[len(s.Cases)-1]
	if s.Errors != 1 || last.Name != "run" || last.Error == nil {
		t.Errorf("an interrupted run: got errors=%d and last case %+v, want one error in a case named run", s.Errors, last)
	}
}
