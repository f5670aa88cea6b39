package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/gatecrash/gatecrash/results"
)

// junitSuites is the root of a JUnit XML file, in the shape that Jenkins,
// GitLab, GitHub test reporters and Surefire read.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Skipped   *junitSkipped `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// junitSkipped is a <skipped>: the test case did not run for real.
type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// junitProblem is a <failure> or an <error>.
type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes the report as JUnit XML, one test suite named after
// the scenario:
//   - with expectations, one test case per expectation, named by the
//     expression as written; one that failed has a <failure> whose message
//     is the measured value;
//   - without expectations there is nothing that can fail (gatecrash
//     exits 0), so each phase is a passing test case named "phase NAME"
//     whose output gives its requests, status counts and latency: CI shows
//     what ran, and the suite's own output holds the diagnosis;
//   - each fault that never bit (Report.Unapplied) adds a test case
//     "fault N (KIND) in phase P" marked <skipped>, its message the
//     warning: CI shows it apart from the passing cases (in yellow, as a
//     skipped test) without failing the build, as gatecrash exits 0 for
//     it; the name stays the same from run to run, so a CI that tracks
//     tests follows it;
//   - each damaged file of the run folder (Report.Damaged) adds a test
//     case "file NAME" with an <error> whose message is the warning: the
//     report covers only what was recorded, so CI must not go green;
//   - an interrupted run adds a test case "run" with an <error>, as it
//     exits 3.
//
// The XML is written with encoding/xml, which escapes every string (and
// replaces characters XML cannot hold).
func JUnit(w io.Writer, r *results.Report) error {
	return writeJUnit(w, r, shownVerdicts(r))
}

func writeJUnit(w io.Writer, r *results.Report, vs []shownVerdict) error {
	s := junitSuiteOf(r, vs)
	doc := junitSuites{
		Name:     "gatecrash",
		Tests:    s.Tests,
		Failures: s.Failures,
		Errors:   s.Errors,
		Time:     s.Time,
		Suites:   []junitSuite{s},
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode junit: %w", err)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// junitSuiteOf is the run's one suite: a case per expectation (or per
// phase when there are none), a skipped case per fault that never
// applied, and an error case when the run was interrupted.
func junitSuiteOf(r *results.Report, vs []shownVerdict) junitSuite {
	class := "gatecrash." + r.Scenario
	s := junitSuite{
		Name:      "gatecrash " + r.Scenario,
		Time:      junitTime(r.DurationS),
		Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{
			{"scenario", r.Scenario},
			{"seed", strconv.FormatUint(r.Seed, 10)},
			{"gateway", r.Gateway.Kind},
			{"requests", strconv.Itoa(r.Totals.Requests)},
			{"interrupted", strconv.FormatBool(r.Interrupted)},
		},
		SystemOut: r.Diagnosis,
	}
	if r.Aborted != nil {
		s.Properties = append(s.Properties, junitProperty{"aborted", *r.Aborted})
	}
	for _, v := range vs {
		c := junitCase{ClassName: class, Name: v.Expr, Time: "0"}
		if !v.OK {
			measured := "measured " + v.Value
			if len(r.Damaged) > 0 {
				measured = v.Value // not measured: the run is damaged
			}
			c.Failure = &junitProblem{
				Message: measured,
				Type:    "expectation",
				Text:    fmt.Sprintf("expected %s; %s", v.Expr, measured),
			}
			s.Failures++
		}
		s.Cases = append(s.Cases, c)
	}
	if len(vs) == 0 {
		for _, p := range r.Phases {
			s.Cases = append(s.Cases, junitCase{
				ClassName: class,
				Name:      "phase " + p.Name,
				Time:      junitTime(p.EndS - p.StartS),
				SystemOut: junitPhaseOut(p),
			})
		}
	}
	for _, u := range r.Unapplied {
		s.Cases = append(s.Cases, junitCase{
			ClassName: class,
			Name:      fmt.Sprintf("fault %d (%s) in phase %s", u.Fault, u.Kind, u.Phase),
			Time:      "0",
			Skipped:   &junitSkipped{Message: u.Warning},
		})
		s.Skipped++
	}
	for _, d := range r.Damaged {
		s.Cases = append(s.Cases, junitCase{
			ClassName: class,
			Name:      "file " + d.File,
			Time:      "0",
			Error: &junitProblem{
				Message: d.Warning,
				Type:    "damaged",
				Text:    fmt.Sprintf("%s: %s; dropped: %s", d.File, d.Problem, d.Dropped),
			},
		})
		s.Errors++
	}
	if r.Interrupted {
		s.Cases = append(s.Cases, junitCase{
			ClassName: class,
			Name:      "run",
			Time:      junitTime(r.DurationS),
			Error: &junitProblem{
				Message: "interrupted",
				Type:    "interrupted",
				Text:    "the run was stopped before its end; the report covers what ran",
			},
		})
		s.Errors++
	}
	s.Tests = len(s.Cases)
	return s
}

// junitPhaseOut says in one line what a phase got.
func junitPhaseOut(p results.PhaseReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s to %s, offered %s/s, achieved %s/s, %d requests", results.Secs(p.StartS), results.Secs(p.EndS), results.Decimal(p.OfferedRate), results.Decimal(p.AchievedRate), p.Requests)
	if len(p.Status) > 0 {
		codes := make([]string, 0, len(p.Status))
		for c := range p.Status {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for i, c := range codes {
			sep := ", "
			if i == 0 {
				sep = ", status "
			}
			fmt.Fprintf(&b, "%s%s: %d", sep, c, p.Status[c])
		}
	}
	fmt.Fprintf(&b, ", %d errors; latency ms p50 %s, p99 %s", p.Errors, results.Decimal(p.LatencyMS.P50), results.Decimal(p.LatencyMS.P99))
	if len(p.Faults) > 0 {
		fmt.Fprintf(&b, "; faults: %s", strings.Join(p.Faults, ", "))
	}
	return b.String()
}

// junitTime formats a duration in seconds for JUnit's time attributes.
func junitTime(s float64) string { return strconv.FormatFloat(max(s, 0), 'f', 3, 64) }
