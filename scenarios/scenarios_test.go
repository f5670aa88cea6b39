package scenarios

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// problems returns the *Error values in err, joined or not.
func problems(t *testing.T, err error) []*Error {
	t.Helper()
	var all []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		all = j.Unwrap()
	} else {
		all = []error{err}
	}
	var out []*Error
	for _, e := range all {
		var se *Error
		if !errors.As(e, &se) {
			t.Fatalf("got error %T %q, want a *scenarios.Error", e, e)
		}
		out = append(out, se)
	}
	return out
}

// want is one problem a broken file must report.
type want struct {
	line  int
	field string
	fix   string // a substring of the message
}

// decodeErrorTest is a broken scenario and the problems it must report.
type decodeErrorTest struct {
	name string
	src  string
	want []want
}

func TestDecodeErrors(t *testing.T) {
	tests := []decodeErrorTest{
		{
			name: "unknown top-level key",
			src: `name: demo
bogus: 1
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{2, "bogus", `unknown field "bogus"; known fields here: name, description, seed, target, upstream, requests, proxy, phases`}},
		},
		{
			name: "unknown key in a phase",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    duraton: 2s
`,
			want: []want{{7, "phases[0].duraton", `unknown field "duraton" (did you mean duration?); known fields here: name, duration, rate, ramp_to, faults`}},
		},
		{
			name: "unknown key in a flow mapping",
			src: `name: demo
requests: [{path: /}]
phases:
  - {name: a, duration: 1s, rate: 1/s}
  - {name: b, duration: 1s, rate: 1/s, bogus: 1}
`,
			want: []want{{5, "phases[1].bogus", `unknown field "bogus"; known fields here: name, duration, rate, ramp_to, faults`}},
		},
		{
			name: "unknown key in a fault",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    faults:
      - kind: reset
        propability: 0.1
`,
			want: []want{{9, "phases[0].faults[0].propability", "(did you mean probability?)"}},
		},
		{
			name: "rate fast",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: fast
`,
			want: []want{{6, "phases[0].rate", `"fast" is not a rate; write 100/s or 6000/m`}},
		},
		{
			name: "rate without unit",
			src: `name: demo
requests: [{path: /}]
phases:
  - {name: a, duration: 1s, rate: 10/s}
  - {name: b, duration: 1s, rate: 100}
`,
			want: []want{{5, "phases[1].rate", "write 100/s for per second"}},
		},
		{
			name: "ramp_to not a rate",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    ramp_to: 10/h
`,
			want: []want{{7, "phases[0].ramp_to", "write 100/s or 6000/m"}},
		},
		{
			name: "duration in words",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 3 seconds
    rate: 1/s
`,
			want: []want{{5, "phases[0].duration", `"3 seconds" is not a duration; write a Go duration such as 150ms, 3s or 1m30s`}},
		},
		{
			name: "duration bare number",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 150
    rate: 1/s
`,
			want: []want{{5, "phases[0].duration", "write 150ms"}},
		},
		{
			name: "duration negative",
			src: `name: demo
target: {timeout: -1s}
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{2, "target.timeout", "is negative; write a duration of 0s or more"}},
		},
		{
			name: "duration zero",
			src: `name: demo
requests: [{path: /}]
phases: [{name: a, duration: 0s, rate: 1/s}]
`,
			want: []want{{3, "phases[0].duration", "duration must be more than 0"}},
		},
		{
			name: "rate zero",
			src: `name: demo
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 0/s}]
`,
			want: []want{{3, "phases[0].rate", "rate must be more than 0"}},
		},
		{
			name: "unknown fault kind",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    faults:
      - {kind: latency, delay: 10ms}
      - {kind: rst}
`,
			want: []want{{9, "phases[0].faults[1].kind", `unknown fault kind "rst"; write one of latency, slow-body, slow-headers, hang, reset, close, status, malformed, refuse, blackhole, keepalive, overload, sse-cut, sse-stall`}},
		},
		{
			name: "missing fault kind",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    faults:
      - probability: 0.5
`,
			want: []want{{8, "phases[0].faults[0].kind", "kind is required; write one of latency, slow-body, slow-headers, hang, reset, close, status"}},
		},
		{
			name: "probability above 1",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    faults:
      - kind: reset
        probability: 1.5
`,
			want: []want{{9, "phases[0].faults[0].probability", "must be between 0 and 1, e.g. 0.1 for one request in ten"}},
		},
		{
			name: "probability not a number",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    faults:
      - kind: reset
        probability: 10%
`,
			want: []want{{9, "phases[0].faults[0].probability", `"10%" is not a number; write a number between 0 and 1`}},
		},
		{
			name: "field not of the kind",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    faults:
      - kind: reset
        code: 503
`,
			want: []want{{9, "phases[0].faults[0].code", "code does not apply to a reset fault; remove it (a reset fault takes at"}},
		},
		{
			name: "latency without delay",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    faults:
      - kind: latency
`,
			want: []want{{8, "phases[0].faults[0].delay", "a latency fault needs delay or distribution; write one such as delay: 100ms"}},
		},
		{
			name: "jitter above delay",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    faults:
      - {kind: latency, delay: 10ms,
         jitter: 20ms}
`,
			want: []want{{9, "phases[0].faults[0].jitter", "write a jitter of 10ms or less"}},
		},
		{
			name: "reset at unknown point",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    faults: [{kind: reset, at: mid-bdy}]
`,
			want: []want{{7, "phases[0].faults[0].at", `unknown point "mid-bdy"; did you mean mid-body? write at: connect, before-headers, after-headers or mid-body`}},
		},
		{
			name: "status code out of range",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    faults:
      - kind: status
        code: 999
`,
			want: []want{{9, "phases[0].faults[0].code", "write 100 to 599"}},
		},
		{
			name: "status code not a number",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    faults:
      - kind: status
        code: bad gateway
`,
			want: []want{{9, "phases[0].faults[0].code", `"bad gateway" is not a whole number; write one such as code: 503`}},
		},
		{
			name: "malformed variant",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    faults:
      - {kind: malformed, variant: garbge}
`,
			want: []want{{8, "phases[0].faults[0].variant", `unknown variant "garbge"; did you mean garbage? write variant: status-line, header, oversized-headers, length-mismatch, bad-chunked or garbage`}},
		},
		{
			name: "match path prefix",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: 1/s
    faults:
      - kind: hang
        match:
          method: post
          path_prefix: v1
`,
			want: []want{
				{10, "phases[0].faults[0].match.method", "write POST"},
				{11, "phases[0].faults[0].match.path_prefix", "must start with /; write /v1"},
			},
		},
		{
			name: "no phases",
			src: `name: demo
requests: [{path: /}]
`,
			want: []want{{1, "phases", "no phases: add at least one, e.g. - {name: baseline, duration: 5s, rate: 50/s}"}},
		},
		{
			name: "empty phases",
			src: `name: demo
requests: [{path: /}]
phases: []
`,
			want: []want{{3, "phases", "no phases: add at least one"}},
		},
		{
			name: "no requests",
			src: `name: demo
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{1, "requests", "no requests: add at least one, such as requests: [{method: GET, path: /}]"}},
		},
		{
			name: "request path and method",
			src: `name: demo
requests:
  - {path: /ok}
  - method: get
    path: v1/items
    headers: {"Bad Name": x}
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{
				{4, "requests[1].method", `method "get" must be upper case; write GET`},
				{5, "requests[1].path", `path "v1/items" must start with /; write /v1/items`},
				{6, "requests[1].headers.Bad Name", "is not a header name"},
			},
		},
		{
			name: "missing name",
			src: `requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{1, "name", "name is required; add a line such as name: my-scenario"}},
		},
		{
			name: "name not a folder name",
			src: `name: my scenario/1
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{1, "name", "write one such as my-scenario-1"}},
		},
		{
			name: "empty file",
			src:  "",
			want: []want{{0, "", "the file is empty; start from a ready scenario: gatecrash list"}},
		},
		{
			name: "only comments",
			src: `# a scenario
# to be written
`,
			want: []want{{0, "", "the file is empty"}},
		},
		{
			name: "only a document marker",
			src:  "---\n",
			want: []want{{0, "", "the file is empty"}},
		},
		{
			name: "a list instead of a mapping",
			src: `- name: demo
`,
			want: []want{{1, "", "the file holds a list, not a scenario"}},
		},
		{
			name: "yaml syntax error",
			src: `name: demo
description: resets: one in ten
requests: [{path: /}]
`,
			want: []want{{2, "", `invalid YAML: mapping values are not allowed in this context; a value holds ": "; put it in quotes`}},
		},
		{
			name: "yaml syntax error on the first line",
			src: `name: a: b
`,
			want: []want{{1, "", "invalid YAML: mapping values are not allowed"}},
		},
		{
			name: "yaml bad indentation",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
   rate: 1/s
`,
			want: []want{{6, "", "check the indentation"}},
		},
		{
			name: "tab indentation",
			src:  "name: demo\nrequests:\n\t- {path: /}\n",
			want: []want{{3, "", "indent with spaces, not tabs"}},
		},
		{
			name: "unclosed flow list",
			src: `name: demo
requests: [{path: /}
phases: []
`,
			want: []want{{2, "", "invalid YAML: did not find expected ',' or ']'; close the list with ]"}},
		},
		{
			name: "duplicate phase names",
			src: `name: demo
requests: [{path: /}]
phases:
  - {name: a, duration: 1s, rate: 1/s}
  - {name: b, duration: 1s, rate: 1/s}
  - {name: a, duration: 1s, rate: 1/s}
`,
			want: []want{{6, "phases[2].name", `phase name "a" is already used by phases[0] on line 4; give each phase its own name`}},
		},
		{
			name: "duplicate key",
			src: `name: demo
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
name: again
`,
			want: []want{{4, "name", "name is written twice, first on line 1; keep one"}},
		},
		{
			name: "gateway none without url",
			src: `name: demo
target:
  gateway: none
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{2, "target.url", "gateway: none needs url, the address of the gateway you run; add one such as url: http://127.0.0.1:8080"}},
		},
		{
			name: "url with builtin gateway",
			src: `name: demo
target:
  url: http://127.0.0.1:8080
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{3, "target.url", "url applies only to gateway: none"}},
		},
		{
			name: "non-loopback url",
			src: `name: demo
target:
  gateway: none
  url: http://example.com:8080
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{4, "target.url", "is not a loopback address; gatecrash sends traffic only to 127.0.0.1, ::1 or localhost"}},
		},
		{
			name: "https url",
			src: `name: demo
upstream:
  url: https://127.0.0.1:9000
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{3, "upstream.url", "must start with http://"}},
		},
		{
			name: "misspelt managed gateway",
			src: `name: demo
target: {gateway: ngnix}
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{2, "target.gateway", `unknown gateway "ngnix"; did you mean nginx? use builtin (gatecrash's own), nginx, haproxy or caddy (gatecrash starts the one installed), or none with url`}},
		},
		{
			name: "unknown gateway",
			src: `name: demo
target: {gateway: buitlin}
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{2, "target.gateway", "did you mean builtin? use builtin (gatecrash's own), nginx, haproxy or caddy"}},
		},
		{
			name: "gateway envoy is not managed",
			src: `name: demo
target: {gateway: envoy}
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{2, "target.gateway", `unknown gateway "envoy"; use builtin (gatecrash's own), nginx, haproxy or caddy (gatecrash starts the one installed), or none with url (a gateway you run)`}},
		},
		{
			name: "url with a managed gateway",
			src: `name: demo
target:
  gateway: haproxy
  url: http://127.0.0.1:8080
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{4, "target.url", "url applies only to gateway: none; remove it, or set gateway: none to attack a gateway you run yourself (gateway haproxy is started by gatecrash)"}},
		},
		{
			name: "config with the built-in gateway",
			src: `name: demo
target:
  config: nginx.conf.tmpl
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{3, "target.config", "config applies only to gateway: nginx, haproxy or caddy (a template gatecrash renders and starts that gateway with); remove it, or set gateway to the one your template is for (gateway is builtin)"}},
		},
		{
			name: "config with gateway none",
			src: `name: demo
target:
  gateway: none
  url: http://127.0.0.1:8080
  config: nginx.conf.tmpl
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{5, "target.config", "config applies only to gateway: nginx, haproxy or caddy"}},
		},
		{
			name: "config empty",
			src: `name: demo
target:
  gateway: caddy
  config: ""
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{4, "target.config", "config is empty; write the path of your template, relative to this file, such as config: nginx.conf.tmpl, or leave config out for gatecrash's own"}},
		},
		{
			name: "config null",
			src: `name: demo
target:
  gateway: nginx
  config:
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{4, "target.config", "config is empty; write the path of your template"}},
		},
		{
			name: "config with a line break",
			src: `name: demo
target:
  gateway: nginx
  config: "a\nb.conf"
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{4, "target.config", `config "a\nb.conf" holds a line break or control character`}},
		},
		{
			name: "config a list",
			src: `name: demo
target:
  gateway: nginx
  config: [a.conf]
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{4, "target.config", "a list is not a single value; write one value"}},
		},
		{
			name: "connect timeout zero",
			src: `name: demo
target:
  gateway: nginx
  connect_timeout: 0s
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{4, "target.connect_timeout", "connect_timeout must be more than 0; write one such as 1s, or leave it out for 1s"}},
		},
		{
			name: "connect timeout not a duration",
			src: `name: demo
target:
  gateway: haproxy
  connect_timeout: 1 second
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{4, "target.connect_timeout", `"1 second" is not a duration`}},
		},
		{
			name: "connect timeout misspelt",
			src: `name: demo
target:
  gateway: haproxy
  connect_timout: 1s
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{4, "target.connect_timout", `unknown field "connect_timout" (did you mean connect_timeout?)`}},
		},
		{
			name: "upstream builtin and url",
			src: `name: demo
upstream:
  builtin: {}
  url: http://127.0.0.1:9000
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{4, "upstream.url", "upstream sets both builtin and url; keep builtin"}},
		},
		{
			name: "body too large",
			src: `name: demo
upstream:
  builtin:
    body_bytes: 20000000
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{4, "upstream.builtin.body_bytes", "write 0 to 10485760 (10 MiB)"}},
		},
		{
			name: "phases not a list",
			src: `name: demo
requests: [{path: /}]
phases: 3
`,
			want: []want{{3, "phases", `"3" is not a list of phases; write one such as [{name: baseline`}},
		},
		{
			name: "phases a list of lists",
			src: `name: demo
requests: [{path: /}]
phases: &p [*p]
`,
			want: []want{{3, "phases[0]", "a list is not a mapping; write a mapping with the fields name, duration, rate, ramp_to, faults"}},
		},
		{
			name: "phases too long",
			src: `name: demo
requests: [{path: /}]
phases:
  - {name: a, duration: 2000000h, rate: 1/s}
  - {name: b, duration: 2000000h, rate: 1/s}
`,
			want: []want{{3, "phases", "the phases add up to more than 24h; shorten them"}},
		},
		{
			name: "header value with a line break",
			src: `name: demo
requests:
  - path: /
    headers: {X-A: "a\nb"}
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			want: []want{{4, "requests[0].headers.X-A", "holds a line break or control character; remove it"}},
		},
		{
			name: "anchor that contains itself",
			src: `name: demo
requests: [{path: /}]
phases:
  - &p {name: a, duration: 1s, rate: 1/s, <<: *p}
`,
			want: []want{{0, "", "anchor 'p' value contains itself; write the values out"}},
		},
		{
			name: "second document",
			src: `name: demo
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
---
name: other
`,
			want: []want{{4, "", "a second YAML document starts here"}},
		},
		{
			name: "three mistakes",
			src: `name: demo
requests: [{path: /}]
phases:
  - name: a
    duration: 1s
    rate: fast
    faults:
      - {kind: reset, colour: red}
      - {kind: status, code: 503, probability: 2}
`,
			want: []want{
				{6, "phases[0].rate", `"fast" is not a rate`},
				{8, "phases[0].faults[0].colour", `unknown field "colour"`},
				{9, "phases[0].faults[1].probability", "must be between 0 and 1"},
			},
		},
	}
	tests = append(tests, faultErrorTests...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode("scenario.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("got scenario %+v and no error, want %d problems", s, len(tt.want))
			}
			if s != nil {
				t.Errorf("got scenario %+v with the error, want nil", s)
			}
			got := problems(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.File != "scenario.yaml" {
					t.Errorf("problem %d: got file %q, want scenario.yaml", i, g.File)
				}
				if g.Line != w.line {
					t.Errorf("problem %d: got line %d, want %d (%v)", i, g.Line, w.line, g)
				}
				if g.Field != w.field {
					t.Errorf("problem %d: got field %q, want %q (%v)", i, g.Field, w.field, g)
				}
				if !strings.Contains(g.Msg, w.fix) {
					t.Errorf("problem %d: got message %q, want it to contain %q", i, g.Msg, w.fix)
				}
			}
		})
	}
}

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

func TestDecodeDefaults(t *testing.T) {
	src := `name: demo
requests:
  - path: /v1/items
phases:
  - name: a
    duration: 2s
    rate: 50/s
    faults:
      - kind: reset
      - kind: malformed
      - {kind: latency, delay: 10ms, probability: 0.25}
`
	s, err := Decode("demo.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"file", s.File, "demo.yaml"},
		{"gateway", s.Target.Gateway, GatewayBuiltin},
		{"timeout", s.Target.Timeout.D(), 10 * time.Second},
		{"upstream timeout", s.Target.UpstreamTimeout.D(), 5 * time.Second},
		{"connect timeout", s.Target.ConnectTimeout.D(), time.Second},
		{"config", s.Target.Config, ""},
		{"config path", s.ConfigPath(), ""},
		{"upstream builtin", s.Upstream.Builtin != nil, true},
		{"body bytes", s.Upstream.Builtin.BodyBytes, 512},
		{"method", s.Requests[0].Method, "GET"},
		{"reset at", s.Phases[0].Faults[0].At, AtBeforeHeaders},
		{"reset probability", s.Phases[0].Faults[0].P(), 1.0},
		{"reset probability pointer", s.Phases[0].Faults[0].Probability == nil, true},
		{"malformed variant", s.Phases[0].Faults[1].Variant, MalformedStatusLine},
		{"latency probability", s.Phases[0].Faults[2].P(), 0.25},
		{"latency delay", s.Phases[0].Faults[2].Delay.D(), 10 * time.Millisecond},
		{"fault lines", []int{s.Phases[0].Faults[0].Line, s.Phases[0].Faults[1].Line, s.Phases[0].Faults[2].Line}, []int{9, 10, 11}},
		{"rate", s.Phases[0].Rate, Rate{Freq: 50, Per: time.Second}},
		{"ramp", s.Phases[0].RampTo == nil, true},
		{"seed", s.Seed == nil, true},
		{"duration", s.Duration(), 2 * time.Second},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
}

func TestDecodeKeepsSetValues(t *testing.T) {
	src := `name: demo
seed: 3
target:
  gateway: none
  url: http://localhost:8080
  timeout: 2s
  upstream_timeout: 1s
upstream:
  url: http://[::1]:9000
requests:
  - {method: POST, path: /v1/chat, body: '{"q": 1}', headers: {Content-Type: application/json}}
phases:
  - {name: a, duration: 1m30s, rate: 6000/m, ramp_to: 0/s}
  - name: b
    duration: 1s
    rate: 1/s
    faults:
      - {kind: status, code: 503, body: busy, headers: {Retry-After: "1"}, match: {method: POST, header: {X-Test: "1"}}}
      - {kind: hang, for: 2s, probability: 0}
`
	s, err := Decode("demo.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	seven := uint64(3)
	checks := []struct {
		name      string
		got, want any
	}{
		{"seed", s.Seed, &seven},
		{"gateway", s.Target.Gateway, GatewayNone},
		{"timeout", s.Target.Timeout.D(), 2 * time.Second},
		{"upstream timeout", s.Target.UpstreamTimeout.D(), time.Second},
		{"upstream builtin", s.Upstream.Builtin == nil, true},
		{"upstream url", s.Upstream.URL, "http://[::1]:9000"},
		{"method", s.Requests[0].Method, "POST"},
		{"rate", s.Phases[0].Rate, Rate{Freq: 6000, Per: time.Minute}},
		{"ramp", s.Phases[0].RampTo, &Rate{Freq: 0, Per: time.Second}},
		{"status", s.Phases[1].Faults[0].Code, 503},
		{"hang for", s.Phases[1].Faults[1].For.D(), 2 * time.Second},
		{"probability 0", s.Phases[1].Faults[1].P(), 0.0},
		{"duration", s.Duration(), 91 * time.Second},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
}

func TestBodyBytesZero(t *testing.T) {
	src := `name: demo
upstream: {builtin: {body_bytes: 0}}
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`
	s, err := Decode("demo.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Upstream.Builtin.BodyBytes; got != 0 {
		t.Errorf("got body_bytes %d, want 0 as written", got)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"150ms", 150 * time.Millisecond, ""},
		{"3s", 3 * time.Second, ""},
		{"1m30s", 90 * time.Second, ""},
		{"0s", 0, ""},
		{"150", 0, "write 150ms"},
		{"1.5", 0, "write 1.5ms"},
		{"-1s", 0, "negative"},
		{"-5", 0, "negative"},
		{"3 seconds", 0, "is not a duration"},
		{"", 0, "is not a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.D() != tt.want {
				t.Errorf("got %v, want %v", got.D(), tt.want)
			}
			if s := got.String(); s != tt.want.String() {
				t.Errorf("got string %q, want %q", s, tt.want.String())
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    Rate
		str     string
		wantErr string
	}{
		{"100/s", Rate{100, time.Second}, "100/s", ""},
		{"6000/m", Rate{6000, time.Minute}, "6000/m", ""},
		{"0/s", Rate{0, time.Second}, "0/s", ""},
		{"100", Rate{}, "", "write 100/s for per second"},
		{"fast", Rate{}, "", `"fast" is not a rate; write 100/s or 6000/m`},
		{"100/h", Rate{}, "", "is not a rate"},
		{"-1/s", Rate{}, "", "is not a rate"},
		{"+1/s", Rate{}, "", "is not a rate"},
		{"1/1s", Rate{}, "", "is not a rate"},
		{"99999999999999999999/s", Rate{}, "", "is not a rate"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("got string %q, want %q", s, tt.str)
			}
		})
	}
}

func TestUnitsYAML(t *testing.T) {
	type units struct {
		D Duration `yaml:"d"`
		R Rate     `yaml:"r"`
	}
	in := units{D: Duration(1500 * time.Millisecond), R: Rate{6000, time.Minute}}
	out, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := "d: 1.5s\nr: 6000/m\n"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
	var back units
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if back != in {
		t.Errorf("got %+v, want %+v", back, in)
	}
	err = yaml.Unmarshal([]byte("d: 3 seconds\nr: fast\n"), &back)
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) != 2 {
		t.Fatalf("got %v, want a *yaml.TypeError with 2 problems", err)
	}
	if want := `line 1: "3 seconds" is not a duration`; !strings.HasPrefix(te.Errors[0], want) {
		t.Errorf("got %q, want it to start with %q", te.Errors[0], want)
	}
}

// TestRoundTrip checks that a decoded scenario, written back as YAML,
// decodes to the same scenario.
func TestRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/valid-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range Catalog() {
		files = append(files, "catalog/"+e.Name+".yaml")
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			first, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			out, err := yaml.Marshal(first)
			if err != nil {
				t.Fatal(err)
			}
			second, err := Decode(file, out)
			if err != nil {
				t.Fatalf("decoding the written scenario: %v\n%s", err, out)
			}
			clearLines(first)
			clearLines(second)
			if !reflect.DeepEqual(first, second) {
				t.Errorf("got %+v, want %+v\n%s", second, first, out)
			}
		})
	}
}

func clearLines(s *Scenario) {
	for i := range s.Phases {
		for j := range s.Phases[i].Faults {
			s.Phases[i].Faults[j].Line = 0
		}
	}
}

func TestTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("got no files in testdata, want some")
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			_, err := Load(file)
			valid := strings.HasPrefix(filepath.Base(file), "valid-")
			switch {
			case valid && err != nil:
				t.Errorf("got %v, want no error", err)
			case !valid && err == nil:
				t.Errorf("got no error, want one")
			case !valid:
				for _, p := range problems(t, err) {
					if p.File != file || p.Msg == "" {
						t.Errorf("got %#v, want file %s and a message", p, file)
					}
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a *scenarios.Error", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want it to wrap fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), "missing.yaml: cannot read the scenario: no such file or directory; check the path") {
		t.Errorf("got %q, want the path and the cause", err)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mine.yaml")
	src := "name: mine\nrequests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		arg      string
		wantName string
		wantErr  string
	}{
		{"upstream-resets", "upstream-resets", ""},
		{"malformed-upstream", "malformed-upstream", ""},
		{file, "mine", ""},
		{"upstream-reset", "", `"upstream-reset" is neither a catalog scenario nor a file; did you mean upstream-resets?`},
		{filepath.Join(dir, "nope.yaml"), "", "cannot read the scenario"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			s, err := Resolve(tt.arg)
			if tt.wantErr != "" {
				var se *Error
				if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want a *scenarios.Error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != tt.wantName {
				t.Errorf("got name %q, want %q", s.Name, tt.wantName)
			}
		})
	}
}

// TestLoadConfig checks what Load, unlike Decode, checks of target.config:
// the template it names can be read, relative to the scenario file, and
// renders with the placeholders.
func TestLoadConfig(t *testing.T) {
	const good = "listen {{.Listen}};\nserver {{.UpstreamHost}}:{{.UpstreamPort}};\n"
	tests := []struct {
		name     string
		config   string // the value of target.config; DIR is the scenario's folder
		file     string // the template's path under DIR; "" writes none
		template string
		want     string // a substring of the problem at line 4, target.config; "" wants none
	}{
		{name: "next to the scenario", config: "gw.tmpl", file: "gw.tmpl", template: good},
		{name: "in a subfolder", config: "gateways/gw.tmpl", file: "gateways/gw.tmpl", template: good},
		{name: "absolute", config: "DIR/gw.tmpl", file: "gw.tmpl", template: good},
		{name: "every placeholder", config: "gw.tmpl", file: "gw.tmpl",
			template: "{{.Listen}} {{.ListenHost}} {{.ListenPort}} {{.Upstream}} {{.UpstreamHost}} {{.UpstreamPort}} {{.ConnectTimeoutMS}} {{.ReadTimeoutMS}} {{.Dir}} {{.AccessLog}} {{.ErrorLog}}"},
		{name: "missing", config: "nope.tmpl",
			want: "cannot read the nginx template DIR/nope.tmpl: no such file or directory; check the path, which is relative to the scenario file, or leave config out for gatecrash's own template"},
		{name: "a folder", config: "gateways", file: "gateways/gw.tmpl", template: good,
			want: "cannot read the nginx template DIR/gateways: not a regular file"},
		{name: "does not parse", config: "gw.tmpl", file: "gw.tmpl", template: "listen {{.Listen}};\nserver {{.Upstream};\n",
			want: `the nginx template does not render: DIR/gw.tmpl:2: bad character U+007D '}'; fix it: it is a Go text/template whose placeholders are {{.AccessLog}}, {{.ConnectTimeoutMS}}, {{.Dir}}`},
		{name: "unknown placeholder", config: "gw.tmpl", file: "gw.tmpl", template: "listen {{.Lisen}};\nserver {{.Upstream}};\n",
			want: `the nginx template does not render: DIR/gw.tmpl:1:9: executing "DIR/gw.tmpl" at <.Lisen>: map has no entry for key "Lisen"`},
		{name: "no listen address", config: "gw.tmpl", file: "gw.tmpl", template: "listen 8080;\nserver {{.Upstream}};\n",
			want: "the nginx template never uses {{.Listen}} or {{.ListenPort}}, so the gateway would not listen where gatecrash sends the attack"},
		{name: "no upstream", config: "gw.tmpl", file: "gw.tmpl", template: "listen {{.Listen}};\nserver 127.0.0.1:9000;\n",
			want: "the nginx template never uses {{.Upstream}} or {{.UpstreamPort}}, so the gateway would not forward through the fault proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.file != "" {
				path := filepath.Join(dir, tt.file)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tt.template), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			config := strings.ReplaceAll(tt.config, "DIR", dir)
			src := "name: demo\ntarget:\n  gateway: nginx\n  config: " + config + "\nrequests: [{path: /}]\nphases: [{name: a, duration: 1s, rate: 1/s}]\n"
			file := filepath.Join(dir, "scenario.yaml")
			if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}

			// Decode checks the form only.
			if _, err := Decode(file, []byte(src)); err != nil {
				t.Errorf("Decode: got %v, want no error", err)
			}
			s, err := Load(file)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Load: got %v, want no error", err)
				}
				want := filepath.Join(dir, tt.file)
				if got := s.ConfigPath(); got != want {
					t.Errorf("ConfigPath: got %q, want %q", got, want)
				}
				if s.Target.Config != config {
					t.Errorf("config: got %q, want %q as written", s.Target.Config, config)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load: got no error, want one saying %q", tt.want)
			}
			got := problems(t, err)
			if len(got) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(got), err)
			}
			want := strings.ReplaceAll(tt.want, "DIR", dir)
			if g := got[0]; g.File != file || g.Line != 4 || g.Field != "target.config" || !strings.Contains(g.Msg, want) {
				t.Errorf("got %q at %s:%d %s, want %q at %s:4 target.config", g.Msg, g.File, g.Line, g.Field, want, file)
			}
		})
	}
}

func TestTemplatePlaceholders(t *testing.T) {
	want := []string{"AccessLog", "ConnectTimeoutMS", "Dir", "ErrorLog", "Listen", "ListenHost", "ListenPort", "ReadTimeoutMS", "Upstream", "UpstreamHost", "UpstreamPort"}
	if got := TemplatePlaceholders(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
