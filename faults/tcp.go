package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"github.com/gatecrash/gatecrash/scenarios"
)

// In mode tcp the proxy forwards bytes without reading them, so only the
// connection-level kinds apply, decided once per connection:
//
//   - latency holds the upstream's first bytes for the fault's wait;
//   - slow-body paces everything the upstream sends;
//   - reset and close at connect end the connection as soon as it is
//     accepted; before-headers, once the first bytes of the request came;
//     both without dialling the upstream. At mid-body, AfterBytes bytes
//     of the upstream's go down, then both sides end;
//   - hang and blackhole read and discard what comes and never answer;
//   - refuse acts on the listener (see Serve).
//
// Other kinds, and reset or close after-headers, have no meaning without
// reading heads: mode tcp ignores them.

// lingerFIN is how long a connection closed with a FIN before forwarding
// waits for the peer to close its side too.
const lingerFIN = time.Second

// tcpAttack is the Attack of mode tcp's events: a connection has no seq.
const tcpAttack = "tcp"

// serveTCP forwards one connection's bytes both ways, applying the
// connection-level faults of the phase running now. It returns once both
// connections are closed; ctx ending closes them.
func (p *Proxy) serveTCP(ctx context.Context, c net.Conn) {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	cn := p.decideTCP(p.conns.Add(1), p.phaseNow())
	defer cn.noEffect()
	if cn.end != nil {
		cn.endEarly(ctx, c)
		return
	}
	d := net.Dialer{Timeout: p.cfg.DialTimeout}
	up, err := d.DialContext(ctx, "tcp", p.cfg.Upstream)
	if err != nil {
		cn.noted = "the upstream could not be reached"
		if ctx.Err() == nil {
			p.record(Event{Time: time.Now(), Type: TypeObservation, Attack: tcpAttack, Conn: cn.id, Phase: cn.phase,
				Kind: ObservedUpstreamError, Fault: -1, Cause: upstreamCause(err), Ended: true,
				Detail: fmt.Sprintf("connect to upstream: %v", err)})
			// The nearest a proxy that accepted can come to a refusal.
			endConn(c, howReset)
		}
		return
	}
	stopUp := context.AfterFunc(ctx, func() { up.Close() })
	defer stopUp()
	defer up.Close()

	done := make(chan struct{})
	go func() {
		defer close(done)
		// *net.TCPConn's ReadFrom splices socket to socket.
		_, err := io.Copy(up, c)
		finish(up, c, err)
	}()
	if cn.slow() {
		err = cn.copyDown(ctx, c, up)
	} else {
		_, err = io.Copy(c, up)
	}
	finish(c, up, err)
	<-done
}

// finish ends one direction of a forwarded connection: after a clean EOF
// from src, it half-closes dst (the FIN goes on); after an error, it
// resets both, as the error came from one of them.
func finish(dst, src net.Conn, err error) {
	if err == nil {
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			if cw.CloseWrite() == nil {
				return
			}
		}
	}
	endConn(dst, howReset)
	endConn(src, howReset)
}

// tcpConn is one mode-tcp connection and the faults decided for it.
type tcpConn struct {
	p     *Proxy
	id    uint64
	phase string

	// end is the fault that ends the connection before the upstream is
	// dialled: reset or close at connect or before-headers, hang or
	// blackhole.
	end *tcpHit

	delays []*tcpHit // latency: hold the upstream's first bytes
	rate   *tcpHit   // slow-body
	cut    *tcpHit   // reset or close mid-body, the earliest
	others []*tcpHit // hits that another fault made moot

	sent  int64  // bytes forwarded upstream to downstream
	noted string // why faults still pending had no effect
}

// tcpHit is one fault that hit a connection.
type tcpHit struct {
	rule   Rule
	how    string // reset or close, for reset and close
	at     string // for reset and close
	after  int64  // mid-body: bytes forwarded before the cut
	wait   time.Duration
	rate   int
	hang   time.Duration // hang's For
	logged bool
}

