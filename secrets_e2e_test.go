package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/run"
)

// The secrets the secrets scenario's requests carry, and the one its
// upstream answers with; traceValue is no secret.
var secretValues = []string{
	"sekret-auth-1111",      // Authorization: Bearer ...
	"sekret-cookie-2222",    // Cookie: session=...
	"sekret-apikey-3333",    // X-Api-Key
	"sekret-token-4444",     // X-Session-Token
	"sekret-setcookie-6666", // Set-Cookie of the upstream's 503
}

const traceValue = "trace-visible-5555"

const secretsScenario = `name: secrets-e2e
seed: 9
target: {timeout: 5s}
upstream:
  builtin: {latency: 1ms, body_bytes: 64}
requests:
  - path: /v1/items
    headers:
      Authorization: Bearer sekret-auth-1111
      Cookie: session=sekret-cookie-2222; theme=dark
      X-Api-Key: sekret-apikey-3333
      X-Session-Token: sekret-token-4444
      X-Trace-Id: trace-visible-5555
phases:
  - name: only
    duration: 1s
    rate: 40/s
    faults:
      - {kind: status, code: 503, body: busy, probability: 0.5, headers: {Set-Cookie: sid=sekret-setcookie-6666}}
`

// TestRunFolderKeepsNoSecrets runs a scenario whose requests carry
// secret headers, through each gateway, and checks that no file of the
// run folder (the gateway's logs, the results, the reports) holds a
// secret value, while the control header X-Trace-Id stays where the log
// format has headers (Caddy's JSON log).
func TestRunFolderKeepsNoSecrets(t *testing.T) {
	file := writeFile(t, "secrets.yaml", secretsScenario)
	for _, tc := range []struct {
		kind    string
		traceIn string // a file that must keep X-Trace-Id's value; "" none
	}{
		{kind: "builtin"},
		{kind: "nginx"},
		{kind: "haproxy"},
		{kind: "caddy", traceIn: run.AccessLogFile},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			if tc.kind != "builtin" {
				if _, err := lab.LookPath(tc.kind); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := gatecrash(t, "run", file, "--gateway", tc.kind, "--out", out, "--quiet")
			if code != exitOK && code != exitFailed {
				t.Fatalf("exit %d, want 0 or 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			rd := readRunDir(t, out)
			// The 503s reached the client with their Set-Cookie, redacted.
			setCookies := 0
			for _, r := range rd.results {
				if r.Code == 503 {
					for _, v := range r.Headers.Values("Set-Cookie") {
						setCookies++
						if v != "REDACTED" {
							t.Errorf("results: a 503's Set-Cookie is %q, want REDACTED", v)
						}
					}
				}
			}
			if setCookies == 0 {
				t.Errorf("results: got no 503 with a Set-Cookie, want some (the test needs them)")
			}
			entries, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(out, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range secretValues {
					if i := bytes.Index(b, []byte(s)); i >= 0 {
						t.Errorf("%s holds the secret %q: ...%s...", e.Name(), s, around(b, i))
					}
				}
			}
			if tc.traceIn != "" {
				b, err := os.ReadFile(filepath.Join(out, tc.traceIn))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(b, []byte(traceValue)) {
					t.Errorf("%s: got no X-Trace-Id value %q, want the header kept", tc.traceIn, traceValue)
				}
				if !bytes.Contains(b, []byte("REDACTED")) {
					t.Errorf("%s: got no REDACTED, want the secret headers there, redacted", tc.traceIn)
				}
			}
		})
	}
}

// around returns the bytes of b around index i, on one line.
func around(b []byte, i int) string {
	s := string(b[max(i-60, 0):min(i+60, len(b))])
	return strings.ReplaceAll(s, "\n", `\n`)
}
