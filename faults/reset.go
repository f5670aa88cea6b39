package faults

import (
	"context"
	"fmt"

	"github.com/gatecrash/gatecrash/scenarios"
)

// Reset ends the downstream connection with a TCP RST at a point of the
// exchange. Only before-headers for now: the whole request is read, then
// the connection is reset without a byte of answer.
type Reset struct {
	// At is where the reset happens; empty means before-headers.
	At string
}

var _ Fault = Reset{}

// Apply reads the request and resets the connection.
func (r Reset) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	at := r.At
	if at == "" {
		at = scenarios.ResetBeforeHeaders
	}
	if at != scenarios.ResetBeforeHeaders {
		return Outcome{}, fmt.Errorf("reset at %q is not supported", at)
	}
	out := Outcome{Detail: "RST after reading the request, before any response byte", Cause: "reset-before-headers", Ended: true, Close: true}
	if err := x.DrainRequest(); err != nil {
		out.Detail = "RST while reading the request body"
	}
	return out, x.Reset()
}
