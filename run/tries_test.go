package run

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/scenarios"
)

// TestRunWritesTries runs the short scenario (resets at 50% in its second
// phase) with and without a retry policy: with one, tries.jsonl has every
// try of every request, the last of each saying why it stopped and what
// the user saw; without, there is no tries.jsonl.
func TestRunWritesTries(t *testing.T) {
	policy := &scenarios.Retry{MaxAttempts: 3, Backoff: scenarios.BackoffNone, Jitter: scenarios.JitterNone,
		RetryOn: []string{"5xx", scenarios.RetryOnError}}
	for _, tt := range []struct {
		name   string
		policy *scenarios.Retry
	}{{"with a policy", policy}, {"without", nil}} {
		t.Run(tt.name, func(t *testing.T) {
			sc := decode(t, short)
			sc.Client.Retry = tt.policy
			dir := filepath.Join(t.TempDir(), "out")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := Run(ctx, sc, Options{Dir: dir}); err != nil {
				t.Fatal(err)
			}
			f := Folder(dir)
			tf, err := os.Open(f.Path(TriesFile))
			if tt.policy == nil {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s without a policy: got %v, want no file", TriesFile, err)
				}
				if err == nil {
					tf.Close()
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tf.Close()
			last := map[uint64]attack.Try{}
			n, retried := 0, 0
			dec := json.NewDecoder(tf)
			for dec.More() {
				var tr attack.Try
				if err := dec.Decode(&tr); err != nil {
					t.Fatalf("%s line %d: %v", TriesFile, n+1, err)
				}
				n++
				if tr.Try > 1 {
					retried++
				}
				if tr.Stop != "" {
					if _, dup := last[tr.Seq]; dup {
						t.Errorf("seq %d: two tries that stopped", tr.Seq)
					}
					last[tr.Seq] = tr
				}
			}
			rf, err := os.Open(f.Path(ResultsFile))
			if err != nil {
				t.Fatal(err)
			}
			defer rf.Close()
			rdec := vegeta.DecoderFor(rf)
			nres := 0
			for {
				var r vegeta.Result
				if err := rdec.Decode(&r); err != nil {
					break
				}
				nres++
				tr, ok := last[r.Seq]
				if !ok {
					t.Errorf("seq %d: no last try in %s", r.Seq, TriesFile)
					continue
				}
				if tr.Code != int(r.Code) {
					t.Errorf("seq %d: the last try's code is %d, the user saw %d", r.Seq, tr.Code, r.Code)
				}
			}
			if nres == 0 || len(last) != nres {
				t.Errorf("got %d requests ended in %s, %d results; want as many, more than 0", len(last), TriesFile, nres)
			}
			if retried == 0 {
				t.Errorf("no try after a first: resets at 50%% were never retried")
			}
			t.Logf("%d results, %d tries, %d of them retries", nres, n, retried)
		})
	}
}
