package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Keepalive is the upstream closing keep-alive connections that have been
// idle for Idle. With When scenarios.WhenRequest (the default) the close
// crosses the next request, as the real race happens: when a request comes
// on a connection that waited at least Idle since its previous answer, the
// proxy reads it and ends the connection without answering, so that the
// gateway, which had already sent the request, reads the end (nginx:
// "upstream prematurely closed connection while reading response header").
// With When scenarios.WhenIdle it closes the connection while it waits,
// which a gateway that watches its pool notices in time. Close is how the
// connection ends: scenarios.CloseFIN (the default: what Node.js and Go
// servers send when their idle timeout fires) or scenarios.CloseRST.
type Keepalive struct {
	Idle  time.Duration
	When  string
	Close string
}

var (
	_ Idler     = Keepalive{}
	_ Exchanger = Keepalive{}
	_ Misser    = Keepalive{}
)

func (k Keepalive) how() string {
	if k.Close == scenarios.CloseRST {
		return causes.HowReset
	}
	return causes.HowClose
}

func (k Keepalive) words() string {
	if k.Close == scenarios.CloseRST {
		return "reset (RST)"
	}
	return "closed (FIN)"
}

// Missed says why a keepalive fault never applied.
func (k Keepalive) Missed() string {
	return fmt.Sprintf("no connection was idle %s; lower idle or the rate", k.Idle)
}

// IdleClose, with When idle, returns Idle, the close and its event; ok
// is false with When request.
func (k Keepalive) IdleClose() (limit time.Duration, how string, out Outcome, ok bool) {
	if k.When != scenarios.WhenIdle {
		return 0, "", Outcome{}, false
	}
	return k.Idle, k.how(), Outcome{Cause: causes.KeepaliveRace, Ended: true,
		Detail: fmt.Sprintf("%s the keep-alive connection after %s idle, while it waited", k.words(), k.Idle)}, true
}

// Apply, with When request, ends the connection of a request that came
// after at least Idle of waiting, without answering it; any other request
// it leaves alone (Skip).
func (k Keepalive) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	idle, reused := x.Idle()
	if k.When == scenarios.WhenIdle || !reused || idle < k.Idle {
		return Outcome{Skip: true}, nil
	}
	endConn(x.Conn, k.how())
	return Outcome{Cause: causes.KeepaliveRace, Ended: true, Close: true,
		Detail: fmt.Sprintf("%s the keep-alive connection as the request came, after %s idle (idle: %s), without answering",
			k.words(), idle.Round(time.Millisecond), k.Idle)}, nil
}
