package lab

import (
	"reflect"
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
	// Found by FuzzReadTestimony: a time no log holds.
	if ts, err := ReadTestimony("builtin", strings.NewReader(`0000-01-01T0:00:00Z status=502 attack="" seq=0 error=""`), nil); err == nil {
		t.Errorf("year 0: got %+v, want an error", ts)
	}
	if _, err := ReadTestimony("builtin", strings.NewReader("nonsense\nmore nonsense\n"), nil); err == nil || !strings.Contains(err.Error(), "built-in gateway log: 2 of 2 lines do not parse") {
		t.Errorf("garbage: got %v", err)
	}
}

// TestReadTestimonyBuiltinWait reads wait_ms, the built-in gateway's
// WaitMS, from lines with it and the lines before it.
func TestReadTestimonyBuiltinWait(t *testing.T) {
	const at = "2026-11-25T23:57:10.216819141Z "
	for _, c := range []struct {
		name string
		line string
		wait *float64
		bad  bool
	}{
		{"with wait", `status=502 attack="a" seq=1 wait_ms=0.412 error="EOF"`, f64p(0.412), false},
		{"a long wait", `status=504 attack="a b" seq=2 wait_ms=1500.000 error="net/http: timeout awaiting response headers"`, f64p(1500), false},
		{"no connection", `status=502 attack="a" seq=3 wait_ms=- error="dial tcp: connection refused"`, nil, false},
		{"the format before wait_ms", `status=502 attack="a" seq=4 error="EOF"`, nil, false},
		{"a negative wait", `status=502 attack="a" seq=5 wait_ms=-1 error="EOF"`, nil, true},
		{"not a number", `status=502 attack="a" seq=6 wait_ms=NaN error="EOF"`, nil, true},
		// Found by FuzzReadTestimony: a status out of range.
		{"a negative status", `status=-1 attack="" seq=0 error=""`, nil, true},
		{"a status of four digits", `status=5020 attack="a" seq=7 wait_ms=1 error="EOF"`, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts, err := ReadTestimony("builtin", strings.NewReader(at+c.line), nil)
			if c.bad {
				if err == nil || !strings.Contains(err.Error(), "wait_ms=W") {
					t.Errorf("got %+v, %v; want an error quoting the format", ts, err)
				}
				return
			}
			if err != nil || len(ts) != 1 {
				t.Fatalf("got %+v, %v; want one entry", ts, err)
			}
			if !reflect.DeepEqual(ts[0].WaitMS, c.wait) || ts[0].Status == 0 || ts[0].Words == "" {
				t.Errorf("got %+v wait %s, want wait %s", ts[0], fmtWait(ts[0].WaitMS), fmtWait(c.wait))
			}
		})
	}
}
