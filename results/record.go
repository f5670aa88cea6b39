package results

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/faults"
)

// MaxBody is how much of a non-2xx response body a record keeps.
const MaxBody = 1024

// Writer streams results to a record file in vegeta's own (gob) encoding,
// so `vegeta report` and `vegeta plot` read it. Bodies and response
// headers are kept only for non-2xx answers (gateway signatures need
// them), bodies cut to MaxBody bytes. A Writer is not safe for concurrent
// use; call Flush when done.
type Writer struct {
	bw  *bufio.Writer
	enc vegeta.Encoder
	n   int
}

// NewWriter returns a Writer encoding to w.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriter(w)
	return &Writer{bw: bw, enc: vegeta.NewEncoder(bw)}
}

// Write records one result. It may change r's Body.
func (w *Writer) Write(r *vegeta.Result) error {
	if r.Code >= 200 && r.Code < 300 {
		r.Body, r.Headers = nil, nil
	} else if len(r.Body) > MaxBody {
		r.Body = r.Body[:MaxBody]
	}
	if err := w.enc.Encode(r); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	w.n++
	return nil
}

// Count returns how many results were written.
func (w *Writer) Count() int { return w.n }

// Flush writes buffered records out.
func (w *Writer) Flush() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("flush results: %w", err)
	}
	return nil
}

// Each decodes a record file written by Writer, or by vegeta in any of
// its encodings, and calls fn with each result in turn; fn must not keep
// the result, which the next decode overwrites. A file cut short is read up
// to its last whole record; EachRecord says whether it was.
func Each(r io.Reader, fn func(*vegeta.Result)) error {
	_, err := EachRecord(r, fn)
	return err
}

// notResults is the error of a file no vegeta decoder reads.
var notResults = errors.New("not a vegeta results file (gob, JSON or CSV)")

// EachRecord is Each, and says how the file ended: empty, on a whole
// record, or cut inside one (in the gob encoding gatecrash and vegeta
// write, to the byte; vegeta's JSON and CSV encodings are read as Each
// always read them). The records are decoded on a goroutine of its own,
// a few hundred ahead of fn, which the caller's goroutine calls in order.
func EachRecord(r io.Reader, fn func(*vegeta.Result)) (Ending, error) {
	var end Ending
	var err error
	faults.Pipe(recordBatch, recordBatches, func(free <-chan *[]vegeta.Result, full chan<- *[]vegeta.Result, done <-chan struct{}) {
		end, err = decodeRecords(r, free, full, done)
	}, fn)
	return end, err
}

// recordBatch is how many decoded records EachRecord passes at once from
// its decoding goroutine to fn, and recordBatches how many such batches
// exist: the decoding runs at most that far ahead.
const (
	recordBatch   = 256
	recordBatches = 4
)

// decodeRecords is EachRecord's decoding goroutine: it fills batches
// taken from free with copies of the records of r, each batch's Bodies
// reused from one batch to the next, and sends them on full, the last one
// before it returns, until r ends or done is closed.
func decodeRecords(r io.Reader, free <-chan *[]vegeta.Result, full chan<- *[]vegeta.Result, done <-chan struct{}) (Ending, error) {
	var b *[]vegeta.Result
	select {
	case b = <-free:
	case <-done:
		return Ending{}, nil
	}
	n := 0
	stopped := false
	end, err := eachRecord(r, func(res *vegeta.Result) {
		if stopped {
			return
		}
		if n == cap(*b) {
			select {
			case full <- b:
			case <-done:
				stopped = true
				return
			}
			select {
			case b = <-free:
			case <-done:
				stopped = true
				return
			}
			n = 0
		}
		*b = (*b)[:n+1]
		slot := &(*b)[n]
		body := slot.Body
		*slot = *res
		switch {
		case res.Body == nil:
			slot.Body = nil
		case body == nil:
			slot.Body = append(make([]byte, 0, max(len(res.Body), 64)), res.Body...)
		default:
			slot.Body = append(body[:0], res.Body...)
		}
		n++
	})
	if stopped {
		return Ending{}, nil
	}
	*b = (*b)[:n]
	select {
	case full <- b:
	case <-done:
	}
	return end, err
}

