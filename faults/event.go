package faults

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gatecrash/gatecrash/results/causes"
)

// Event types: a fault the proxy applied, or something it saw without
// causing it.
const (
	TypeFault       = "fault"
	TypeObservation = "observation"
)

// Observation kinds.
const (
	// ObservedRetry: the same (attack, seq) reached the proxy again, and
	// it was not a client's retry: when the request carries a try number
	// (see scenarios.HeaderTry), that same try had reached the proxy before, so the
	// gateway retried it; when it carries none, the gateway or the client
	// retried, and the proxy cannot tell which (Detail says so).
	ObservedRetry = "retry"
	// ObservedClientRetry: the same (attack, seq) reached the proxy again
	// with a try number (see scenarios.HeaderTry) that had not reached it before:
	// the client retried. Per (attack, seq), the arrivals at the proxy are
	// 1 + its retry and client-retry observations (all within
	// AttemptsHorizon), its distinct tries 1 + its client-retry ones, and
	// its gateway retries its retry ones. An arrival without a try counts
	// as try 1 for those after it (a client that numbers its tries
	// numbers every one), so that try 1 after it is a gateway retry; tries
	// from 64 on are not told apart.
	ObservedClientRetry = "client-retry"
	// ObservedUpstreamError: the proxy could not reach the upstream or the
	// upstream broke the exchange.
	// It is spelled as the cause of the same name (causes.UpstreamError),
	// the cause such a failure gets when nothing more precise is known.
	ObservedUpstreamError = causes.UpstreamError
	// ObservedRefuseEnded: a refuse fault's phase ended and the listener
	// opened again.
	ObservedRefuseEnded = "refuse-ended"
	// ObservedGatewayClosed: the gateway closed its connection in the
	// middle of an exchange (it gave up: a timeout, or its client left).
	ObservedGatewayClosed = "gateway-closed"
	// ObservedTally: how often one fault of the schedule matched and was
	// applied, so that a fault that never bit is known as such. When
	// Serve returns, the proxy (of mode http and tcp) records one per rule
	// of every phase of the schedule in force then (the one SetPhases set
	// last: a fault an admin removed earlier gets none), phases and rules
	// in order, just before the seen observations: Phase and Fault name
	// the rule, FaultKind its kind (Kind is "tally"), Matched, Applied and
	// P its counters and probability, Conditional whether it applies on a
	// hit only when a condition of its own holds too (its kind is a
	// Misser). Detail, for a Misser that never applied, says why, as its kind
	// words it ("no connection was idle 50ms; lower idle or the rate");
	// otherwise it sums the counts up. The counts run from the rule's
	// creation: a proxy served twice reports them twice, each time
	// cumulated; the last tally of a rule is the one to read. Seq is nil.
	ObservedTally = "tally"
	// ObservedSeen: the seqs of one attack that reached the proxy with a
	// seq header, in Ranges. The proxy of mode http records one per attack,
	// attacks in sorted order, when Serve returns, after every other event
	// of that Serve (the tallies included); mode tcp reads no requests and
	// records none. An attack with more than 65536 ranges gets several,
	// each with a part of them ("ranges part 1 of 2" in Detail). Each Serve reports only the
	// requests it received itself, so a proxy served more than once records
	// seen events for each Serve. In every case, the union of an attack's
	// Ranges is what the proxy received.
	ObservedSeen = "seen"
)

// SeenLimit bounds what a seen observation tracks: seqs at or above it
// are never in Ranges, and when one came, the event's Detail says
// "capped". A seq below SeenLimit that is not in Ranges never reached the
// proxy; nothing can be said of a seq at or above it.
const SeenLimit = 1 << 31

