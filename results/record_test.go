package results

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// gobRecords returns a record file Writer writes: 2xx answers, 502s with
// nginx's page and headers (one of several values, one of none), a
// connection error, a result of another attack and time zone.
func gobRecords(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		r := vegeta.Result{Attack: "a", Seq: uint64(i), Code: 200, Timestamp: at.Add(time.Duration(i) * 1234567 * time.Nanosecond), Latency: time.Duration(i*7919) * time.Microsecond,
			BytesOut: uint64(i % 3), BytesIn: 512, Method: "GET", URL: "http://127.0.0.1:8080/"}
		switch i % 5 {
		case 1:
			r.Code, r.Error, r.Body = 502, "502 Bad Gateway", []byte("<html>502 Bad Gateway</html>")
			r.Headers = http.Header{"Server": {"nginx/1.22.1"}, "Vary": {"a", "b"}, "X-Empty": {}}
		case 2:
			r.Code, r.Error, r.Latency = 0, "dial tcp: connection refused", -time.Millisecond
		case 3:
			r.Attack, r.Seq, r.Timestamp = "other", 1<<63+uint64(i), r.Timestamp.In(time.FixedZone("x", 3600))
		case 4:
			r.Code, r.Headers = 503, http.Header{}
		}
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readGob reads data with eachGob's fast path or with encoding/gob alone.
func readGob(data []byte, fast bool) ([]vegeta.Result, Ending, error) {
	var out []vegeta.Result
	end, err := eachGobFast(bufio.NewReaderSize(bytes.NewReader(data), 1<<16), func(r *vegeta.Result) {
		c := *r
		c.Body = bytes.Clone(r.Body)
		out = append(out, c)
	}, fast)
	return out, end, err
}

// checkGob fails t when the fast path reads data otherwise than
// encoding/gob: other results, another ending, another error.
func checkGob(t *testing.T, data []byte) {
	t.Helper()
	got, gend, gerr := readGob(data, true)
	want, wend, werr := readGob(data, false)
	if fmt.Sprint(gerr) != fmt.Sprint(werr) || gend != wend {
		t.Fatalf("got %+v, %v; want %+v, %v", gend, gerr, wend, werr)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("result %d:\n got %#v\nwant %#v", i, got[i], want[i])
		}
	}
}

// otherResult is a vegeta.Result of fewer fields: a gob file of it has
// another preamble, which the fast path leaves to encoding/gob.
type otherResult struct {
	Attack string
	Seq    uint64
	Code   uint16
}

func TestEachGobFast(t *testing.T) {
	file := gobRecords(t, 50)
	pre, _ := gobFormat()
	var other bytes.Buffer
	enc := gob.NewEncoder(&other)
	for i := range 3 {
		if err := enc.Encode(otherResult{Attack: "a", Seq: uint64(i), Code: 200}); err != nil {
			t.Fatal(err)
		}
	}
	// A record the fast path declines (a field number it does not know)
	// in the middle: encoding/gob reads the rest, and says what it thinks.
	br := bufio.NewReader(bytes.NewReader(file[len(pre):]))
	count, _, hdr, _ := gobHeader(br)
	first := len(pre) + hdr + count
	odd := append(append(bytes.Clone(file[:first]), 0x04, 0xff, 0x80, 0x0d, 0x00), file[first:]...)
	// A record that names Seq twice, which gob leaves to the next field.
	twice := append(append(bytes.Clone(file[:first]), 0x07, 0xff, 0x80, 0x02, 0x05, 0x01, 0x06, 0x00), file[first:]...)
	for _, tt := range []struct {
		name    string
		data    []byte
		records int
	}{
		{"whole", file, 50},
		{"preamble only", pre, 0},
		{"cut in the preamble", pre[:len(pre)/2], 0},
		{"cut in the first record", file[:len(pre)+5], 0},
		{"cut in the middle", file[:len(file)/2], -1},
		{"cut one byte short", file[:len(file)-1], 49},
		{"another preamble", other.Bytes(), 3},
		{"a record with junk after it", append(bytes.Clone(file), 0x05, 0xff, 0x80, 0x01, 0x01, 0x00), -1},
		{"an unknown field", odd, -1},
		{"fields out of order", twice, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkGob(t, tt.data)
			got, _, err := readGob(tt.data, true)
			if tt.records >= 0 && (err != nil || len(got) != tt.records) {
				t.Errorf("got %d results, %v; want %d", len(got), err, tt.records)
			}
		})
	}
	// The fast path takes every record Writer writes.
	var d resultDecoder
	br = bufio.NewReader(bytes.NewReader(file[len(pre):]))
	for i := range 50 {
		count, _, hdr, ok := gobHeader(br)
		msg, _ := br.Peek(hdr + count)
		if !ok || !d.decode(msg[hdr:], &vegeta.Result{}) {
			t.Fatalf("record %d: the fast path declined it", i)
		}
		_, _ = br.Discard(len(msg))
	}
}

