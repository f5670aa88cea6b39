package lab

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// gatewayVersion runs the gateway's version command, and returns the
// version as product/version, such as nginx/1.22.1; the first line it
// printed if that has no version in it.
func gatewayVersion(ctx context.Context, bin string, args []string, product string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return parseVersion(string(out), product), nil
}

// parseVersion finds the version in what a gateway's version command
// printed: "nginx version: nginx/1.22.1", "HAProxy version 2.6.12-1
// 2023/03/10 - https://haproxy.org/", "v2.6.2 h1:..." or "2.6.2".
func parseVersion(out, product string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	line = strings.TrimSpace(line)
	for _, f := range strings.Fields(line) {
		if _, v, ok := strings.Cut(f, "/"); ok && strings.EqualFold(f[:len(f)-len(v)-1], product) {
			f = v
		}
		f = strings.TrimPrefix(f, "v")
		if f != "" && f[0] >= '0' && f[0] <= '9' && strings.Contains(f, ".") {
			return product + "/" + f
		}
	}
	return line
}
