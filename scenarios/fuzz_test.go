package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// addSeeds adds the files matching pattern to f's corpus.
func addSeeds(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatalf("got no files matching %s, want seeds", pattern)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// checkError checks what a decoder returns for bad input: *Error values
// with a message.
func checkError(t *testing.T, err error) {
	t.Helper()
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("got %T %v, want a *scenarios.Error", err, err)
	}
	if se.Line < 0 || se.Msg == "" {
		t.Fatalf("got line %d and message %q, want line >= 0 and a message", se.Line, se.Msg)
	}
	// Each problem quotes values cut (Quote), whatever their length.
	problems := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		problems = j.Unwrap()
	}
	for _, p := range problems {
		if msg := p.Error(); len(msg) > maxProblem {
			t.Fatalf("got a problem of %d bytes, want at most %d: %.300s...", len(msg), maxProblem, msg)
		}
	}
}

// maxProblem bounds the length of one problem's message.
const maxProblem = 1000

// checkFault checks what Decode, DecodeFaultSet and DecodeFault promise of
// a fault they accept in mode.
func checkFault(t *testing.T, f Fault, mode string) {
	t.Helper()
	fail := func(what string) {
		t.Helper()
		t.Fatalf("got %s fault %+v with no error, want %s", f.Kind, f, what)
	}
	k, ok := kindSpecs[f.Kind]
	if !ok {
		fail("a known kind")
	}
	if pr := f.P(); !(pr >= 0 && pr <= 1) {
		fail("a probability in [0, 1]")
	}
	if f.Line <= 0 {
		fail("its line set")
	}
	if k.noProbability != "" && f.Probability != nil {
		fail("no probability")
	}
	if (k.noMatch != "" || mode == ModeTCP) && !reflect.DeepEqual(f.Match, Match{}) {
		fail("no match")
	}
	if mode == ModeTCP && !k.tcp {
		fail("a kind that works in mode tcp")
	}
	// The settings of other kinds are zero.
	v := reflect.ValueOf(f)
	for _, fi := range yamlFields(faultType) {
		if !slices.Contains(envelope, fi.name) && !slices.Contains(k.settings, fi.name) && !v.Field(fi.num).IsZero() {
			fail(fi.name + " zero")
		}
	}
	if what := settingsWant(f, mode); what != "" {
		fail(what)
	}

}

func FuzzDecode(f *testing.F) {
	addSeeds(f, "testdata/*.yaml")
	f.Add([]byte(withSection("target: {timeout: 30s}\nclient: {stream: {stall: 2s}}\n")))
	for _, e := range Catalog() {
		data, _ := CatalogSource(e.Name)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode("fuzz.yaml", data)
		if err != nil {
			if s != nil {
				t.Fatalf("got a scenario and error %v, want nil", err)
			}
			checkError(t, err)
			return
		}
		if len(s.Phases) == 0 || len(s.Requests) == 0 {
			t.Fatalf("got %d phases and %d requests with no error, want at least one each", len(s.Phases), len(s.Requests))
		}
		if s.Proxy.Mode != ModeHTTP && s.Proxy.Mode != ModeTCP {
			t.Fatalf("got proxy mode %q with no error, want http or tcp", s.Proxy.Mode)
		}
		checkLoopbackOnly(t, s)
		for _, p := range s.Phases {
			if p.Duration <= 0 || p.Rate.Freq <= 0 || p.Rate.Per <= 0 {
				t.Fatalf("got phase %+v with no error, want duration and rate above 0", p)
			}
			if p.RampTo != nil && (p.RampTo.Freq < 0 || p.RampTo.Per <= 0) {
				t.Fatalf("got ramp_to %+v with no error, want a rate", *p.RampTo)
			}
			for _, fl := range p.Faults {
				checkFault(t, fl, s.Proxy.Mode)
			}
		}
		if s.Target.Timeout <= 0 || s.Target.UpstreamTimeout <= 0 {
			t.Fatalf("got timeouts %v and %v, want them above 0", s.Target.Timeout, s.Target.UpstreamTimeout)
		}
		if s.Upstream.Builtin == nil && s.Upstream.URL == "" {
			t.Fatal("got no upstream, want the built-in one by default")
		}
		if b := s.Upstream.Builtin; b != nil {
			if what := llmWant(b.LLM); what != "" {
				t.Fatalf("got upstream.builtin.llm %+v with no error, want %s", *b.LLM, what)
			}
			if b.LLM != nil && (b.BodyBytes != 0 || b.Latency != 0) {
				t.Fatalf("got body_bytes %d and latency %s with llm, want 0", b.BodyBytes, b.Latency)
			}
		}
		if s.Name == "" || nameProblem(s.Name) != "" {
			t.Fatalf("got name %q with no error, want a folder name", s.Name)
		}
		if what := retryWant(s.Client.Retry); what != "" {
			t.Fatalf("got client.retry %+v with no error, want %s", s.Client.Retry, what)
		}
		if st := s.Client.StreamStall(); st != 0 && (st < MinStreamStall || s.Client.Stream != nil && st >= s.Target.Timeout.D()) {
			t.Fatalf("got client.stream.stall %s with no error (target.timeout %s), want 0s, or from 10ms to below target.timeout", st, s.Target.Timeout)
		}

		// What Decode accepts, written back, reads the same.
		out, err := yaml.Marshal(s)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := Decode("fuzz.yaml", out)
		if err != nil {
			t.Fatalf("got %v decoding the scenario written back, want none:\n%s", err, out)
		}
		clearLines(s)
		clearLines(again)
		if !reflect.DeepEqual(s, again) {
			t.Fatalf("got %+v written back, want %+v:\n%s", again, s, out)
		}
	})
}

