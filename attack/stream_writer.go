package attack

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// StreamWriter writes streams as JSON lines, buffered, to a file it
// creates at the first Write, so that a run without streams has no such
// file. It is safe for concurrent use; the caller must Close it, which
// flushes and closes the file (nothing when it was never created).
type StreamWriter struct {
	mu     sync.Mutex
	create func() (io.WriteCloser, error)
	f      io.WriteCloser // nil until the first Write
	buf    *bufio.Writer
	enc    *json.Encoder
	err    error // the creation's, once it failed
	closed bool
}

// NewStreamWriter returns a writer of streams to the file create
// creates, at the first Write.
func NewStreamWriter(create func() (io.WriteCloser, error)) *StreamWriter {
	return &StreamWriter{create: create}
}

// Write writes one stream as one line, creating the file first when it
// is the first.
func (w *StreamWriter) Write(s Stream) error {
	s.Time = s.Time.UTC()
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed:
		return errors.New("write stream: the streams file is closed")
	case w.err != nil:
		return w.err
	case w.f == nil:
		f, err := w.create()
		if err != nil {
			w.err = fmt.Errorf("create the streams file: %w", err)
			return w.err
		}
		w.f = f
		w.buf = bufio.NewWriterSize(f, 64<<10)
		w.enc = json.NewEncoder(w.buf)
	}
	if err := w.enc.Encode(s); err != nil {
		return fmt.Errorf("write stream: %w", err)
	}
	return nil
}

// Flush writes out what is buffered; it returns the creation's error, if
// the file could not be created.
func (w *StreamWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flush()
}

func (w *StreamWriter) flush() error {
	if w.err != nil {
		return w.err
	}
	if w.buf == nil {
		return nil
	}
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("flush streams: %w", err)
	}
	return nil
}

// Close flushes the writer and closes its file; later Writes fail.
func (w *StreamWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.flush()
	if w.f != nil {
		err = errors.Join(err, w.f.Close())
	}
	return err
}
