package results

import (
	"bytes"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// recordFile encodes n results as Writer does, and returns the file and
// the offset after each record.
func recordFile(t testing.TB, n int, body []byte) ([]byte, []int64) {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	var offsets []int64
	for i := range n {
		r := vegeta.Result{Attack: "a", Seq: uint64(i), Code: 502, Timestamp: time.Unix(int64(i), 0), Body: body}
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		offsets = append(offsets, int64(buf.Len()))
	}
	return buf.Bytes(), offsets
}

// TestEachRecordEnding: EachRecord says how a record file ended, to the
// record and the byte; today's Each said nothing of a cut, and called a
// file cut inside its first record "not a vegeta results file".
func TestEachRecordEnding(t *testing.T) {
	file, offsets := recordFile(t, 5, []byte("Bad Gateway"))
	for _, tt := range []struct {
		name string
		cut  int64
		want Ending
		dmg  string // Damaged.Problem, "" for none
	}{
		{"whole", int64(len(file)), Ending{Records: 5}, ""},
		{"empty", 0, Ending{Empty: true}, DamageEmpty},
		{"one byte", 1, Ending{Dropped: 1}, DamageCutInHeader},
		{"in the type", offsets[0] / 3, Ending{Dropped: offsets[0] / 3}, DamageCutInHeader},
		{"after the type", offsets[0] - (offsets[1] - offsets[0]), Ending{Dropped: offsets[0] - (offsets[1] - offsets[0])}, DamageCutInHeader},
		{"between records", offsets[2], Ending{Records: 3}, ""},
		{"mid-record", offsets[2] + 3, Ending{Records: 3, Dropped: 3}, DamageCut},
		{"one byte short", int64(len(file)) - 1, Ending{Records: 4, Dropped: offsets[4] - offsets[3] - 1}, DamageCut},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			got, err := EachRecord(bytes.NewReader(file[:tt.cut]), func(r *vegeta.Result) {
				if r.Seq != uint64(calls) {
					t.Errorf("record %d has seq %d", calls, r.Seq)
				}
				calls++
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || calls != tt.want.Records {
				t.Errorf("got %+v after %d calls, want %+v", got, calls, tt.want)
			}
			d, ok := RecordsDamage("results", got)
			if ok != (tt.dmg != "") || d.Problem != tt.dmg {
				t.Errorf("damage: got %q (%v), want %q", d.Problem, ok, tt.dmg)
			}
			if ok && (d.DroppedBytes != got.Dropped || !strings.Contains(d.Warning, "results")) {
				t.Errorf("damage %+v: want dropped_bytes %d and a warning naming the file", d, got.Dropped)
			}
		})
	}
	if _, err := EachRecord(strings.NewReader("\xff"+strings.Repeat("not gob at all ", 20)), func(*vegeta.Result) {}); err == nil || !strings.Contains(err.Error(), "not a vegeta results file") {
		t.Errorf("garbage: got %v, want not a vegeta results file", err)
	}
}

// FuzzEachRecordCut cuts a record file anywhere: EachRecord reads every
// record before the cut, and drops exactly the bytes after the last one.
func FuzzEachRecordCut(f *testing.F) {
	f.Add(uint8(3), uint32(100), []byte("x"))
	f.Add(uint8(1), uint32(0), []byte{})
	f.Add(uint8(9), uint32(1<<20), bytes.Repeat([]byte("body"), 300))
	f.Fuzz(func(t *testing.T, n uint8, cut uint32, body []byte) {
		if len(body) > MaxBody {
			body = body[:MaxBody]
		}
		file, offsets := recordFile(t, int(n%16)+1, body)
		c := int64(cut) % (int64(len(file)) + 1)
		whole, at := 0, int64(0)
		for whole < len(offsets) && offsets[whole] <= c {
			at = offsets[whole]
			whole++
		}
		got, err := EachRecord(bytes.NewReader(file[:c]), func(*vegeta.Result) {})
		if err != nil {
			t.Fatalf("cut at %d of %d: %v", c, len(file), err)
		}
		if want := (Ending{Records: whole, Empty: c == 0, Dropped: c - at}); got != want {
			t.Errorf("cut at %d of %d: got %+v, want %+v", c, len(file), got, want)
		}
	})
}
