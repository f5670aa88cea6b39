package faults

import (
	"context"
	"fmt"

	"github.com/gatecrash/gatecrash/scenarios"
)

// statusLineBytes is what the status-line variant sends: a status line
// whose code is not a number, then an otherwise valid empty answer.
const statusLineBytes = "HTTP/1.1 abc Broken\r\nContent-Length: 0\r\n\r\n"

// Malformed writes raw bytes that break HTTP, then closes the connection.
// Only the status-line variant for now.
type Malformed struct {
	// Variant is the malformation; empty means status-line.
	Variant string
}

var _ Fault = Malformed{}

// Apply reads the request, sends the malformed answer and closes.
func (m Malformed) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	v := m.Variant
	if v == "" {
		v = scenarios.VariantStatusLine
	}
	if v != scenarios.VariantStatusLine {
		return Outcome{}, fmt.Errorf("malformed variant %q is not supported", v)
	}
	out := Outcome{Detail: fmt.Sprintf("sent %q and closed", statusLineBytes), Cause: "malformed-status-line", Ended: true, Close: true}
	if err := x.DrainRequest(); err != nil {
		return out, err
	}
	return out, x.Write([]byte(statusLineBytes))
}
