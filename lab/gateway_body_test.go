package lab

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// closedAfter is a request body of n bytes whose every read after them
// fails, as an inbound body Go's server closed once the answer began.
type closedAfter struct {
	r     io.Reader
	n     int
	extra int // reads after the n bytes
}

func (c *closedAfter) Read(p []byte) (int, error) {
	if c.n == 0 {
		c.extra++
		return 0, errors.New("http: invalid Read on closed Body")
	}
	if len(p) > c.n {
		p = p[:c.n]
	}
	m, err := c.r.Read(p)
	c.n -= m
	return m, err
}

func (c *closedAfter) Close() error { return nil }

// TestSizedBody checks that a body of known length ends at its length
// without reading its source again.
func TestSizedBody(t *testing.T) {
	for _, size := range []int{1, 5, 4096, 100000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			src := &closedAfter{r: strings.NewReader(strings.Repeat("b", size)), n: size}
			b := &sizedBody{ReadCloser: src, left: int64(size)}
			got, err := io.ReadAll(b)
			if err != nil || len(got) != size {
				t.Fatalf("got %d bytes, %v; want %d, nil", len(got), err, size)
			}
			if n, err := b.Read(make([]byte, 10)); n != 0 || err != io.EOF {
				t.Errorf("a read after the end: got %d, %v; want 0, EOF", n, err)
			}
			if src.extra != 0 {
				t.Errorf("the source was read %d times after its end, want 0", src.extra)
			}
		})
	}
}

// TestGatewayPostStreams sends POSTs with a body through the built-in
// gateway to an upstream that reads the body, then streams events: every
// stream arrives whole, and the gateway logs no body copy broken off.
// Without sizedBody, about 1 stream in 100 was cut under load.
func TestGatewayPostStreams(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 5 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer up.Close()
	var log lockedLog
	gw, err := NewGateway(up.URL, 5*time.Second, &log)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	srv := httptest.NewServer(gw)
	defer srv.Close()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 50}}
	defer client.CloseIdleConnections()
	const n, workers = 600, 30
	var mu sync.Mutex
	cut := 0
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				resp, err := client.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"stream": true, "messages": [{"role": "user", "content": "hi"}]}`))
				if err != nil {
					t.Error(err)
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
					mu.Lock()
					cut++
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if cut > 0 || strings.Contains(log.String(), "read error during body copy") {
		t.Errorf("%d of %d streams cut; the gateway logged:\n%s", cut, n, log.String())
	}
}

// lockedLog is a gateway log safe for the gateway's writes and the test's
// reads.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
