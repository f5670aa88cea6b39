package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Server is an HTTP server on a loopback port. Close stops it.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Start serves h on a free port of 127.0.0.1. If h implements io.Closer,
// the server's Close calls it once the server has stopped.
func Start(h http.Handler) (*Server, error) {
	return StartOn("127.0.0.1:0", h)
}

// StartOn serves h on addr.
func StartOn(addr string, h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	s := &Server{
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		ln:   ln,
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the server's base URL.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Close stops the server: it waits up to a second for requests in flight,
// then closes every connection, and returns once the server has stopped.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	err := <-s.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if c, ok := s.srv.Handler.(io.Closer); ok {
		err = errors.Join(err, c.Close())
	}
	return err
}
