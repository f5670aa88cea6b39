package scenarios

import (
	"fmt"
	"strings"
	"testing"
)

// TestDecodePhaseErrors checks the requests and the phases: names,
// durations and rates.
func TestDecodePhaseErrors(t *testing.T) {
	checkDecodeErrors(t, []decodeErrorTest{
		{"rate fast", onePhase("    duration: 1s\n    rate: fast\n"),
			[]want{{6, "phases[0].rate", `"fast" is not a rate; write 100/s or 6000/m`}}},
		{"rate without unit", `name: demo
requests: [{path: /}]
phases:
  - {name: a, duration: 1s, rate: 10/s}
  - {name: b, duration: 1s, rate: 100}
`,
			[]want{{5, "phases[1].rate", "write 100/s for per second"}}},
		{"ramp_to not a rate", onePhase("    duration: 1s\n    rate: 1/s\n    ramp_to: 10/h\n"),
			[]want{{7, "phases[0].ramp_to", "write 100/s or 6000/m"}}},
		{"duration in words", onePhase("    duration: 3 seconds\n    rate: 1/s\n"),
			[]want{{5, "phases[0].duration", `"3 seconds" is not a duration; write a Go duration such as 150ms, 3s or 1m30s`}}},
		{"duration bare number", onePhase("    duration: 150\n    rate: 1/s\n"),
			[]want{{5, "phases[0].duration", "write 150ms"}}},
		{"duration zero", `name: demo
requests: [{path: /}]
phases: [{name: a, duration: 0s, rate: 1/s}]
`,
			[]want{{3, "phases[0].duration", "duration must be more than 0"}}},
		{"rate zero", `name: demo
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 0/s}]
`,
			[]want{{3, "phases[0].rate", "rate must be more than 0"}}},
		{"too many phases", manyPhases(MaxPhases + 1),
			[]want{{3, "phases", "1001 phases, more than 1000: every phase is a section of each report, which would grow with them; merge neighbouring phases, or write one with ramp_to for a rate that climbs"}}},
		{"no phases", `name: demo
requests: [{path: /}]
`,
			[]want{{1, "phases", "no phases: add at least one, e.g. - {name: baseline, duration: 5s, rate: 50/s}"}}},
		{"empty phases", `name: demo
requests: [{path: /}]
phases: []
`,
			[]want{{3, "phases", "no phases: add at least one"}}},
		{"no requests", `name: demo
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			[]want{{1, "requests", "no requests: add at least one, such as requests: [{method: GET, path: /}]"}}},
		{"request path and method", `name: demo
requests:
  - {path: /ok}
  - method: get
    path: v1/items
    headers: {"Bad Name": x}
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			[]want{
				{4, "requests[1].method", `method "get" must be upper case; write GET`},
				{5, "requests[1].path", `path "v1/items" must start with /; write /v1/items`},
				{6, "requests[1].headers.Bad Name", "is not a header name"},
			}},
		{"duplicate phase names", `name: demo
requests: [{path: /}]
phases:
  - {name: a, duration: 1s, rate: 1/s}
  - {name: b, duration: 1s, rate: 1/s}
  - {name: a, duration: 1s, rate: 1/s}
`,
			[]want{{6, "phases[2].name", `phase name "a" is already used by phases[0] on line 4; give each phase its own name`}}},
		{"phases too long", `name: demo
requests: [{path: /}]
phases:
  - {name: a, duration: 2000000h, rate: 1/s}
  - {name: b, duration: 2000000h, rate: 1/s}
`,
			[]want{{3, "phases", "the phases add up to more than 24h; shorten them"}}},
		{"header value with a line break", `name: demo
requests:
  - path: /
    headers: {X-A: "a\nb"}
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			[]want{{4, "requests[0].headers.X-A", "holds a line break or control character; remove it"}}},
	})
}

// manyPhases returns a scenario of n phases of 10ms each.
func manyPhases(n int) string {
	var b strings.Builder
	b.WriteString("name: demo\nrequests: [{path: /}]\nphases:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {name: p%d, duration: 10ms, rate: 100/s}\n", i)
	}
	return b.String()
}

// TestMaxPhases checks that a scenario of MaxPhases phases is accepted.
func TestMaxPhases(t *testing.T) {
	s, err := Decode("scenario.yaml", []byte(manyPhases(MaxPhases)))
	if err != nil {
		t.Fatalf("got %v, want %d phases accepted", err, MaxPhases)
	}
	if len(s.Phases) != MaxPhases {
		t.Errorf("got %d phases, want %d", len(s.Phases), MaxPhases)
	}
}