// decideTCP draws the faults of phase for connection id, in the phase's
// order; a fault that ends the connection before forwarding stops the
// decisions, as in mode http.
func (p *Proxy) decideTCP(id uint64, phase *Phase) *tcpConn {
	cn := &tcpConn{p: p, id: id}
	if phase == nil {
		return cn
	}
	cn.phase = phase.Name
	for _, r := range phase.Rules {
		h := &tcpHit{rule: r}
		ends := false
		latency, isLatency := r.Fault.(Latency)
		switch f := r.Fault.(type) {
		case Latency:
		case SlowBody:
			if f.BytesPerSecond <= 0 {
				continue
			}
			h.rate = f.BytesPerSecond
		case Reset:
			h.how, h.at, h.after = howReset, f.At, int64(f.AfterBytes)
		case Close:
			h.how, h.at, h.after = howClose, f.At, int64(f.AfterBytes)
		case Hang:
			h.hang, ends = f.For, true
		case Blackhole:
			ends = true
		default:
			continue // refuse acts on the listener; the rest need heads
		}
		switch h.at {
		case "", scenarios.AtConnect, scenarios.AtBeforeHeaders:
			ends = ends || h.how != ""
		case scenarios.AtMidBody:
		default:
			continue
		}
		draw := NewDraw(p.cfg.Seed, tcpAttack, id, 0, r.Index)
		hit := draw.Hit(r.Probability)
		r.count(hit)
		if !hit {
			continue
		}
		switch {
		case ends:
			cn.end = h
			return cn
		case isLatency:
			h.wait = latency.Wait(draw)
			cn.delays = append(cn.delays, h)
			h = nil
		case h.rate > 0:
			if cn.rate == nil || h.rate < cn.rate.rate {
				cn.rate, h = h, cn.rate
			}
		default: // mid-body
			if cn.cut == nil || h.after < cn.cut.after {
				cn.cut, h = h, cn.cut
			}
		}
		if h != nil {
			cn.others = append(cn.others, h)
		}
	}
	return cn
}

// slow reports whether the upstream's bytes need more than a plain copy.
func (cn *tcpConn) slow() bool {
	return len(cn.delays) > 0 || cn.rate != nil || cn.cut != nil
}

// log records the event of a fault that took effect.
func (cn *tcpConn) log(h *tcpHit, at time.Time, cause string, ended bool, detail string) {
	h.logged = true
	cn.p.record(Event{Time: at, Type: TypeFault, Attack: tcpAttack, Conn: cn.id, Phase: cn.phase,
		Kind: h.rule.Kind, Fault: h.rule.Index, Cause: cause, Ended: ended, Detail: detail})
}

// noEffect logs the faults that hit the connection but never acted.
func (cn *tcpConn) noEffect() {
	why := cn.noted
	if why == "" {
		why = fmt.Sprintf("the connection ended after %d bytes from the upstream", cn.sent)
	}
	for _, h := range append(append(cn.delays, cn.rate, cn.cut), cn.others...) {
		if h == nil || h.logged {
			continue
		}
		detail := "no effect: " + why
		if h.how != "" && h.at == scenarios.AtMidBody && cn.cut != h {
			detail = fmt.Sprintf("no effect: an earlier cut (after %d bytes) came first", cn.cut.after)
		}
		if h.rate > 0 && cn.rate != h {
			detail = fmt.Sprintf("no effect: a slower pace (%d B/s) applied", cn.rate.rate)
		}
		cn.log(h, time.Now(), "", false, detail)
	}
}

