package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// NotInstalledError is a managed gateway whose executable was not found.
type NotInstalledError struct {
	// Kind is the gateway kind; Binary the executable looked for; Package
	// the Debian package that installs it.
	Kind, Binary, Package string
	// Searched lists where the executable was looked for.
	Searched []string
}

// Error says what is missing, where it was looked for, and how to
// install it.
func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("%s is not installed: no %s executable on PATH or in %s; install it with apt-get install %s (Debian, Ubuntu), or run with gateway builtin",
		e.Kind, e.Binary, strings.Join(e.Searched, ", "), e.Package)
}

// LookPath finds the executable of a kind gateway: on PATH, then in the
// sbin folder beside each bin folder of PATH (/usr/sbin for /usr/bin),
// where Debian installs nginx and HAProxy even for users whose PATH lacks
// it. A missing executable is a *NotInstalledError.
func LookPath(kind string) (string, error) {
	s, err := spec(kind)
	if err != nil {
		return "", err
	}
	if p, err := exec.LookPath(s.binary); err == nil {
		return p, nil
	}
	var searched []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" || filepath.Base(dir) != "bin" {
			continue
		}
		sbin := filepath.Join(filepath.Dir(dir), "sbin")
		searched = append(searched, sbin)
		p := filepath.Join(sbin, s.binary)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if len(searched) == 0 {
		searched = []string{"no sbin folder beside PATH's"}
	}
	return "", &NotInstalledError{Kind: kind, Binary: s.binary, Package: s.pkg, Searched: searched}
}
