package faults

import (
	"fmt"

	"github.com/gatecrash/gatecrash/results/causes"
)

// Refuse closes the proxy's listener while its phase runs, so that
// connecting is refused for real (ECONNREFUSED), not accepted and closed;
// the listener reopens when the phase ends. It acts on the listener, not
// on requests (see Proxy.Serve).
type Refuse struct{}

var _ Refuser = Refuse{}

// Refused words the closing of the listener.
func (Refuse) Refused(ended int) Outcome {
	return Outcome{Cause: causes.ConnectionRefused, Ended: true,
		Detail: fmt.Sprintf("listener closed: connects are refused; %d open connections ended", ended)}
}
