package faults

import (
	"context"
	"io"
	"net"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"github.com/gatecrash/gatecrash/results/causes"
)

// lingerFIN is how long a connection closed with a FIN before forwarding
// waits for the peer to close its side too.
const lingerFIN = time.Second

// endConn ends a connection: how is causes.HowReset (RST) or
// causes.HowClose (FIN). A reset waits (up to a second) until the peer has
// every byte already written, which an RST would otherwise throw away; a
// close sends its FIN and reads until the peer closes too (up to
// lingerFIN), since closing with unread bytes would send an RST instead.
func endConn(c net.Conn, how string) { beginEnd(c, how)() }

// beginEnd ends a connection as endConn does, but for a close only sends
// the FIN: the linger (reading until the peer closes, then closing) is
// the function it returns, so that the fault's event can be recorded
// when the FIN went, not once the peer answered it.
func beginEnd(c net.Conn, how string) (linger func()) {
	if how == causes.HowReset {
		waitSent(context.Background(), c, time.Second)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
		return func() {}
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		return func() {
			_ = c.SetReadDeadline(time.Now().Add(lingerFIN))
			_, _ = io.Copy(io.Discard, c)
			_ = c.Close()
		}
	}
	_ = c.Close()
	return func() {}
}

// siocoutq is Linux's SIOCOUTQ ioctl: the bytes of a TCP socket's send
// queue that the peer has not acknowledged yet.
const siocoutq = 0x5411

// waitSent waits, up to limit, until the peer has acknowledged every byte
// written to c, so that a RST sent next does not drop them. Where the
// kernel cannot tell (not Linux, not a socket), it returns at once.
func waitSent(ctx context.Context, c net.Conn, limit time.Duration) {
	sc, ok := c.(syscall.Conn)
	if !ok || runtime.GOOS != "linux" {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	deadline := time.Now().Add(limit)
	for {
		var n int32
		var errno syscall.Errno
		if err := rc.Control(func(fd uintptr) {
			_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, siocoutq, uintptr(unsafe.Pointer(&n)))
		}); err != nil || errno != 0 || n <= 0 || time.Now().After(deadline) {
			return
		}
		if !sleep(ctx, time.Millisecond) {
			return
		}
	}
}
