package attack_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/attack"
)

// closeCounter is a file that counts its Close calls.
type closeCounter struct {
	bytes.Buffer
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// TestStreamWriter: the file is created at the first Write only; lines
// written concurrently all come out whole; a file that cannot be created
// fails the Writes and the Close with its reason; a Write after Close
// fails.
func TestStreamWriter(t *testing.T) {
	tests := []struct {
		name      string
		writers   int // goroutines, each writing 50 lines
		createErr error
		created   bool
		err       string // of Write and Close
	}{
		{"no stream, no file", 0, nil, false, ""},
		{"one writer", 1, nil, true, ""},
		{"eight writers", 8, nil, true, ""},
		{"cannot create", 2, errors.New("permission denied"), true, "create the streams file: permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				f       closeCounter
				created int
			)
			w := attack.NewStreamWriter(func() (io.WriteCloser, error) {
				created++
				if tt.createErr != nil {
					return nil, tt.createErr
				}
				return &f, nil
			})
			var wg sync.WaitGroup
			errs := make(chan error, tt.writers*50)
			for g := range tt.writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 50 {
						errs <- w.Write(attack.Stream{Time: time.Unix(0, 0), Attack: "a", Seq: uint64(g*50 + i), Try: 1, Tokens: i, TTFT: time.Millisecond})
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Write: got %v, want %q", err, tt.err)
				}
			}
			err := w.Close()
			if (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Close: got %v, want %q", err, tt.err)
			}
			if (created > 0) != tt.created || created > 1 {
				t.Fatalf("created the file %d times, want it created: %v, once at most", created, tt.created)
			}
			if tt.err != "" {
				return
			}
			if tt.created && f.closed != 1 {
				t.Errorf("closed the file %d times, want once", f.closed)
			}
			seen := map[uint64]bool{}
			for dec := json.NewDecoder(&f.Buffer); dec.More(); {
				var s attack.Stream
				if err := dec.Decode(&s); err != nil {
					t.Fatal(err)
				}
				seen[s.Seq] = true
			}
			if len(seen) != tt.writers*50 {
				t.Errorf("got %d distinct lines, want %d", len(seen), tt.writers*50)
			}
			if err := w.Write(attack.Stream{}); err == nil {
				t.Error("Write after Close: got no error, want one")
			}
		})
	}
}
