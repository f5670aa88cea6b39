package main

import (
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatecrash/gatecrash/scenarios"
)

// parseCommandLine runs a gatecrash command line through the real flag
// parser of its command, without running it: the shard, the start and
// every flag must be what gatecrash accepts.
func parseCommandLine(args []string) error {
	if len(args) == 0 {
		return nil
	}
	switch args[0] {
	case "run":
		f, err := parseRunFlags(args[1:], io.Discard)
		if err == nil && f.fs.NArg() != 1 {
			return inputErrf("run takes one scenario, got %d", f.fs.NArg())
		}
		return err
	case "merge":
		f, err := parseMergeFlags(args[1:], io.Discard)
		if err == nil && f.fs.NArg() < 2 {
			return inputErrf("merge takes OUT and the shards, got %d", f.fs.NArg())
		}
		return err
	case "proxy":
		ctx := context.WithValue(context.Background(), parseOnlyKey{}, true)
		return cmdProxy(ctx, args[1:], io.Discard, io.Discard)
	}
	return inputErrf("unknown command %s", args[0])
}

// exampleVars are the values the examples' placeholders take in the
// test: Kubernetes' $(VAR), the shell's $VAR and GitHub's ${{ expr }}.
func exampleVars() *strings.Replacer {
	start := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	return strings.NewReplacer(
		"$(START_AT)", start, "$(JOB_COMPLETION_INDEX)", "0",
		"${{ needs.plan.outputs.start }}", start, "${{ matrix.shard }}", "2",
		`"$SCENARIO"`, "loadtest/staging.yaml", `"$SEED"`, "17",
		`"$GATEWAY_HOST"`, "staging-gw.internal", `"$UPSTREAM_HOST"`, "staging-api.internal",
	)
}

// TestShardExamples parses examples/kubernetes and
// examples/github-actions/shards.yml and runs every gatecrash command line
// they hold through the real flag parser, so they cannot drift from the CLI.
func TestShardExamples(t *testing.T) {
	t.Setenv(shardEnv, "1")
	var lines [][]string
	scenarioChecked := false
	// Kubernetes: every container's args, in every document.
	for _, file := range []string{"examples/kubernetes/sharded-run.yaml", "examples/kubernetes/merge.yaml"} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		dec := yaml.NewDecoder(f)
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			for _, args := range containerArgs(doc) {
				lines = append(lines, args)
			}
			// The scenario the ConfigMap holds is valid, with the consent
			// the shards' command line gives.
			if data, ok := doc["data"].(map[string]any); ok && data["scenario.yaml"] != nil {
				consent, err := scenarios.ParseConsent("gateway.staging.svc,api.staging.svc")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := consent.Decode(file+": scenario.yaml", []byte(data["scenario.yaml"].(string))); err != nil {
					t.Errorf("%v", err)
				}
				scenarioChecked = true
			}
		}
	}
	k8s := len(lines)
	if !scenarioChecked {
		t.Error("no scenario.yaml in the Kubernetes example's ConfigMap")
	}
	// GitHub Actions: every step's gatecrash command.
	vars := exampleVars()
	cmd := regexp.MustCompile(`(?m)^gatecrash (.*?)(?:\s*>>.*)?$`)
	for _, run := range workflowRuns(t, "examples/github-actions/shards.yml") {
		for _, m := range cmd.FindAllStringSubmatch(run, -1) {
			lines = append(lines, strings.Fields(vars.Replace(m[1])))
		}
	}
	commands := map[string]int{}
	for _, args := range lines {
		for i := range args {
			args[i] = vars.Replace(args[i])
		}
		commands[args[0]]++
		if err := parseCommandLine(args); err != nil {
			t.Errorf("gatecrash %s: %v", strings.Join(args, " "), err)
		}
	}
	if k8s != 3 || commands["run"] != 2 || commands["proxy"] != 2 || commands["merge"] != 2 {
		t.Errorf("got %d command lines in Kubernetes, commands %v; want 3, and run, proxy and merge twice each", k8s, commands)
	}
}

// containerArgs returns the args of every container of a Kubernetes
// object (a Job's pod template's).
func containerArgs(v any) [][]string {
	var out [][]string
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if k != "containers" {
				out = append(out, containerArgs(c)...)
				continue
			}
			cs, _ := c.([]any)
			for _, ci := range cs {
				m, _ := ci.(map[string]any)
				raw, _ := m["args"].([]any)
				var args []string
				for _, a := range raw {
					args = append(args, a.(string))
				}
				out = append(out, args)
			}
		}
	case []any:
		for _, e := range x {
			out = append(out, containerArgs(e)...)
		}
	}
	return out
}

// TestParseCommandLineCatches checks the examples' test would catch a
// drift: a flag gatecrash lacks, a bad shard, a missing argument.
func TestParseCommandLineCatches(t *testing.T) {
	for _, args := range [][]string{
		{"run", "sc.yaml", "--shards", "4"},
		{"run", "sc.yaml", "--shard", "0/4", "--start-at", time.Now().Add(time.Hour).Format(time.RFC3339)},
		{"proxy", "--scenario", "sc.yaml", "--start", "x"},
		{"merge", "out"},
		{"report"},
	} {
		if err := parseCommandLine(args); err == nil {
			t.Errorf("gatecrash %s: parsed, want an error", strings.Join(args, " "))
		}
	}
}
