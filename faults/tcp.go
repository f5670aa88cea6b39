package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gatecrash/gatecrash/results/causes"
)

// In mode tcp the proxy forwards bytes without reading them, so only the
// kinds that are Streamers apply, decided once per connection (and
// refuse, which acts on the listener in both modes). Each kind's Stream
// method says what it does there; for example:
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
			endConn(c, causes.HowReset)
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
	endConn(dst, causes.HowReset)
	endConn(src, causes.HowReset)
}

// tcpConn is one mode-tcp connection and the faults decided for it.
type tcpConn struct {
	p     *Proxy
	id    uint64
	phase string

	// end is the fault that ends the connection before the upstream is
	// dialled (a Stream with End: reset or close at connect or
	// before-headers, hang or blackhole).
	end *tcpHit

	delays []*tcpHit // Delay: hold the upstream's first bytes (latency)
	rate   *tcpHit   // Pace, the slowest (slow-body)
	cut    *tcpHit   // Cut, the earliest (reset or close mid-body)
	others []*tcpHit // hits that another fault made moot

	sent  int64  // bytes forwarded upstream to downstream
	noted string // why faults still pending had no effect
}

// tcpHit is one fault that hit a connection.
type tcpHit struct {
	rule   Rule
	s      Stream        // what the fault does to the connection's bytes
	wait   time.Duration // Delay's, once drawn
	logged bool
}

// decideTCP draws the faults of phase for connection id, in the phase's
// order; a fault that ends the connection before forwarding stops the
// decisions, as in mode http. Only Streamers are drawn.
func (p *Proxy) decideTCP(id uint64, phase *Phase) *tcpConn {
	cn := &tcpConn{p: p, id: id}
	if phase == nil {
		return cn
	}
	cn.phase = phase.Name
	for _, r := range phase.Rules {
		st, ok := r.Fault.(Streamer)
		if !ok {
			continue
		}
		s, ok := st.Stream()
		if !ok {
			continue
		}
		draw := NewDraw(p.cfg.Seed, tcpAttack, id, 0, r.Index)
		hit := draw.Hit(r.Probability)
		r.count(hit)
		if !hit {
			continue
		}
		h := &tcpHit{rule: r, s: s}
		if s.End != nil {
			cn.end = h
			return cn
		}
		cn.add(h, draw)
	}
	return cn
}

// add takes a fault that acts while bytes are forwarded: every delay, the
// slowest pace, the earliest cut; a hit another made moot goes to others.
func (cn *tcpConn) add(h *tcpHit, draw *Draw) {
	switch {
	case h.s.Delay != nil:
		h.wait = h.s.Delay(draw)
		cn.delays = append(cn.delays, h)
		return
	case h.s.Pace > 0:
		if cn.rate == nil || h.s.Pace < cn.rate.s.Pace {
			cn.rate, h = h, cn.rate
		}
	case h.s.CutHow != "":
		if cn.cut == nil || h.s.Cut < cn.cut.s.Cut {
			cn.cut, h = h, cn.cut
		}
	}
	if h != nil {
		cn.others = append(cn.others, h)
	}
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
		if h.s.CutHow != "" && cn.cut != h {
			detail = fmt.Sprintf("no effect: an earlier cut (after %d bytes) came first", cn.cut.s.Cut)
		}
		if h.s.Pace > 0 && cn.rate != h {
			detail = fmt.Sprintf("no effect: a slower pace (%d B/s) applied", cn.rate.s.Pace)
		}
		cn.log(h, time.Now(), "", false, detail)
	}
}

// endEarly lets the fault that ends the connection without dialling the
// upstream take it over.
func (cn *tcpConn) endEarly(ctx context.Context, c net.Conn) {
	h := cn.end
	start := time.Now()
	h.s.End(ctx, c, func(o Outcome) { cn.log(h, start, o.Cause, o.Ended, o.Detail) })
}

// copyDown forwards the upstream's bytes to the downstream under the
// connection's faults: the first bytes held for the latency, the pace of
// slow-body, the mid-body cut. It returns nil at the upstream's EOF.
func (cn *tcpConn) copyDown(ctx context.Context, down, up net.Conn) error {
	buf := make([]byte, 32<<10)
	if cn.rate != nil {
		// At most a tenth of a second's worth at a time.
		buf = buf[:min(len(buf), max(cn.rate.s.Pace/10, 1))]
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
			if h := cn.cut; h != nil && cn.sent+int64(n) >= h.s.Cut {
				b, cutNow = b[:h.s.Cut-cn.sent], true
			}
			if h := cn.rate; h != nil && len(b) > 0 {
				if paced.IsZero() {
					paced = time.Now()
					cn.log(h, paced, "", false, fmt.Sprintf("upstream bytes paced to %d B/s", h.s.Pace))
				}
				pacedBytes += int64(len(b))
			}
			m, werr := down.Write(b)
			cn.sent += int64(m)
			if werr != nil {
				return werr
			}
			if cutNow {
				cn.cutBoth(ctx, down, up)
				return errCut
			}
			if !paced.IsZero() {
				due := paced.Add(time.Duration(float64(pacedBytes) / float64(cn.rate.s.Pace) * float64(time.Second)))
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

// cutBoth ends both sides where the cut fault says, once its bytes went.
func (cn *tcpConn) cutBoth(ctx context.Context, down, up net.Conn) {
	h := cn.cut
	if h.s.CutHow == causes.HowReset {
		// A RST drops whatever the kernel has not sent yet: let the bytes
		// counted as forwarded arrive first.
		waitSent(ctx, down, time.Second)
	}
	endConn(down, h.s.CutHow)
	endConn(up, h.s.CutHow)
	cn.log(h, time.Now(), causes.Ended(h.s.CutHow, causes.MidBody), true,
		fmt.Sprintf("%s both sides after %d bytes from the upstream", h.s.CutHow, cn.sent))
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
