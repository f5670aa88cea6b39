package faults

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// scriptedUpstream is a raw TCP upstream that runs script on every
// connection it accepts, and counts them; a script waits on gate for the
// client to have read what it must first. It stops when the test ends.
func scriptedUpstream(t *testing.T, script func(c *net.TCPConn, br *bufio.Reader, gate <-chan struct{}), gate <-chan struct{}) (string, *atomic.Int64) {
	t.Helper()
	u := startTCPUpstream(t, func(c *net.TCPConn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		script(c, bufio.NewReader(c), gate)
	})
	return u.addr, &u.accepted
}

// The upstream's steps.
func answerOK(c net.Conn, br *bufio.Reader) bool {
	if _, err := readHead(br, true); err != nil {
		return false
	}
	io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	return true
}

func rst(c *net.TCPConn) {
	c.SetLinger(0)
	c.Close()
}

// isEOF and isRST tell how the client saw its connection end.
func isEOF(err error) bool { return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) }
func isRST(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// TestProxyIsTransparentToTheUpstream: with no fault, the gateway's
// connection meets what the upstream does to the proxy's, at the same
// point and in the same way (FIN or RST), and the proxy never dials again
// behind the gateway's back; each of the upstream's own failures is an
// observation with a cause of its own, and the request's seq when one
// was in flight.
func TestProxyIsTransparentToTheUpstream(t *testing.T) {
	for _, tt := range []struct {
		name   string
		script func(c *net.TCPConn, br *bufio.Reader, gate <-chan struct{})
		// requests are sent one after the other on one connection; the
		// last one meets the upstream's end (end checks its error), unless
		// idle, where the client only reads after the first answer.
		requests int
		idle     bool
		end      func(error) bool
		midBody  bool // the client reads the head, opens the gate, then reads the body
		cause    string
		seq      *uint64 // of the observation; nil: none
	}{
		{"idle close (FIN)", func(c *net.TCPConn, br *bufio.Reader, gate <-chan struct{}) { answerOK(c, br) },
			1, true, isEOF, false, "upstream-closed-idle", nil},
		{"idle reset (RST)", func(c *net.TCPConn, br *bufio.Reader, gate <-chan struct{}) {
			if answerOK(c, br) {
				<-gate // the answer is read first
				rst(c)
			}
		}, 1, true, isRST, false, "upstream-closed-idle", nil},
		{"close crossing the next request", func(c *net.TCPConn, br *bufio.Reader, gate <-chan struct{}) {
			if answerOK(c, br) {
				readHead(br, true)
			}
		}, 2, false, isEOF, false, "upstream-closed-idle", u64(1)},
		{"close before answering", func(c *net.TCPConn, br *bufio.Reader, gate <-chan struct{}) { readHead(br, true) },
			1, false, isEOF, false, "upstream-closed", u64(0)},
		{"reset before answering", func(c *net.TCPConn, br *bufio.Reader, gate <-chan struct{}) {
			if _, err := readHead(br, true); err == nil {
				rst(c)
			}
		}, 1, false, isRST, false, "upstream-reset", u64(0)},
		{"close mid-body", func(c *net.TCPConn, br *bufio.Reader, gate <-chan struct{}) {
			if _, err := readHead(br, true); err == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfour")
			}
		}, 1, false, isEOF, false, "upstream-closed-mid-body", u64(0)},
		{"reset mid-body", func(c *net.TCPConn, br *bufio.Reader, gate <-chan struct{}) {
			if _, err := readHead(br, true); err == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfour")
				<-gate // the head is read first
				rst(c)
			}
		}, 1, false, func(err error) bool { return isRST(err) || isEOF(err) }, true, "upstream-reset-mid-body", u64(0)},
		{"malformed answer", func(c *net.TCPConn, br *bufio.Reader, gate <-chan struct{}) {
			if _, err := readHead(br, true); err == nil {
				io.WriteString(c, "garbage\r\n\r\n")
			}
		}, 1, false, func(err error) bool { return err != nil }, false, "upstream-malformed", u64(0)},
		{"Connection: close", func(c *net.TCPConn, br *bufio.Reader, gate <-chan struct{}) {
			if _, err := readHead(br, true); err == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
			}
		}, 1, true, isEOF, false, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gate := make(chan struct{})
			upAddr, accepted := scriptedUpstream(t, tt.script, gate)
			addr, _, events := runProxy(t, Config{Upstream: upAddr, Seed: 1})
			c := dialProxy(t, addr)
			defer c.Close()
			br := bufio.NewReader(c)
			var err error
			for seq := range tt.requests {
				var resp *http.Response
				if tt.midBody {
					// The head first, then the body the upstream cuts.
					fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Vegeta-Attack: a\r\nX-Vegeta-Seq: %d\r\n\r\n", seq)
					if resp, err = http.ReadResponse(br, nil); err != nil {
						t.Fatalf("request %d: got %v, want the head", seq, err)
					}
					close(gate)
					_, err = io.ReadAll(resp.Body)
					break
				}
				resp, err = getOn(c, br, seq, http.MethodGet)
				if tt.idle || seq < tt.requests-1 {
					if err != nil || resp.StatusCode != 200 {
						t.Fatalf("request %d: got %v, want an answer", seq, err)
					}
				}
			}
			if tt.idle {
				// Nothing sent: the gateway's connection ends by itself.
				close(gate)
				_, err = br.ReadByte()
			}
			if !tt.end(err) {
				t.Errorf("the client's connection: got %v, want it ended as the upstream's was", err)
			}
			if n := accepted.Load(); n != 1 {
				t.Errorf("the upstream accepted %d connections, want 1: the proxy must not dial again", n)
			}
			e, ok := onlyEvent(t, withoutSummaries(events()), tt.cause != "")
			if !ok {
				return
			}
			if e.Type != TypeObservation || e.Kind != ObservedUpstreamError || e.Cause != tt.cause {
				t.Errorf("got %+v, want an %s observation with cause %s", e, ObservedUpstreamError, tt.cause)
			}
			if got, want := fmt.Sprint(deref(e.Seq)), fmt.Sprint(deref(tt.seq)); (e.Seq == nil) != (tt.seq == nil) || got != want {
				t.Errorf("got seq %s, want %s", got, want)
			}
			if e.Ended != (tt.seq != nil) {
				t.Errorf("got ended %v, want it only when a request was in flight", e.Ended)
			}
			t.Logf("%s: %s", e.Cause, e.Detail)
		})
	}
}

