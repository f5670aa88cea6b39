package results

import (
	"bytes"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
	"github.com/gatecrash/gatecrash/results/causes"
)

func TestTestimonyInTheReport(t *testing.T) {
	res := []vegeta.Result{
		// The proxy never saw seq 1; nginx says why.
		{Attack: "a", Seq: 1, Code: 502, Timestamp: at(1000), Latency: time.Millisecond},
		// Seq 2 was reset, nginx retried it (502, 200): masked, confirmed.
		{Attack: "a", Seq: 2, Code: 200, Timestamp: at(2000), Latency: time.Millisecond},
		// Seq 3 was reset and failed: exact, with the gateway's words.
		{Attack: "a", Seq: 3, Code: 502, Timestamp: at(3000), Latency: time.Millisecond},
		// HAProxy's termination state names a timeout.
		{Attack: "a", Seq: 4, Code: 504, Timestamp: at(4000), Latency: time.Millisecond},
	}
	events := []faults.Event{
		fault(2001, u64(2), 0, "reset", "reset-before-headers", true),
		{Time: at(2002), Type: faults.TypeObservation, Attack: "a", Seq: u64(2), Attempt: 1, Kind: faults.ObservedRetry},
		fault(3001, u64(3), 0, "reset", "reset-before-headers", true),
	}
	closed := "upstream prematurely closed connection while reading response header from upstream"
	reset := "recv() failed (104: Connection reset by peer) while reading response header from upstream"
	told := []Testimony{
		{Gateway: "nginx", Time: at(1001), Attack: "a", Seq: u64(1), Status: 502, Upstream: []string{"502"}, Words: closed},
		{Gateway: "nginx", Time: at(2003), Attack: "a", Seq: u64(2), Status: 200, Upstream: []string{"502", "200"}, Retries: 1, Words: reset},
		{Gateway: "nginx", Time: at(3002), Attack: "a", Seq: u64(3), Status: 502, Upstream: []string{"502"}, Words: reset},
		{Gateway: "haproxy", Time: at(4002), Attack: "a", Seq: u64(4), Status: 504, Words: "sH--: the server-side timeout expired before full headers"},
		{Gateway: "nginx", Time: at(5000), Words: "an error log line tied to no request"},
	}
	a := NewAnalyzer(oneRun("reset"), Options{})
	for i := range events {
		a.AddEvent(&events[i])
	}
	a.AddTestimony(told)
	for i := range res {
		a.Add(&res[i])
	}
	rep := a.Report()
	byCause := map[string]Cause{}
	for _, c := range rep.Causes {
		byCause[c.Cause] = c
	}
	if c := byCause["closed-before-headers"]; c.Count != 1 || c.Evidence.Signature != 1 || len(c.GatewayWords) != 1 || c.GatewayWords[0] != (Words{closed, 1}) {
		t.Errorf("seq 1: got %+v, want closed-before-headers by the gateway's words", c)
	}
	if c := byCause["reset-before-headers"]; c.Count != 1 || c.Evidence.Exact != 1 || len(c.GatewayWords) != 1 || c.GatewayWords[0].Words != reset {
		t.Errorf("seq 3: got %+v, want reset-before-headers, exact, with nginx's words", c)
	}
	if c, l := causeOf(t, rep, "504"); c != "upstream-timeout" || l != "signature" {
		t.Errorf("seq 4: got %s (%s), want upstream-timeout (signature)", c, l)
	}
	if m := rep.Masked; m.Count != 1 || m.GatewayConfirmed != 1 {
		t.Errorf("masked: got %+v, want 1, confirmed by the gateway's log", m)
	}
}

func TestTestimonyFile(t *testing.T) {
	in := []Testimony{
		{Gateway: "nginx", Time: at(1), Attack: "a", Seq: u64(1), Status: 502, Upstream: []string{"502", "-"}, Retries: 1, Words: "w"},
		{Gateway: "haproxy", Time: at(2), Words: "SC--"},
	}
	var buf bytes.Buffer
	if err := WriteTestimony(&buf, in); err != nil {
		t.Fatal(err)
	}
	full := buf.String()
	got, err := ReadTestimony(strings.NewReader(full))
	if err != nil || len(got) != 2 || *got[0].Seq != 1 || got[0].Upstream[1] != "-" || got[1].Seq != nil || got[1].Words != "SC--" {
		t.Fatalf("round trip: got %+v, %v", got, err)
	}
	// A last line cut short is dropped; a broken line before the last is
	// an error naming it.
	if got, err := ReadTestimony(strings.NewReader(full[:len(full)-5])); err != nil || len(got) != 1 {
		t.Errorf("cut short: got %d entries, %v; want 1, no error", len(got), err)
	}
	if _, err := ReadTestimony(strings.NewReader("{bad\n" + full)); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("broken first line: got %v, want an error naming line 1", err)
	}
}

func FuzzReadTestimony(f *testing.F) {
	f.Add([]byte(`{"gateway":"nginx","time":"2026-01-02T03:04:05Z","attack":"a","seq":1,"status":502,"upstream":["502","200"],"retries":1,"words":"w"}` + "\n"))
	f.Add([]byte("{}\n\n{\"seq\":null}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := ReadTestimony(bytes.NewReader(data))
		if err != nil && ts != nil {
			t.Errorf("got %d entries with error %v", len(ts), err)
		}
	})
}

func TestWordsCause(t *testing.T) {
	for _, tt := range []struct{ words, cause string }{
		{"connect() failed (111: Connection refused) while connecting to upstream", "connection-refused"},
		{"upstream prematurely closed connection while reading response header from upstream", "closed-before-headers"},
		{"recv() failed (104: Connection reset by peer) while reading response header from upstream", "reset-before-headers"},
		{"upstream sent no valid HTTP/1.0 header while reading response header from upstream", "malformed-status-line"},
		{"upstream timed out (110: Connection timed out) while reading response header from upstream", "upstream-timeout"},
		{"readv() failed (104: Connection reset by peer) while reading upstream", "reset-mid-body"},
		{"upstream prematurely closed connection while reading upstream", "closed-mid-body"},
		{"aborting with incomplete response: read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer", "reset-mid-body"},
		{"SC--: the server refused the connection", "connection-refused"},
		{"sH--: the server-side timeout expired before full headers", "upstream-timeout"},
		{"PH--: the proxy blocked the server's answer", "malformed-response"},
		{"dial tcp 127.0.0.1:18089: connect: connection refused", "connection-refused"},
		{`net/http: HTTP/1.x transport connection broken: malformed HTTP status code "abc"`, "malformed-response"},
		{"net/http: timeout awaiting response headers", "upstream-timeout"},
		{"EOF", "closed-before-headers"},
		{"something else", ""},
		{"", ""},
	} {
		if got := causes.Word(tt.words); got != tt.cause {
			t.Errorf("%q: got %q, want %q", tt.words, got, tt.cause)
		}
	}
}
