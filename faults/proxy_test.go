package faults

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

func TestPassThrough(t *testing.T) {
	addr, events := startProxy(t, http.HandlerFunc(hello))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	// Several requests on one keep-alive connection, with bodies framed
	// both ways.
	for i := range 3 {
		body := strings.Repeat("b", i*1000)
		want := "hello from upstream"
		if i > 0 {
			want = "echo " + body
		}
		fmt.Fprintf(c, "POST /p HTTP/1.1\r\nHost: x\r\nX-Vegeta-Seq: %d\r\nContent-Length: %d\r\n\r\n%s", i, len(body), body)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != want || resp.Header.Get("X-Upstream") != "yes" {
			t.Fatalf("request %d: got %d %q (X-Upstream %q), want 200 %q from the upstream", i, resp.StatusCode, b, resp.Header.Get("X-Upstream"), want)
		}
	}
	// A chunked request body, then HEAD, on the same connection.
	fmt.Fprint(c, "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "echo abcde" {
		t.Errorf("chunked request: got %q, want %q", b, "echo abcde")
	}
	fmt.Fprint(c, "HEAD /p HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err = http.ReadResponse(br, &http.Request{Method: "HEAD"})
	if err != nil || resp.StatusCode != 200 || resp.ContentLength != int64(len("hello from upstream")) {
		t.Fatalf("HEAD: got %v, %v; want 200 with the GET's length and no body", resp, err)
	}
	c.Close()
	if evs := events(); len(evs) != 0 {
		t.Errorf("got %d events, want none: %+v", len(evs), evs)
	}
}

func TestStreamsChunkedBody(t *testing.T) {
	release := make(chan struct{})
	addr, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-release
		fmt.Fprint(w, "data: two\n\n")
	}))
	defer close(release)
	c := dialProxy(t, addr)
	defer c.Close()
	fmt.Fprint(c, "GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The first event must arrive while the upstream still holds the rest.
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("got %q, %v; want the first event before the body ends", line, err)
	}
}

