package scenarios

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// client checks the client section and fills in its retry policy and
// its stream settings; timeout is target.timeout, with its default.
func (c *checker) client(cl *Client, timeout Duration) {
	c.stream(cl, timeout)
	const path = "client.retry"
	if cl.Retry == nil {
		if n := c.x.get(path); n != nil && n.ShortTag() == "!!null" {
			c.add(path, "retry is empty; write a policy such as retry: {policy: exponential}, or remove retry for no retry")
		}
		return
	}
	c.retry(path, cl.Retry)
}

// stream checks client.stream and fills in its stall gap.
func (c *checker) stream(cl *Client, timeout Duration) {
	const path, stall = "client.stream", "client.stream.stall"
	if cl.Stream == nil {
		if n := c.x.get(path); n != nil && n.ShortTag() == "!!null" {
			c.add(path, fmt.Sprintf("stream is empty; write stream: {stall: 2s}, or remove stream for the default (stall %s)", DefaultStreamStall))
		}
		return
	}
	set, ok := c.duration(stall)
	switch {
	case !set:
		cl.Stream.Stall = Duration(DefaultStreamStall)
	case !ok:
	case cl.Stream.Stall == 0:
	case cl.Stream.Stall.D() < MinStreamStall:
		c.add(stall, fmt.Sprintf("stall %s is shorter than %s: the wait between two tokens would count as a stall; write %s or more, such as stall: 2s, or 0s for no stall detection", cl.Stream.Stall, MinStreamStall, MinStreamStall))
	case timeout > 0 && cl.Stream.Stall >= timeout:
		c.add(stall, fmt.Sprintf("stall %s is not shorter than target.timeout (%s), which ends the request first, so no stream would ever stall; write a shorter stall, such as stall: %s, or a longer target.timeout", cl.Stream.Stall, timeout, min(DefaultStreamStall, timeout.D()/2)))
	}
}

// retry checks the retry policy at path and fills in what the file leaves
// out: its named policy's values, then the defaults.
func (c *checker) retry(path string, r *Retry) {
	at := func(name string) string { return join(path, name) }
	written := func(name string) bool { return c.x.has(at(name)) }

	// The named policy's values, for the fields the file leaves out.
	var p Retry
	named := false
	switch r.Policy {
	case "":
	case PolicyNone, PolicyNaive, PolicyExponential:
		p, named = policies[r.Policy], true
	default:
		msg := "unknown retry policy " + Quote(r.Policy) + "; "
		if near, ok := closest(r.Policy, policyNames); ok {
			msg += "did you mean " + near + "? "
		}
		c.add(at("policy"), msg+"write "+policyList+", or leave policy out and write the fields yourself")
	}

	// max_attempts
	switch {
	case !written("max_attempts") && named:
		r.MaxAttempts = p.MaxAttempts
	case !written("max_attempts") && r.Policy != "":
		// An unknown policy, reported above.
	case !written("max_attempts"):
		c.add(at("max_attempts"), "max_attempts is required; write one such as max_attempts: 3 (the first try included), or name a policy: "+policyList)
	case !c.whole(at("max_attempts"), "max_attempts: 3"):
	case r.MaxAttempts < 1 || r.MaxAttempts > MaxRetryAttempts:
		c.add(at("max_attempts"), fmt.Sprintf("max_attempts %d is out of range; write 1 to %d, the first try included, such as max_attempts: 3", r.MaxAttempts, MaxRetryAttempts))
	case r.Policy == PolicyNone && r.MaxAttempts != 1:
		c.add(at("max_attempts"), fmt.Sprintf("policy none makes one try, and max_attempts is %d; remove max_attempts, or write policy: %s or %s to retry", r.MaxAttempts, PolicyNaive, PolicyExponential))
	}

	// backoff
	backoffOK := true
	switch {
	case !written("backoff"):
		r.Backoff = p.Backoff
		if r.Backoff == "" {
			r.Backoff = BackoffNone
		}
	case r.Backoff == BackoffNone || r.Backoff == BackoffConstant || r.Backoff == BackoffExponential:
	default:
		backoffOK = false
		msg := "unknown backoff " + Quote(r.Backoff) + "; "
		if near, ok := closest(r.Backoff, []string{BackoffNone, BackoffConstant, BackoffExponential}); ok {
			msg += "did you mean " + near + "? "
		}
		c.add(at("backoff"), msg+"write none (retry at once), constant (wait base every time) or exponential (wait base, doubling up to cap)")
	}
	c.backoffWaits(path, r, p, backoffOK)
	c.jitter(path, r, p, backoffOK)
	c.retryOn(path, r, p)

	if !written("respect_retry_after") {
		r.RespectRetryAfter = p.RespectRetryAfter
	}

	// deadline
	if set, ok := c.duration(at("deadline")); !set {
		r.Deadline = p.Deadline
	} else if ok && r.Deadline.D() > maxWait {
		c.add(at("deadline"), fmt.Sprintf("deadline %s is more than %s; write a shorter one such as deadline: 5s, or 0s for none", r.Deadline, maxWait))
	}

	c.budget(path, r, p)
}