// roundTripFaultSet writes fs as YAML and decodes it again.
func roundTripFaultSet(t *testing.T, fs *FaultSet) *FaultSet {
	t.Helper()
	out, err := yaml.Marshal(fs)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	again, err := DecodeFaultSet("again.yaml", out)
	if err != nil {
		t.Fatalf("got %v decoding the set written back, want none:\n%s", err, out)
	}
	// Lines move when written back.
	for i := range again.Faults {
		again.Faults[i].Line = fs.Faults[i].Line
	}
	return again
}

// FuzzDecodeFaultSet fuzzes the fault file decoder and, on the same input,
// the decoder of one fault.
// FuzzDecodeRetry checks that a policy on its own (gatecrash policies
// --policy) is accepted only valid, and refused with an *Error naming the
// flag.
func FuzzDecodeRetry(f *testing.F) {
	for _, s := range []string{"{policy: exponential, max_attempts: 5}", "{policy: naive}", "max_attempts: 2\nbackoff: constant\nbase: 50ms\n",
		"{max_attempts: 3, jitter: decorrelated, backoff: exponential, base: 10ms, cap: 1s, retry_on: [5xx, timeout], budget: {ratio: 0.2}}", "[1]", "", "exponential"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRetry("--policy", data)
		if err != nil {
			if r != nil {
				t.Fatalf("got a policy and error %v, want nil", err)
			}
			checkError(t, err)
			return
		}
		if want := retryWant(r); want != "" {
			t.Fatalf("accepted %+v, want %s", r, want)
		}
	})
}

