package faults

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestDialUpstream: on loopback the connect is synchronous, and the
// connection it returns is non-blocking again, as Go's runtime poller
// needs it (a blocking socket would hang a read past its deadline); a
// refused connect is still ECONNREFUSED, which names the cause.
func TestDialUpstream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, addr := range []string{ln.Addr().String(), "localhost:" + portOf(t, ln.Addr())} {
		t.Run(addr, func(t *testing.T) {
			c, err := dialUpstream(context.Background(), addr, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			rc, err := c.(syscall.Conn).SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			var flags int
			var errno syscall.Errno
			rc.Control(func(fd uintptr) {
				r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
				flags, errno = int(r), e
			})
			if errno != 0 || flags&syscall.O_NONBLOCK == 0 {
				t.Errorf("got flags %#x (%v), want O_NONBLOCK set", flags, errno)
			}
			read := make(chan error, 1)
			c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			go func() {
				_, err := c.Read(make([]byte, 1))
				read <- err
			}()
			select {
			case err := <-read:
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("read: got %v, want the deadline's timeout", err)
				}
			case <-time.After(5 * time.Second):
				// A read blocked in the kernel ignores Close: shut the
				// socket down under it.
				rc.Control(func(fd uintptr) { syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
				<-read
				t.Errorf("read: still blocked 5s after its 20ms deadline: the socket is blocking")
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		c, err := dialUpstream(context.Background(), addr, time.Second)
		if err == nil {
			c.Close()
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("got %v, want ECONNREFUSED", err)
		}
	})
}

func portOf(t *testing.T, a net.Addr) string {
	t.Helper()
	_, port, err := net.SplitHostPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}
