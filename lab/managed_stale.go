package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A gateway's private folder (os.TempDir()/gatecrash-KIND-*) holds the
// file ownerFile, which names the gatecrash process that made it: its
// pid and its start time (as /proc/PID/stat counts it), then the
// gateway's access and error logs, one a line. A folder whose owner is
// gone was left by a gatecrash that was killed (SIGKILL): the next
// StartManaged redacts those logs and removes it.
const ownerFile = "gatecrash.owner"

// privatePrefix starts the name of every private folder.
const privatePrefix = "gatecrash-"

// writeOwner marks the private folder dir as this process's, with the
// logs its gateway writes.
func writeOwner(dir string, logs ...string) error {
	start, ok := procStart(os.Getpid())
	if !ok {
		start = "?"
	}
	text := fmt.Sprintf("%d %s\n%s\n", os.Getpid(), start, strings.Join(logs, "\n"))
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(text), 0o600)
}

// procStart returns the start time of the process pid, in clock ticks
// since boot (field 22 of /proc/PID/stat), and whether it lives; a
// zombie does not.
func procStart(pid int) (string, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", false
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3, the state
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return "", false
	}
	return f[19], true
}

// staleOwner reads the owner file of the private folder dir, and reports
// whether its owner is gone, with the logs it names. A folder without
// an owner file (being made right now, or made by an older gatecrash) is
// not stale.
func staleOwner(dir string) (logs []string, stale bool) {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return nil, false
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var pid int
	var start string
	if _, err := fmt.Sscanf(lines[0], "%d %s", &pid, &start); err != nil || pid <= 0 {
		return nil, false
	}
	if now, alive := procStart(pid); alive && (start == "?" || now == start) {
		return nil, false
	}
	return lines[1:], true
}

// removeStale removes the private folders, in the folder tmp, that a
// gatecrash killed before it could stop its gateway left behind, once it
// has redacted the secrets in the JSON lines of the logs they name (the
// values of secret headers; the values the run's requests carried are
// not kept anywhere, so text logs keep them). It returns the folders it
// removed; it does what it can, and skips what it cannot.
func removeStale(tmp string) []string {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil
	}
	var removed []string
	r := newRedactor(nil)
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), privatePrefix) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		logs, stale := staleOwner(dir)
		if !stale {
			continue
		}
		for _, l := range logs {
			if filepath.IsAbs(l) {
				r.file(l)
			}
		}
		if os.RemoveAll(dir) == nil {
			removed = append(removed, dir)
		}
	}
	return removed
}