// endEarly applies a fault that ends the connection without dialling the
// upstream.
func (cn *tcpConn) endEarly(ctx context.Context, c net.Conn) {
	h := cn.end
	start := time.Now()
	if h.how != "" {
		cause := "closed-before-headers"
		if h.how == howReset {
			cause = "reset-before-headers"
		}
		detail := h.how + " as soon as the connection was accepted, upstream not dialled"
		if h.at != scenarios.AtConnect {
			// Whatever came at once: closing with unread bytes would send
			// a RST instead of a FIN.
			b := make([]byte, 64<<10)
			n, err := c.Read(b)
			switch {
			case ctx.Err() != nil:
				cn.log(h, start, "", false, "no effect: the proxy stopped first")
				return
			case n == 0:
				cn.log(h, start, "", false, fmt.Sprintf("no effect: the peer ended the connection before sending (%v)", err))
				return
			}
			detail = h.how + " once the first bytes of the request came, upstream not dialled"
		}
		if h.how == howReset {
			endConn(c, howReset)
			cn.log(h, start, cause, true, detail)
			return
		}
		// A FIN, then read until the peer closes too: closing with unread
		// bytes would send a RST instead.
		if cw, ok := c.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			cn.log(h, start, cause, true, detail)
			_ = c.SetReadDeadline(time.Now().Add(lingerFIN))
			_, _ = io.Copy(io.Discard, c)
			return
		}
		c.Close()
		cn.log(h, start, cause, true, detail)
		return
	}
	// hang, blackhole
	if h.hang > 0 {
		_ = c.SetReadDeadline(start.Add(h.hang))
	}
	_, err := io.Copy(io.Discard, c)
	var why string
	switch {
	case ctx.Err() != nil:
		why = "stopped"
	case errors.Is(err, os.ErrDeadlineExceeded):
		why = "timer"
	case err == nil:
		why = "peer closed"
	case errors.Is(err, syscall.ECONNRESET):
		why = "peer reset"
	default:
		why = err.Error()
	}
	what := "no answer"
	if h.rule.Kind == scenarios.KindBlackhole {
		what = "blackhole: no answer"
	}
	cn.log(h, start, "upstream-timeout", true, fmt.Sprintf("%s; ended after %s: %s", what, time.Since(start).Round(time.Millisecond), why))
}

// copyDown forwards the upstream's bytes to the downstream under the
// connection's faults: the first bytes held for the latency, the pace of
// slow-body, the mid-body cut. It returns nil at the upstream's EOF.
func (cn *tcpConn) copyDown(ctx context.Context, down, up net.Conn) error {
	buf := make([]byte, 32<<10)
	if cn.rate != nil {
		// At most a tenth of a second's worth at a time.
		buf = buf[:min(len(buf), max(cn.rate.rate/10, 1))]
	}
	var paced time.Time // when pacing started
	var pacedBytes int64
	for {
		n, rerr := up.Read(buf)
		if n > 0 {
			if err := cn.hold(ctx); err != nil {
				return err
			}
			b := buf[:n]
			var cutNow bool
			if h := cn.cut; h != nil && cn.sent+int64(n) >= h.after {
				b, cutNow = b[:h.after-cn.sent], true
			}
			if h := cn.rate; h != nil && len(b) > 0 {
				if paced.IsZero() {
					paced = time.Now()
					cn.log(h, paced, "", false, fmt.Sprintf("upstream bytes paced to %d B/s", h.rate))
				}
				pacedBytes += int64(len(b))
			}
			m, werr := down.Write(b)
			cn.sent += int64(m)
			if werr != nil {
				return werr
			}
			if cutNow {
				h := cn.cut
				cause := "closed-mid-body"
				if h.how == howReset {
					cause = "reset-mid-body"
					// A RST drops whatever the kernel has not sent yet:
					// let the bytes counted as forwarded arrive first.
					waitSent(ctx, down, time.Second)
				}
				endConn(down, h.how)
				endConn(up, h.how)
				cn.log(h, time.Now(), cause, true, fmt.Sprintf("%s both sides after %d bytes from the upstream", h.how, cn.sent))
				return errCut
			}
			if !paced.IsZero() {
				due := paced.Add(time.Duration(float64(pacedBytes) / float64(cn.rate.rate) * float64(time.Second)))
				if !sleep(ctx, time.Until(due)) {
					return ctx.Err()
				}
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			return rerr
		}
	}
}

// hold applies the latency faults once, before the upstream's first bytes
// go down.
func (cn *tcpConn) hold(ctx context.Context) error {
	if len(cn.delays) == 0 || cn.delays[0].logged {
		return nil
	}
	for _, h := range cn.delays {
		start := time.Now()
		ok := sleep(ctx, h.wait)
		detail := fmt.Sprintf("delay %s before the upstream's first bytes", h.wait.Round(time.Microsecond))
		if !ok {
			detail += " (cut short: proxy stopping)"
		}
		cn.log(h, start, "", false, detail)
		if !ok {
			return ctx.Err()
		}
	}
	return nil
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
