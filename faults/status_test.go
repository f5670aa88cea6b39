package faults

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// TestStatusEventCarriesCode: a status fault's event says the code it
// answered with in Status (the analysis never parses Detail), and its
// cause is the passthrough cause of that code.
func TestStatusEventCarriesCode(t *testing.T) {
	for _, code := range []int{503, 429} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			addr, events := startProxy(t, http.HandlerFunc(body100), scenarios.Fault{Kind: scenarios.KindStatus, Code: code})
			got, err, _ := exchangeRaw(t, addr)
			if !bytes.HasPrefix(got, []byte(fmt.Sprintf("HTTP/1.1 %d ", code))) {
				t.Errorf("got %q, %v; want a %d", got, err, code)
			}
			evs := events()
			if len(evs) != 1 || evs[0].Status != code || evs[0].Cause != causes.Passthrough(code) {
				t.Errorf("got %+v, want one event with status %d and cause %s", evs, code, causes.Passthrough(code))
			}
		})
	}
}
