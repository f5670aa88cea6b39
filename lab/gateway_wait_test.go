package lab_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/scenarios"
)

// TestGatewayLogsWait checks the built-in gateway's wait_ms, read back as
// its testimony's WaitMS: the time before its attempt had a connection,
// which leaves out the upstream's own time (a hang until the 500 ms
// upstream timeout), and none when no attempt got a connection (refused).
func TestGatewayLogsWait(t *testing.T) {
	const timeout = 500 * time.Millisecond
	for _, tt := range []struct {
		name  string
		fault scenarios.Fault
		code  int
		wait  bool // WaitMS is said, and below the upstream timeout
	}{
		{"hang: the upstream's time is not the gateway's", scenarios.Fault{Kind: "hang"}, 504, true},
		{"reset before headers", scenarios.Fault{Kind: "reset"}, 502, true},
		{"refused: no attempt had a connection", scenarios.Fault{Kind: "refuse"}, 502, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url, log, proxy := chainProxy(t, &tt.fault, timeout)
			if tt.fault.Kind == "refuse" {
				waitRefused(t, proxy)
			}
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
			req, err := http.NewRequest(http.MethodGet, url+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Vegeta-Attack", "a")
			req.Header.Set("X-Vegeta-Seq", "7")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Fatalf("got %d, want %d", resp.StatusCode, tt.code)
			}
			ts, err := lab.ReadTestimony(scenarios.GatewayBuiltin, strings.NewReader(log.String()), nil)
			if err != nil || len(ts) != 1 || ts[0].Seq == nil || *ts[0].Seq != 7 {
				t.Fatalf("got testimony %+v, %v; want seq 7's line (log %q)", ts, err, log.String())
			}
			w := ts[0].WaitMS
			switch {
			case tt.wait && (w == nil || *w < 0 || *w >= float64(timeout/time.Millisecond)):
				t.Errorf("got wait %v, want 0 to %v ms (log %q)", w, timeout, log.String())
			case !tt.wait && w != nil:
				t.Errorf("got wait %v, want none (log %q)", *w, log.String())
			}
		})
	}
}
