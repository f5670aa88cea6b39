package attack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatecrash/gatecrash/scenarios"
)

// drainLimit is the most of a failed try's body read (and discarded)
// before the next try, so that its connection can be kept alive; a longer
// body is closed unread, and its connection with it.
const drainLimit = 256 << 10

// retrier is the http.RoundTripper of a retrying client: each request
// it is given is one logical request, whose tries go to base with the
// same headers and scenarios.HeaderTry, until one is not to be retried or the
// policy stops it. It returns the last try's answer (or error), so that
// vegeta's Result is what the user saw, with the whole latency.
type retrier struct {
	ctx     context.Context // the attack's: its end stops the waits
	base    http.RoundTripper
	policy  *scenarios.Retry // validated: its RetryOn methods say what is retried
	timeout time.Duration    // of each try; 0: none
	budget  *Budget          // nil: none
	seed    uint64
	tries   func(Try) // nil: discard
}

// newRetrier returns the retrying transport of policy p, as scenarios
// validated it, over base.
func newRetrier(ctx context.Context, base http.RoundTripper, p *scenarios.Retry, timeout time.Duration, seed uint64, tries func(Try)) *retrier {
	r := &retrier{ctx: ctx, base: base, policy: p, timeout: timeout, seed: seed, tries: tries}
	if p.Budget != nil {
		r.budget = NewBudget(p.Budget.Ratio, p.Budget.MinPerSecond)
	}
	if r.tries == nil {
		r.tries = func(Try) {}
	}
	return r
}

// RoundTrip implements http.RoundTripper.
func (t *retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	attack := req.Header.Get("X-Vegeta-Attack")
	seq, _ := strconv.ParseUint(req.Header.Get("X-Vegeta-Seq"), 10, 64)
	// The request's context: the caller's, the attack's, and the deadline.
	ctx, cancel := context.WithCancel(req.Context())
	stopAfter := context.AfterFunc(t.ctx, cancel)
	var deadline time.Time
	if d := t.policy.Deadline.D(); d > 0 {
		deadline = time.Now().Add(d)
		var cancelDeadline context.CancelFunc
		ctx, cancelDeadline = context.WithDeadline(ctx, deadline)
		prev := cancel
		cancel = func() { cancelDeadline(); prev() }
	}
	release := func() { stopAfter(); cancel() }

	max := max(t.policy.MaxAttempts, 1)
	var (
		bo         *backoff
		wait       time.Duration
		retryAfter bool
	)
	if t.budget != nil {
		t.budget.First(time.Now())
	}
	for n := 1; ; n++ {
		try := Try{Attack: attack, Seq: seq, Try: n, Backoff: wait, RetryAfter: retryAfter}
		resp, tryCancel, err := t.send(ctx, req, n)
		try.Time, try.Latency = resp.sent, resp.latency
		if err != nil {
			try.Error = err.Error()
		} else {
			try.Code = resp.StatusCode
		}
		// A streaming answer that may yet be retried is read in full
		// here: a stream cut or stalled is a failed try (an error, for
		// retry_on), and the answer the user gets, when it is the last,
		// is replayed from memory with its error.
		stopErr := err
		if err == nil && n < max && t.policy.RetryOnError() {
			if sb, ok := resp.Body.(*streamBody); ok {
				body, rerr := io.ReadAll(sb)
				sb.Close()
				resp.Body = &replayBody{r: bytes.NewReader(body), err: rerr}
				if rerr != nil {
					stopErr = rerr
					try.Error = rerr.Error()
				}
			}
		}
		stop := t.stop(ctx, n, max, resp.Response, stopErr)
		if stop == "" {
			wait, retryAfter = t.wait(&bo, seq, n, resp.Response)
			switch {
			case !deadline.IsZero() && !time.Now().Add(wait).Before(deadline):
				stop = StopDeadline
			case t.budget != nil && !t.budget.Retry(time.Now()):
				stop = StopBudget
			}
		}
		if stop != "" {
			try.Stop = stop
			if err != nil {
				tryCancel()
				release()
				t.tries(try)
				return nil, err
			}
			// The last try's record waits for its body to be read.
			resp.Body = &lastBody{ReadCloser: resp.Body, done: func(readErr error) {
				tryCancel()
				release()
				try.Latency = time.Since(try.Time)
				if readErr != nil {
					try.Error = readErr.Error()
				}
				t.tries(try)
			}}
			return resp.Response, nil
		}
		var (
			drained  []byte
			drainErr error
		)
		if err == nil {
			// Drained so that the connection can serve the next try, and
			// kept, in case the wait is cut short and this answer is the
			// last the user gets.
			var buf bytes.Buffer
			_, drainErr = io.Copy(&buf, io.LimitReader(resp.Body, drainLimit))
			resp.Body.Close()
			drained = buf.Bytes()
			try.Latency = time.Since(try.Time)
			if drainErr != nil {
				try.Error = drainErr.Error()
			}
		}
		tryCancel()
		if werr := sleep(ctx, wait); werr != nil {
			// The attack ended (or, by a timer's slack, the deadline
			// passed) during the wait: this try is the last, and its
			// outcome what the user saw.
			try.Stop = StopInterrupted
			if errors.Is(werr, context.DeadlineExceeded) {
				try.Stop = StopDeadline
			}
			release()
			t.tries(try)
			if err != nil {
				return nil, err
			}
			resp.Body = &replayBody{r: bytes.NewReader(drained), err: drainErr}
			return resp.Response, nil
		}
		t.tries(try)
	}
}

// sent is one try's answer, with when it was sent and how long the
// answer's headers took.
type sent struct {
	*http.Response
	sent    time.Time
	latency time.Duration
}