// Event is one line of events.jsonl.
type Event struct {
	// Time the event happened.
	Time time.Time `json:"time"`
	// Type is TypeFault or TypeObservation.
	Type string `json:"type"`
	// Attack and Seq identify the request (vegeta's X-Vegeta-Attack and
	// X-Vegeta-Seq headers); Seq is nil when the request carried none.
	Attack string  `json:"attack"`
	Seq    *uint64 `json:"seq"`
	// Attempt counts how often the proxy had already seen this (attack,
	// seq) when the event happened: 0 for the first time, or when the
	// attempt before it came more than AttemptsHorizon earlier.
	Attempt int `json:"attempt"`
	// Try is the client's try number of the request (its X-Gatecrash-Try
	// header, see scenarios.HeaderTry), from 1; 0 when the request carried none, or
	// one that is not a whole number from 1, and on events of no request.
	// Attempt counts every arrival of (attack, seq), whatever its try: the
	// attempts at the upstream.
	Try int `json:"try,omitempty"`
	// Conn identifies the proxy's downstream connection.
	Conn uint64 `json:"conn"`
	// Phase is the name of the phase the request belongs to.
	Phase string `json:"phase"`
	// Kind is the fault kind (latency, reset, ...) or the observation kind.
	Kind string `json:"kind"`
	// Fault is the index of the fault in its phase's list; -1 for
	// observations but a tally, which names its fault by it.
	Fault int `json:"fault"`
	// Cause is the stable cause name a gateway error from this fault gets,
	// for example reset-before-headers; empty for observations and for
	// faults that do not end the exchange.
	Cause string `json:"cause,omitempty"`
	// Ended is true when the fault answered or broke the exchange, so it
	// decided how the attempt ended.
	Ended bool `json:"ended,omitempty"`
	// Status is the HTTP status code the fault itself answered with: a
	// status fault's code, an overload fault's 503; zero otherwise.
	Status int `json:"status,omitempty"`
	// Detail says what exactly was done or seen.
	Detail string `json:"detail"`
	// FaultKind, Matched, Applied, P and Conditional are set on a tally
	// observation only (see ObservedTally): the kind of the fault it
	// counts; how many requests (or, for the faults that act on
	// connections, connections and idle waits) the fault matched and drew
	// for; how many times it was applied; its probability; and whether a
	// hit applies only when a condition of the kind's own holds too (a
	// keepalive fault closes only a connection idle long enough, an
	// overload fault rejects only beyond its cap), so that Applied may
	// fall far below Matched × P by design. Such a kind is a Misser.
	FaultKind   string  `json:"fault_kind,omitempty"`
	Matched     uint64  `json:"matched,omitempty"`
	Applied     uint64  `json:"applied,omitempty"`
	P           float64 `json:"p,omitempty"`
	Conditional bool    `json:"conditional,omitempty"`
	// Ranges, for a seen observation, are the seqs of Attack the proxy
	// received at least once, as sorted, non-overlapping, non-adjacent
	// half-open intervals [lo, hi); Seq is nil on this event. Only seqs
	// below SeenLimit are tracked (see ObservedSeen). Empty for every
	// other event.
	Ranges [][2]uint64 `json:"ranges,omitempty"`
}

// EventLog writes events as JSON lines. It is safe for concurrent use; call
// Close to flush.
type EventLog struct {
	mu      sync.Mutex
	w       *bufio.Writer
	enc     *json.Encoder
	n       int
	err     error
	subs    map[chan Event]struct{}
	dropped int
	taps    []func(Event) // see Tap
}

// NewEventLog returns an EventLog writing to w; a nil w writes nothing
// (events still reach subscribers).
func NewEventLog(w io.Writer) *EventLog {
	if w == nil {
		w = io.Discard
	}
	bw := bufio.NewWriter(w)
	return &EventLog{w: bw, enc: json.NewEncoder(bw), subs: map[chan Event]struct{}{}}
}

// SubscriberBuffer is how many events a subscriber may fall behind before
// it loses the excess.
const SubscriberBuffer = 1024

// Subscribe returns a channel that receives every event recorded from now
// on, and a function that ends the subscription and closes the channel. A
// subscriber more than SubscriberBuffer events behind loses the excess;
// Dropped counts them.
func (l *EventLog) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, SubscriberBuffer)
	l.mu.Lock()
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.subs, ch)
			l.mu.Unlock()
			close(ch)
		})
	}
}

// Dropped returns how many events slow subscribers lost.
func (l *EventLog) Dropped() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// Record writes one event and passes it to the subscribers. The first
// write error is kept and returned by Close; later events are not written.
func (l *EventLog) Record(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, tap := range l.taps {
		tap(e)
	}
	for ch := range l.subs {
		select {
		case ch <- e:
		default:
			l.dropped++
		}
	}
	if l.err != nil {
		return
	}
	if err := l.enc.Encode(e); err != nil {
		l.err = fmt.Errorf("write event: %w", err)
		return
	}
	l.n++
}

// Count returns how many events were recorded.
func (l *EventLog) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Flush writes buffered events to the underlying writer.
func (l *EventLog) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	if err := l.w.Flush(); err != nil {
		l.err = fmt.Errorf("flush events: %w", err)
	}
	return l.err
}

// Close flushes the log. It does not close the underlying writer.
func (l *EventLog) Close() error { return l.Flush() }

// ReadEvents decodes a JSON-lines event stream. A last line cut short is
// ignored, so a log from an interrupted run is read up to its last whole
// event.
func ReadEvents(r io.Reader) ([]Event, error) {
	var events []Event
	if err := EachEvent(r, func(e *Event) { events = append(events, *e) }); err != nil {
		return nil, err
	}
	return events, nil
}

