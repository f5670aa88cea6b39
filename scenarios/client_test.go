package scenarios

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// withRetry is a valid scenario whose client.retry holds lines, indented
// by four spaces; the first is on line 4.
func withRetry(lines string) string {
	return withSection("client:\n  retry:\n" + lines)
}

func ms(n int) Duration { return Duration(time.Duration(n) * time.Millisecond) }

// TestDecodeClientRetry checks what Decode fills in: the named policy's
// values, then the fields written, then the defaults.
func TestDecodeClientRetry(t *testing.T) {
	def := DefaultRetryOn()
	tests := []struct {
		name string
		src  string
		want *Retry
	}{
		{"no client", withSection(""), nil},
		{"empty client", withSection("client: {}\n"), nil},
		{"policy none", withRetry("    policy: none\n"),
			&Retry{Policy: PolicyNone, MaxAttempts: 1, Backoff: BackoffNone, Jitter: JitterNone, RetryOn: def}},
		{"policy none with max_attempts 1", withRetry("    policy: none\n    max_attempts: 1\n"),
			&Retry{Policy: PolicyNone, MaxAttempts: 1, Backoff: BackoffNone, Jitter: JitterNone, RetryOn: def}},
		{"policy naive", withRetry("    policy: naive\n"),
			&Retry{Policy: PolicyNaive, MaxAttempts: 3, Backoff: BackoffNone, Jitter: JitterNone, RetryOn: def}},
		{"policy exponential", withRetry("    policy: exponential\n"),
			&Retry{Policy: PolicyExponential, MaxAttempts: 3, Backoff: BackoffExponential, Base: ms(100), Cap: ms(10000),
				Jitter: JitterFull, RetryOn: def, RespectRetryAfter: true, Budget: &Budget{Ratio: 0.1, MinPerSecond: 10}}},
		{"exponential overridden", withRetry("    policy: exponential\n    max_attempts: 5\n    base: 20s\n    jitter: decorrelated\n    retry_on: [503, 4xx]\n    respect_retry_after: false\n    deadline: 30s\n    budget: {ratio: 0.2}\n"),
			&Retry{Policy: PolicyExponential, MaxAttempts: 5, Backoff: BackoffExponential, Base: ms(20000), Cap: ms(20000),
				Jitter: JitterDecorrelated, RetryOn: []string{"503", "4xx"}, Deadline: ms(30000), Budget: &Budget{Ratio: 0.2, MinPerSecond: 10}}},
		{"exponential made constant", withRetry("    policy: exponential\n    backoff: constant\n"),
			&Retry{Policy: PolicyExponential, MaxAttempts: 3, Backoff: BackoffConstant, Base: ms(100), Cap: ms(100),
				Jitter: JitterFull, RetryOn: def, RespectRetryAfter: true, Budget: &Budget{Ratio: 0.1, MinPerSecond: 10}}},
		{"exponential without backoff", withRetry("    policy: exponential\n    backoff: none\n"),
			&Retry{Policy: PolicyExponential, MaxAttempts: 3, Backoff: BackoffNone, Jitter: JitterNone,
				RetryOn: def, RespectRetryAfter: true, Budget: &Budget{Ratio: 0.1, MinPerSecond: 10}}},
		{"naive made exponential", withRetry("    policy: naive\n    backoff: exponential\n"),
			&Retry{Policy: PolicyNaive, MaxAttempts: 3, Backoff: BackoffExponential, Base: ms(100), Cap: ms(10000), Jitter: JitterNone, RetryOn: def}},
		{"fields only", withRetry("    max_attempts: 2\n"),
			&Retry{MaxAttempts: 2, Backoff: BackoffNone, Jitter: JitterNone, RetryOn: def}},
		{"fields only, exponential", withRetry("    max_attempts: 4\n    backoff: exponential\n    jitter: equal\n    cap: 2s\n"),
			&Retry{MaxAttempts: 4, Backoff: BackoffExponential, Base: ms(100), Cap: ms(2000), Jitter: JitterEqual, RetryOn: def}},
		{"constant with base", withRetry("    max_attempts: 3\n    backoff: constant\n    base: 250ms\n    cap: 250ms\n"),
			&Retry{MaxAttempts: 3, Backoff: BackoffConstant, Base: ms(250), Cap: ms(250), Jitter: JitterNone, RetryOn: def}},
		{"budget with floor 0", withRetry("    max_attempts: 3\n    budget: {ratio: 10, min_per_second: 0}\n"),
			&Retry{MaxAttempts: 3, Backoff: BackoffNone, Jitter: JitterNone, RetryOn: def, Budget: &Budget{Ratio: 10}}},
		{"budget floor only, from the policy", withRetry("    policy: exponential\n    budget: {min_per_second: 1}\n"),
			&Retry{Policy: PolicyExponential, MaxAttempts: 3, Backoff: BackoffExponential, Base: ms(100), Cap: ms(10000),
				Jitter: JitterFull, RetryOn: def, RespectRetryAfter: true, Budget: &Budget{Ratio: 0.1, MinPerSecond: 1}}},
		{"retry_on as a block list", withRetry("    max_attempts: 3\n    retry_on:\n      - 429\n      - timeout\n    respect_retry_after: true\n"),
			&Retry{MaxAttempts: 3, Backoff: BackoffNone, Jitter: JitterNone, RetryOn: []string{"429", "timeout"}, RespectRetryAfter: true}},
		{"deadline 0", withRetry("    policy: naive\n    deadline: 0s\n"),
			&Retry{Policy: PolicyNaive, MaxAttempts: 3, Backoff: BackoffNone, Jitter: JitterNone, RetryOn: def}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode("scenario.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Client.Retry; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDecodeClientStream checks client.stream's stall as Decode fills it
// in, and the gap StreamStall gives the attacker.
func TestDecodeClientStream(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		want  *ClientStream
		stall time.Duration
	}{
		{"no client", withSection(""), nil, DefaultStreamStall},
		{"retry only", withRetry("    policy: naive\n"), nil, DefaultStreamStall},
		{"empty stream", withSection("client: {stream: {}}\n"), &ClientStream{Stall: Duration(DefaultStreamStall)}, DefaultStreamStall},
		{"stall 2s", withSection("client:\n  stream:\n    stall: 2s\n"), &ClientStream{Stall: ms(2000)}, 2 * time.Second},
		{"stall off", withSection("client: {stream: {stall: 0s}}\n"), &ClientStream{}, 0},
		{"stall 10ms", withSection("client: {stream: {stall: 10ms}}\n"), &ClientStream{Stall: ms(10)}, 10 * time.Millisecond},
		{"stall below a long timeout", withSection("target: {timeout: 2m}\nclient: {stream: {stall: 90s}}\n"), &ClientStream{Stall: ms(90000)}, 90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode("scenario.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Client.Stream, tt.want) {
				t.Errorf("got %+v, want %+v", s.Client.Stream, tt.want)
			}
			if got := s.Client.StreamStall(); got != tt.stall {
				t.Errorf("StreamStall: got %s, want %s", got, tt.stall)
			}
		})
	}
}

// TestDecodeClientErrors writes each field of client.retry wrong and
// checks that the message names the line, the field and the fix.
func TestDecodeClientErrors(t *testing.T) {
	const r = "client.retry."
	checkDecodeErrors(t, []decodeErrorTest{
		{"unknown key in client", withSection("client:\n  retries: 3\n"),
			[]want{{3, "client.retries", `unknown field "retries"; known fields here: retry, stream`}}},
		{"unknown key in stream", withSection("client:\n  stream:\n    stal: 2s\n"),
			[]want{{4, "client.stream.stal", `unknown field "stal" (did you mean stall?); known fields here: stall`}}},
		{"stream empty", withSection("client:\n  stream:\n"),
			[]want{{3, "client.stream", "stream is empty; write stream: {stall: 2s}, or remove stream for the default (stall 5s)"}}},
		{"stream a duration", withSection("client:\n  stream: 2s\n"),
			[]want{{3, "client.stream", `"2s" is not a mapping; write a mapping with the fields stall`}}},
		{"stall no unit", withSection("client:\n  stream: {stall: 2}\n"),
			[]want{{3, "client.stream.stall", `"2" has no unit; write 2ms for milliseconds`}}},
		{"stall a word", withSection("client:\n  stream: {stall: never}\n"),
			[]want{{3, "client.stream.stall", `"never" is not a duration`}}},
		{"stall negative", withSection("client:\n  stream: {stall: -1s}\n"),
			[]want{{3, "client.stream.stall", `"-1s" is negative; write a duration of 0s or more`}}},
		{"stall too short", withSection("client:\n  stream:\n    stall: 5ms\n"),
			[]want{{4, "client.stream.stall", "stall 5ms is shorter than 10ms: the wait between two tokens would count as a stall; write 10ms or more, such as stall: 2s, or 0s for no stall detection"}}},
		{"stall not below the timeout", withSection("target: {timeout: 4s}\nclient:\n  stream: {stall: 4s}\n"),
			[]want{{4, "client.stream.stall", "stall 4s is not shorter than target.timeout (4s), which ends the request first, so no stream would ever stall; write a shorter stall, such as stall: 2s, or a longer target.timeout"}}},
		{"stall above the default timeout", withSection("client:\n  stream: {stall: 30s}\n"),
			[]want{{3, "client.stream.stall", "stall 30s is not shorter than target.timeout (10s)"}}},
		{"unknown key in retry", withRetry("    policy: naive\n    max_attempt: 3\n"),
			[]want{{5, r + "max_attempt", `unknown field "max_attempt" (did you mean max_attempts?); known fields here: policy, max_attempts, backoff, base, cap, jitter, retry_on, respect_retry_after, deadline, budget`}}},
		{"unknown key in budget", withRetry("    policy: naive\n    budget: {ratio: 0.1, min: 3}\n"),
			[]want{{5, r + "budget.min", `unknown field "min"; known fields here: ratio, min_per_second`}}},
		{"client a list", withSection("client: [retry]\n"),
			[]want{{2, "client", "a list is not a mapping; write a mapping with the fields retry, stream"}}},
		{"retry a policy name", withSection("client: {retry: naive}\n"),
			[]want{{2, "client.retry", `"naive" is not a mapping; write one such as retry: {policy: exponential}`}}},
		{"retry empty", withSection("client:\n  retry:\n"),
			[]want{{3, "client.retry", "retry is empty; write a policy such as retry: {policy: exponential}"}}},
		{"unknown policy", withRetry("    policy: exponental\n"),
			[]want{{4, r + "policy", `unknown retry policy "exponental"; did you mean exponential? write none (one try), naive`}}},
		{"no max_attempts", withRetry("    backoff: exponential\n"),
			[]want{{3, r + "max_attempts", "max_attempts is required; write one such as max_attempts: 3 (the first try included), or name a policy"}}},
		{"max_attempts 0", withRetry("    max_attempts: 0\n"),
			[]want{{4, r + "max_attempts", "max_attempts 0 is out of range; write 1 to 10, the first try included"}}},
		{"max_attempts 11", withRetry("    policy: naive\n    max_attempts: 11\n"),
			[]want{{5, r + "max_attempts", "max_attempts 11 is out of range; write 1 to 10"}}},
		{"max_attempts 2.5", withRetry("    max_attempts: 2.5\n"),
			[]want{{4, r + "max_attempts", `"2.5" is not a whole number; write one such as max_attempts: 3`}}},
		{"max_attempts words", withRetry("    max_attempts: three\n"),
			[]want{{4, r + "max_attempts", `"three" is not a whole number; write one such as max_attempts: 3`}}},
		{"policy none retrying", withRetry("    policy: none\n    max_attempts: 3\n"),
			[]want{{5, r + "max_attempts", "policy none makes one try, and max_attempts is 3; remove max_attempts, or write policy: naive or exponential"}}},
		{"unknown backoff", withRetry("    max_attempts: 3\n    backoff: exponentail\n"),
			[]want{{5, r + "backoff", `unknown backoff "exponentail"; did you mean exponential? write none (retry at once), constant`}}},
		{"base 0", withRetry("    max_attempts: 3\n    backoff: constant\n    base: 0s\n"),
			[]want{{6, r + "base", "base must be more than 0 with backoff constant; write one such as base: 100ms"}}},
		{"base no unit", withRetry("    max_attempts: 3\n    backoff: constant\n    base: 100\n"),
			[]want{{6, r + "base", `"100" has no unit; write 100ms for milliseconds`}}},
		{"base too long", withRetry("    max_attempts: 3\n    backoff: exponential\n    base: 25h\n"),
			[]want{{6, r + "base", "base 25h0m0s is more than 24h0m0s"}}},
		{"base without backoff", withRetry("    policy: naive\n    base: 1s\n"),
			[]want{{5, r + "base", "base applies only to backoff: constant or exponential, and backoff is none; remove base, or write backoff: exponential"}}},
		{"cap without backoff", withRetry("    max_attempts: 2\n    cap: 1s\n"),
			[]want{{5, r + "cap", "cap applies only to backoff: constant or exponential, and backoff is none"}}},
		{"cap below base", withRetry("    policy: exponential\n    base: 2s\n    cap: 1s\n"),
			[]want{{6, r + "cap", "cap 1s is less than base 2s; write cap: 2s or more, or leave cap out for 10s"}}},
		{"cap too long", withRetry("    policy: exponential\n    cap: 48h\n"),
			[]want{{5, r + "cap", "cap 48h0m0s is more than 24h0m0s; write a shorter one such as cap: 10s"}}},
		{"cap with constant", withRetry("    max_attempts: 3\n    backoff: constant\n    cap: 1s\n"),
			[]want{{6, r + "cap", "backoff constant waits base (100ms) every time, so cap is base; remove cap, or write backoff: exponential"}}},
		{"unknown jitter", withRetry("    policy: exponential\n    jitter: ful\n"),
			[]want{{5, r + "jitter", `unknown jitter "ful"; did you mean full? write none (the backoff's wait), full`}}},
		{"jitter without backoff", withRetry("    policy: naive\n    jitter: full\n"),
			[]want{{5, r + "jitter", "jitter spreads the backoff's wait, and backoff is none; remove jitter, or write backoff: exponential"}}},
		{"decorrelated with constant", withRetry("    max_attempts: 3\n    backoff: constant\n    jitter: decorrelated\n"),
			[]want{{6, r + "jitter", "decorrelated jitter grows its own wait from base up to cap, so it needs backoff: exponential"}}},
		{"retry_on a scalar", withRetry("    policy: naive\n    retry_on: 502\n"),
			[]want{{5, r + "retry_on", `"502" is not a list; write one such as retry_on: [502, 503, error]`}}},
		{"retry_on empty", withRetry("    policy: naive\n    retry_on: []\n"),
			[]want{{5, r + "retry_on", "retry_on is empty, so nothing would be retried; write what to retry, such as retry_on: [502, 503, error], or leave it out for [502, 503, 504, error, timeout]"}}},
		{"retry_on an empty item", withRetry("    policy: naive\n    retry_on:\n      - 502\n      -\n"),
			[]want{{7, r + "retry_on[1]", "an empty item; write 502, 5xx, error or timeout here"}}},
		{"retry_on 200", withRetry("    policy: naive\n    retry_on: [200]\n"),
			[]want{{5, r + "retry_on[0]", "200 is not a failure: a client retries 4xx and 5xx answers; write a status code from 400 to 599"}}},
		{"retry_on 600", withRetry("    policy: naive\n    retry_on: [600]\n"),
			[]want{{5, r + "retry_on[0]", `"600" is not an HTTP status code; write a status code from 400 to 599`}}},
		{"retry_on 5XX", withRetry("    policy: naive\n    retry_on: [5XX]\n"),
			[]want{{5, r + "retry_on[0]", `"5XX": write the class in lower case, 5xx`}}},
		{"retry_on 2xx", withRetry("    policy: naive\n    retry_on: [2xx]\n"),
			[]want{{5, r + "retry_on[0]", `"2xx" are not failures`}}},
		{"retry_on a typo", withRetry("    policy: naive\n    retry_on: [502, timout]\n"),
			[]want{{5, r + "retry_on[1]", `unknown retry_on value "timout"; did you mean timeout? write a status code`}}},
		{"retry_on twice", withRetry("    policy: naive\n    retry_on: [error, 502, error]\n"),
			[]want{{5, r + "retry_on[2]", "error is listed twice (first as client.retry.retry_on[0]); remove one"}}},
		{"retry_on code in its class", withRetry("    policy: naive\n    retry_on: [5xx, 503]\n"),
			[]want{{5, r + "retry_on[1]", "503 is already in 5xx; remove one"}}},
		{"retry_on a mapping item", withRetry("    policy: naive\n    retry_on: [{code: 502}]\n"),
			[]want{{5, r + "retry_on[0]", "a mapping is not a single value"}}},
		{"respect_retry_after not a bool", withRetry("    policy: naive\n    respect_retry_after: sometimes\n"),
			[]want{{5, r + "respect_retry_after", `"sometimes" is not true or false; write respect_retry_after: true or respect_retry_after: false`}}},
		{"deadline negative", withRetry("    policy: naive\n    deadline: -1s\n"),
			[]want{{5, r + "deadline", `"-1s" is negative; write a duration of 0s or more`}}},
		{"deadline too long", withRetry("    policy: naive\n    deadline: 100h\n"),
			[]want{{5, r + "deadline", "deadline 100h0m0s is more than 24h0m0s; write a shorter one such as deadline: 5s, or 0s for none"}}},
		{"budget without ratio", withRetry("    policy: naive\n    budget: {min_per_second: 5}\n"),
			[]want{{5, r + "budget.ratio", "budget needs ratio, the retries allowed per first try; write one such as ratio: 0.1"}}},
		{"budget ratio 0", withRetry("    policy: naive\n    budget: {ratio: 0}\n"),
			[]want{{5, r + "budget.ratio", "ratio 0 is out of range; write more than 0 and at most 10, such as ratio: 0.1"}}},
		{"budget ratio 11", withRetry("    policy: exponential\n    budget:\n      ratio: 11\n"),
			[]want{{6, r + "budget.ratio", "ratio 11 is out of range"}}},
		{"budget ratio nan", withRetry("    policy: exponential\n    budget: {ratio: .nan}\n"),
			[]want{{5, r + "budget.ratio", "ratio NaN is out of range"}}},
		{"budget ratio a word", withRetry("    policy: exponential\n    budget: {ratio: ten percent}\n"),
			[]want{{5, r + "budget.ratio", `"ten percent" is not a number; write one more than 0 and at most 10, such as ratio: 0.1`}}},
		{"budget floor negative", withRetry("    policy: exponential\n    budget: {ratio: 0.1, min_per_second: -1}\n"),
			[]want{{5, r + "budget.min_per_second", "min_per_second -1 is out of range; write 0 to 1000000, such as min_per_second: 10"}}},
		{"budget a number", withRetry("    policy: exponential\n    budget: 0.1\n"),
			[]want{{5, r + "budget", `"0.1" is not a mapping; write a mapping with the fields ratio, min_per_second`}}},
		{"three mistakes", withRetry("    max_attempts: 30\n    backoff: exponential\n    jitter: fuller\n    budget: {ratio: -1}\n"),
			[]want{
				{4, r + "max_attempts", "max_attempts 30 is out of range"},
				{6, r + "jitter", `unknown jitter "fuller"`},
				{7, r + "budget.ratio", "ratio -1 is out of range"},
			}},
	})
}

func TestRetryOn(t *testing.T) {
	policy := &Retry{MaxAttempts: 3, RetryOn: []string{"429", "5xx", "error"}}
	single := &Retry{MaxAttempts: 1, RetryOn: []string{"5xx", "error", "timeout"}}
	var none *Retry
	tests := []struct {
		name                 string
		r                    *Retry
		status               map[int]bool
		err, timeout, enable bool
	}{
		{"codes and a class", policy, map[int]bool{429: true, 500: true, 502: true, 599: true, 404: false, 428: false, 200: false, 600: false}, true, false, true},
		{"one attempt retries nothing", single, map[int]bool{502: false}, false, false, false},
		{"nil", none, map[int]bool{502: false}, false, false, false},
		{"default", &Retry{MaxAttempts: 2, RetryOn: DefaultRetryOn()}, map[int]bool{502: true, 503: true, 504: true, 500: false, 429: false}, true, true, true},
		{"4xx", &Retry{MaxAttempts: 2, RetryOn: []string{"4xx"}}, map[int]bool{400: true, 499: true, 500: false, 399: false}, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for code, want := range tt.status {
				if got := tt.r.RetryOnStatus(code); got != want {
					t.Errorf("RetryOnStatus(%d): got %v, want %v", code, got, want)
				}
			}
			if got := tt.r.RetryOnError(); got != tt.err {
				t.Errorf("RetryOnError: got %v, want %v", got, tt.err)
			}
			if got := tt.r.RetryOnTimeout(); got != tt.timeout {
				t.Errorf("RetryOnTimeout: got %v, want %v", got, tt.timeout)
			}
			if got := tt.r.Enabled(); got != tt.enable {
				t.Errorf("Enabled: got %v, want %v", got, tt.enable)
			}
		})
	}
}

func TestLookupPolicy(t *testing.T) {
	for _, name := range Policies() {
		t.Run(name, func(t *testing.T) {
			got, ok := LookupPolicy(name)
			if !ok {
				t.Fatalf("got no policy %s, want one", name)
			}
			s, err := Decode("scenario.yaml", []byte(withRetry("    policy: "+name+"\n")))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, s.Client.Retry) {
				t.Errorf("got %+v, want %+v as Decode fills it", got, s.Client.Retry)
			}
			// The caller owns the result.
			got.RetryOn[0] = "changed"
			if again, _ := LookupPolicy(name); again.RetryOn[0] == "changed" {
				t.Error("got the change in the next LookupPolicy, want a copy")
			}
		})
	}
	if _, ok := LookupPolicy("exponental"); ok {
		t.Error("got a policy exponental, want none")
	}
	if got := Policies()[0]; got != PolicyNone {
		t.Errorf("got %s first, want none", got)
	}
}