func FuzzDecodeFaultSet(f *testing.F) {
	addSeeds(f, "testdata/faultsets/*.yaml")
	f.Add([]byte(`{"kind": "overload", "max_inflight": 2, "queue": 1, "reject": 503}`))
	f.Add([]byte("kind: malformed\nvariant: garbage\nbytes: 10\n"))
	f.Add([]byte(`{"kind": "sse-cut", "events": 0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := DecodeFaultSet("fuzz.yaml", data)
		switch {
		case err != nil:
			if fs != nil {
				t.Fatalf("got a fault set and error %v, want nil", err)
			}
			checkError(t, err)
		default:
			if fs.Mode != ModeHTTP && fs.Mode != ModeTCP {
				t.Fatalf("got mode %q with no error, want http or tcp", fs.Mode)
			}
			if fs.Faults == nil {
				t.Fatal("got nil faults, want an empty list")
			}
			for _, fl := range fs.Faults {
				checkFault(t, fl, fs.Mode)
			}
			if again := roundTripFaultSet(t, fs); !reflect.DeepEqual(again, fs) {
				t.Fatalf("got %+v written back, want %+v", again, fs)
			}
		}

		for _, mode := range []string{ModeHTTP, ModeTCP} {
			fl, err := DecodeFault("fuzz.json", data, mode)
			if err != nil {
				if !reflect.DeepEqual(fl, Fault{}) {
					t.Fatalf("got fault %+v and error %v, want the zero Fault", fl, err)
				}
				checkError(t, err)
				continue
			}
			checkFault(t, fl, mode)
			out, err := yaml.Marshal(fl)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			again, err := DecodeFault("again.yaml", out, mode)
			if err != nil {
				t.Fatalf("got %v decoding the fault written back, want none:\n%s", err, out)
			}
			again.Line = fl.Line
			if !reflect.DeepEqual(again, fl) {
				t.Fatalf("got %+v written back, want %+v:\n%s", again, fl, out)
			}
		}
	})
}

// settingsWant checks the settings of f's kind, decoded for mode, and
// says what they should have been; "" when they are valid.
func settingsWant(f Fault, mode string) string {
	switch f.Kind {
	case KindLatency:
		if d := f.Distribution; d != nil {
			if f.Delay != 0 || f.Jitter != 0 || !slices.Contains([]string{"lognormal", "normal", "uniform"}, d.Type) || d.P50 <= 0 || d.P99 < d.P50 {
				return "a valid distribution and no delay or jitter"
			}
		} else if f.Delay <= 0 || f.Jitter < 0 || f.Jitter > f.Delay {
			return "0 < delay and 0 <= jitter <= delay"
		}
	case KindSlowBody:
		if f.BytesPerSecond < 1 || f.BytesPerSecond > MaxBytesPerSecond {
			return "bytes_per_second in range"
		}
	case KindSlowHeaders:
		if f.Duration <= 0 {
			return "duration above 0"
		}
	case KindHang:
		if f.For < 0 {
			return "for of 0 or more"
		}
	case KindReset, KindClose:
		if !slices.Contains([]string{AtConnect, AtBeforeHeaders, AtAfterHeaders, AtMidBody}, f.At) || f.AfterBytes < 0 || f.AfterBytes > 0 && f.At != AtMidBody {
			return "a point and after_bytes only at mid-body"
		}
		if mode == ModeTCP && f.At != AtConnect && f.At != AtMidBody {
			return "at connect or mid-body in mode tcp"
		}
	case KindStatus:
		if f.Code < 200 || f.Code > 599 {
			return "a code from 200 to 599"
		}
	case KindMalformed:
		return malformedWant(f)
	case KindKeepalive:
		if f.Idle <= 0 {
			return "idle above 0"
		}
	case KindOverload:
		if f.MaxInflight < 1 || f.Queue < 0 || f.Queue > 0 && f.QueueTimeout <= 0 || f.Queue == 0 && f.QueueTimeout != 0 || f.Reject != "503" && f.Reject != "reset" {
			return "max_inflight, queue, queue_timeout and reject valid"
		}
	case KindSSECut:
		if f.Events < 0 || f.Cut != "close" && f.Cut != "reset" {
			return "events of 0 or more and a cut"
		}
	case KindSSEStall:
		if f.Events < 0 || f.For <= 0 {
			return "events of 0 or more and for above 0"
		}
	}
	return ""
}

// malformedWant is settingsWant for a malformed fault.
func malformedWant(f Fault) string {
	switch f.Variant {
	case MalformedOversizedHeaders:
		if f.Size < 1 || f.Size > MaxOversizedSize || f.Bytes != 0 {
			return "size in range"
		}
	case MalformedGarbage:
		if f.Bytes < 1 || f.Bytes > MaxGarbageBytes || f.Size != 0 {
			return "bytes in range"
		}
	case MalformedStatusLine, MalformedHeader, MalformedLengthMismatch, MalformedBadChunked:
		if f.Size != 0 || f.Bytes != 0 {
			return "no size or bytes"
		}
	default:
		return "a known variant"
	}
	return ""
}

// retryWant checks a retry policy Decode accepted, and says what it
// should have been; "" when it is valid. A nil policy is valid.
func retryWant(r *Retry) string {
	if r == nil {
		return ""
	}
	switch {
	case r.Policy != "" && !slices.Contains(policyNames, r.Policy):
		return "a known policy"
	case r.MaxAttempts < 1 || r.MaxAttempts > MaxRetryAttempts:
		return "max_attempts from 1 to 10"
	case r.Policy == PolicyNone && r.MaxAttempts != 1:
		return "one attempt for policy none"
	case !slices.Contains(jitters, r.Jitter):
		return "a known jitter"
	case r.Deadline < 0 || r.Deadline.D() > maxWait:
		return "a deadline from 0 to 24h"
	case len(r.RetryOn) == 0:
		return "something to retry on"
	}
	switch r.Backoff {
	case BackoffNone:
		if r.Base != 0 || r.Cap != 0 || r.Jitter != JitterNone {
			return "no base, cap or jitter without a backoff"
		}
	case BackoffConstant:
		if r.Base <= 0 || r.Cap != r.Base || r.Jitter == JitterDecorrelated {
			return "0 < base = cap, and no decorrelated jitter, for a constant backoff"
		}
	case BackoffExponential:
		if r.Base <= 0 || r.Cap < r.Base || r.Cap.D() > maxWait {
			return "0 < base <= cap <= 24h for an exponential backoff"
		}
	default:
		return "a known backoff"
	}
	seen := make(map[string]bool)
	for _, w := range r.RetryOn {
		if retryOnProblem(w) != "" || seen[w] {
			return "known retry_on values, each once"
		}
		seen[w] = true
	}
	if b := r.Budget; b != nil && (!(b.Ratio > 0 && b.Ratio <= MaxBudgetRatio) || !(b.MinPerSecond >= 0)) {
		return "a budget ratio in (0, 10] and min_per_second of 0 or more"
	}
	return ""
}
