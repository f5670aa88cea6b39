package faults

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// getWith sends one GET with the given extra header lines on a new
// connection and fails the test unless the upstream's 200 comes back.
func getWith(t *testing.T, addr string, headers ...string) {
	t.Helper()
	c := dialProxy(t, addr)
	defer c.Close()
	var b strings.Builder
	b.WriteString("GET /v1/items HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%q: %v", headers, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "hello from upstream" {
		t.Fatalf("%q: got %d %q, want 200 from the upstream", headers, resp.StatusCode, body)
	}
}

// vegetaHeaders are the headers vegeta sets: no attack header for an
// unnamed attack.
func vegetaHeaders(attack string, seq uint64) []string {
	h := []string{fmt.Sprintf("%s: %d", HeaderSeq, seq)}
	if attack != "" {
		h = append(h, HeaderAttack+": "+attack)
	}
	return h
}

// seenEvents returns the seen observations of evs, and checks that each
// has the form every seen observation must have.
func seenEvents(t *testing.T, evs []Event) []Event {
	t.Helper()
	var seen []Event
	for _, e := range evs {
		if e.Kind != ObservedSeen {
			if e.Ranges != nil {
				t.Errorf("got ranges on a %s event: %+v", e.Kind, e)
			}
			continue
		}
		if e.Type != TypeObservation || e.Seq != nil || e.Fault != -1 || e.Time.IsZero() {
			t.Errorf("got seen event %+v, want an observation with no seq, fault -1 and a time", e)
		}
		seen = append(seen, e)
	}
	return seen
}

func TestSeenOverTheWire(t *testing.T) {
	rig := newSeenRig(t)
	addr, stop := rig.serve()
	for _, seq := range []uint64{0, 1, 2, 5, 6, 9, 1} { // 1 twice: a retry
		getWith(t, addr, vegetaHeaders("a", seq)...)
	}
	getWith(t, addr) // no headers: numbered in the proxy's own counter space
	stop()
	evs := rig.events()
	seen := seenEvents(t, evs)
	if len(seen) != 1 {
		t.Fatalf("got %d seen events, want 1: %+v", len(seen), evs)
	}
	e := seen[0]
	want := [][2]uint64{{0, 3}, {5, 7}, {9, 10}}
	if e.Attack != "a" || !slices.Equal(e.Ranges, want) || e.Detail != "received 6 distinct seqs" {
		t.Errorf("got %+v, want attack a, ranges %v, detail %q", e, want, "received 6 distinct seqs")
	}
	if last := evs[len(evs)-1]; last.Kind != ObservedSeen {
		t.Errorf("got %+v last, want the seen event after every other", last)
	}
	retried := false
	for _, e := range evs {
		retried = retried || (e.Kind == ObservedRetry && e.Attack == "a" && e.Seq != nil && *e.Seq == 1 && e.Attempt == 1)
	}
	if !retried {
		t.Errorf("got events %+v, want a retry observation for seq 1", evs)
	}
}

// TestSeenPerAttackAndServe checks one event per attack in sorted order
// (the unnamed attack too), and that a proxy served again reports only
// what that Serve received.
func TestSeenPerAttackAndServe(t *testing.T) {
	rig := newSeenRig(t)
	addr, stop := rig.serve()
	getWith(t, addr, vegetaHeaders("b", 3)...)
	getWith(t, addr, vegetaHeaders("a", 64)...)
	getWith(t, addr, vegetaHeaders("", 0)...)
	getWith(t, addr, vegetaHeaders("a", 63)...)
	stop()
	first := rig.log.Count() // the events of the first Serve
	addr, stop = rig.serve()
	getWith(t, addr, vegetaHeaders("a", 2)...)
	stop()
	evs := rig.events()
	type got struct {
		serve  int
		attack string
		ranges [][2]uint64
	}
	var gots []got
	for i, e := range evs {
		if e.Kind == ObservedSeen {
			serve := 1
			if i >= first {
				serve = 2
			}
			gots = append(gots, got{serve, e.Attack, e.Ranges})
		}
	}
	seenEvents(t, evs)
	want := []got{
		{1, "", [][2]uint64{{0, 1}}},
		{1, "a", [][2]uint64{{63, 65}}},
		{1, "b", [][2]uint64{{3, 4}}},
		{2, "a", [][2]uint64{{2, 3}}},
	}
	if fmt.Sprint(gots) != fmt.Sprint(want) {
		t.Errorf("got seen events (serve, attack, ranges) %v, want %v", gots, want)
	}
}

func TestSeenNoneInModeTCP(t *testing.T) {
	up := startTCPUpstream(t, answer([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")))
	addr, _, events := startTCPProxy(t, up.addr)
	c := dialTCP(t, addr)
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n%s: a\r\n%s: 1\r\nConnection: close\r\n\r\n", HeaderAttack, HeaderSeq)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %v, %v; want the upstream's 200", resp, err)
	}
	c.Close()
	if evs := events(); len(evs) != 0 {
		t.Errorf("got events %+v, want none: mode tcp reads no requests", evs)
	}
}

func TestSeenRanges(t *testing.T) {
	seqs := func(lo, hi uint64) []uint64 { // lo..hi-1
		var s []uint64
		for q := lo; q < hi; q++ {
			s = append(s, q)
		}
		return s
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	var random []uint64
	for range 3000 {
		random = append(random, rnd.Uint64N(5000))
	}
	tests := []struct {
		name   string
		limit  uint64 // 0: SeenLimit
		seqs   []uint64
		want   [][2]uint64 // nil: worked out from seqs
		capped uint64
		words  int // -1: not checked
	}{
		{name: "empty", want: [][2]uint64{}, words: 0},
		{name: "zero", seqs: []uint64{0}, want: [][2]uint64{{0, 1}}, words: 1},
		{name: "bit 63", seqs: []uint64{63}, want: [][2]uint64{{63, 64}}, words: 1},
		{name: "bit 64", seqs: []uint64{64}, want: [][2]uint64{{64, 65}}, words: 2},
		{name: "63 and 64 across words", seqs: []uint64{64, 63}, want: [][2]uint64{{63, 65}}, words: 2},
		{name: "run ends at a word's end", seqs: []uint64{62, 63, 65}, want: [][2]uint64{{62, 64}, {65, 66}}, words: 2},
		{name: "run starts at a word's start", seqs: []uint64{62, 64, 65}, want: [][2]uint64{{62, 63}, {64, 66}}, words: 2},
		{name: "one full word", seqs: seqs(0, 64), want: [][2]uint64{{0, 64}}, words: 1},
		{name: "adjacent full words", seqs: seqs(0, 128), want: [][2]uint64{{0, 128}}, words: 2},
		{name: "run over three words", seqs: seqs(60, 132), want: [][2]uint64{{60, 132}}, words: 3},
		{name: "empty word between", seqs: []uint64{0, 128}, want: [][2]uint64{{0, 1}, {128, 129}}, words: 3},
		{name: "alternate", seqs: []uint64{0, 2, 4, 63}, want: [][2]uint64{{0, 1}, {2, 3}, {4, 5}, {63, 64}}, words: 1},
		{name: "duplicates and disorder", seqs: []uint64{9, 1, 0, 2, 1, 9, 6, 5}, want: [][2]uint64{{0, 3}, {5, 7}, {9, 10}}, words: 1},
		{name: "random", seqs: random, words: -1},
		{name: "cap on a word's end", limit: 128, seqs: []uint64{126, 127, 128, 500, 127}, want: [][2]uint64{{126, 128}}, capped: 2, words: 2},
		{name: "cap inside a word", limit: 100, seqs: append(seqs(90, 200), 5), want: [][2]uint64{{5, 6}, {90, 100}}, capped: 100, words: 2},
		{name: "only above the cap", limit: 64, seqs: []uint64{64, 65}, want: [][2]uint64{}, capped: 2, words: 0},
		{name: "SeenLimit", seqs: []uint64{SeenLimit, SeenLimit + 1, 1 << 40, math.MaxUint64, 3}, want: [][2]uint64{{3, 4}}, capped: 4, words: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &seenSet{limit: tt.limit}
			if s.limit == 0 {
				s.limit = SeenLimit
			}
			for _, q := range tt.seqs {
				s.add(q)
			}
			want := tt.want
			if want == nil {
				want = reference(tt.seqs, s.limit)
			}
			got := s.ranges()
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
			var n uint64
			for _, r := range want {
				n += r[1] - r[0]
			}
			if s.n != n || s.capped != tt.capped {
				t.Errorf("got %d distinct and %d capped, want %d and %d", s.n, s.capped, n, tt.capped)
			}
			if tt.words >= 0 && len(s.words) != tt.words {
				t.Errorf("got %d words, want %d", len(s.words), tt.words)
			}
		})
	}
}

// reference builds the ranges of the seqs below limit the obvious way.
func reference(seqs []uint64, limit uint64) [][2]uint64 {
	s := slices.Sorted(slices.Values(seqs))
	s = slices.Compact(s)
	out := [][2]uint64{}
	for _, q := range s {
		if q >= limit {
			break
		}
		if len(out) > 0 && out[len(out)-1][1] == q {
			out[len(out)-1][1]++
			continue
		}
		out = append(out, [2]uint64{q, q + 1})
	}
	return out
}

func FuzzSeenRanges(f *testing.F) {
	f.Add([]byte{0, 1, 2, 5, 6, 9}, uint16(128))
	f.Add([]byte{63, 64, 127, 128, 255}, uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		s := &seenSet{limit: uint64(limit)}
		var seqs []uint64
		for i := 0; i+1 < len(data); i += 2 {
			q := uint64(data[i])<<8 | uint64(data[i+1])
			seqs = append(seqs, q)
			s.add(q)
		}
		want := reference(seqs, s.limit)
		if got := s.ranges(); !slices.Equal(got, want) {
			t.Errorf("seqs %v below %d: got %v, want %v", seqs, limit, got, want)
		}
	})
}

// TestSeenEvents checks recordSeen: the detail of a capped set, a long
// list of ranges split over several events that read back whole, and
// nothing recorded twice.
func TestSeenEvents(t *testing.T) {
	var buf bytes.Buffer
	log := NewEventLog(&buf)
	p, err := New(Config{Upstream: "127.0.0.1:1", Events: log})
	if err != nil {
		t.Fatal(err)
	}
	long := &seenSet{limit: SeenLimit}
	var want [][2]uint64
	for i := range uint64(seenRangesPerEvent + 1) {
		long.add(2*i + 1<<20)
		want = append(want, [2]uint64{2*i + 1<<20, 2*i + 1<<20 + 1})
	}
	capped := &seenSet{limit: SeenLimit}
	capped.add(7)
	capped.add(SeenLimit)
	above := &seenSet{limit: SeenLimit}
	above.add(math.MaxUint64)
	p.seen = map[string]*seenSet{"long": long, "capped": capped, "above": above}
	p.recordSeen()
	p.recordSeen() // nothing left to record
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	evs, err := ReadEvents(&buf)
	if err != nil {
		t.Fatal(err)
	}
	evs = seenEvents(t, evs)
	var got []string
	var longRanges [][2]uint64
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s %d %s", e.Attack, len(e.Ranges), e.Detail))
		if e.Attack == "long" {
			longRanges = append(longRanges, e.Ranges...)
		}
	}
	n := seenRangesPerEvent + 1
	wantEvents := []string{
		"above 0 received 0 distinct seqs; capped: seqs above 2147483647 not tracked (untracked requests: 1)",
		"capped 1 received 1 distinct seqs; capped: seqs above 2147483647 not tracked (untracked requests: 1)",
		fmt.Sprintf("long %d received %d distinct seqs; ranges part 1 of 2", seenRangesPerEvent, n),
		fmt.Sprintf("long 1 received %d distinct seqs; ranges part 2 of 2", n),
	}
	if strings.Join(got, "\n") != strings.Join(wantEvents, "\n") {
		t.Errorf("got events (attack, ranges, detail)\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantEvents, "\n"))
	}
	if !slices.Equal(longRanges, want) {
		t.Errorf("got %d ranges for attack long, want the %d recorded, in order", len(longRanges), len(want))
	}
}

func TestReadEventsSeen(t *testing.T) {
	line := `{"time":"2026-01-01T00:00:00Z","type":"observation","attack":"a","seq":null,"attempt":0,"conn":0,"phase":"","kind":"seen","fault":-1,"detail":"received 6 distinct seqs","ranges":[[0,3],[5,7],[9,10]]}` + "\n"
	evs, err := ReadEvents(strings.NewReader(line))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Kind != ObservedSeen || evs[0].Seq != nil || !slices.Equal(evs[0].Ranges, [][2]uint64{{0, 3}, {5, 7}, {9, 10}}) {
		t.Errorf("got %+v, want the seen event with its three ranges", evs)
	}
	// And what the log writes reads back the same.
	var buf bytes.Buffer
	log := NewEventLog(&buf)
	log.Record(evs[0])
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != line {
		t.Errorf("got %s, want %s", buf.String(), line)
	}
}
