// Command client sends the fixture requests to a gateway.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

var (
	tr = &http.Transport{MaxIdleConnsPerHost: 1}
	cl = &http.Client{Transport: tr}
)

func do(base string, seq int, path string, fresh bool, timeout time.Duration) {
	if fresh {
		tr.CloseIdleConnections()
	}
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
	if seq > 0 {
		req.Header.Set("X-Vegeta-Attack", "s")
		req.Header.Set("X-Vegeta-Seq", strconv.Itoa(seq))
	}
	resp, err := cl.Do(req)
	if err != nil {
		fmt.Printf("seq %d %s: error %v\n", seq, path, err)
		return
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("seq %d %s: %d %dB %v\n", seq, path, resp.StatusCode, len(b), err)
}

func main() {
	base := os.Args[1]
	// One request per behaviour, each on its own connection.
	do(base, 1, "/good", true, 0)
	do(base, 2, "/refused", true, 0)
	do(base, 3, "/close", true, 0)
	do(base, 4, "/reset", true, 0)
	do(base, 5, "/garbage", true, 0)
	do(base, 6, "/hang", true, 0)
	do(base, 7, "/midbody", true, 0)
	do(base, 8, "/retry", true, 0)
	do(base, 9, "/retry2", true, 0)
	// Keep-alive: good, bad, good, bad on one connection, same second.
	do(base, 10, "/good", true, 0)
	do(base, 11, "/close", false, 0)
	do(base, 12, "/good", false, 0)
	do(base, 13, "/reset", false, 0)
	// No vegeta headers.
	do(base, 0, "/good", true, 0)
	do(base, 0, "/close", true, 0)
	// The client gives up before the upstream answers.
	do(base, 14, "/hang", true, 300*time.Millisecond)
	time.Sleep(1500 * time.Millisecond)
}
