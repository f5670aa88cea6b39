package faults

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
)

// dialUpstream connects to the upstream at addr, within timeout.
//
// To a loopback address the connect is synchronous: the socket is left
// blocking for connect(2), which on loopback completes (or is refused)
// within the call, and is made non-blocking again before any I/O. Go's
// usual dial parks the goroutine until the runtime's poller reports the
// socket writable, which on a busy machine can take a millisecond or
// more; the upstream's idle timer already runs from its accept, so the
// request would reach it later than a gateway connecting directly sends
// it, and an upstream with a short idle timeout (Node.js's
// server.timeout) closes connections the gateway alone would have kept.
// SO_SNDTIMEO bounds the blocking connect by timeout.
func dialUpstream(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	sync := false
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			sync = true
		}
	}
	if sync {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				tv := syscall.NsecToTimeval(int64(timeout))
				if serr = syscall.SetsockoptTimeval(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv); serr != nil {
					return
				}
				serr = syscall.SetNonblock(int(fd), false)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil || !sync {
		return c, err
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		c.Close()
		return nil, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		if serr = syscall.SetNonblock(int(fd), true); serr != nil {
			return
		}
		serr = syscall.SetsockoptTimeval(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &syscall.Timeval{})
	}); err != nil || serr != nil {
		c.Close()
		return nil, errors.Join(err, serr)
	}
	return c, nil
}
