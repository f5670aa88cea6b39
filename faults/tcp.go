package faults

import (
	"context"
	"net"
)

// serveTCP forwards one connection's bytes both ways, applying the
// connection-level faults of mode tcp.
func (p *Proxy) serveTCP(ctx context.Context, c net.Conn) {
	c.Close() // TODO(helper): mode tcp
}