// eachRecord is EachRecord on the caller's goroutine.
func eachRecord(r io.Reader, fn func(*vegeta.Result)) (Ending, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	first, err := br.Peek(1)
	if errors.Is(err, io.EOF) {
		return Ending{Empty: true}, nil
	}
	if err != nil {
		return Ending{}, fmt.Errorf("read results: %w", err)
	}
	// A gob stream of vegeta.Result opens with the type's definition,
	// longer than 127 bytes: its count's first byte has the high bit set;
	// JSON opens with {, CSV with a digit.
	if first[0] >= 0x80 {
		return eachGob(br, fn)
	}
	dec := vegeta.DecoderFor(br)
	if dec == nil {
		return Ending{}, notResults
	}
	var res vegeta.Result
	for n := 0; ; n++ {
		res = vegeta.Result{Body: res.Body[:0]}
		if err := dec.Decode(&res); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return Ending{Records: n}, nil
			}
			return Ending{}, fmt.Errorf("decode result %d: %w", n, err)
		}
		fn(&res)
	}
}

// eachGob reads a gob record file: the records of the layout Writer
// writes by decodeFast, any other (and from there on, the rest of the
// file) by encoding/gob, to the same Results and the same Ending.
func eachGob(br *bufio.Reader, fn func(*vegeta.Result)) (Ending, error) {
	return eachGobFast(br, fn, true)
}

// eachGobFast is eachGob, with the fast path only when fast is set
// (FuzzEachGob compares the two).
func eachGobFast(br *bufio.Reader, fn func(*vegeta.Result), fast bool) (Ending, error) {
	var off int64 // the bytes of the file consumed: the whole records' and the preamble's
	var preamble []byte
	if fast {
		want, valueID := gobFormat()
		// The preamble: the type definitions before the first value.
		for {
			count, id, hdr, ok := gobHeader(br)
			if !ok || id >= 0 || hdr+count > br.Size() {
				break
			}
			msg, err := br.Peek(hdr + count)
			if err != nil || !bytes.HasPrefix(want[len(preamble):], msg) {
				break
			}
			preamble = append(preamble, msg...)
			off += int64(len(msg))
			if _, err := br.Discard(len(msg)); err != nil {
				return Ending{}, fmt.Errorf("read results: %w", err)
			}
		}
		if !bytes.Equal(preamble, want) {
			// Another preamble: encoding/gob reads the whole file.
			return gobRest(&gobFeed{file: preamble, r: br}, 0, 0, nil, fn)
		}
		var res vegeta.Result
		var d resultDecoder
		n := 0
		for {
			count, id, hdr, ok := gobHeader(br)
			if !ok || id != valueID || hdr+count > br.Size() {
				break
			}
			msg, err := br.Peek(hdr + count)
			if err != nil {
				break
			}
			body := res.Body[:0]
			res = vegeta.Result{Body: body}
			if !d.decode(msg[hdr:], &res) {
				res.Body = body
				break
			}
			if _, err := br.Discard(len(msg)); err != nil {
				return Ending{}, fmt.Errorf("read results: %w", err)
			}
			off += int64(len(msg))
			n++
			fn(&res)
		}
		// The end of the file, a record cut short, or one the fast path
		// does not read: encoding/gob reads the rest, from a decoder that
		// first reads the preamble again. Before the first record, the
		// preamble counts among the bytes of a record cut short.
		if n == 0 {
			return gobRest(&gobFeed{file: preamble, r: br}, 0, 0, res.Body, fn)
		}
		return gobRest(&gobFeed{skip: preamble, r: br}, n, off, res.Body, fn)
	}
	return gobRest(&gobFeed{r: br}, 0, 0, nil, fn)
}

