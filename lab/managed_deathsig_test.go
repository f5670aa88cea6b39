package lab_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/lab"
)

// TestManagedOutlivesItsStartersThread starts each gateway from a
// goroutine locked to its thread that then exits locked, which ends the
// thread: the gateway must go on (its parent-death signal belongs to the
// gateway's own thread, not the caller's, as Managed.start says), and
// answer a request.
func TestManagedOutlivesItsStartersThread(t *testing.T) {
	for _, kind := range lab.Kinds() {
		t.Run(kind, func(t *testing.T) {
			if _, err := lab.LookPath(kind); err != nil {
				t.Fatal(err)
			}
			type started struct {
				m   *lab.Managed
				err error
				tid int
			}
			ch := make(chan started, 1)
			dir := t.TempDir()
			cfg := inDir(lab.ManagedConfig{Template: defaultTemplate(t, kind), Upstream: refusingAddr(t)}, dir)
			// The starter: locked to its thread, never unlocked, so that
			// the thread ends with the goroutine.
			starter := func() {
				runtime.LockOSThread()
				m, err := lab.StartManaged(context.Background(), cfg)
				ch <- started{m, err, syscall.Gettid()}
			}
			// Go wedges the main thread rather than end it: a goroutine
			// that finds itself there holds it while the starter runs
			// (on another thread, then), and lets it go.
			go func() {
				runtime.LockOSThread()
				if syscall.Gettid() != os.Getpid() {
					starter()
					return
				}
				defer runtime.UnlockOSThread()
				done := make(chan struct{})
				go func() {
					defer close(done)
					starter()
				}()
				<-done
			}()
			s := <-ch
			if s.err != nil {
				t.Fatal(s.err)
			}
			defer func() {
				if err := s.m.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
				checkGone(t, s.m.PID())
			}()
			// Once the starter's thread is gone (bounded wait), a request
			// proves the gateway still lives.
			task := filepath.Join("/proc/self/task", strconv.Itoa(s.tid))
			deadline := time.Now().Add(10 * time.Second)
			for _, err := os.Stat(task); err == nil; _, err = os.Stat(task) {
				if time.Now().After(deadline) {
					t.Fatalf("thread %d of the starter still there after 10s", s.tid)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if code, _, _ := get(t, s.m.URL(), 1); code != 502 && code != 503 {
				t.Errorf("got %d from %s with its upstream refusing, want a 502 or 503", code, kind)
			}
			if err := syscall.Kill(s.m.PID(), 0); errors.Is(err, syscall.ESRCH) {
				t.Errorf("%s: gone after its starter's thread ended", kind)
			}
		})
	}
}
