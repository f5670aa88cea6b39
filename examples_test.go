package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestNightlyExample checks examples/nightly.yml: it is YAML with a job,
// and every gatecrash command and flag its steps use exists.
func TestNightlyExample(t *testing.T) {
	var script strings.Builder
	for _, run := range workflowRuns(t, "examples/nightly.yml") {
		script.WriteString(run + "\n")
	}
	if !strings.Contains(script.String(), "gatecrash list") || !strings.Contains(script.String(), "--baseline") {
		t.Fatalf("the workflow does not run the catalog with a baseline:\n%s", script.String())
	}
	_, help, _ := gatecrash(t, "run", "--help")
	flag := regexp.MustCompile(`\s(--[a-z][a-z-]*)`)
	for _, line := range strings.Split(script.String(), "\n") {
		if !strings.Contains(line, "args") && !strings.Contains(line, "gatecrash ") {
			continue
		}
		for _, m := range flag.FindAllStringSubmatch(line, -1) {
			if !strings.Contains(help, m[1]+" ") && !strings.Contains(help, m[1]+"=") {
				t.Errorf("the workflow uses %s, which gatecrash run does not have: %q", m[1], line)
			}
		}
	}
}

// workflowRuns returns the run: scripts of every step of a GitHub Actions
// workflow file, job after job.
func workflowRuns(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var runs []string
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			runs = append(runs, s.Run)
		}
	}
	return runs
}
