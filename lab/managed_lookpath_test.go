package lab_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/scenarios"
)

func TestManagedNotInstalled(t *testing.T) {
	// A PATH without any gateway: each is missing, and the error names the
	// package to install.
	t.Setenv("PATH", t.TempDir())
	for _, kind := range lab.Kinds() {
		t.Run(kind, func(t *testing.T) {
			_, err := lab.StartManaged(context.Background(), inDir(lab.ManagedConfig{Template: defaultTemplate(t, kind), Upstream: "127.0.0.1:9"}, t.TempDir()))
			var ni *lab.NotInstalledError
			if !errors.As(err, &ni) || ni.Kind != kind || ni.Package != kind {
				t.Fatalf("got %T %v, want a *lab.NotInstalledError for %s", err, err, kind)
			}
			if want := kind + " is not installed: no " + kind + " executable on PATH"; !strings.Contains(err.Error(), want) {
				t.Errorf("got %q, want it to say %q", err, want)
			}
			if want := "apt-get install " + kind; !strings.Contains(err.Error(), want) {
				t.Errorf("got %q, want it to say %q", err, want)
			}
		})
	}
}

func TestLookPathSbin(t *testing.T) {
	// Debian puts nginx and haproxy in /usr/sbin, which a user's PATH may
	// lack: the sbin folder beside a bin folder on PATH is searched too.
	root := t.TempDir()
	bin, sbin := filepath.Join(root, "bin"), filepath.Join(root, "sbin")
	for _, d := range []string{bin, sbin} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(sbin, "nginx"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "caddy"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	tests := []struct {
		kind, want string
	}{
		{scenarios.GatewayNginx, filepath.Join(sbin, "nginx")},
		{scenarios.GatewayCaddy, filepath.Join(bin, "caddy")},
		{scenarios.GatewayHAProxy, ""},
	}
	for _, tt := range tests {
		got, err := lab.LookPath(tt.kind)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("%s: got %q, %v; want %q", tt.kind, got, err, tt.want)
		}
		if tt.want == "" && !strings.Contains(fmtErr(err), "in "+sbin) {
			t.Errorf("%s: got %v, want it to name %s as searched", tt.kind, err, sbin)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
