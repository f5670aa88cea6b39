package scenarios

import (
	"net/netip"
	"strings"
)

// LoopbackHost reports whether host, a name or an IP address without a
// port, is on loopback: localhost, 127.0.0.0/8 or ::1. It is the one
// loopback check of gatecrash: every address a run listens on or sends
// traffic to passes it unless the command line consents otherwise; each
// caller words its own message around it.
func LoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
