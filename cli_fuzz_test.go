package main

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatecrash/gatecrash/scenarios"
)

// FuzzFlags parses arbitrary command lines of run, report and compare, as
// each command does before it reads a file or opens a socket. Whatever
// they hold: no panic; an error is bad input (exit 2) and names a flag the
// command line gave; settings that pass are usable (no NaN or infinity, a
// bucket width the analysis accepts).
//
// The input is the command's index (0 run, 1 report, 2 compare) and its
// arguments, separated by NUL bytes.
//
//	go test -run='^$' -fuzz=FuzzFlags -fuzztime=60s .
func FuzzFlags(f *testing.F) {
	for _, seed := range []struct {
		cmd  uint8
		args []string
	}{
		{0, []string{"--threshold", "NaN", "upstream-resets"}},
		{0, []string{"--threshold=Inf", "--bucket", "1ms", "x"}},
		{0, []string{"--alpha", "-Inf", "--sustain", "0"}},
		{0, []string{"--max-p99-increase", "NaN%", "--max-recovery-increase", "1e300h"}},
		{0, []string{"-qo", "out", "--force", "--format", "json,html", "--seed", "18446744073709551616"}},
		{0, []string{"--bucket", "9223372036854775807ns", "--min-buckets", "-1"}},
		{1, []string{"--bucket", "1ms", "DIR"}},
		{1, []string{"--threshold", "1e-320", "--json", "--format", "xml"}},
		{1, []string{"--bucket=-1s", "--sustain=99999999999999999999"}},
		{2, []string{"--alpha", "0", "--max-502-increase", "5%", "a", "b"}},
		{2, []string{"--max-error-increase=+Infpp", "--format", "yaml"}},
		{2, []string{"--no-test=maybe", "--", "--alpha", "NaN"}},
		{2, []string{"-h"}},
	} {
		f.Add(seed.cmd, strings.Join(seed.args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, cmd uint8, joined string) {
		var args []string
		if joined != "" {
			args = strings.Split(joined, "\x00")
		}
		var err error
		switch cmd % 3 {
		case 0:
			var r *runFlags
			if r, err = parseRunFlags(args, io.Discard); err == nil {
				checkAnalysis(t, r.opt.Analysis.Bucket, r.opt.Analysis.Threshold)
				checkAlpha(t, r.compare.Alpha)
			}
		case 1:
			var r *reportFlags
			if r, err = parseReportFlags(args, io.Discard); err == nil {
				checkAnalysis(t, r.opt.Bucket, r.opt.Threshold)
			}
		case 2:
			_, opt, _, perr := parseCompareFlags(args, io.Discard)
			if err = perr; err == nil {
				checkAlpha(t, opt.Alpha)
			}
		}
		if err == nil || errors.Is(err, pflag.ErrHelp) {
			return
		}
		msg := err.Error()
		if code := exitCode(err, io.Discard); code != exitInput {
			t.Fatalf("%q: exit %d, want 2: %s", args, code, msg)
		}
		if !namesAFlag(msg, args) {
			t.Fatalf("%q: %q names none of the flags given", args, msg)
		}
		if limit := 2000 + 300*len(args); len(msg) > limit {
			t.Fatalf("%q: a message of %d bytes, want at most %d", args, len(msg), limit)
		}
	})
}

// namesAFlag reports whether msg names one of the flags in args, as
// written (up to a =), or cut as messages cut long values.
func namesAFlag(msg string, args []string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		name, _, _ := strings.Cut(a, "=")
		if strings.Contains(msg, name) || strings.Contains(msg, scenarios.Cut(name)) || strings.Contains(msg, scenarios.Cut(a)) {
			return true
		}
	}
	return false
}

func checkAnalysis(t *testing.T, bucket time.Duration, threshold float64) {
	t.Helper()
	if bucket < time.Millisecond || !(threshold > 0 && threshold <= 1) {
		t.Fatalf("accepted --bucket %s, --threshold %v", bucket, threshold)
	}
}

func checkAlpha(t *testing.T, alpha float64) {
	t.Helper()
	if math.IsNaN(alpha) || !(alpha > 0 && alpha < 1) {
		t.Fatalf("accepted --alpha %v", alpha)
	}
}
