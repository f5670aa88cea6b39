package faults

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// sendTries sends one GET per try value on one kept-alive connection,
// all with the same attack and seq, each with the X-Gatecrash-Try header
// the value gives ("" sends none), and reads each answer whole.
func sendTries(t *testing.T, addr string, seq int, tries []string) {
	t.Helper()
	c := dialProxy(t, addr)
	defer c.Close()
	br := bufio.NewReader(c)
	for _, try := range tries {
		hdr := ""
		if try != "" {
			hdr = scenarios.HeaderTry + ": " + try + "\r\n"
		}
		fmt.Fprintf(c, "GET /v1/items HTTP/1.1\r\nHost: x\r\nX-Vegeta-Attack: a\r\nX-Vegeta-Seq: %d\r\n%s\r\n", seq, hdr)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("try %q: %v", try, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// TestProxyTellsClientRetries sends the same (attack, seq) several times
// with the try numbers of each row, through a real proxy on loopback,
// with a fault that applies to every request and with none, and checks
// every event's try and attempt and the observations: the same try again
// is a gateway retry ("retry"), a new try number a client retry
// ("client-retry"); without a try header, or with one that is not a whole
// number from 1 (ignored, as no header), a request seen again is a
// "retry" of either, as before try numbers existed.
func TestProxyTellsClientRetries(t *testing.T) {
	type obs struct {
		kind    string
		attempt int
		try     int
		detail  string // a part of the detail
	}
	tests := []struct {
		name     string
		tries    []string // each request's header value; "" for none
		wantTry  []int    // each request's Event.Try
		observed []obs
	}{
		{name: "gateway retry", tries: []string{"1", "1"}, wantTry: []int{1, 1},
			observed: []obs{{ObservedRetry, 1, 1, "try 1 too: the gateway retried"}}},
		{name: "client retry", tries: []string{"1", "2"}, wantTry: []int{1, 2},
			observed: []obs{{ObservedClientRetry, 1, 2, "not as try 2: the client retried"}}},
		{name: "client retry then gateway retry", tries: []string{"1", "2", "2"}, wantTry: []int{1, 2, 2},
			observed: []obs{{ObservedClientRetry, 1, 2, "the client retried"}, {ObservedRetry, 2, 2, "the gateway retried"}}},
		{name: "gateway retries of each try", tries: []string{"1", "1", "2", "3", "3"}, wantTry: []int{1, 1, 2, 3, 3},
			observed: []obs{{ObservedRetry, 1, 1, "gateway"}, {ObservedClientRetry, 2, 2, "client"}, {ObservedClientRetry, 3, 3, "client"}, {ObservedRetry, 4, 3, "gateway"}}},
		{name: "first try never reached the proxy", tries: []string{"2", "3"}, wantTry: []int{2, 3},
			observed: []obs{{ObservedClientRetry, 1, 3, "client"}}},
		{name: "an older try again", tries: []string{"1", "2", "1"}, wantTry: []int{1, 2, 1},
			observed: []obs{{ObservedClientRetry, 1, 2, "client"}, {ObservedRetry, 2, 1, "gateway"}}},
		{name: "no header", tries: []string{"", ""}, wantTry: []int{0, 0},
			observed: []obs{{ObservedRetry, 1, 0, "the gateway or the client retried"}}},
		{name: "spaces around the number", tries: []string{" 1 ", "2\t"}, wantTry: []int{1, 2},
			observed: []obs{{ObservedClientRetry, 1, 2, "client"}}},
		{name: "junk values are no header", tries: []string{"abc", "0", "-1", "+2", "1.5", "0x2", "99999999999999999999", "2147483648"}, wantTry: []int{0, 0, 0, 0, 0, 0, 0, 0},
			observed: []obs{{ObservedRetry, 1, 0, "or the client"}, {ObservedRetry, 2, 0, ""}, {ObservedRetry, 3, 0, ""}, {ObservedRetry, 4, 0, ""}, {ObservedRetry, 5, 0, ""}, {ObservedRetry, 6, 0, ""}, {ObservedRetry, 7, 0, ""}}},
		{name: "junk, then a try", tries: []string{"junk", "2"}, wantTry: []int{0, 2},
			observed: []obs{{ObservedClientRetry, 1, 2, "client"}}},
		// Without a try, a request counts as try 1 for the ones after it
		// (a client that sends tries sends them on every request).
		{name: "no header, then try 1", tries: []string{"", "1"}, wantTry: []int{0, 1},
			observed: []obs{{ObservedRetry, 1, 1, "gateway"}}},
		{name: "the largest try", tries: []string{"2147483647", "2147483647"}, wantTry: []int{1<<31 - 1, 1<<31 - 1},
			observed: []obs{{ObservedRetry, 1, 1<<31 - 1, "gateway"}}},
	}
	for _, faulted := range []bool{true, false} {
		for _, tt := range tests {
			name := tt.name + ", pass-through"
			var specs []scenarios.Fault
			if faulted {
				name = tt.name + ", faulted"
				specs = []scenarios.Fault{{Kind: "status", Code: 503}}
			}
			t.Run(name, func(t *testing.T) {
				addr, events := startProxy(t, http.HandlerFunc(hello), specs...)
				sendTries(t, addr, 7, tt.tries)
				var gotObs []obs
				var faults []Event
				for _, e := range events() {
					if e.Seq == nil || *e.Seq != 7 || e.Attack != "a" {
						t.Errorf("event %+v: want attack a, seq 7", e)
						continue
					}
					switch e.Type {
					case TypeFault:
						faults = append(faults, e)
					case TypeObservation:
						gotObs = append(gotObs, obs{e.Kind, e.Attempt, e.Try, e.Detail})
					}
				}
				if faulted {
					if len(faults) != len(tt.tries) {
						t.Fatalf("got %d fault events, want one per request: %d", len(faults), len(tt.tries))
					}
					for i, e := range faults {
						if e.Try != tt.wantTry[i] || e.Attempt != i {
							t.Errorf("request %d (try header %q): got try %d, attempt %d; want try %d, attempt %d", i, tt.tries[i], e.Try, e.Attempt, tt.wantTry[i], i)
						}
					}
				} else if len(faults) != 0 {
					t.Errorf("got %d fault events without a fault, want none", len(faults))
				}
				if len(gotObs) != len(tt.observed) {
					t.Fatalf("got observations %+v, want %+v", gotObs, tt.observed)
				}
				for i, o := range gotObs {
					w := tt.observed[i]
					if o.kind != w.kind || o.attempt != w.attempt || o.try != w.try || !strings.Contains(o.detail, w.detail) {
						t.Errorf("observation %d: got %s (attempt %d, try %d, %q), want %s (attempt %d, try %d, detail with %q)", i, o.kind, o.attempt, o.try, o.detail, w.kind, w.attempt, w.try, w.detail)
					}
				}
				// What the analysis reads off the events, per seq.
				arrivals, tries, gateway := 1, 1, 0
				for _, o := range gotObs {
					arrivals++
					switch o.kind {
					case ObservedClientRetry:
						tries++
					case ObservedRetry:
						gateway++
					}
				}
				if arrivals != len(tt.tries) {
					t.Errorf("got %d arrivals from the observations, want %d", arrivals, len(tt.tries))
				}
				if want := distinct(tt.wantTry); tt.wantTry[0] != 0 && tries != want {
					t.Errorf("got %d distinct tries from the observations, want %d", tries, want)
				}
			})
		}
	}
}

// distinct counts the distinct values of tries.
func distinct(tries []int) int {
	s := slices.Clone(tries)
	slices.Sort(s)
	return len(slices.Compact(s))
}

// TestTryKeepsDraws checks that the try number does not enter fault
// decisions: two proxies of the same seed, at probability one half, one
// sent each seq as tries 1 and 2 (a client retry), the other as the same
// requests without a try header, fault the same (seq, attempt)s. A client
// retry thus draws afresh, as every new attempt does.
func TestTryKeepsDraws(t *testing.T) {
	const n = 64
	half := 0.5
	faulted := func(tries []string) map[[2]uint64]bool {
		addr, events := startProxy(t, http.HandlerFunc(hello), scenarios.Fault{Kind: "status", Code: 503, Probability: &half})
		for seq := range n {
			sendTries(t, addr, seq, tries)
		}
		got := map[[2]uint64]bool{}
		for _, e := range events() {
			if e.Type == TypeFault {
				got[[2]uint64{*e.Seq, uint64(e.Attempt)}] = true
			}
		}
		return got
	}
	with, without := faulted([]string{"1", "2"}), faulted([]string{"", ""})
	if len(with) == 0 || len(with) == 2*n {
		t.Fatalf("got %d of %d attempts faulted at p=0.5, want some but not all", len(with), 2*n)
	}
	for k := range with {
		if !without[k] {
			t.Errorf("seq %d attempt %d: faulted with a try header, not without", k[0], k[1])
		}
	}
	for k := range without {
		if !with[k] {
			t.Errorf("seq %d attempt %d: faulted without a try header, not with", k[0], k[1])
		}
	}
}

// TestAttemptsTries checks what the proxy remembers of the tries of a
// request across the generations of its attempts: a try seen again within
// the horizon is found, however many generations it crosses, and is
// forgotten with the request; tries from 64 on are not told apart.
func TestAttemptsTries(t *testing.T) {
	const h = 10 * time.Second
	type hit struct {
		seq       uint64
		try       int
		at        time.Duration
		want      int  // attempts before
		wantAgain bool // the same try was seen before
	}
	tests := []struct {
		name string
		hits []hit
	}{
		{name: "same try", hits: []hit{{1, 1, 0, 0, false}, {1, 1, 0, 1, true}}},
		{name: "new try", hits: []hit{{1, 1, 0, 0, false}, {1, 2, 0, 1, false}, {1, 2, 0, 2, true}, {1, 1, 0, 3, true}}},
		{name: "no try is never again", hits: []hit{{1, 0, 0, 0, false}, {1, 0, 0, 1, false}, {1, 2, 0, 2, false}, {1, 0, 0, 3, false}, {1, 2, 0, 4, true}}},
		{name: "no try counts as try 1 after it", hits: []hit{{1, 0, 0, 0, false}, {1, 1, 0, 1, true}, {2, 0, 0, 0, false}, {2, 2, 0, 1, false}, {2, 1, 0, 2, true}}},
		{name: "other seqs apart", hits: []hit{{1, 1, 0, 0, false}, {2, 1, 0, 0, false}, {2, 1, 0, 1, true}}},
		{name: "carried from the old generation", hits: []hit{{1, 1, 0, 0, false}, {2, 1, h, 0, false}, {1, 1, h + h/2, 1, true}}},
		{name: "carried by a request without a try", hits: []hit{
			{1, 1, 0, 0, false}, {2, 1, h, 0, false}, {1, 0, h + h/2, 1, false}, {3, 1, 2 * h, 0, false}, {1, 1, 2*h + h/2, 2, true},
		}},
		{name: "forgotten after two generations", hits: []hit{{1, 1, 0, 0, false}, {2, 1, h, 0, false}, {3, 1, 2 * h, 0, false}, {1, 1, 2 * h, 0, false}}},
		{name: "tries from 64 on share one", hits: []hit{{1, 63, 0, 0, false}, {1, 64, 0, 1, false}, {1, 65, 0, 2, true}, {1, 63, 0, 3, true}}},
	}
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := attempts{horizon: h}
			for i, x := range tt.hits {
				got, again := a.next(seqID{"a", x.seq}, x.try, t0.Add(x.at))
				if got != x.want || again != x.wantAgain {
					t.Errorf("hit %d (seq %d, try %d at %s): got %d attempts before, again %v; want %d, %v", i, x.seq, x.try, x.at, got, again, x.want, x.wantAgain)
				}
			}
		})
	}
}

// TestParseTry checks the try numbers the proxy accepts: a decimal from 1
// to 2^31-1; anything else is ignored (0, as no header).
func TestParseTry(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"1", 1}, {"2", 2}, {"007", 7}, {"2147483647", 1<<31 - 1},
		{"", 0}, {"0", 0}, {"-1", 0}, {"+1", 0}, {"1.0", 0}, {"1 2", 0}, {"one", 0},
		{"2147483648", 0}, {"99999999999999999999", 0}, {"0x10", 0},
	}
	for _, tt := range tests {
		if got := parseTry([]byte(tt.in)); got != tt.want {
			t.Errorf("parseTry(%q): got %d, want %d", tt.in, got, tt.want)
		}
	}
}
