package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/faults"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestProxyCommand runs gatecrash proxy in front of a real upstream,
// drives it through the proxy and the admin API as curl would, stops it
// as Ctrl-C does and checks the events file.
func TestProxyCommand(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, "from upstream")
	}))
	defer up.Close()
	faultsFile := writeFile(t, "faults.yaml", `# the faults active from the start
faults:
  - kind: status
    code: 503
    match: {path_prefix: /fail}
`)
	// Events are appended to what the file holds.
	eventsFile := writeFile(t, "events.jsonl", `{"time":"2025-01-01T00:00:00Z","type":"fault","attack":"old","seq":1,"attempt":0,"conn":1,"phase":"old","kind":"reset","fault":0,"detail":"from before"}`+"\n")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := startProxyCommand(t, ctx, "--listen", "127.0.0.1:0", "--upstream", up.URL,
		"--faults", faultsFile, "--events", eventsFile, "--seed", "5")

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	proxy := "http://" + p.proxy
	driveProxy(t, client, p.admin, []proxyStep{
		{"GET", proxy + "/ok", "", 200, "from upstream"},
		{"GET", proxy + "/fail", "", 503, ""},
		{"GET", p.admin + "/faults", "", 200, `"matched":1,"applied":1`},
		{"POST", p.admin + "/faults", "kind: status\ncode: 429\nmatch: {path_prefix: /busy}\n", 201, `"id":1`},
		{"GET", proxy + "/busy", "", 429, ""},
		{"DELETE", p.admin + "/faults/0", "", 204, ""},
		{"GET", proxy + "/fail", "", 200, "from upstream"},
		{"GET", p.admin + "/faults", "", 200, `[{"id":1,`},
		{"GET", p.admin + "/healthz", "", 200, "ok"},
	})

	// An events stream still open does not hold the proxy up.
	req, err := http.NewRequest(http.MethodGet, p.admin+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	streamDone := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, stream.Body)
		streamDone <- err
	}()

	cancel()
	select {
	case err := <-streamDone:
		if err != nil {
			t.Errorf("events stream: got %v, want its end", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("events stream still open 10s after the interrupt")
	}
	p.wait(t)
	for _, want := range []string{"proxy listening on " + p.proxy, "upstream " + up.Listener.Addr().String(), "seed 5", "admin on " + p.admin} {
		if !strings.Contains(p.stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, p.stdout.String())
		}
	}
	// The tally, as the proxy stops, is of the faults held then: fault 1.
	checkEventsFile(t, eventsFile, []string{"old fault reset fault 0", "proxy fault status fault 0", "proxy fault status fault 1", "proxy observation tally fault 1"})
}

// proxyCommand is a gatecrash proxy running in the test.
type proxyCommand struct {
	proxy, admin   string // where the proxy and its admin API listen
	stdout, stderr *syncBuffer
	done           chan int // the exit code
}

// startProxyCommand runs gatecrash proxy with args until ctx ends, and
// returns once it listens.
func startProxyCommand(t *testing.T, ctx context.Context, args ...string) *proxyCommand {
	t.Helper()
	type addrs struct{ proxy, admin string }
	ready := make(chan addrs, 1)
	ctx = context.WithValue(ctx, proxyReadyKey{}, func(proxy, admin string) { ready <- addrs{proxy, admin} })
	p := &proxyCommand{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan int, 1)}
	go func() {
		p.done <- cli(ctx, append([]string{"proxy"}, args...), p.stdout, p.stderr)
	}()
	select {
	case a := <-ready:
		p.proxy, p.admin = a.proxy, a.admin
	case code := <-p.done:
		t.Fatalf("proxy exited %d before listening; stderr: %s", code, p.stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("proxy not listening within 10s")
	}
	return p
}