// EachEvent reads events as ReadEvents does, one at a time: fn gets each in
// turn and must not keep it. A run of millions of events is read in
// constant memory.
func EachEvent(r io.Reader, fn func(*Event)) error {
	_, err := EachEventCut(r, fn)
	return err
}

// CutLine is a last line that EachEventCut skipped because it was not
// whole: its number (from 1) and its length in bytes. The zero CutLine
// means the stream ended on a whole event.
type CutLine struct {
	Line  int
	Bytes int
}

// EachEventCut is EachEvent, and says which last line, if any, it
// skipped as cut short. A line that does not decode before the last is an
// error: a cut only ever falls at the end.
func EachEventCut(r io.Reader, fn func(*Event)) (CutLine, error) {
	return EachLineCut(r, "events", "", fn)
}

// EachLineCut decodes r, JSON lines of T, calling fn for each in order
// (fn must not keep it), and says which last line, if any, it skipped as
// cut short. A line that does not decode before the last is an error,
// "line N: why" followed by hint; what names the lines in a read error.
// Empty lines are passed over.
func EachLineCut[T any](r io.Reader, what, hint string, fn func(*T)) (CutLine, error) {
	return EachLineSkip(r, what, hint, nil, fn)
}

// EachLineSkip is EachLineCut that passes over, undecoded, every line
// skip (when not nil) reports true for. Lines are split and decoded on a
// goroutine of their own, a few hundred ahead of fn, which the caller's
// goroutine calls in file order: skip runs on that other goroutine, and
// must be safe to call concurrently with fn. Lines of Event in the layout
// EventLog writes are decoded without encoding/json (see eventDecoder),
// to the same Event.
func EachLineSkip[T any](r io.Reader, what, hint string, skip func(line []byte) bool, fn func(*T)) (CutLine, error) {
	var cut CutLine
	var err error
	Pipe(lineBatch, lineBatches, func(free <-chan *[]T, full chan<- *[]T, done <-chan struct{}) {
		cut, err = decodeLines(r, what, hint, skip, free, full, done)
	}, fn)
	return cut, err
}

// lineBatch is how many decoded lines EachLineSkip passes at once from
// its decoding goroutine to fn, and lineBatches how many such batches
// exist: the decoding runs at most that far ahead.
const (
	lineBatch   = 256
	lineBatches = 4
)

// decodeLines is EachLineSkip's decoding goroutine: it fills batches taken
// from free with the decoded lines of r and sends them on full, the last
// one before it returns, until r ends, a line before the last does not
// decode, or done is closed.
func decodeLines[T any](r io.Reader, what, hint string, skip func(line []byte) bool, free <-chan *[]T, full chan<- *[]T, done <-chan struct{}) (CutLine, error) {
	var b *[]T
	select {
	case b = <-free:
		*b = (*b)[:0]
	case <-done:
		return CutLine{}, nil
	}
	// send passes b on and takes the next batch, empty; false once done
	// is closed.
	send := func() bool {
		select {
		case full <- b:
		case <-done:
			return false
		}
		select {
		case b = <-free:
			*b = (*b)[:0]
			return true
		case <-done:
			return false
		}
	}
	var dec eventDecoder
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	var pending error
	var cut CutLine
	var zero T
	for sc.Scan() {
		line++
		if pending != nil {
			send()
			return CutLine{}, pending
		}
		text := sc.Bytes()
		if len(text) == 0 || skip != nil && skip(text) {
			continue
		}
		n := len(*b)
		*b = append(*b, zero)
		v := &(*b)[n]
		if e, ok := any(v).(*Event); !ok || !dec.decode(text, e) {
			*v = zero
			if err := json.Unmarshal(text, v); err != nil {
				// Only the last line may be cut short.
				pending = fmt.Errorf("line %d: %w%s", line, err, hint)
				cut = CutLine{Line: line, Bytes: len(text)}
				*b = (*b)[:n]
				continue
			}
		}
		if len(*b) == cap(*b) && !send() {
			return CutLine{}, nil
		}
	}
	if !send() {
		return CutLine{}, nil
	}
	if err := sc.Err(); err != nil {
		return CutLine{}, fmt.Errorf("read %s: %w", what, err)
	}
	return cut, nil
}

// Kept returns a copy of e for a caller to keep after the reader's call
// returns (readers reuse their events): its Seq is its own. Ranges, which
// only a seen observation has, are left out.
func (e *Event) Kept() Event {
	c := *e
	if e.Seq != nil {
		s := *e.Seq
		c.Seq = &s
	}
	c.Ranges = nil
	return c
}
