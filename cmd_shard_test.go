package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/run"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		in   string
		k, n int
		want string // in the error; empty: no error
	}{
		{"1/4", 1, 4, ""},
		{"4/4", 4, 4, ""},
		{"1/1", 1, 1, ""},
		{"0/4", 0, 0, "K counts from 1 to N (4); the first shard is 1/4"},
		{"5/4", 0, 0, "K counts from 1 to N"},
		{"2", 0, 0, "is not K/N"},
		{"a/4", 0, 0, "whole numbers"},
		{"1/0", 0, 0, "N must be from 1 to 10000"},
		{"1/10001", 0, 0, "N must be from 1 to 10000"},
		{"-1/4", 0, 0, "K counts from 1"},
	}
	for _, tt := range tests {
		k, n, err := parseShard(tt.in)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: got %v, want %d/%d", tt.in, err, tt.k, tt.n)
		case tt.want == "" && (k != tt.k || n != tt.n):
			t.Errorf("%s: got %d/%d, want %d/%d", tt.in, k, n, tt.k, tt.n)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want an error with %q", tt.in, err, tt.want)
		}
	}
}

func TestShardFromEnv(t *testing.T) {
	tests := []struct {
		idx  string
		n, k int
		want string
	}{
		{"0", 4, 1, ""},
		{"3", 4, 4, ""},
		{"4", 4, 0, "not an index from 0 to 3; set the Job's completions to 4"},
		{"", 4, 0, "$JOB_COMPLETION_INDEX is not set"},
		{"x", 4, 0, "not an index"},
		{"0", 0, 0, "give the number of shards"},
	}
	for _, tt := range tests {
		k, n, err := shardFromEnv(tt.idx, tt.n)
		switch {
		case tt.want == "" && (err != nil || k != tt.k || n != tt.n):
			t.Errorf("%q of %d: got %d/%d %v, want %d/%d", tt.idx, tt.n, k, n, err, tt.k, tt.n)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q of %d: got %v, want an error with %q", tt.idx, tt.n, err, tt.want)
		}
	}
}

func TestParseStartAt(t *testing.T) {
	now := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		at   time.Time
		want string
	}{
		{"2026-12-07T04:01:00Z", now.Add(time.Minute), ""},
		{"2026-12-07T05:01:00+01:00", now.Add(time.Minute), ""},
		{"2026-12-07T03:59:59.5Z", now.Add(-500 * time.Millisecond), ""},
		{"2026-12-07T03:59:58Z", time.Time{}, "2s in the past"},
		{"2026-12-08T04:00:01Z", time.Time{}, "more than 24h0m0s ahead"},
		{"tomorrow", time.Time{}, "neither an RFC 3339 time"},
		{"-5", time.Time{}, "neither"},
		{"NaN", time.Time{}, "neither"},
	}
	for _, tt := range tests {
		at, err := parseStartAt(tt.in, now)
		switch {
		case tt.want == "" && (err != nil || !at.Equal(tt.at)):
			t.Errorf("%s: got %s %v, want %s", tt.in, at, err, tt.at)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %s %v, want an error with %q", tt.in, at, err, tt.want)
		}
	}
	unix := now.Add(90 * time.Second).Unix()
	if at, err := parseStartAt(strconv.FormatInt(unix, 10)+".25", now); err != nil || !at.Equal(time.Unix(unix, 250e6).UTC()) {
		t.Errorf("unix seconds with a fraction: got %s %v", at, err)
	}
}

