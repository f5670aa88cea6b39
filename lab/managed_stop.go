package lab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
)

// Close stops the gateway: its graceful-stop signal to its process
// (nginx SIGQUIT, HAProxy SIGUSR1, Caddy SIGTERM), so that it finishes
// the requests it holds and logs them, then, if it has not exited within
// 3s, SIGKILL to its process group; it returns once the process has
// been reaped, has redacted the secrets in the gateway's access and error
// logs (ManagedConfig.Secrets) and has removed the private folder. It
// reports an error if the gateway had exited before it was asked to stop.
// Close may be called more than once; later calls return the first
// call's error.
func (m *Managed) Close() error {
	m.closeOnce.Do(func() {
		if m.stopOnDone != nil {
			m.stopOnDone()
		}
		early := m.exitedEarly(false)
		if gone := m.terminate(); gone && early == nil {
			// Reaped just before Close looked: it exited all the same.
			early = m.exitedEarly(true)
		}
		closeFiles(m.files)
		// The process is gone: its logs are whole, and can be redacted.
		redactErr := errors.Join(m.redact.file(m.accessLog), m.redact.file(m.errLog))
		m.closeErr = errors.Join(early, redactErr, os.RemoveAll(m.dir))
	})
	return m.closeErr
}

// exitedEarly returns an error, with the end of its output, if the
// gateway has exited without being asked to stop (with stopped, even
// though it was asked since); else nil.
func (m *Managed) exitedEarly(stopped bool) error {
	select {
	case <-m.done:
	default:
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopping && !stopped {
		return nil
	}
	early := fmt.Errorf("%s exited before gatecrash stopped it (%v)", m.kind, m.waitErr)
	if out := m.output(); out != "" {
		early = fmt.Errorf("%w; its output ends:\n%s", early, out)
	}
	return early
}

// terminate stops the process, as Close says, and waits for it. A
// process that exited by itself may have left children (nginx's workers
// outlive a master that was killed): they are killed too. It reports
// whether the process was gone, reaped, before it was signalled.
func (m *Managed) terminate() (gone bool) {
	m.mu.Lock()
	m.stopping = true
	m.mu.Unlock()
	pid := m.cmd.Process.Pid
	select {
	case <-m.done:
		killGroup(pid)
		return false
	default:
	}
	// By the process, not its number: once reaped, its pid may be
	// another's.
	if err := m.cmd.Process.Signal(m.stop); errors.Is(err, os.ErrProcessDone) {
		<-m.done
		killGroup(pid)
		return true
	}
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-m.done:
		// Stopped as asked: nginx's master waits for its workers.
	case <-t.C:
		killGroup(pid)
		<-m.done
	}
	return false
}

// killGroup kills every process of the group pgid, and waits a little
// for init to reap those that its leader left behind. The group id is not
// reused while a member of the group lives; once the group is empty,
// killing it finds nothing.
func killGroup(pgid int) {
	if syscall.Kill(-pgid, syscall.SIGKILL) != nil {
		return
	}
	deadline := time.Now().Add(stopTimeout)
	for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// output returns the end of the gateway's error log, where its own output
// goes.
func (m *Managed) output() string {
	return tail(m.errLog, 2048)
}

// tail returns up to the last n bytes of the file at path, from a line
// start, trimmed.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-n, 0)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return ""
	}
	if off > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimSpace(string(b))
}
