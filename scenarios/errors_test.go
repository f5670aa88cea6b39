package scenarios

import (
	"fmt"
	"strings"
	"testing"
)

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "scenario.yaml", Line: 14, Field: "phases[1].rate", Msg: `"fast" is not a rate; write 100/s or 6000/m`},
			`scenario.yaml:14: phases[1].rate: "fast" is not a rate; write 100/s or 6000/m`},
		{Error{File: "scenario.yaml", Msg: "the file is empty"}, "scenario.yaml: the file is empty"},
		{Error{File: "s.yaml", Line: 2, Msg: "invalid YAML"}, "s.yaml:2: invalid YAML"},
		{Error{Msg: "no catalog scenario"}, "no catalog scenario"},
		{Error{Line: 3, Field: "name", Msg: "bad"}, "line 3: name: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLongValuesCut writes a 2 MB value into each field whose errors
// quote it, and checks that the message quotes only its start, with its
// length, and still names the line and the field.
func TestLongValuesCut(t *testing.T) {
	long := strings.Repeat("x", 2<<20)
	tests := []struct {
		name  string
		src   string // %[1]s is the long value, %[2]s one of 900 bytes (yaml.v3 takes no longer keys)
		field string
	}{
		{"rate", onePhase("    duration: 1s\n    rate: %[1]s\n"), "phases[0].rate"},
		{"duration", onePhase("    duration: %[1]s\n    rate: 1/s\n"), "phases[0].duration"},
		{"bare number duration", onePhase("    duration: 1%[1]s\n    rate: 1/s\n"), "phases[0].duration"},
		{"method", "name: demo\nrequests: [{method: %[1]s, path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n", "requests[0].method"},
		{"path", "name: demo\nrequests: [{path: %[1]s}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n", "requests[0].path"},
		{"header name", "name: demo\nrequests: [{path: /, headers: {\"%[2]s \": v}}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n", "requests[0].headers"},
		{"gateway", withSection("target: {gateway: %[1]s}\n"), "target.gateway"},
		{"proxy listen", withSection("proxy: {listen: %[1]s}\n"), "proxy.listen"},
		{"upstream url", withSection("upstream: {url: \"http://%[1]s.example:80\"}\n"), "upstream.url"},
		{"fault kind", inPhase("      - kind: %[1]s\n"), "phases[0].faults[0].kind"},
		{"status code", inPhase("      - kind: status\n        code: %[1]s\n"), "phases[0].faults[0].code"},
		{"seed", withSection("seed: 1.%[1]s\n"), "seed"},
		{"unknown field", withSection("%[2]s: 1\n"), "%[2]s"},
		{"retry policy", withSection("client: {retry: {policy: %[1]s}}\n"), "client.retry.policy"},
		{"retry backoff", withSection("client: {retry: {max_attempts: 2, backoff: %[1]s}}\n"), "client.retry.backoff"},
		{"retry jitter", withSection("client: {retry: {policy: exponential, jitter: %[1]s}}\n"), "client.retry.jitter"},
		{"retry_on item", withSection("client: {retry: {policy: naive, retry_on: [%[1]s]}}\n"), "client.retry.retry_on[0]"},
		{"retry_on digits", withSection("client: {retry: {policy: naive, retry_on: [\"5%[1]s\"]}}\n"), "client.retry.retry_on[0]"},
		{"retry deadline", withSection("client: {retry: {policy: naive, deadline: %[1]s}}\n"), "client.retry.deadline"},
		{"stream stall", withSection("client: {stream: {stall: %[1]s}}\n"), "client.stream.stall"},
		{"whole file", "%[1]s\n", ""},
		{"expectation", withSection("expect: [\"rate(status=502) < %[2]s\"]\n"), "expect[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("scenario.yaml", []byte(fmt.Sprintf(tt.src, long, long[:900])))
			if err == nil {
				t.Fatal("got no error, want one")
			}
			msg := err.Error()
			if len(msg) > 1000 {
				t.Fatalf("got a message of %d bytes, want under 1000: %.300s...", len(msg), msg)
			}
			if !strings.Contains(msg, `xxx…"`) || !strings.Contains(msg, "bytes)") {
				t.Errorf("got %q, want the value cut with … and its length", msg)
			}
			if tt.field != "" && !strings.HasPrefix(tt.field, "%") && !strings.Contains(msg, "scenario.yaml:") {
				t.Errorf("got %q, want the file and line", msg)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"short", `"short"`},
		{strings.Repeat("a", 40), `"` + strings.Repeat("a", 40) + `"`},
		{strings.Repeat("a", 41), `"` + strings.Repeat("a", 40) + `…" (41 bytes)`},
		// The cut falls before a character that would be split.
		{strings.Repeat("a", 39) + "é" + "zz", `"` + strings.Repeat("a", 39) + `…" (43 bytes)`},
		{"line\nbreak", `"line\nbreak"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Quote(tt.in); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
