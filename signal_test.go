package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSignalStopsPromptly runs the real binary against a gateway that
// never answers, sends SIGINT once requests are in flight, and checks that
// gatecrash stops without waiting for them, keeps what it recorded and
// exits 3.
func TestSignalStopsPromptly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := gatecrashBinary(t)
	arrived := make(chan struct{}, 1000)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done() // hang until the client gives up
	}))
	defer gw.Close()
	file := writeFile(t, "hang.yaml", `name: hang
seed: 1
target: {gateway: none, url: `+gw.URL+`, timeout: 120s}
requests: [{path: /}]
phases:
  - {name: only, duration: 60s, rate: 20/s}
`)
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", file, "--out", out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-ctx.Done():
		t.Fatal("no request reached the gateway")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatal("gatecrash did not stop within 45s of SIGINT: it waited for the hanging requests")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitBroken {
		t.Fatalf("exit: got %v, want code 3", err)
	}
	rd := readRunDir(t, out)
	if !rd.report.Interrupted || rd.report.Totals.Requests == 0 || rd.report.Totals.Errors != rd.report.Totals.Requests || len(rd.results) != rd.report.Totals.Requests {
		t.Errorf("got interrupted %v, %d requests, %d errors, %d results; want an interrupted report of the cancelled requests",
			rd.report.Interrupted, rd.report.Totals.Requests, rd.report.Totals.Errors, len(rd.results))
	}
}
