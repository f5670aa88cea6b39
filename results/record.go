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
// to its last whole record.
func Each(r io.Reader, fn func(*vegeta.Result)) error {
	br := bufio.NewReaderSize(r, 1<<16)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return nil
	}
	dec := vegeta.DecoderFor(br)
	if dec == nil {
		return errors.New("not a vegeta results file (gob, JSON or CSV)")
	}
	var res vegeta.Result
	for n := 0; ; n++ {
		res = vegeta.Result{Body: res.Body[:0]}
		if err := dec.Decode(&res); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return fmt.Errorf("decode result %d: %w", n, err)
		}
		fn(&res)
	}
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