func TestRetryString(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"    policy: exponential\n", "exponential: 3 attempts, exponential backoff 100ms to 10s, full jitter, on 502, 503, 504, error, timeout, Retry-After respected, budget 10% of first tries (at least 10/s)"},
		{"    policy: naive\n", "naive: 3 attempts, no backoff, on 502, 503, 504, error, timeout, no budget"},
		{"    policy: none\n", "none: 1 attempt, no retry"},
		{"    max_attempts: 2\n    backoff: constant\n    retry_on: [503]\n    deadline: 2s\n", "custom: 2 attempts, constant backoff 100ms, on 503, deadline 2s, no budget"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			s, err := Decode("scenario.yaml", []byte(withRetry(tt.src)))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Client.Retry.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := (*Retry)(nil).String(); !strings.Contains(got, "no retry") {
		t.Errorf("got %q for nil, want no retry", got)
	}
}

// TestDecodeRetry checks a policy on its own, as gatecrash policies
// --policy takes it: named policies with overrides, and every kind of
// mistake with its message.
func TestDecodeRetry(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{in: "{policy: exponential, max_attempts: 5}", want: "exponential: 5 attempts, exponential backoff 100ms to 10s, full jitter, on 502, 503, 504, error, timeout, Retry-After respected, budget 10% of first tries (at least 10/s)"},
		{in: "{policy: naive}", want: "naive: 3 attempts, no backoff, on 502, 503, 504, error, timeout, no budget"},
		{in: "max_attempts: 2\nbackoff: constant\nbase: 50ms\n", want: "custom: 2 attempts, constant backoff 50ms, on 502, 503, 504, error, timeout, no budget"},
		{in: "{max_attempts: 0}", err: "--policy:1: max_attempts: max_attempts 0 is out of range; write 1 to 10"},
		{in: "{policy: exponentail}", err: `--policy:1: policy: unknown retry policy "exponentail"; did you mean exponential?`},
		{in: "[1]", err: "--policy:1: the policy holds a list; give a name (none (one try), naive (3 tries, no backoff, no budget) or exponential (3 tries, exponential backoff with full jitter, a 10% budget)) or a mapping"},
		{in: "", err: "--policy: the policy is empty; give a name"},
		{in: "{max_attempts: 3, bogus: 1}", err: `--policy:1: bogus: unknown field "bogus"`},
		{in: "{policy: naive}\n---\n{policy: none}\n", err: "--policy:2: a second YAML document starts here; give one policy"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			r, err := DecodeRetry("--policy", []byte(tt.in))
			if tt.err != "" {
				var se *Error
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) || !errors.As(err, &se) {
					t.Fatalf("got %v, want an *Error starting %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
