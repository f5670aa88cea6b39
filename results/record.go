package results

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	vegeta "github.com/tsenart/vegeta/v12/lib"
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
// always read them).
func EachRecord(r io.Reader, fn func(*vegeta.Result)) (Ending, error) {
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
		return eachGob(&countingReader{r: br}, fn)
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

// eachGob reads a gob record file. The gob decoder reads a ByteReader
// without buffering of its own, so cr counts the bytes of the whole
// records exactly.
func eachGob(cr *countingReader, fn func(*vegeta.Result)) (Ending, error) {
	dec := vegeta.NewDecoder(cr)
	var res vegeta.Result
	for n := 0; ; n++ {
		res = vegeta.Result{Body: res.Body[:0]}
		whole := cr.n
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
			return Ending{Records: n, Dropped: cr.n - whole}, nil
		}
		fn(&res)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
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
