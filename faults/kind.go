package faults

import (
	"context"
	"net"
	"time"
)

// Fault is the behaviour of one fault kind. What a kind acts on is said by
// the capability interfaces it implements, one or more of:
//
//   - Refuser: the proxy's listener, while the kind's phase runs;
//   - Acceptor: a new connection, as it is accepted;
//   - Idler: a keep-alive connection waiting for its next request;
//   - Exchanger: one request and its answer (mode http);
//   - Streamer: the raw bytes of one connection (mode tcp).
//
// The proxy asks a rule's Fault for the capability it needs at each point
// and never for the kind itself; a kind that lacks a capability is passed
// over there, without a draw.
type Fault interface{}

// Refuser is a kind that acts on the proxy's listener: while a phase that
// holds it runs, the listener is closed, so that connecting is refused for
// real (ECONNREFUSED), and the open connections end; the listener opens
// again on the same address when the phase ends.
type Refuser interface {
	// Refused returns the event of closing the listener, once the proxy
	// closed it and ended the connections that were open (ended of them).
	Refused(ended int) Outcome
}

// Acceptor is a kind that may end a connection as soon as it is accepted,
// before any request.
type Acceptor interface {
	// OnAccept returns how it ends a connection just accepted
	// (causes.HowReset or causes.HowClose), or "" when it does not act at
	// accept time (it then acts on exchanges, if at all).
	OnAccept() string
}

// Idler is a kind that acts on a keep-alive connection between requests.
type Idler interface {
	// IdleClose returns how long a connection may wait for its next
	// request before the proxy ends it without warning, how it ends it
	// (causes.HowClose or causes.HowReset), and the outcome logged when it
	// does; ok is false when the fault does not act between requests as
	// configured.
	IdleClose() (limit time.Duration, how string, out Outcome, ok bool)
}

// Misser is a kind that can say why it never applied in a phase where it
// was active, and what to change: a keepalive fault's "no connection was
// idle 50ms; lower idle or the rate". It is a kind whose hit applies only
// when a condition of its own holds too (a connection idle long enough,
// a cap reached), so that it may apply far less often than its
// probability says without anything being wrong. The tally of a phase's
// faults (see ObservedTally) carries Missed as Detail and marks the
// fault Conditional. A kind without it gets a sentence of the report's
// own.
type Misser interface {
	// Missed says, in a clause without a final period, why the fault
	// never applied and what to change.
	Missed() string
}

// Exchanger is a kind that acts on one request and its answer, after the
// proxy has decided that it happens. It returns what it did.
type Exchanger interface {
	Apply(ctx context.Context, x *Exchange) (Outcome, error)
}

// Streamer is a kind that acts on the raw bytes of a connection in mode
// tcp, where the proxy reads no heads and decides once per connection.
type Streamer interface {
	// Stream returns what the kind does to one connection's bytes; ok is
	// false when it does nothing in mode tcp (it is then not drawn).
	Stream() (s Stream, ok bool)
}

// Stream is what a kind does to one connection's bytes in mode tcp. Set
// exactly one of End, Delay, Pace or Cut.
type Stream struct {
	// End, when set, takes the connection over before the upstream is
	// dialled and ends it. It calls record once, with the fault's event,
	// when the fault took effect (or had none); ctx ends with the proxy.
	End func(ctx context.Context, c net.Conn, record func(Outcome))
	// Delay, when set, returns how long to hold the upstream's first bytes,
	// from the decision's draw.
	Delay func(*Draw) time.Duration
	// Pace, when more than 0, paces the upstream's bytes to so many a
	// second; the slowest pace of a connection applies.
	Pace int
	// Cut, when CutHow is set, ends both sides (CutHow: causes.HowReset or
	// causes.HowClose) after Cut bytes from the upstream; the earliest cut
	// of a connection applies.
	Cut    int64
	CutHow string
}

// Outcome is what a fault did to an exchange (or a connection).
type Outcome struct {
	// Detail says what was done, for the event log.
	Detail string
	// Cause is the stable cause name (a results/causes constant) of a
	// gateway error this fault leads to.
	Cause string
	// Status is the HTTP status code the fault itself answered with; zero
	// when it sent none (see Event.Status).
	Status int
	// Ended means the fault answered or broke the exchange: the request is
	// not forwarded and no later fault applies.
	Ended bool
	// Close means the downstream connection must not be used again.
	Close bool
	// Pending means the fault planned something on the answer (see the
	// Exchange methods); its event is logged once that took effect.
	Pending bool
	// Skip means the fault did nothing to this exchange after all: no
	// event, and it does not count as applied.
	Skip bool
}