// backoffWaits checks base and cap, and fills them in. known says the
// backoff is one of the Backoff constants.
func (c *checker) backoffWaits(path string, r *Retry, p Retry, known bool) {
	at := func(name string) string { return join(path, name) }
	baseSet, baseOK := c.duration(at("base"))
	capSet, capOK := c.duration(at("cap"))
	if !known {
		return
	}
	if r.Backoff == BackoffNone {
		for _, name := range []string{"base", "cap"} {
			if c.x.has(at(name)) {
				c.add(at(name), name+" applies only to backoff: constant or exponential, and backoff is none; remove "+name+", or write backoff: exponential")
			}
		}
		r.Base, r.Cap = 0, 0
		return
	}

	switch {
	case !baseSet:
		r.Base = p.Base
		if r.Base <= 0 {
			r.Base = Duration(DefaultBase)
		}
	case !baseOK:
		return
	case r.Base <= 0:
		c.add(at("base"), fmt.Sprintf("base must be more than 0 with backoff %s; write one such as base: %s, or leave it out for %s", r.Backoff, DefaultBase, DefaultBase))
		return
	case r.Base.D() > maxWait:
		c.add(at("base"), fmt.Sprintf("base %s is more than %s; write a shorter one such as base: %s", r.Base, maxWait, DefaultBase))
		return
	}

	if r.Backoff == BackoffConstant {
		if capSet && capOK && r.Cap != r.Base {
			c.add(at("cap"), fmt.Sprintf("backoff constant waits base (%s) every time, so cap is base; remove cap, or write backoff: exponential to double the wait up to cap", r.Base))
		}
		r.Cap = r.Base
		return
	}
	switch {
	case !capSet:
		r.Cap = p.Cap
		if r.Cap <= 0 {
			r.Cap = Duration(DefaultCap)
		}
		r.Cap = max(r.Cap, r.Base)
	case !capOK:
	case r.Cap < r.Base:
		c.add(at("cap"), fmt.Sprintf("cap %s is less than base %s; write cap: %s or more, or leave cap out for %s", r.Cap, r.Base, r.Base, max(Duration(DefaultCap), r.Base)))
	case r.Cap.D() > maxWait:
		c.add(at("cap"), fmt.Sprintf("cap %s is more than %s; write a shorter one such as cap: %s", r.Cap, maxWait, DefaultCap))
	}
}

// jitters lists the jitters in the order messages list them.
var jitters = []string{JitterNone, JitterFull, JitterEqual, JitterDecorrelated}

// jitter checks the jitter and fills it in. backoffKnown says the backoff
// is one of the Backoff constants.
func (c *checker) jitter(path string, r *Retry, p Retry, backoffKnown bool) {
	at := join(path, "jitter")
	if !c.x.has(at) {
		r.Jitter = JitterNone
		if r.Backoff != BackoffNone && p.Jitter != "" {
			r.Jitter = p.Jitter
		}
		if r.Jitter == JitterDecorrelated && r.Backoff != BackoffExponential {
			// The policy's jitter does not fit the backoff the file
			// writes: a constant wait stays constant.
			r.Jitter = JitterNone
		}
		return
	}
	switch r.Jitter {
	case JitterNone, JitterFull, JitterEqual, JitterDecorrelated:
	default:
		msg := "unknown jitter " + Quote(r.Jitter) + "; "
		if near, ok := closest(r.Jitter, jitters); ok {
			msg += "did you mean " + near + "? "
		}
		c.add(at, msg+"write none (the backoff's wait), full (random up to it), equal (half of it plus random up to the other half) or decorrelated (random from base to 3 times the previous wait, up to cap)")
		return
	}
	if !backoffKnown || r.Jitter == JitterNone {
		return
	}
	switch {
	case r.Backoff == BackoffNone:
		c.add(at, "jitter spreads the backoff's wait, and backoff is none; remove jitter, or write backoff: exponential")
	case r.Jitter == JitterDecorrelated && r.Backoff != BackoffExponential:
		c.add(at, "decorrelated jitter grows its own wait from base up to cap, so it needs backoff: exponential; write backoff: exponential, or jitter: full")
	}
}