// gobRest decodes what cr holds with encoding/gob: the records from
// record n on, the first of them at offset off of the file, into a
// Result whose Body reuses body, as the records before did.
func gobRest(cr *gobFeed, n int, off int64, body []byte, fn func(*vegeta.Result)) (Ending, error) {
	dec := vegeta.NewDecoder(cr)
	res := vegeta.Result{Body: body}
	for ; ; n++ {
		res = vegeta.Result{Body: res.Body[:0]}
		whole := off + cr.n
		if err := dec.Decode(&res); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				if n == 0 {
					return Ending{}, fmt.Errorf("%w: %w", notResults, err)
				}
				return Ending{}, fmt.Errorf("decode result %d: %w", n, err)
			}
			// Whatever the decoder read past the last whole record (a
			// type definition, part of a record) is a record cut short.
			if _, err := io.Copy(io.Discard, cr); err != nil {
				return Ending{}, fmt.Errorf("read results: %w", err)
			}
			return Ending{Records: n, Dropped: off + cr.n - whole}, nil
		}
		fn(&res)
	}
}

// gobFeed gives encoding/gob, which reads a ByteReader without buffering
// of its own, skip (bytes read again, not counted), then file, then r,
// and counts in n the bytes of file and r read.
type gobFeed struct {
	skip, file []byte
	r          *bufio.Reader
	n          int64
}