// send sends try n of req within ctx and the per-try timeout. The
// returned cancel ends the try's context: after its body is closed.
func (t *retrier) send(ctx context.Context, req *http.Request, n int) (sent, context.CancelFunc, error) {
	var (
		tctx   context.Context
		cancel context.CancelFunc
	)
	if t.timeout > 0 {
		tctx, cancel = context.WithTimeout(ctx, t.timeout)
	} else {
		tctx, cancel = context.WithCancel(ctx)
	}
	// One send per try. net/http's transport silently sends a request
	// again when a reused connection fails before the answer (a GET after
	// it was written, any request when nothing was): the proxy would see
	// the same (attack, seq, try) twice and count a gateway retry that
	// was the client's, and the sidecar would not match it. A second
	// connection for the same try is that resend: its write is made to
	// fail before a byte goes out (a past write deadline), and the try
	// is cancelled, so that the transport gives up; the try is then an
	// error, retried as the policy says.
	var conns atomic.Int32
	var resent atomic.Bool
	tctx = httptrace.WithClientTrace(tctx, &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if conns.Add(1) > 1 {
			resent.Store(true)
			info.Conn.SetWriteDeadline(time.Unix(1, 0))
			cancel()
		}
	}})
	r := req.Clone(tctx)
	if n > 1 && req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			cancel()
			return sent{sent: time.Now()}, func() {}, errors.New("the request's body cannot be sent again (no GetBody)")
		}
		body, err := req.GetBody()
		if err != nil {
			cancel()
			return sent{sent: time.Now()}, func() {}, fmt.Errorf("replay the request's body: %w", err)
		}
		r.Body = body
	}
	r.Header.Set(scenarios.HeaderTry, strconv.Itoa(n))
	s := sent{sent: time.Now()}
	resp, err := t.base.RoundTrip(r)
	s.latency = time.Since(s.sent)
	if err != nil {
		switch {
		case resent.Load() && ctx.Err() == nil:
			err = errResendStopped
		case tctx.Err() == context.DeadlineExceeded && ctx.Err() == nil:
			err = &tryTimeout{timeout: t.timeout, err: err}
		}
		cancel()
		return s, func() {}, err
	}
	s.Response = resp
	return s, cancel, nil
}

// stop returns why the request ends after try n of max, or "" when it is
// retried (as far as retry_on and max_attempts say).
func (t *retrier) stop(ctx context.Context, n, max int, resp *http.Response, err error) string {
	switch {
	case err != nil && ctx.Err() == context.DeadlineExceeded:
		return StopDeadline
	case err != nil && ctx.Err() != nil:
		return StopInterrupted
	case err != nil && isTimeout(err) && !t.policy.RetryOnTimeout():
		return StopNotRetryable
	case err != nil && !isTimeout(err) && !t.policy.RetryOnError():
		return StopNotRetryable
	case err == nil && !t.policy.RetryOnStatus(resp.StatusCode):
		if resp.StatusCode >= 200 && resp.StatusCode < 400 {
			return StopSuccess
		}
		return StopNotRetryable
	case n >= max:
		return StopAttempts
	case t.ctx.Err() != nil:
		return StopInterrupted
	}
	return ""
}

// wait returns the wait before try n+1 and whether Retry-After set it.
func (t *retrier) wait(bo **backoff, seq uint64, n int, resp *http.Response) (time.Duration, bool) {
	if *bo == nil {
		// One source per request, from the run's seed and the request's
		// seq: a run repeats its waits whatever the order of its requests.
		*bo = newBackoff(t.policy, rand.New(rand.NewPCG(t.seed, seq)))
	}
	w := (*bo).wait(n)
	if t.policy.RespectRetryAfter && resp != nil &&
		(resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok && ra > w {
			return ra, true
		}
	}
	return w, false
}

// parseRetryAfter reads a Retry-After value (RFC 9110 section 10.2.3):
// delay-seconds (a non-negative integer) or an HTTP date, from now; a
// date past gives 0. Anything else is not a Retry-After (ok false).
func parseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		s, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

// sleep waits d, or until ctx ends (its error).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errResendStopped is the error of a try whose reused connection failed
// before the answer, when net/http would have sent it again.
// (Its text has "connection reset", the usual cause, for results.ErrorKind.)
var errResendStopped = errors.New("connection reset or closed before the answer, on a reused keep-alive connection (net/http's own resend of the try was stopped: one send per try)")

// tryTimeout is a try that had no answer within the per-try timeout.
type tryTimeout struct {
	timeout time.Duration
	err     error
}

func (e *tryTimeout) Error() string {
	return fmt.Sprintf("%v (no answer within the try timeout, %s)", e.err, e.timeout)
}
func (e *tryTimeout) Unwrap() error { return e.err }
func (e *tryTimeout) Timeout() bool { return true }

// isTimeout reports whether err is a try that timed out: the per-try
// timeout, or a net.Error that says so (a dial timeout).
func isTimeout(err error) bool {
	var te *tryTimeout
	if errors.As(err, &te) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// lastBody is the last try's body: done is called once, when it is
// closed, with the first error reading it met (io.EOF aside).
type lastBody struct {
	io.ReadCloser
	done    func(readErr error)
	readErr error
	once    sync.Once
}

func (b *lastBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.readErr == nil {
		b.readErr = err
	}
	return n, err
}

func (b *lastBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.done(b.readErr) })
	return err
}

// replayBody is a body read before it was handed on: its bytes, then its
// read error (io.EOF when none).
type replayBody struct {
	r   *bytes.Reader
	err error
}

func (b *replayBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF && b.err != nil {
		err = b.err
	}
	return n, err
}

func (b *replayBody) Close() error { return nil }
