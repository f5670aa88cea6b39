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
	// A broken line before the end is an error, not a silent loss.
	if _, err := ReadEvents(strings.NewReader(`{"type":` + "\n" + whole)); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("broken first line: got %v, want an error naming line 1", err)
	}
}

func FuzzReadEvents(f *testing.F) {
	f.Add([]byte(`{"time":"2026-01-01T00:00:00Z","type":"observation","attack":"a","seq":null,"attempt":0,"conn":0,"phase":"","kind":"seen","fault":-1,"detail":"received 6 distinct seqs","ranges":[[0,3],[5,7],[9,10]]}` + "\n"))
	f.Add([]byte(`{"time":"2026-01-01T00:00:00Z","type":"fault","attack":"a","seq":1,"attempt":0,"conn":1,"phase":"p","kind":"reset","fault":0,"cause":"reset-before-headers","ended":true,"detail":"x"}` + "\n"))
	f.Add([]byte("{}\n{\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := ReadEvents(bytes.NewReader(data))
		if err != nil && evs != nil {
			t.Errorf("got %d events with error %v, want none", len(evs), err)
		}
	})
}
