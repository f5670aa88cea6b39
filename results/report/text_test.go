package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/internal/golden"
	"github.com/gatecrash/gatecrash/scenarios"
)

// TestTextGolden renders the report of results.TestAnalyze for a terminal.
func TestTextGolden(t *testing.T) {
	rep := analyzed(t)
	var text bytes.Buffer
	if err := Text(&text, rep); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "analyze.txt", text.Bytes())
	for _, s := range []string{"faulty", "502s began at 1.5s (phase faulty, 2.0/s offered)", "reset-before-headers", "33.3%"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text report lacks %q:\n%s", s, text.String())
		}
	}
}

// TestTextExpectations checks the text report's table of verdicts, and
// that a report without expectations mentions none.
func TestTextExpectations(t *testing.T) {
	rep := analyzed(t)
	var exps []scenarios.Expectation
	for _, x := range []string{
		"rate(status=502) < 0.5% in faulty [abort]",
		"first(status=503) > 10s",
		"p50(latency) < 250ms in clean",
		"share(cause=upstream-timeout, status=504) > 0%",
	} {
		abort := strings.HasSuffix(x, " [abort]")
		e, err := scenarios.ParseExpectation(strings.TrimSuffix(x, " [abort]"), abort)
		if err != nil {
			t.Fatalf("%s: %v", x, err)
		}
		exps = append(exps, e)
	}
	rep.SetExpectations(exps, "rate(status=502) < 0.5% in faulty failed for good at 3.008s (measured 75%)")
	var text bytes.Buffer
	if err := Text(&text, rep); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "expect.txt", text.Bytes())

	rep = analyzed(t)
	rep.SetExpectations(nil, "")
	text.Reset()
	Text(&text, rep)
	if strings.Contains(text.String(), "expectation") {
		t.Errorf("got expectations mentioned without any:\n%s", text.String())
	}
}

// TestTextSendLag checks the warning of an attacker that fell behind.
func TestTextSendLag(t *testing.T) {
	rep := analyzed(t)
	rep.SendLagMS.Behind = false
	var text bytes.Buffer
	if err := Text(&text, rep); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(text.Bytes(), []byte("WARNING: the attacker fell behind")) {
		t.Errorf("on time: text has the warning:\n%s", text.String())
	}
	rep.SendLagMS.Behind = true
	text.Reset()
	if err := Text(&text, rep); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(text.Bytes(), []byte("WARNING: the attacker fell behind")) {
		t.Errorf("text lacks the warning:\n%s", text.String())
	}
}