// TestRunShardFlagErrors checks run's shard flags' errors, exit 2 each.
func TestRunShardFlagErrors(t *testing.T) {
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	none := writeFile(t, "none.yaml", "name: remote\nseed: 1\ntarget: {gateway: none, url: http://127.0.0.1:1}\nrequests: [{path: /}]\nphases: [{name: p, duration: 1s, rate: 10/s}]\n")
	noSeed := writeFile(t, "noseed.yaml", "name: remote\ntarget: {gateway: none, url: http://127.0.0.1:1}\nrequests: [{path: /}]\nphases: [{name: p, duration: 1s, rate: 10/s}]\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no start", []string{"run", "--shard", "1/2", none}, "give --start-at too"},
		{"bad shard", []string{"run", "--shard", "3/2", "--start-at", soon, none}, "--shard: \"3/2\": K counts from 1"},
		{"both", []string{"run", "--shard", "1/2", "--shard-from-env", "2", "--start-at", soon, none}, "keep one"},
		{"past", []string{"run", "--shard", "1/2", "--start-at", "2020-01-01T00:00:00Z", none}, "--start-at: \"2020-01-01T00:00:00Z\" is"},
		{"builtin gateway", []string{"run", "--shard", "1/2", "--start-at", soon, "--seed", "1", "upstream-resets"}, "starts its own gateway (target.gateway: builtin)"},
		{"no seed", []string{"run", "--shard", "1/2", "--start-at", soon, noSeed}, "has no seed"},
		{"baseline", []string{"run", "--shard", "1/2", "--start-at", soon, "--baseline", noSeed, none}, "--baseline with --shard 1/2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(shardEnv, "")
			code, _, stderr := gatecrash(t, append(tt.args, "-o", t.TempDir())...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("got exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

// FuzzShardFlags checks that the shard flags never panic and that what
// they accept is a shard and a time in bounds.
//
//	go test -run='^$' -fuzz=FuzzShardFlags -fuzztime=30s .
func FuzzShardFlags(f *testing.F) {
	for _, s := range []string{"1/4", "0/0", "4/4", "99999999999999999999/1", "1/", "/", "2026-12-07T04:00:00Z", "1796616000.5", "1e10", "-0"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if k, n, err := parseShard(s); err == nil && (k < 1 || k > n || n > maxShards) {
			t.Errorf("parseShard(%q) = %d/%d", s, k, n)
		}
		if at, err := parseStartAt(s, now); err == nil && (at.Before(now.Add(-startAtSlack)) || at.After(now.Add(startAtAhead))) {
			t.Errorf("parseStartAt(%q) = %s, out of bounds", s, at)
		}
		if _, err := parseRunFlags([]string{"--shard", s, "--start-at", s, "x"}, io.Discard); err != nil && exitCode(err, io.Discard) != 2 {
			t.Errorf("run --shard %q: exit %d, want 2", s, exitCode(err, io.Discard))
		}
	})
}

// TestMergeCommandErrors checks merge's command-line errors, exit 2 each;
// the folders it refuses are run.TestMergeErrors'.
func TestMergeCommandErrors(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A shard's folder taken for OUT: refused before --force removes
	// anything from it.
	shard := t.TempDir()
	if err := results.WriteRun(filepath.Join(shard, run.PlanFile), &results.Run{Schema: results.RunSchema, Scenario: "s", Attack: "s/shard-1-of-2",
		Shard: &results.Shard{Attack: "s/shard-1-of-2", K: 1, N: 2}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing", []string{"merge"}, "merge takes the output folder and the folders of every shard, got 0"},
		{"out is a shard", []string{"merge", "--force", shard, shard, t.TempDir()}, "is also a shard's folder; give a new folder first"},
		{"out holds a shard", []string{"merge", "--force", shard, t.TempDir()}, "holds shard 1/2 of a run; give a new folder first"},
		{"no shard", []string{"merge", t.TempDir()}, "got 1 arguments"},
		{"out not empty", []string{"merge", full, t.TempDir()}, "the folder is not empty (1 entry, such as notes.txt)"},
		{"not a run folder", []string{"merge", filepath.Join(t.TempDir(), "out"), t.TempDir()}, "no run.json"},
		{"bad flag", []string{"merge", "--event", "x", "out", "dir"}, "unknown flag: --event"},
		{"bad format", []string{"merge", "--format", "pdf", "out", "dir"}, "pdf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := gatecrash(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("got exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(shard, run.PlanFile)); err != nil {
		t.Errorf("the shard's run.json is gone: %v", err)
	}
}
