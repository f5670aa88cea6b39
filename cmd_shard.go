package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

// shardEnv is the variable a Kubernetes Indexed Job sets to each pod's
// index, from 0: --shard-from-env reads the shard from it.
const shardEnv = "JOB_COMPLETION_INDEX"

// maxShards bounds N: more shards than this is a typo.
const maxShards = 10000

// startAtSlack is how far in the past --start-at may be: the moment a
// command takes to start.
const startAtSlack = time.Second

// startAtAhead is how far ahead --start-at may be.
const startAtAhead = 24 * time.Hour

// shardFlags adds run's --shard, --shard-from-env and --start-at to fs,
// and returns the function that reads them once fs is parsed, given run's
// --baseline, which a shard refuses (the merged run is compared).
func shardFlags(fs *pflag.FlagSet) func(baseline string) (*results.Shard, time.Time, error) {
	shard := fs.String("shard", "", "run shard K of N (K from 1 to N, such as 2/4): 1/N of every phase's rate, with the other shards on other machines, from the same --start-at; needs target.gateway: none, and gatecrash proxy --scenario running once; gatecrash merge joins the shards' folders")
	fromEnv := fs.Int("shard-from-env", 0, "run shard K of this N, K being $"+shardEnv+"+1 (a Kubernetes Indexed Job's pod index, from 0)")
	startAt := fs.String("start-at", "", "start the attack at this time, RFC 3339 (2026-12-07T04:00:00Z) or unix seconds, at most 24h ahead; every shard and the proxy get the same")
	return func(baseline string) (*results.Shard, time.Time, error) {
		var at time.Time
		if *startAt != "" {
			var err error
			if at, err = parseStartAt(*startAt, time.Now()); err != nil {
				return nil, time.Time{}, inputErrf("--start-at: %w", err)
			}
		}
		var sh *results.Shard
		switch {
		case *shard != "" && fs.Changed("shard-from-env"):
			return nil, time.Time{}, inputErrf("--shard and --shard-from-env both give the shard; keep one")
		case *shard != "":
			k, n, err := parseShard(*shard)
			if err != nil {
				return nil, time.Time{}, inputErrf("--shard: %w", err)
			}
			sh = &results.Shard{K: k, N: n}
		case fs.Changed("shard-from-env"):
			k, n, err := shardFromEnv(os.Getenv(shardEnv), *fromEnv)
			if err != nil {
				return nil, time.Time{}, inputErrf("--shard-from-env: %w", err)
			}
			sh = &results.Shard{K: k, N: n}
		}
		if sh != nil && baseline != "" {
			return nil, time.Time{}, inputErrf("--baseline with --shard %s: a shard holds 1/N of the run; compare the merged folder instead: gatecrash compare %s MERGED", sh, baseline)
		}
		if sh != nil && at.IsZero() {
			return nil, time.Time{}, inputErrf("--shard %s: give --start-at too, the same time to every shard and to gatecrash proxy --scenario, so that their phases line up", sh)
		}
		return sh, at, nil
	}
}

// parseShard parses K/N, K from 1 to N.
func parseShard(s string) (k, n int, err error) {
	ks, ns, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("%s is not K/N; write the shard and the number of shards, such as 2/4", scenarios.Quote(s))
	}
	k, kerr := strconv.Atoi(ks)
	n, nerr := strconv.Atoi(ns)
	switch {
	case kerr != nil || nerr != nil:
		return 0, 0, fmt.Errorf("%s is not K/N in whole numbers; write such as 2/4", scenarios.Quote(s))
	case n < 1 || n > maxShards:
		return 0, 0, fmt.Errorf("%s: N must be from 1 to %d", scenarios.Quote(s), maxShards)
	case k < 1 || k > n:
		return 0, 0, fmt.Errorf("%s: K counts from 1 to N (%d); the first shard is 1/%d", scenarios.Quote(s), n, n)
	}
	return k, n, nil
}

// shardFromEnv returns the shard of a pod of an Indexed Job of n pods,
// whose index (from 0) is idx.
func shardFromEnv(idx string, n int) (k, nn int, err error) {
	if n < 1 || n > maxShards {
		return 0, 0, fmt.Errorf("%d: give the number of shards, from 1 to %d", n, maxShards)
	}
	if idx == "" {
		return 0, 0, fmt.Errorf("$%s is not set: it is set in the pods of a Kubernetes Indexed Job (completionMode: Indexed); elsewhere use --shard K/N", shardEnv)
	}
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("$%s is %s, not an index from 0 to %d; set the Job's completions to %d", shardEnv, scenarios.Quote(idx), n-1, n)
	}
	return i + 1, n, nil
}

// parseStartAt parses a start time, RFC 3339 or unix seconds (a
// fraction allowed), that must be at most startAtSlack before now and
// at most startAtAhead after.
func parseStartAt(s string, now time.Time) (time.Time, error) {
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || !(f >= 0 && f <= 1e11) {
			return time.Time{}, fmt.Errorf("%s is neither an RFC 3339 time (2026-12-07T04:00:00Z) nor unix seconds (1796616000)", scenarios.Quote(s))
		}
		sec := int64(f)
		at = time.Unix(sec, int64((f-float64(sec))*1e9))
	}
	switch {
	case at.Before(now.Add(-startAtSlack)):
		return time.Time{}, fmt.Errorf("%s is %s in the past; give a time ahead, such as $(date -u -d '+2 min' +%%Y-%%m-%%dT%%H:%%M:%%SZ), the same for every shard and the proxy", scenarios.Quote(s), now.Sub(at).Round(time.Millisecond))
	case at.After(now.Add(startAtAhead)):
		return time.Time{}, fmt.Errorf("%s is more than %s ahead (%s); give a time sooner", scenarios.Quote(s), startAtAhead, at.Sub(now).Round(time.Second))
	}
	return at.UTC(), nil
}

// checkShardRun checks a sharded run's scenario once resolved: every
// shard and the proxy must draw from one seed.
func checkShardRun(sc *scenarios.Scenario, opt run.Options) error {
	if opt.Shard == nil {
		return nil
	}
	if err := run.CheckShard(sc, opt.Shard); err != nil {
		return err
	}
	if sc.Seed == nil {
		return inputErrf("--shard %s: the scenario %s has no seed, and the shards and the proxy must share one: give --seed N, the same to every shard and to gatecrash proxy --scenario, or write seed: in the scenario", opt.Shard, sc.Name)
	}
	return nil
}

// shardVerdict is a shard's exit: 3 when it was interrupted or its folder
// is damaged, else 0, whatever the expectations, which gatecrash merge
// judges over every shard. Unless quiet, it says so on stderr.
func shardVerdict(rep *results.Report, sh *results.Shard, quiet bool, stderr io.Writer) error {
	if !quiet {
		fmt.Fprintf(stderr, "shard %s alone: 1/%d of the load, without the proxy's events, so its failures have no cause yet and its expectations do not set the exit code; gatecrash merge OUT SHARD-DIR... --events FILE reports and judges the whole run\n", sh, sh.N)
	}
	if rep.Interrupted || len(rep.Damaged) > 0 {
		return verdict(rep)
	}
	return nil
}
