package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeFaultSet(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want FaultSet
	}{
		{"empty file", "", FaultSet{Mode: ModeHTTP, Faults: []Fault{}}},
		{"only comments", "# no faults yet\n", FaultSet{Mode: ModeHTTP, Faults: []Fault{}}},
		{"mode only", "mode: tcp\n", FaultSet{Mode: ModeTCP, Faults: []Fault{}}},
		{"http", `faults:
  - {kind: reset, probability: 0.1}
  - kind: overload
    max_inflight: 2
    queue: 3
`, FaultSet{Mode: ModeHTTP, Faults: []Fault{
			{Kind: KindReset, Probability: ptr(0.1), At: AtBeforeHeaders, Line: 2},
			{Kind: KindOverload, MaxInflight: 2, Queue: 3, QueueTimeout: Duration(time.Second), Reject: "503", Line: 3},
		}}},
		{"tcp", `mode: tcp
faults:
  - {kind: latency, distribution: {type: normal, p50: 5ms, p99: 9ms}}
  - {kind: slow-body, bytes_per_second: 100}
  - {kind: reset, at: connect, probability: 0.5}
  - {kind: close, at: mid-body, after_bytes: 10}
  - {kind: hang, for: 1s}
  - {kind: refuse}
  - {kind: blackhole}
`, FaultSet{Mode: ModeTCP, Faults: []Fault{
			{Kind: KindLatency, Distribution: &Distribution{Type: "normal", P50: Duration(5 * time.Millisecond), P99: Duration(9 * time.Millisecond)}, Line: 3},
			{Kind: KindSlowBody, BytesPerSecond: 100, Line: 4},
			{Kind: KindReset, At: AtConnect, Probability: ptr(0.5), Line: 5},
			{Kind: KindClose, At: AtMidBody, AfterBytes: 10, Line: 6},
			{Kind: KindHang, For: Duration(time.Second), Line: 7},
			{Kind: KindRefuse, Line: 8},
			{Kind: KindBlackhole, Line: 9},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeFaultSet("faults.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestDecodeFaultSetErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []want
	}{
		{"probability", "faults:\n  - {kind: reset}\n  - {kind: hang}\n  - {kind: status, code: 503, probability: 7}\n",
			[]want{{4, "faults[2].probability", "probability 7 must be between 0 and 1"}}},
		{"unknown top-level field", "mode: http\nfault:\n  - {kind: reset}\n",
			[]want{{2, "fault", `unknown field "fault" (did you mean faults?); known fields here: mode, faults`}}},
		{"unknown mode", "mode: https\nfaults: []\n",
			[]want{{1, "mode", `unknown proxy mode "https"; did you mean http?`}}},
		{"a list at the top", "- {kind: reset}\n",
			[]want{{1, "", "the file holds a list, not a fault set; write a mapping, with the faults under faults:, such as faults: [{kind: reset, probability: 0.1}]"}}},
		{"faults not a list", "faults: {kind: reset}\n",
			[]want{{1, "faults", "a mapping is not a list of faults; write one such as [{kind: reset, probability: 0.1}]"}}},
		{"second document", "faults: []\n---\nfaults: []\n",
			[]want{{2, "", "a second YAML document starts here; a fault file holds one"}}},
		{"syntax", "faults:\n  - {kind: reset\n",
			[]want{{2, "", "invalid YAML"}}},
		{"tcp", `mode: tcp
faults:
  - {kind: status, code: 503}
  - {kind: close}
  - {kind: reset, at: mid-body, match: {method: GET}}
  - {kind: refuse, probability: 0.5}
`, []want{
			{3, "faults[0].kind", "mode: tcp works on bytes; use mode: http for status faults"},
			{4, "faults[1].at", "use mode: http for at: before-headers, or write at: connect or at: mid-body (before-headers is the default)"},
			{5, "faults[2].match", "mode: tcp works on bytes, with no requests to match"},
			{6, "faults[3].probability", "refuse acts on the listener"},
		}},
		{"empty item", "faults:\n  -\n  - {kind: reset, probability: 2}\n",
			[]want{
				{2, "faults[0]", "an empty item; write a fault such as - {kind: reset, probability: 0.1} here, or remove the lone -"},
				{3, "faults[1].probability", "probability 2 must be between 0 and 1"},
			}},
		{"an item that is not a fault", "faults:\n  - 3\n  - {kind: rst}\n",
			[]want{
				{2, "faults[0]", `"3" is not a mapping; write a mapping with the fields kind, probability, match`},
				{3, "faults[1].kind", `unknown fault kind "rst"; write one of`},
			}},
		{"several kinds", `faults:
  - {kind: latency}
  - {kind: malformed, variant: garbage, size: 10}
  - {kind: sse-cut, cut: fin}
`, []want{
			{2, "faults[0].delay", "a latency fault needs delay or distribution"},
			{3, "faults[1].size", "size applies only to variant: oversized-headers"},
			{4, "faults[2].events", "an sse-cut fault needs events"},
			{4, "faults[2].cut", `unknown cut "fin"; write cut: close or reset`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := DecodeFaultSet("faults.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("got %+v and no error, want %d problems", fs, len(tt.want))
			}
			if fs != nil {
				t.Errorf("got %+v with the error, want nil", fs)
			}
			checkProblems(t, err, "faults.yaml", tt.want)
		})
	}
}

func TestDecodeFault(t *testing.T) {
	tests := []struct {
		name string
		src  string
		mode string
		want Fault
	}{
		{"json", `{"kind": "reset", "probability": 0.25, "match": {"path_prefix": "/v1"}}`, "",
			Fault{Kind: KindReset, Probability: ptr(0.25), Match: Match{PathPrefix: "/v1"}, At: AtBeforeHeaders, Line: 1}},
		{"json over lines with tabs", "{\n\t\"kind\": \"overload\",\n\t\"max_inflight\": 4,\n\t\"queue\": 2,\n\t\"queue_timeout\": \"250ms\",\n\t\"reject\": 503\n}\n", ModeHTTP,
			Fault{Kind: KindOverload, MaxInflight: 4, Queue: 2, QueueTimeout: Duration(250 * time.Millisecond), Reject: "503", Line: 1}},
		{"json reject string", `{"kind": "overload", "max_inflight": 1, "reject": "503"}`, ModeHTTP,
			Fault{Kind: KindOverload, MaxInflight: 1, Reject: "503", Line: 1}},
		{"yaml", "kind: malformed\nvariant: oversized-headers\n", ModeHTTP,
			Fault{Kind: KindMalformed, Variant: MalformedOversizedHeaders, Size: 65536, Line: 1}},
		{"sse-cut events 0", `{"kind": "sse-cut", "events": 0}`, ModeHTTP,
			Fault{Kind: KindSSECut, Cut: "close", Line: 1}},
		{"tcp", `{"kind": "close", "at": "connect"}`, ModeTCP,
			Fault{Kind: KindClose, At: AtConnect, Line: 1}},
		{"tcp mid-body default after_bytes", `{"kind": "reset", "at": "mid-body"}`, ModeTCP,
			Fault{Kind: KindReset, At: AtMidBody, Line: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeFault("body", []byte(tt.src), tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeFaultErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		mode string
		want []want
	}{
		{"probability", `{"kind": "reset", "probability": 2}`, "",
			[]want{{1, "probability", "probability 2 must be between 0 and 1"}}},
		{"unknown field", `{"kind": "hang", "fro": "1s"}`, "",
			[]want{{1, "fro", `unknown field "fro" (did you mean for?); known fields here: kind, probability, match, for`}}},
		{"kind missing", "{\n  \"code\": 503\n}\n", "",
			[]want{{1, "kind", "kind is required"}}},
		{"bad type", `{"kind": "status", "code": "five"}`, "",
			[]want{{1, "code", `"five" is not a whole number; write one such as code: 503`}}},
		// The admin API's faults go through the same checks as a scenario's.
		{"status 1xx", `{"kind": "status", "code": 101}`, "",
			[]want{{1, "code", "code 101 is informational (1xx): the gateway waits for the final answer after it, or fails"}}},
		{"long kind", `{"kind": "` + strings.Repeat("k", 5000) + `"}`, "",
			[]want{{1, "kind", `unknown fault kind "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk…" (5000 bytes); write one of`}}},
		{"tcp kind", `{"kind": "sse-cut", "events": 1}`, ModeTCP,
			[]want{{1, "kind", "mode: tcp works on bytes; use mode: http for sse-cut faults"}}},
		{"tcp match", "kind: hang\nmatch:\n  method: GET\n", ModeTCP,
			[]want{{2, "match", "mode: tcp works on bytes, with no requests to match"}}},
		{"empty", "", "",
			[]want{{0, "", `the fault is empty; send one such as {"kind": "reset", "probability": 0.1}`}}},
		{"null", "null", "",
			[]want{{0, "", "the fault is empty"}}},
		{"a list", `[{"kind": "reset"}]`, "",
			[]want{{1, "", "the input holds a list, not a fault; send one mapping"}}},
		{"duplicate key", `{"kind": "reset", "kind": "close"}`, "",
			[]want{{1, "kind", "kind is written twice, first on line 1; keep one"}}},
		{"syntax", `{"kind": "reset",`, "",
			[]want{{1, "", "invalid YAML"}}},
		{"unknown mode", `{"kind": "reset"}`, "udp",
			[]want{{0, "", `unknown proxy mode "udp"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := DecodeFault("body", []byte(tt.src), tt.mode)
			if err == nil {
				t.Fatalf("got %+v and no error, want %d problems", f, len(tt.want))
			}
			if !reflect.DeepEqual(f, Fault{}) {
				t.Errorf("got %+v with the error, want the zero Fault", f)
			}
			checkProblems(t, err, "body", tt.want)
		})
	}
}

func TestFaultSetTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/faultsets/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("got no files in testdata/faultsets, want some")
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := DecodeFaultSet(file, data)
			valid := strings.HasPrefix(filepath.Base(file), "valid-")
			switch {
			case valid && err != nil:
				t.Errorf("got %v, want no error", err)
			case valid:
				if again := roundTripFaultSet(t, fs); !reflect.DeepEqual(again, fs) {
					t.Errorf("got %+v written back, want %+v", again, fs)
				}
			case err == nil:
				t.Errorf("got no error, want one")
			default:
				var se *Error
				if !errors.As(err, &se) {
					t.Errorf("got %T, want a *scenarios.Error", err)
				}
			}
		})
	}
}

// TestDecodeFaults checks a fault file read for the mode the command line
// gives: the file's mode: must agree with it, and the faults of a file
// without one are checked for it, with messages that name --mode.
func TestDecodeFaults(t *testing.T) {
	ok := []struct {
		name, src, mode, wantMode string
	}{
		{"no flag, no mode", "faults:\n  - kind: reset\n", "", ModeHTTP},
		{"no flag, the file's mode", "mode: tcp\nfaults: []\n", "", ModeTCP},
		{"the flag's mode", "faults:\n  - {kind: reset, at: connect}\n", ModeTCP, ModeTCP},
		{"flag and file agree", "mode: tcp\nfaults: []\n", ModeTCP, ModeTCP},
		{"empty file", "", ModeTCP, ModeTCP},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := DecodeFaults("faults.yaml", []byte(tt.src), tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			if fs.Mode != tt.wantMode {
				t.Errorf("got mode %q, want %q", fs.Mode, tt.wantMode)
			}
		})
	}

	bad := []struct {
		name, src, mode string
		want            []want
	}{
		{"flag and file disagree", "mode: http\nfaults: []\n", ModeTCP,
			[]want{{1, "mode", "the file says http but --mode says tcp; remove one, or make them agree"}}},
		{"null mode disagrees", "mode:\nfaults: []\n", ModeTCP,
			[]want{{1, "mode", "the file says http but --mode says tcp"}}},
		{"kind not for the flag's mode", "faults:\n  - kind: status\n    code: 503\n", ModeTCP,
			[]want{{2, "faults[0].kind", "--mode tcp works on bytes; use mode: http for status faults (--mode tcp takes latency, slow-body, hang, reset, close, refuse and blackhole)"}}},
		{"at not for the flag's mode", "faults:\n  - kind: reset\n    at: after-headers\n", ModeTCP,
			[]want{{3, "faults[0].at", "--mode tcp works on bytes; use mode: http for at: after-headers, or write at: connect or at: mid-body"}}},
		{"match not for the flag's mode", "faults:\n  - kind: hang\n    match: {method: GET}\n", ModeTCP,
			[]want{{3, "faults[0].match", "--mode tcp works on bytes, with no requests to match; use mode: http for match, or remove it"}}},
		{"the file's mode names mode:", "mode: tcp\nfaults:\n  - kind: status\n    code: 503\n", ModeTCP,
			[]want{{3, "faults[0].kind", "mode: tcp works on bytes; use mode: http for status faults (mode: tcp takes"}}},
		{"unknown mode in the file", "mode: udp\nfaults: []\n", ModeTCP,
			[]want{{1, "mode", `unknown proxy mode "udp"`}}},
		{"and another problem", "faults:\n  - kind: status\n    code: 503\n  - kind: explode\n", ModeTCP,
			[]want{
				{2, "faults[0].kind", "--mode tcp works on bytes"},
				{4, "faults[1].kind", `unknown fault kind "explode"`},
			}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := DecodeFaults("faults.yaml", []byte(tt.src), tt.mode)
			if err == nil {
				t.Fatalf("got %+v and no error, want %d problems", fs, len(tt.want))
			}
			checkProblems(t, err, "faults.yaml", tt.want)
		})
	}
	if _, err := DecodeFaults("faults.yaml", nil, "udp"); err == nil {
		t.Error("mode udp: got no error, want one")
	}
}