// retryOn checks retry_on and fills in the default.
func (c *checker) retryOn(path string, r *Retry, p Retry) {
	at := join(path, "retry_on")
	if !c.x.has(at) {
		r.RetryOn = p.clone().RetryOn
		return
	}
	if c.brokenUnder(at) {
		return
	}
	const example = "502, 5xx, error or timeout"
	paths := c.items(at, len(r.RetryOn), example)
	if len(r.RetryOn) == 0 {
		if len(paths) == 0 && !c.brokenUnder(at) {
			c.add(at, "retry_on is empty, so nothing would be retried; write what to retry, such as retry_on: [502, 503, error], or leave it out for ["+strings.Join(defaultRetryOn, ", ")+"]")
		}
		return
	}
	seen := make(map[string]string) // word -> the path of its first item
	classes := make(map[string]bool)
	for _, w := range r.RetryOn {
		if w == RetryOn4xx || w == RetryOn5xx {
			classes[w] = true
		}
	}
	for i, w := range r.RetryOn {
		item := paths[i]
		if problem := retryOnProblem(w); problem != "" {
			c.add(item, problem)
			continue
		}
		if first, ok := seen[w]; ok {
			c.add(item, fmt.Sprintf("%s is listed twice (first as %s); remove one", w, first))
			continue
		}
		seen[w] = item
		if code, err := strconv.Atoi(w); err == nil {
			if class := w[:1] + "xx"; classes[class] {
				c.add(item, fmt.Sprintf("%d is already in %s; remove one", code, class))
			}
		}
	}
}

// retryOnProblem says what is wrong with one word of retry_on, or "".
func retryOnProblem(w string) string {
	const fix = "write a status code from 400 to 599 (502), a class (4xx, 5xx), error (no answer) or timeout (no answer within target.timeout)"
	switch w {
	case RetryOn4xx, RetryOn5xx, RetryOnError, RetryOnTimeout:
		return ""
	}
	if len(w) == 3 && allDigits(w) {
		code, _ := strconv.Atoi(w)
		switch {
		case code >= 400 && code <= 599:
			return ""
		case code >= 100 && code <= 399:
			return fmt.Sprintf("%d is not a failure: a client retries 4xx and 5xx answers; %s", code, fix)
		}
		return fmt.Sprintf("%s is not an HTTP status code; %s", Quote(w), fix)
	}
	lower := strings.ToLower(w)
	switch {
	case lower == RetryOn4xx || lower == RetryOn5xx:
		return fmt.Sprintf("%s: write the class in lower case, %s", Quote(w), lower)
	case lower == "1xx" || lower == "2xx" || lower == "3xx":
		return fmt.Sprintf("%s are not failures: a client retries 4xx and 5xx answers; %s", Quote(w), fix)
	}
	msg := "unknown retry_on value " + Quote(w) + "; "
	if near, ok := closest(w, []string{RetryOnError, RetryOnTimeout, RetryOn4xx, RetryOn5xx}); ok {
		msg += "did you mean " + near + "? "
	}
	return msg + fix
}

// budget checks the retry budget and fills it in.
func (c *checker) budget(path string, r *Retry, p Retry) {
	at := join(path, "budget")
	if !c.x.has(at) {
		r.Budget = p.clone().Budget
		return
	}
	if r.Budget == nil {
		return // it could not be decoded
	}
	b := r.Budget
	var pb Budget
	if p.Budget != nil {
		pb = *p.Budget
	}
	ratio, floor := join(at, "ratio"), join(at, "min_per_second")
	switch {
	case !c.x.has(ratio) && pb.Ratio > 0:
		b.Ratio = pb.Ratio
	case !c.x.has(ratio):
		c.add(ratio, "budget needs ratio, the retries allowed per first try; write one such as ratio: 0.1 (one retry per ten requests)")
	case !(b.Ratio > 0 && b.Ratio <= MaxBudgetRatio):
		c.add(ratio, fmt.Sprintf("ratio %s is out of range; write more than 0 and at most %d, such as ratio: 0.1 (one retry per ten requests)", formatFloat(b.Ratio), MaxBudgetRatio))
	}
	switch {
	case !c.x.has(floor):
		b.MinPerSecond = DefaultMinPerSecond
		if p.Budget != nil {
			b.MinPerSecond = pb.MinPerSecond
		}
	case !(b.MinPerSecond >= 0 && b.MinPerSecond <= maxRatePerSecond):
		c.add(floor, fmt.Sprintf("min_per_second %s is out of range; write 0 to %d, such as min_per_second: %d, or leave it out for %d", formatFloat(b.MinPerSecond), maxRatePerSecond, DefaultMinPerSecond, DefaultMinPerSecond))
	}
}

// formatFloat writes f for a message.
func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Sprint(f)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