// FuzzEachGob differentially fuzzes eachGob's fast path against
// encoding/gob: the same results, the same ending, the same error.
func FuzzEachGob(f *testing.F) {
	file := gobRecords(f, 6)
	f.Add(file)
	f.Add(file[:len(file)-7])
	pre, _ := gobFormat()
	f.Add(pre)
	f.Add(append(bytes.Clone(pre), 0x03, 0xff, 0x80, 0x00))
	f.Fuzz(func(t *testing.T, data []byte) {
		if gobHugeMap(data) {
			t.Skip("encoding/gob makes a map as large as the count says before it reads a key: seconds of its own")
		}
		checkGob(t, data)
	})
}

// gobHugeMap reports whether a record of data, after the preamble
// gobFormat names, holds a Headers map whose count exceeds its message.
func gobHugeMap(data []byte) bool {
	pre, valueID := gobFormat()
	if !bytes.HasPrefix(data, pre) {
		return false
	}
	br := bufio.NewReader(bytes.NewReader(data[len(pre):]))
	for {
		count, id, hdr, ok := gobHeader(br)
		if !ok {
			return false
		}
		msg, err := br.Peek(hdr + count)
		if err != nil {
			return false
		}
		if id == valueID && mapTooBig(msg[hdr:]) {
			return true
		}
		_, _ = br.Discard(len(msg))
	}
}

// mapTooBig walks the fields of a record's message up to its Headers, and
// reports whether their count exceeds the message.
func mapTooBig(p []byte) bool {
	field := -1
	for {
		delta, k, ok := gobUint(p)
		if !ok || delta == 0 || delta > 12 {
			return false
		}
		p = p[k:]
		field += int(delta)
		switch field {
		case 0, 3, 7, 8, 9, 10:
			if _, p, ok = gobBytes(p); !ok {
				return false
			}
		case 11:
			n, _, ok := gobUint(p)
			return ok && n > uint64(len(p))
		default:
			if _, k, ok = gobUint(p); !ok {
				return false
			}
			p = p[k:]
		}
	}
}

// TestEachRecordBatches reads more records than EachRecord's decoding
// goroutine holds at once: every one in order, each Body its own (nil
// where the record has none, as encoding/gob leaves it), the ending of a
// file cut short as on the caller's goroutine.
func TestEachRecordBatches(t *testing.T) {
	const n = recordBatch*recordBatches*2 + 3
	file := gobRecords(t, n)
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"whole", file},
		{"cut", file[:len(file)-3]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var want []vegeta.Result
			wend, werr := eachRecord(bytes.NewReader(tt.data), func(r *vegeta.Result) {
				c := *r
				c.Body = bytes.Clone(r.Body)
				want = append(want, c)
			})
			i := 0
			end, err := EachRecord(bytes.NewReader(tt.data), func(r *vegeta.Result) {
				if i >= len(want) || !reflect.DeepEqual(*r, want[i]) {
					t.Fatalf("record %d: got %#v", i, r)
				}
				i++
			})
			if end != wend || fmt.Sprint(err) != fmt.Sprint(werr) || i != len(want) {
				t.Errorf("got %d records, %+v, %v; want %d, %+v, %v", i, end, err, len(want), wend, werr)
			}
		})
	}
}

// TestEachRecordPanic: a panicking fn leaves no decoding goroutine
// behind (goleak in TestMain checks).
func TestEachRecordPanic(t *testing.T) {
	file := gobRecords(t, recordBatch*recordBatches*3)
	defer func() {
		if recover() == nil {
			t.Error("got no panic, want fn's")
		}
	}()
	_, _ = EachRecord(bytes.NewReader(file), func(*vegeta.Result) { panic("fn") })
}