func (c *gobFeed) Read(p []byte) (int, error) {
	if len(c.skip) > 0 {
		n := copy(p, c.skip)
		c.skip = c.skip[n:]
		return n, nil
	}
	if len(c.file) > 0 {
		n := copy(p, c.file)
		c.file = c.file[n:]
		c.n += int64(n)
		return n, nil
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *gobFeed) ReadByte() (byte, error) {
	if len(c.skip) > 0 {
		b := c.skip[0]
		c.skip = c.skip[1:]
		return b, nil
	}
	if len(c.file) > 0 {
		b := c.file[0]
		c.file = c.file[1:]
		c.n++
		return b, nil
	}
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// gobFormat returns the preamble a Writer opens a record file with, the
// definitions of vegeta.Result and of its fields' types, and the type id
// of the value messages after it, as this process's encoding/gob numbers
// them: the same as in every file gatecrash writes, since it encodes
// no other type with gob before. A file with another preamble is read by
// encoding/gob alone.
var gobFormat = sync.OnceValues(func() ([]byte, int) {
	var buf bytes.Buffer
	if err := vegeta.NewEncoder(&buf).Encode(&vegeta.Result{Seq: 1}); err != nil {
		panic(fmt.Sprintf("encode a result: %v", err))
	}
	br := bufio.NewReader(&buf)
	var pre []byte
	for {
		count, id, hdr, ok := gobHeader(br)
		if !ok {
			panic("gob wrote no value")
		}
		msg, _ := br.Peek(hdr + count)
		if id > 0 {
			return pre, id
		}
		pre = append(pre, msg...)
		_, _ = br.Discard(len(msg))
	}
})

// gobHeader peeks at the header of br's next gob message: its count (the
// bytes after the count), its type id, and the bytes of the count and the
// id; false when br ends before a whole header, or it is not one
// encoding/gob reads.
func gobHeader(br *bufio.Reader) (count, id, hdr int, ok bool) {
	b, _ := br.Peek(2 * 9)
	c, k, ok := gobUint(b)
	if !ok || c > 1<<30 {
		return 0, 0, 0, false
	}
	u, k2, ok := gobUint(b[k:])
	if !ok || uint64(k2) > c {
		return 0, 0, 0, false
	}
	return int(c) - k2, gobInt(u), k + k2, true
}

// gobUint decodes gob's unsigned integer at the start of b: one byte
// below 0x80, or the negated count of big-endian bytes that follow; it
// returns the value and the bytes it took.
func gobUint(b []byte) (uint64, int, bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	if b[0] < 0x80 {
		return uint64(b[0]), 1, true
	}
	n := -int(int8(b[0]))
	if n > 8 || len(b) < 1+n {
		return 0, 0, false
	}
	var v uint64
	for _, c := range b[1 : 1+n] {
		v = v<<8 | uint64(c)
	}
	return v, 1 + n, true
}

// gobInt is gob's signed integer of its unsigned encoding u: the sign in
// the low bit.
func gobInt(u uint64) int {
	if u&1 != 0 {
		return int(^(u >> 1))
	}
	return int(u >> 1)
}

// resultDecoder decodes the value messages of vegeta.Result in the
// layout gobFormat names, without encoding/gob; decode declines any other
// (FuzzEachGob holds it to encoding/gob). It interns the short strings
// that repeat (attacks, methods, URLs, errors, header names and values).
type resultDecoder struct {
	strs map[string]string
}

// str returns b as a string, interned when short.
func (d *resultDecoder) str(b []byte) string {
	if len(b) > 128 {
		return string(b)
	}
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.strs == nil {
		d.strs = map[string]string{}
	}
	if len(d.strs) < 4096 {
		d.strs[s] = s
	}
	return s
}

// decode decodes the payload of one value message (after its count and
// type id) into r, which holds only a Body to reuse, and reports whether
// it could; on false r holds garbage.
func (d *resultDecoder) decode(p []byte, r *vegeta.Result) bool {
	field := -1
	for {
		delta, k, ok := gobUint(p)
		if !ok {
			return false
		}
		p = p[k:]
		if delta == 0 {
			// The end of the struct, and of the message.
			return len(p) == 0
		}
		if delta > 12 {
			return false
		}
		field += int(delta)
		var u uint64
		switch field {
		case 0, 7, 9, 10: // Attack, Error, Method, URL
			var s []byte
			if s, p, ok = gobBytes(p); !ok {
				return false
			}
			str := d.str(s)
			switch field {
			case 0:
				r.Attack = str
			case 7:
				r.Error = str
			case 9:
				r.Method = str
			case 10:
				r.URL = str
			}
		case 1, 2, 4, 5, 6: // Seq, Code, Latency, BytesOut, BytesIn
			if u, k, ok = gobUint(p); !ok {
				return false
			}
			p = p[k:]
			switch field {
			case 1:
				r.Seq = u
			case 2:
				if u > 0xffff {
					return false
				}
				r.Code = uint16(u)
			case 4:
				r.Latency = time.Duration(gobInt(u))
			case 5:
				r.BytesOut = u
			case 6:
				r.BytesIn = u
			}
		case 3: // Timestamp, a GobEncoder
			var b []byte
			if b, p, ok = gobBytes(p); !ok || r.Timestamp.UnmarshalBinary(b) != nil {
				return false
			}
		case 8: // Body
			var b []byte
			if b, p, ok = gobBytes(p); !ok {
				return false
			}
			r.Body = append(r.Body[:0], b...)
		case 11: // Headers
			if r.Headers, p, ok = d.header(p); !ok {
				return false
			}
		default:
			return false
		}
	}
}

// header decodes an http.Header off the front of p.
func (d *resultDecoder) header(p []byte) (http.Header, []byte, bool) {
	n, k, ok := gobUint(p)
	if !ok || n > uint64(len(p)) {
		return nil, nil, false
	}
	p = p[k:]
	h := make(http.Header, n)
	for range n {
		var key []byte
		if key, p, ok = gobBytes(p); !ok {
			return nil, nil, false
		}
		m, k, ok := gobUint(p)
		if !ok || m > uint64(len(p)) {
			return nil, nil, false
		}
		p = p[k:]
		var vals []string
		if m > 0 {
			vals = make([]string, m)
		}
		for i := range vals {
			var v []byte
			if v, p, ok = gobBytes(p); !ok {
				return nil, nil, false
			}
			vals[i] = d.str(v)
		}
		h[d.str(key)] = vals
	}
	return h, p, true
}

// gobBytes cuts a gob string or byte slice, its length then its bytes,
// off the front of p.
func gobBytes(p []byte) (b, rest []byte, ok bool) {
	n, k, ok := gobUint(p)
	if !ok || n > uint64(len(p)-k) {
		return nil, nil, false
	}
	return p[k : k+int(n)], p[k+int(n):], true
}

// Read decodes a whole record file; see Each.
func Read(r io.Reader) ([]vegeta.Result, error) {
	var out []vegeta.Result
	err := Each(r, func(res *vegeta.Result) {
		res.Body = bytes.Clone(res.Body)
		out = append(out, *res)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadFile reads the record file at path.
func ReadFile(path string) ([]vegeta.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}
