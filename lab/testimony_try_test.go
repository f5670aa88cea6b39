package lab

import (
	"strings"
	"testing"
	"time"
)

// TestReadTestimonyTry checks that each gateway's testimony reads the
// client's try number (X-Gatecrash-Try) where its log holds it: the
// default templates' nginx and HAProxy formats end with it ("-" for no
// header), Caddy logs the request's headers; a line of the format before
// the try (no last field) reads as no try, as do "-" and junk.
func TestReadTestimonyTry(t *testing.T) {
	tests := []struct {
		name, kind, line string
		seq              uint64
		try, retries     int
	}{
		{name: "nginx, try 2", kind: "nginx", line: `gc1 1795651500.100 7 1 "a" "5" 200 "200" "0.001" 0.001 "2"`, seq: 5, try: 2},
		{name: "nginx, a client retry the gateway retried", kind: "nginx", line: `gc1 1795651500.100 7 1 "a" "5" 200 "502, 200" "0.001, 0.001" 0.002 "3"`, seq: 5, try: 3, retries: 1},
		{name: "nginx, no header", kind: "nginx", line: `gc1 1795651500.100 7 1 "a" "5" 200 "200" "0.001" 0.001 "-"`, seq: 5},
		{name: "nginx, junk", kind: "nginx", line: `gc1 1795651500.100 7 1 "a" "5" 200 "200" "0.001" 0.001 "0"`, seq: 5},
		{name: "nginx, the format before the try", kind: "nginx", line: `gc1 1795651500.100 7 1 "a" "5" 200 "200" "0.001" 0.001`, seq: 5},
		{name: "haproxy, try 2", kind: "haproxy", line: `gc1 1795651500.100 a 5 200 ---- 0 0 0 1 1 upstream/proxy 2`, seq: 5, try: 2},
		{name: "haproxy, retried by the gateway", kind: "haproxy", line: `gc1 1795651500.100 a 5 200 ---- +1 0 0 1 1 upstream/proxy 1`, seq: 5, try: 1, retries: 1},
		{name: "haproxy, an attack with a space", kind: "haproxy", line: `gc1 1795651500.100 a b 5 200 ---- 0 0 0 1 1 upstream/proxy 4`, seq: 5, try: 4},
		{name: "haproxy, no header", kind: "haproxy", line: `gc1 1795651500.100 a 5 200 ---- 0 0 0 1 1 upstream/proxy -`, seq: 5},
		{name: "haproxy, junk", kind: "haproxy", line: `gc1 1795651500.100 a 5 200 ---- 0 0 0 1 1 upstream/proxy x7`, seq: 5},
		{name: "haproxy, the format before the try", kind: "haproxy", line: `gc1 1795651500.100 a 5 200 ---- 0 0 0 1 1 upstream/proxy`, seq: 5},
		{name: "caddy, try 2", kind: "caddy", line: `{"level":"info","ts":1795651500.1,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"127.0.0.1","remote_port":"40000","headers":{"X-Vegeta-Attack":["a"],"X-Vegeta-Seq":["5"],"X-Gatecrash-Try":["2"]}},"duration":0.001,"status":200}`, seq: 5, try: 2},
		{name: "caddy, no header", kind: "caddy", line: `{"level":"info","ts":1795651500.1,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"127.0.0.1","remote_port":"40000","headers":{"X-Vegeta-Attack":["a"],"X-Vegeta-Seq":["5"]}},"duration":0.001,"status":200}`, seq: 5},
		{name: "caddy, junk", kind: "caddy", line: `{"level":"info","ts":1795651500.1,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"127.0.0.1","remote_port":"40000","headers":{"X-Vegeta-Attack":["a"],"X-Vegeta-Seq":["5"],"X-Gatecrash-Try":["two"]}},"duration":0.001,"status":200}`, seq: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := readTestimony(tt.kind, strings.NewReader(tt.line+"\n"), nil, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) != 1 || ts[0].Seq == nil {
				t.Fatalf("got %+v, want one entry of seq %d", ts, tt.seq)
			}
			if x := ts[0]; *x.Seq != tt.seq || x.Try != tt.try || x.Retries != tt.retries {
				t.Errorf("got seq %d, try %d, retries %d; want seq %d, try %d, retries %d", *x.Seq, x.Try, x.Retries, tt.seq, tt.try, tt.retries)
			}
		})
	}
}

// TestParseToldTry checks the try numbers a log may hold: as the fault
// proxy reads them, a decimal from 1 to 2^31-1, else none.
func TestParseToldTry(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"1", 1}, {" 2 ", 2}, {"007", 7}, {"2147483647", 1<<31 - 1},
		{"", 0}, {"-", 0}, {"0", 0}, {"-1", 0}, {"+1", 0}, {"1.0", 0}, {"2147483648", 0}, {"99999999999999999999", 0},
	}
	for _, tt := range tests {
		if got := parseToldTry(tt.in); got != tt.want {
			t.Errorf("parseToldTry(%q): got %d, want %d", tt.in, got, tt.want)
		}
	}
}
