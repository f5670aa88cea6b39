package faults

import (
	"fmt"
	"time"

	"github.com/gatecrash/gatecrash/results/causes"
)

// Keepalive closes a downstream keep-alive connection once it has been
// idle for Idle, without warning: the race that makes a gateway send a
// request on a connection the upstream is closing.
type Keepalive struct {
	// Idle is how long a connection may wait for its next request.
	Idle time.Duration
}

var (
	_ Idler  = Keepalive{}
	_ Misser = Keepalive{}
)

// Missed says why a keepalive fault never applied.
func (k Keepalive) Missed() string {
	return fmt.Sprintf("no connection was idle %s; lower idle or the rate", k.Idle)
}

// IdleClose returns Idle and the event of the close.
func (k Keepalive) IdleClose() (time.Duration, Outcome) {
	return k.Idle, Outcome{Cause: causes.KeepaliveRace, Ended: true,
		Detail: fmt.Sprintf("closed the keep-alive connection after %s idle, without warning", k.Idle)}
}
