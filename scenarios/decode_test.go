package scenarios

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeSyntaxErrors checks the files that are not a scenario at all:
// empty, another shape, broken YAML, two documents.
func TestDecodeSyntaxErrors(t *testing.T) {
	checkDecodeErrors(t, []decodeErrorTest{
		{"empty file", "",
			[]want{{0, "", "the file is empty; start from a ready scenario: gatecrash list"}}},
		{"only comments", `# a scenario
# to be written
`,
			[]want{{0, "", "the file is empty"}}},
		{"only a document marker", "---\n",
			[]want{{0, "", "the file is empty"}}},
		{"a list instead of a mapping", `- name: demo
`,
			[]want{{1, "", "the file holds a list, not a scenario"}}},
		{"yaml syntax error", `name: demo
description: resets: one in ten
requests: [{path: /}]
`,
			[]want{{2, "", `invalid YAML: mapping values are not allowed in this context; a value holds ": "; put it in quotes`}}},
		{"yaml syntax error on the first line", `name: a: b
`,
			[]want{{1, "", "invalid YAML: mapping values are not allowed"}}},
		{"yaml bad indentation", onePhase("    duration: 1s\n   rate: 1/s\n"),
			[]want{{6, "", "check the indentation"}}},
		{"tab indentation", "name: demo\nrequests:\n\t- {path: /}\n",
			[]want{{3, "", "indent with spaces, not tabs"}}},
		{"unclosed flow list", `name: demo
requests: [{path: /}
phases: []
`,
			[]want{{2, "", "invalid YAML: did not find expected ',' or ']'; close the list with ]"}}},
		{"anchor that contains itself", `name: demo
requests: [{path: /}]
phases:
  - &p {name: a, duration: 1s, rate: 1/s, <<: *p}
`,
			[]want{{0, "", "anchor 'p' value contains itself; write the values out"}}},
		{"second document", `name: demo
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
---
name: other
`,
			[]want{{4, "", "a second YAML document starts here"}}},
		{"duplicate key", `name: demo
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
name: again
`,
			[]want{{4, "name", "name is written twice, first on line 1; keep one"}}},
	})
}

// TestDecodeTypeErrors checks the fields the decoder itself rejects:
// unknown keys, values of the wrong type.
func TestDecodeTypeErrors(t *testing.T) {
	checkDecodeErrors(t, []decodeErrorTest{
		{"unknown top-level key", withSection("bogus: 1\n"),
			[]want{{2, "bogus", `unknown field "bogus"; known fields here: name, description, seed, target, upstream, requests, client, proxy, phases`}}},
		{"unknown key in a phase", onePhase("    duration: 1s\n    rate: 1/s\n    duraton: 2s\n"),
			[]want{{7, "phases[0].duraton", `unknown field "duraton" (did you mean duration?); known fields here: name, duration, rate, ramp_to, faults`}}},
		{"unknown key in a flow mapping", `name: demo
requests: [{path: /}]
phases:
  - {name: a, duration: 1s, rate: 1/s}
  - {name: b, duration: 1s, rate: 1/s, bogus: 1}
`,
			[]want{{5, "phases[1].bogus", `unknown field "bogus"; known fields here: name, duration, rate, ramp_to, faults`}}},
		{"unknown key in a fault", inPhase("      - kind: reset\n        propability: 0.1\n"),
			[]want{{9, "phases[0].faults[0].propability", "(did you mean probability?)"}}},
		{"phases not a list", `name: demo
requests: [{path: /}]
phases: 3
`,
			[]want{{3, "phases", `"3" is not a list of phases; write one such as [{name: baseline`}}},
		{"phases a list of lists", `name: demo
requests: [{path: /}]
phases: &p [*p]
`,
			[]want{{3, "phases[0]", "a list is not a mapping; write a mapping with the fields name, duration, rate, ramp_to, faults"}}},
		{"three mistakes", onePhase("    duration: 1s\n    rate: fast\n    faults:\n      - {kind: reset, colour: red}\n      - {kind: status, code: 503, probability: 2}\n"),
			[]want{
				{6, "phases[0].rate", `"fast" is not a rate`},
				{8, "phases[0].faults[0].colour", `unknown field "colour"`},
				{9, "phases[0].faults[1].probability", "must be between 0 and 1"},
			}},
		{"connect timeout misspelt", withSection("target:\n  gateway: haproxy\n  connect_timout: 1s\n"),
			[]want{{4, "target.connect_timout", `unknown field "connect_timout" (did you mean connect_timeout?)`}}},
		{"config a list", withSection("target:\n  gateway: nginx\n  config: [a.conf]\n"),
			[]want{{4, "target.config", "a list is not a single value; write one value"}}},
	})
}

func TestLoad(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a *scenarios.Error", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want it to wrap fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), "missing.yaml: cannot read the scenario: no such file or directory; check the path") {
		t.Errorf("got %q, want the path and the cause", err)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mine.yaml")
	src := "name: mine\nrequests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		arg      string
		wantName string
		wantErr  string
	}{
		{"upstream-resets", "upstream-resets", ""},
		{"malformed-upstream", "malformed-upstream", ""},
		{file, "mine", ""},
		{"upstream-reset", "", `"upstream-reset" is neither a catalog scenario nor a file; did you mean upstream-resets?`},
		{filepath.Join(dir, "nope.yaml"), "", "cannot read the scenario"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			s, err := Resolve(tt.arg)
			if tt.wantErr != "" {
				var se *Error
				if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want a *scenarios.Error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != tt.wantName {
				t.Errorf("got name %q, want %q", s.Name, tt.wantName)
			}
		})
	}
}