func TestFaultsOnTheWire(t *testing.T) {
	p := func(v float64) *float64 { return &v }
	tests := []struct {
		name  string
		fault scenarios.Fault
		// check inspects what a raw client read and the error that ended it.
		check func(t *testing.T, got []byte, err error)
		// event says whether the fault logs an event, cause its cause.
		event bool
		cause string
	}{
		{
			name:  "reset before headers gives ECONNRESET and no byte",
			fault: scenarios.Fault{Kind: "reset", At: "before-headers"},
			check: func(t *testing.T, got []byte, err error) {
				if !errors.Is(err, syscall.ECONNRESET) || len(got) != 0 {
					t.Errorf("got %q, %v; want no bytes and ECONNRESET", got, err)
				}
			},
			event: true,
			cause: "reset-before-headers",
		},
		{
			name:  "status answers without the upstream",
			fault: scenarios.Fault{Kind: "status", Code: 503, Body: "busy", Headers: map[string]string{"retry-after": "3"}},
			check: func(t *testing.T, got []byte, err error) {
				resp, rerr := http.ReadResponse(bufio.NewReader(bytes.NewReader(got)), nil)
				if rerr != nil {
					t.Fatalf("got %q: %v", got, rerr)
				}
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 503 || string(b) != "busy" || resp.Header.Get("Retry-After") != "3" || resp.Header.Get("X-Upstream") != "" {
					t.Errorf("got %d %q Retry-After %q X-Upstream %q; want 503 \"busy\", 3 and no upstream", resp.StatusCode, b, resp.Header.Get("Retry-After"), resp.Header.Get("X-Upstream"))
				}
			},
			event: true,
			cause: "upstream-5xx-passthrough",
		},
		{
			name:  "malformed status line is sent exactly",
			fault: scenarios.Fault{Kind: "malformed", Variant: "status-line"},
			check: func(t *testing.T, got []byte, err error) {
				if string(got) != "HTTP/1.1 abc Broken\r\nContent-Length: 0\r\n\r\n" || err != nil {
					t.Errorf("got %q, %v; want the exact malformed bytes then EOF", got, err)
				}
			},
			event: true,
			cause: "malformed-status-line",
		},
		{
			name:  "hang sends nothing and closes after for",
			fault: scenarios.Fault{Kind: "hang", For: scenarios.Duration(50 * time.Millisecond)},
			check: func(t *testing.T, got []byte, err error) {
				if len(got) != 0 || err != nil {
					t.Errorf("got %q, %v; want no bytes then EOF", got, err)
				}
			},
			event: true,
			cause: "closed-before-headers",
		},
		{
			name:  "latency then the upstream's answer",
			fault: scenarios.Fault{Kind: "latency", Delay: scenarios.Duration(30 * time.Millisecond)},
			check: func(t *testing.T, got []byte, err error) {
				if !bytes.HasSuffix(got, []byte("hello from upstream")) {
					t.Errorf("got %q, %v; want the upstream's answer", got, err)
				}
			},
			event: true,
		},
		{
			name:  "probability 0 never applies",
			fault: scenarios.Fault{Kind: "reset", Probability: p(0)},
			check: func(t *testing.T, got []byte, err error) {
				if !bytes.HasSuffix(got, []byte("hello from upstream")) {
					t.Errorf("got %q, %v; want the upstream's answer", got, err)
				}
			},
		},
		{
			name:  "match excludes other paths",
			fault: scenarios.Fault{Kind: "reset", Match: scenarios.Match{PathPrefix: "/v2"}},
			check: func(t *testing.T, got []byte, err error) {
				if !bytes.HasSuffix(got, []byte("hello from upstream")) {
					t.Errorf("got %q, %v; want the upstream's answer", got, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, events := startProxy(t, http.HandlerFunc(hello), tt.fault)
			start := time.Now()
			got, err := rawRequest(t, addr, 7)
			elapsed := time.Since(start)
			tt.check(t, got, err)
			if d := tt.fault.Delay.D() + tt.fault.For.D(); elapsed < d {
				t.Errorf("answered after %s, want at least %s", elapsed, d)
			}
			e, ok := onlyEvent(t, events(), tt.event)
			if !ok {
				return
			}
			if e.Type != TypeFault || e.Kind != tt.fault.Kind || e.Cause != tt.cause || e.Attack != "a" || e.Seq == nil || *e.Seq != 7 || e.Attempt != 0 || e.Phase != "only" {
				t.Errorf("got event %+v, want a %s fault with cause %s for attack a seq 7, attempt 0, phase only", e, tt.fault.Kind, tt.cause)
			}
		})
	}
}

func TestRetryIsObservedAndDrawsAfresh(t *testing.T) {
	addr, events := startProxy(t, http.HandlerFunc(hello), scenarios.Fault{Kind: "status", Code: 500})
	for range 3 {
		rawRequest(t, addr, 5)
	}
	var faults, retries []int
	for _, e := range events() {
		switch {
		case e.Type == TypeFault:
			faults = append(faults, e.Attempt)
		case e.Kind == ObservedRetry:
			retries = append(retries, e.Attempt)
		}
	}
	if fmt.Sprint(faults) != "[0 1 2]" || fmt.Sprint(retries) != "[1 2]" {
		t.Errorf("got fault attempts %v and retry observations %v, want [0 1 2] and [1 2]", faults, retries)
	}
}

// TestPassThroughIsExact checks that heads and bodies pass byte for byte,
// and that pipelined requests, 100 Continue and Connection: close work.
func TestPassThroughIsExact(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// A raw upstream: the answer's exact bytes are known.
	const answer = "HTTP/1.1 200 OK\r\nX-Odd-Case: kept AS is\r\nContent-Length: 5\r\n\r\nhello"
	got := make(chan string, 1)
	upDone := make(chan struct{})
	go func() {
		defer close(upDone)
		c, err := up.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		var seen strings.Builder
		for i := range 3 {
			h, err := readHead(br, true)
			if err != nil {
				return
			}
			seen.Write(h.raw)
			if h.get("Expect") == "100-continue" {
				io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
			}
			var body bytes.Buffer
			copyBody(&body, br, h, false, nil)
			seen.Write(body.Bytes())
			if i == 2 {
				got <- seen.String()
				io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye")
				return
			}
			io.WriteString(c, answer)
		}
	}()
	p, err := New(Config{Upstream: up.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := serve(t, p)
	defer func() {
		stop()
		up.Close()
		<-upDone
	}()

	c := dialProxy(t, addr)
	defer c.Close()
	// Two pipelined requests, written at once.
	reqs := "GET /a HTTP/1.1\r\nhost: x\r\nUser-agent: odd\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
	io.WriteString(c, reqs)
	br := bufio.NewReader(c)
	for i := range 2 {
		h, err := readHead(br, false)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		copyBody(&body, br, h, true, nil)
		if s := string(h.raw) + body.String(); s != answer {
			t.Fatalf("answer %d: got %q, want %q", i, s, answer)
		}
	}
	// Expect: 100-continue: the body is sent only after the 100.
	io.WriteString(c, "POST /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n")
	h, err := readHead(br, false)
	if err != nil || h.code != 100 {
		t.Fatalf("got %v, %v; want 100 Continue passed down", h, err)
	}
	io.WriteString(c, "body")
	if want := reqs + "POST /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody"; <-got != want {
		t.Errorf("the upstream did not get the requests as sent")
	}
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye" {
		t.Errorf("got %q, %v; want the last answer, then the connection closed", rest, err)
	}
}

// TestRetryDrawsAfresh: the second attempt of a seq is decided anew.
func TestRetryDrawsAfresh(t *testing.T) {
	half := 0.5
	addr, events := startProxy(t, http.HandlerFunc(hello), scenarios.Fault{Kind: "status", Code: 500, Probability: &half})
	for seq := range 40 {
		rawRequest(t, addr, seq)
		rawRequest(t, addr, seq)
	}
	hit := map[[2]uint64]bool{}
	for _, e := range events() {
		if e.Type == TypeFault {
			hit[[2]uint64{*e.Seq, uint64(e.Attempt)}] = true
		}
	}
	differ := 0
	for seq := range uint64(40) {
		if hit[[2]uint64{seq, 0}] != hit[[2]uint64{seq, 1}] {
			differ++
		}
		if want := NewDraw(1, "a", seq, 0, 0).Hit(half); hit[[2]uint64{seq, 0}] != want {
			t.Errorf("seq %d attempt 0: applied %v, want %v as the draw decides", seq, hit[[2]uint64{seq, 0}], want)
		}
	}
	// With independent draws about half of the 40 differ; never none.
	if differ == 0 {
		t.Error("every retry got the same decision as its first attempt, want fresh draws")
	}
}

// TestGatewayClosingMidRequestIsObserved: a gateway that leaves in the
// middle of sending a request body shows up as an observation.
func TestGatewayClosingMidRequestIsObserved(t *testing.T) {
	addr, log, events := startProxyLog(t, http.HandlerFunc(hello))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: x\r\nX-Vegeta-Seq: 4\r\nContent-Length: 100\r\n\r\nonly ten b")
	c.Close()
	// The proxy logs the observation once it sees the close (bounded wait).
	deadline := time.Now().Add(10 * time.Second)
	for log.Count() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	evs := events()
	if len(evs) != 1 || evs[0].Kind != ObservedGatewayClosed || evs[0].Type != TypeObservation || *evs[0].Seq != 4 {
		t.Fatalf("got %+v, want one gateway-closed observation for seq 4", evs)
	}
}

// TestPlannedFaultLoggedWhenALaterOneEnds: slow-body planned, then a
// status answers: both log an event.
func TestPlannedFaultLoggedWhenALaterOneEnds(t *testing.T) {
	addr, events := startProxy(t, http.HandlerFunc(body100),
		scenarios.Fault{Kind: "slow-body", BytesPerSecond: 1000},
		scenarios.Fault{Kind: "status", Code: 500})
	exchangeRaw(t, addr)
	var kinds []string
	for _, e := range events() {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "status,slow-body" && strings.Join(kinds, ",") != "slow-body,status" {
		t.Errorf("got events %v, want one for slow-body and one for status", kinds)
	}
}