// wait checks that the proxy exits 0 within 10s.
func (p *proxyCommand) wait(t *testing.T) {
	t.Helper()
	select {
	case code := <-p.done:
		if code != exitOK {
			t.Errorf("exit %d, want 0; stderr: %s", code, p.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("proxy still running 10s after the interrupt")
	}
}

// proxyStep is one request to the proxy or its admin API, and the answer
// it must get: the code, and a part of the body.
type proxyStep struct {
	method, url, body string
	code              int
	out               string
}

// driveProxy sends each step in turn. The proxy counts a fault just
// after its answer went down, so a GET of the admin API at admin is tried
// again for up to 5s until it shows what the step wants.
func driveProxy(t *testing.T, client *http.Client, admin string, steps []proxyStep) {
	t.Helper()
	for _, st := range steps {
		deadline := time.Now().Add(5 * time.Second)
		for {
			code, out := callProxy(t, client, st.method, st.url, st.body)
			if code == st.code && strings.Contains(out, st.out) {
				break
			}
			if st.method != "GET" || !strings.HasPrefix(st.url, admin) || time.Now().After(deadline) {
				t.Errorf("%s %s: got %d %q, want %d with %q", st.method, st.url, code, out, st.code, st.out)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// callProxy sends one request, as an attack would name it, and returns
// the answer's code and body.
func callProxy(t *testing.T, client *http.Client, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(faults.HeaderAttack, "cmd")
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/yaml") // the admin API refuses writes without it
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// checkEventsFile checks the events of the file at path, each written
// "PHASE TYPE KIND fault N".
func checkEventsFile(t *testing.T, path string, want []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	events, err := faults.ReadEvents(f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, fmt.Sprintf("%s %s %s fault %d", e.Phase, e.Type, e.Kind, e.Fault))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestProxyBadInvocations checks that bad flags and inputs exit 2 with a
// message that names the flag, or the file, line and field.
func TestProxyBadInvocations(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	unknownKind := writeFile(t, "unknown.yaml", "faults:\n  - kind: status\n    code: 503\n  - kind: explode\n")
	httpFile := writeFile(t, "http.yaml", "mode: http\nfaults: []\n")
	statusFile := writeFile(t, "status.yaml", "faults:\n  - kind: status\n    code: 503\n")
	// YAML folds the line breaks of one plain scalar into spaces and drops
	// the last: the value is one byte shorter than the file.
	longText := strings.Repeat("root:x:0:0:root:/root:/bin/bash\n", 1000)
	longFile := writeFile(t, "passwd", longText)
	infoFile := writeFile(t, "info.yaml", "faults:\n  - kind: status\n    code: 101\n")
	tooMany := writeFile(t, "many.yaml", "faults:\n"+strings.Repeat("  - kind: latency\n    delay: 1ms\n", faults.MaxFaults+1))
	up := "127.0.0.1:1"
	tests := []struct {
		name string
		args []string
		want []string // parts of stderr
	}{
		{"missing upstream", []string{"--listen", "127.0.0.1:0"}, []string{"--upstream is required"}},
		{"missing listen", []string{"--upstream", up}, []string{"--listen is required"}},
		{"listen not loopback", []string{"--listen", "0.0.0.0:0", "--upstream", up}, []string{"--listen", "not a loopback"}},
		{"listen no port", []string{"--listen", "127.0.0.1", "--upstream", up}, []string{"--listen", "not host:port"}},
		{"listen in use", []string{"--listen", busy.Addr().String(), "--upstream", up}, []string{"--listen", "pick a free"}},
		{"admin not loopback", []string{"--listen", "127.0.0.1:0", "--upstream", up, "--admin", "192.0.2.1:8474"}, []string{"--admin", "not a loopback"}},
		{"admin in use", []string{"--listen", "127.0.0.1:0", "--upstream", up, "--admin", busy.Addr().String()}, []string{"--admin", "pick a free"}},
		{"upstream scheme", []string{"--listen", "127.0.0.1:0", "--upstream", "ftp://127.0.0.1:21"}, []string{"--upstream", `unknown scheme "ftp"`}},
		{"upstream https", []string{"--listen", "127.0.0.1:0", "--upstream", "https://127.0.0.1:8443"}, []string{"--upstream", "--mode tcp --upstream 127.0.0.1:8443"}},
		{"upstream path", []string{"--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:8080/api"}, []string{"--upstream", "http://127.0.0.1:8080"}},
		{"upstream credentials", []string{"--listen", "127.0.0.1:0", "--upstream", "http://user:PASS@127.0.0.1:8080"}, []string{"--upstream: the URL holds credentials (user:password@); the proxy forwards each request's own headers, so send an Authorization header from the client instead (in a scenario, in requests[].headers, which gatecrash keeps out of every output), and write --upstream http://127.0.0.1:8080"}},
		{"upstream user only", []string{"--listen", "127.0.0.1:0", "--upstream", "http://admin@127.0.0.1:8080/"}, []string{"--upstream: the URL holds credentials", "Authorization header"}},
		{"upstream credentials without scheme", []string{"--listen", "127.0.0.1:0", "--upstream", "user:PASS@127.0.0.1:8080"}, []string{"--upstream: the address holds credentials", "Authorization header", "write --upstream HOST:PORT"}},
		{"upstream long", []string{"--listen", "127.0.0.1:0", "--upstream", strings.Repeat("h", 5000) + ":80"}, []string{"--upstream", `hhh…" (5003 bytes) is not on loopback`}},
		{"faults file of one long value", []string{"--listen", "127.0.0.1:0", "--upstream", up, "--faults", longFile}, []string{longFile + `:1: the file holds the single value "root:x:0:0:root:/root:/bin/bash root:x:0…" (` + strconv.Itoa(len(longText)-1) + " bytes), not a fault set"}},
		{"status 1xx", []string{"--listen", "127.0.0.1:0", "--upstream", up, "--faults", infoFile}, []string{infoFile + ":3: faults[0].code: code 101 is informational (1xx)", "write a final status from 200 to 599"}},
		{"upstream not loopback", []string{"--listen", "127.0.0.1:0", "--upstream", "http://example.com:80"}, []string{"--upstream", "not on loopback"}},
		{"upstream no port", []string{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1"}, []string{"--upstream", "HOST:PORT"}},
		{"two problems at once", []string{"--listen", "0.0.0.0:1", "--upstream", "10.0.0.1:80"}, []string{"--listen", "--upstream"}},
		{"bad mode", []string{"--listen", "127.0.0.1:0", "--upstream", up, "--mode", "udp"}, []string{"--mode", `"udp"`}},
		{"bad seed", []string{"--listen", "127.0.0.1:0", "--upstream", up, "--seed", "x"}, []string{"--seed"}},
		{"unknown flag", []string{"--listen", "127.0.0.1:0", "--upstream", up, "--toxic", "x"}, []string{"unknown flag: --toxic"}},
		{"an argument", []string{"--listen", "127.0.0.1:0", "--upstream", up, "faults.yaml"}, []string{"flags only"}},
		{"faults file missing", []string{"--listen", "127.0.0.1:0", "--upstream", up, "--faults", "/nonexistent/faults.yaml"}, []string{"--faults", "/nonexistent/faults.yaml"}},
		{"faults unknown kind", []string{"--listen", "127.0.0.1:0", "--upstream", up, "--faults", unknownKind}, []string{unknownKind + ":4:", "faults[1].kind", `"explode"`}},
		{"faults mode disagrees", []string{"--listen", "127.0.0.1:0", "--upstream", up, "--faults", httpFile, "--mode", "tcp"}, []string{httpFile + ":1: mode: the file says http but --mode says tcp"}},
		{"faults not for tcp", []string{"--listen", "127.0.0.1:0", "--upstream", up, "--faults", statusFile, "--mode", "tcp"}, []string{statusFile + ":2: faults[0].kind", "--mode tcp"}},
		{"too many faults", []string{"--listen", "127.0.0.1:0", "--upstream", up, "--faults", tooMany}, []string{"--faults: " + tooMany + " holds 1001 faults, more than the 1000"}},
		{"events unwritable", []string{"--listen", "127.0.0.1:0", "--upstream", up, "--events", "/nonexistent/dir/events.jsonl"}, []string{"--events", "/nonexistent/dir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := cli(ctx, append([]string{"proxy"}, tt.args...), &stdout, &stderr)
			if code != exitInput {
				t.Errorf("exit %d, want 2; stdout: %s stderr: %s", code, stdout.String(), stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if n := stderr.Len(); n > 2000 {
				t.Errorf("stderr holds %d bytes, want a message of a few lines", n)
			}
			if strings.Contains(stderr.String(), "PASS") {
				t.Errorf("stderr repeats the password: %s", stderr.String())
			}
		})
	}
}

// TestProxyHelp shows the flags and the admin API.
func TestProxyHelp(t *testing.T) {
	code, stdout, _ := gatecrash(t, "proxy", "--help")
	for _, want := range []string{"Usage: gatecrash proxy", "--listen", "--upstream", "--faults", "--events", "--admin", "--seed", "--mode", "POST /faults"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, stdout)
		}
	}
	if code != exitOK {
		t.Errorf("exit %d, want 0", code)
	}
}
