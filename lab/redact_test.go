package lab

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRedactorLine(t *testing.T) {
	r := newRedactor([]string{"sekret-apikey-3333", "Bearer sekret-auth-1111", "sekret-auth-1111"})
	for _, tc := range []struct {
		name, in, want string
	}{
		{
			name: "caddy access line",
			in:   `{"level":"info","ts":1733523474.1234567,"logger":"http.log.access","request":{"headers":{"X-Api-Key":["k-123456"],"X-Trace-Id":["t1"],"Authorization":[]}},"resp_headers":{"Set-Cookie":["sid=1","b=2"]},"status":503}`,
			want: `{"level":"info","logger":"http.log.access","request":{"headers":{"Authorization":[],"X-Api-Key":["REDACTED"],"X-Trace-Id":["t1"]}},"resp_headers":{"Set-Cookie":["REDACTED","REDACTED"]},"status":503,"ts":1733523474.1234567}`,
		},
		{
			name: "json without secrets is left as written",
			in:   `{"b":1, "a":{"headers":{"X-Trace-Id":["t1"]}}}`,
			want: `{"b":1, "a":{"headers":{"X-Trace-Id":["t1"]}}}`,
		},
		{
			name: "a secret key holding a string",
			in:   `{"api_key":"abc"}`,
			want: `{"api_key":"REDACTED"}`,
		},
		{
			name: "nginx text line with a value",
			in:   `gc1 1.000 1 1 "att" "5" 200 "200" "0.001" 0.001 "Bearer sekret-auth-1111" "sekret-apikey-3333"`,
			want: `gc1 1.000 1 1 "att" "5" 200 "200" "0.001" 0.001 "REDACTED" "REDACTED"`,
		},
		{
			name: "haproxy captures, the credentials alone",
			in:   `gc1 1.000 att 5 200 ---- {sekret-auth-1111|x}`,
			want: `gc1 1.000 att 5 200 ---- {REDACTED|x}`,
		},
		{
			name: "not json after all",
			in:   `{broken sekret-apikey-3333`,
			want: `{broken REDACTED`,
		},
		{name: "empty", in: "", want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.line(tc.in); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestRedactorFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	in := "{\"headers\":{\"X-Session-Token\":[\"tok-123456\"]}}\nline sekret-value-1\nlast without newline sekret-value-1"
	if err := os.WriteFile(path, []byte(in), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := newRedactor([]string{"sekret-value-1"}).file(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"headers\":{\"X-Session-Token\":[\"REDACTED\"]}}\nline REDACTED\nlast without newline REDACTED"
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode: got %v (%v), want 0640 kept", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("folder: got %d files, want the log alone (no temporary file left)", len(entries))
	}
	if err := newRedactor(nil).file(filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Errorf("missing log: got %v, want no error", err)
	}
}

// TestRemoveStale checks which private folders the next start removes:
// those whose owner is gone (or is another process under a reused pid),
// not those of a live owner nor those without an owner file.
func TestRemoveStale(t *testing.T) {
	tmp := t.TempDir()
	start, ok := procStart(os.Getpid())
	if !ok {
		t.Fatal("no start time for this process in /proc")
	}
	log := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(log, []byte(`{"request":{"headers":{"X-Api-Key":["k-123456"]}}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, owner string
	}{
		{"gatecrash-nginx-live", strings.Join([]string{itoa(os.Getpid()) + " " + start, log}, "\n")},
		{"gatecrash-nginx-reused", strings.Join([]string{itoa(os.Getpid()) + " 1", log}, "\n")},
		{"gatecrash-caddy-gone", strings.Join([]string{"2147483646 123", log}, "\n")},
		{"gatecrash-haproxy-unowned", ""},
		{"gatecrash-haproxy-garbled", "not a pid"},
		{"other-gone", "2147483646 123"},
	} {
		dir := filepath.Join(tmp, tc.name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if tc.owner != "" {
			if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(tc.owner+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	removeStale(tmp)
	for _, tc := range []struct {
		name    string
		removed bool
	}{
		{"gatecrash-nginx-live", false}, {"gatecrash-nginx-reused", true}, {"gatecrash-caddy-gone", true},
		{"gatecrash-haproxy-unowned", false}, {"gatecrash-haproxy-garbled", false}, {"other-gone", false},
	} {
		_, err := os.Stat(filepath.Join(tmp, tc.name))
		if gone := os.IsNotExist(err); gone != tc.removed {
			t.Errorf("%s: got removed %v (%v), want %v", tc.name, gone, err, tc.removed)
		}
	}
	b, _ := os.ReadFile(log)
	if want := `{"request":{"headers":{"X-Api-Key":["REDACTED"]}}}` + "\n"; string(b) != want {
		t.Errorf("the stale folder's log: got %s, want %s", b, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// BenchmarkRedactCaddyLog measures Close's rewrite of a Caddy access log
// (JSON lines with request and response headers), per line, with a
// secret header in every line and with none:
//
//	go test -run '^$' -bench RedactCaddyLog -benchmem ./lab
func BenchmarkRedactCaddyLog(b *testing.B) {
	const line = `{"level":"info","ts":1733523474.1234567,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"127.0.0.1","remote_port":"40312","proto":"HTTP/1.1","method":"GET","host":"127.0.0.1:40000","uri":"/v1/items","headers":{"X-Api-Key":["sekret-apikey-3333"],"X-Trace-Id":["t1"],"X-Vegeta-Attack":["a"],"X-Vegeta-Seq":["12"],"User-Agent":["Go-http-client/1.1"]}},"bytes_read":0,"user_id":"","duration":0.001,"size":64,"status":200,"resp_headers":{"Server":["Caddy"],"Content-Length":["64"]}}` + "\n"
	for _, bc := range []struct{ name, line string }{
		{"secret", line},
		{"none", strings.Replace(line, `"X-Api-Key":["sekret-apikey-3333"],`, "", 1)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "access.log")
			const lines = 10000
			text := []byte(strings.Repeat(bc.line, lines))
			r := newRedactor([]string{"sekret-apikey-3333"})
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				b.StopTimer()
				if err := os.WriteFile(path, text, 0o644); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := r.file(path); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
		})
	}
}
