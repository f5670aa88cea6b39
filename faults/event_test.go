package faults

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestEventLogRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	log := NewEventLog(&buf)
	seq := uint64(9)
	in := Event{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Type: TypeFault, Attack: "a", Seq: &seq, Attempt: 1, Conn: 2, Phase: "p", Kind: "reset", Fault: 0, Cause: "reset-before-headers", Ended: true, Detail: "d"}
	log.Record(in)
	log.Record(Event{Type: TypeObservation, Kind: ObservedRetry, Fault: -1})
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadEvents(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || *got[0].Seq != 9 || got[0].Cause != in.Cause || !got[0].Time.Equal(in.Time) || got[1].Seq != nil {
		t.Fatalf("got %+v, want the two events written", got)
	}
}

func TestReadEventsCutShort(t *testing.T) {
	whole := `{"type":"fault","kind":"reset","seq":1}` + "\n" + `{"type":"fault","kind":"reset","seq":2}` + "\n"
	got, err := ReadEvents(strings.NewReader(whole + `{"type":"fau`))
	if err != nil || len(got) != 2 {
		t.Errorf("cut last line: got %d events, %v; want 2, nil", len(got), err)
	}
	// EachEventCut says which line it skipped, and its length.
	for _, tt := range []struct {
		name string
		in   string
		want CutLine
	}{
		{"whole", whole, CutLine{}},
		{"no final newline", strings.TrimSuffix(whole, "\n"), CutLine{}},
		{"cut mid-line", whole + `{"type":"fau`, CutLine{Line: 3, Bytes: 12}},
		{"cut after a blank line", whole + "\n" + `{"ty`, CutLine{Line: 4, Bytes: 4}},
		{"empty", "", CutLine{}},
	} {
		n := 0
		got, err := EachEventCut(strings.NewReader(tt.in), func(*Event) { n++ })
		if err != nil || got != tt.want || n != 2 && tt.in != "" {
			t.Errorf("%s: got %+v, %d events, %v; want %+v, 2 events", tt.name, got, n, err, tt.want)
		}
	}
	// A broken line before the end is an error, not a silent loss.
	if _, err := ReadEvents(strings.NewReader(`{"type":` + "\n" + whole)); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("broken first line: got %v, want an error naming line 1", err)
	}
}

func FuzzReadEvents(f *testing.F) {
	f.Add([]byte(`{"time":"2026-01-01T00:00:00Z","type":"observation","attack":"a","seq":null,"attempt":0,"conn":0,"phase":"","kind":"seen","fault":-1,"detail":"received 6 distinct seqs","ranges":[[0,3],[5,7],[9,10]]}` + "\n"))
	f.Add([]byte(`{"time":"2026-01-01T00:00:00Z","type":"fault","attack":"a","seq":1,"attempt":0,"conn":1,"phase":"p","kind":"reset","fault":0,"cause":"reset-before-headers","ended":true,"detail":"x"}` + "\n"))
	f.Add([]byte("{}\n{\n"))
	f.Add([]byte(`{"type":"fault","seq":1}` + "\n" + `{"type":"fa`))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := ReadEvents(bytes.NewReader(data))
		if err != nil && evs != nil {
			t.Errorf("got %d events with error %v, want none", len(evs), err)
		}
		n := 0
		cut, err := EachEventCut(bytes.NewReader(data), func(*Event) { n++ })
		if err != nil {
			return
		}
		if n != len(evs) || cut.Line < 0 || cut.Bytes < 0 || cut.Bytes > len(data) || (cut.Line == 0) != (cut.Bytes == 0) {
			t.Errorf("got %d events and %+v, want the %d ReadEvents read and a cut line within the data", n, cut, len(evs))
		}
	})
}

// FuzzEachEventCut cuts an event log anywhere: EachEventCut reads every
// whole line before the cut, and names the line cut short, if any.
func FuzzEachEventCut(f *testing.F) {
	f.Add(uint8(3), uint32(100))
	f.Add(uint8(1), uint32(0))
	f.Add(uint8(7), uint32(1<<20))
	f.Fuzz(func(t *testing.T, n uint8, cut uint32) {
		var buf bytes.Buffer
		log := NewEventLog(&buf)
		var ends []int // the offset after each line
		for i := range int(n%12) + 1 {
			seq := uint64(i)
			log.Record(Event{Time: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), Type: TypeFault, Attack: "a", Seq: &seq, Kind: "reset", Detail: strings.Repeat("x", i)})
			if err := log.Flush(); err != nil {
				t.Fatal(err)
			}
			ends = append(ends, buf.Len())
		}
		data := buf.Bytes()
		c := int(cut) % (len(data) + 1)
		whole, at := 0, 0
		for whole < len(ends) && ends[whole] <= c {
			at = ends[whole]
			whole++
		}
		want := CutLine{}
		// A line cut just before its newline is whole all the same.
		if c > at && !(whole < len(ends) && c == ends[whole]-1) {
			want = CutLine{Line: whole + 1, Bytes: c - at}
		} else if c > at {
			whole++
		}
		got := 0
		cl, err := EachEventCut(bytes.NewReader(data[:c]), func(*Event) { got++ })
		if err != nil || got != whole || cl != want {
			t.Errorf("cut at %d of %d: got %d events, %+v, %v; want %d, %+v", c, len(data), got, cl, err, whole, want)
		}
	})
}