// TestProxyRefusedUpstream: an upstream that refuses connections makes
// the proxy reset the gateway's connection, the nearest a proxy that has
// accepted can come to a refusal, with the cause upstream-refused.
func TestProxyRefusedUpstream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	addr, _, events := runProxy(t, Config{Upstream: dead, Seed: 1})
	c := dialProxy(t, addr)
	defer c.Close()
	if _, err := getOn(c, bufio.NewReader(c), 0, http.MethodGet); !isRST(err) {
		t.Errorf("got %v, want the connection reset", err)
	}
	evs := withoutSummaries(events())
	if len(evs) != 1 || evs[0].Cause != "upstream-refused" || evs[0].Seq == nil || *evs[0].Seq != 0 {
		t.Errorf("got %+v, want one upstream-refused observation of seq 0", evs)
	}
}

func u64(n uint64) *uint64 { return &n }

func deref(p *uint64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestProxyPassesUnaskedBytes: what the upstream sends on an idle
// connection (a 408 before its close) reaches the gateway as it is, and
// then the close.
func TestProxyPassesUnaskedBytes(t *testing.T) {
	const late = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
	gate := make(chan struct{})
	upAddr, _ := scriptedUpstream(t, func(c *net.TCPConn, br *bufio.Reader, gate <-chan struct{}) {
		if answerOK(c, br) {
			<-gate // the answer is read first
			io.WriteString(c, late)
		}
	}, gate)
	addr, _, events := runProxy(t, Config{Upstream: upAddr, Seed: 1})
	c := dialProxy(t, addr)
	defer c.Close()
	br := bufio.NewReader(c)
	if resp, err := getOn(c, br, 0, http.MethodGet); err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %v, want the first answer", err)
	}
	close(gate)
	rest, err := io.ReadAll(br)
	if string(rest) != late || err != nil {
		t.Errorf("got %q, %v; want the upstream's unasked 408, then the close", rest, err)
	}
	evs := withoutSummaries(events())
	if len(evs) != 1 || evs[0].Cause != "upstream-closed-idle" || evs[0].Seq != nil {
		t.Errorf("got %+v, want one upstream-closed-idle observation without seq", evs)
	}
}

// TestProxyMirrorsIdleCloseFirst: the upstream's idle close reaches the
// gateway before the proxy records its observation, so that a slow event
// log never keeps the gateway reusing a connection the upstream closed
// (which widens the keep-alive race the proxy must only pass on).
func TestProxyMirrorsIdleCloseFirst(t *testing.T) {
	gate := make(chan struct{})
	upAddr, _ := scriptedUpstream(t, func(c *net.TCPConn, br *bufio.Reader, gate <-chan struct{}) {
		if answerOK(c, br) {
			<-gate // the answer is read first, then the FIN
		}
	}, gate)
	addr, log, events := runProxy(t, Config{Upstream: upAddr, Seed: 1})
	c := dialProxy(t, addr)
	defer c.Close()
	br := bufio.NewReader(c)
	if resp, err := getOn(c, br, 0, http.MethodGet); err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %v, want the first answer", err)
	}
	log.mu.Lock() // the event log is busy: recording blocks
	close(gate)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := br.ReadByte()
	log.mu.Unlock()
	if !isEOF(err) {
		t.Errorf("while the event log was busy, the client's connection got %v, want the upstream's FIN (EOF)", err)
	}
	evs := withoutSummaries(events())
	if len(evs) != 1 || evs[0].Cause != "upstream-closed-idle" {
		t.Errorf("got %+v, want one upstream-closed-idle observation", evs)
	}
}
