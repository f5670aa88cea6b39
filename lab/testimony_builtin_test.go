package lab

import (
	"strings"
	"testing"
)

func TestReadTestimonyBuiltin(t *testing.T) {
	log := `2026-11-25T23:57:10.216819141Z status=502 attack="upstream-resets" seq=448 error="read tcp 127.0.0.1:41160->127.0.0.1:35895: read: connection reset by peer"
2026-11-25T23:57:10.30340741Z proxy-error="httputil: ReverseProxy read error during body copy: unexpected EOF"
2026-11-25T23:57:11Z status=504 attack="a b" seq=9 error="net/http: timeout awaiting response headers"
`
	ts, err := ReadTestimony("builtin", strings.NewReader(log), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 {
		t.Fatalf("got %d entries, want 3: %+v", len(ts), ts)
	}
	if e := ts[0]; e.Seq == nil || *e.Seq != 448 || e.Status != 502 || e.Attack != "upstream-resets" || !strings.Contains(e.Words, "connection reset by peer") || e.Gateway != "builtin" {
		t.Errorf("first: got %+v", e)
	}
	if e := ts[1]; e.Seq != nil || !strings.Contains(e.Words, "body copy") {
		t.Errorf("proxy message: got %+v, want it without a seq", e)
	}
	if e := ts[2]; e.Seq == nil || *e.Seq != 9 || e.Attack != "a b" || e.Status != 504 {
		t.Errorf("third: got %+v", e)
	}
	if _, err := ReadTestimony("builtin", strings.NewReader("nonsense\nmore nonsense\n"), nil); err == nil || !strings.Contains(err.Error(), "built-in gateway log: 2 of 2 lines do not parse") {
		t.Errorf("garbage: got %v", err)
	}
}
