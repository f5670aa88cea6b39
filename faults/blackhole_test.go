package faults

import "testing"

// TestBlackholeInModeTCP: blackhole swallows a connection until the peer closes or the proxy
// stops.
func TestBlackholeInModeTCP(t *testing.T) { swallowsInModeTCP(t, "blackhole") }
