package advice

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/causes"
)

// rule is one row of the table: a setting of one gateway, and the check
// that gives advice on it when the run measured its evidence.
type rule struct {
	// name is the rule's stable name (results.Advice.Rule).
	name string
	// gateway is the gateway kind it applies to; setting the directive.
	gateway, setting string
	// check returns the advice (For fills Rule, Gateway and Setting) and
	// true when the report holds the rule's evidence and the setting is
	// not already right.
	check func(rep *results.Report, run *results.Run, gw Config) (results.Advice, bool)
}

// rules is the table of rules, in the order the report lists advice.
var rules = []rule{
	{"nginx-read-timeout", Nginx, "proxy_read_timeout", nginxReadTimeout},
	{"nginx-upstream-keepalive-timeout", Nginx, "keepalive_timeout (upstream block)", nginxKeepaliveTimeout},
	{"nginx-next-upstream-non-idempotent", Nginx, "proxy_next_upstream", nginxNonIdempotent},
	{"haproxy-connect-retries", HAProxy, "retries x timeout connect", haproxyConnectRetries},
	{"haproxy-redispatch", HAProxy, "option redispatch", haproxyRedispatch},
	{"caddy-lb-try-duration", Caddy, "lb_try_duration", caddyTryDuration},
}

// Documented defaults of the settings the rules read.
const (
	// nginxReadTimeout: "Default: proxy_read_timeout 60s;"
	// (https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_read_timeout).
	nginxReadTimeoutDefault = 60 * time.Second
	// nginxKeepaliveTimeout: "Default: keepalive_timeout 60s; Context:
	// upstream; This directive appeared in version 1.15.3"
	// (https://nginx.org/en/docs/http/ngx_http_upstream_module.html#keepalive_timeout).
	nginxKeepaliveTimeoutDefault = 60 * time.Second
	// nginxNextUpstreamDefault: "Default: proxy_next_upstream error
	// timeout;" and "non_idempotent: normally, requests with a
	// non-idempotent method (POST, LOCK, PATCH) are not passed to the
	// next server if a request has been sent to an upstream server"
	// (https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_next_upstream).
	nginxNextUpstreamDefault = "error timeout"
	// haproxyRetriesDefault: "retries <value> ... It is important to
	// understand that this value applies to the number of connection
	// attempts, not full requests. ... the default value is 3"; and
	// "in order to avoid immediate reconnections to a server which is
	// restarting, a turn-around timer of min("timeout connect", one
	// second) is applied before a retry occurs"
	// (https://docs.haproxy.org/2.6/configuration.html#4-retries). An unset
	// "timeout connect" is no timeout at all (#4-timeout connect): the
	// turn-around timer is then one second.
	haproxyRetriesDefault = 3
	haproxyTurnAroundMax  = time.Second
	// caddyTryDurationDefault: "lb_try_duration is a duration value that
	// defines how long to try selecting available backends for each
	// request if the next available host is down. By default, retries
	// are disabled." and lb_retries "how many times to retry ... By
	// default, retries are disabled"; lb_retry_match "If the connection
	// to the upstream failed, a retry is always allowed. ... By default,
	// only GET requests are retried"
	// (https://caddyserver.com/docs/caddyfile/directives/reverse_proxy#load-balancing).
	caddyTryDurationDefault = "0: no retry"
)

// nginxReadTimeout: 504s of upstream-timeout or upstream-latency, where
// the latency the run injected (or the slow answers it measured) is
// longer than proxy_read_timeout. A hang that never answers is no
// evidence: no timeout would have saved it.
func nginxReadTimeout(rep *results.Report, run *results.Run, gw Config) (results.Advice, bool) {
	n504 := classCount(rep, "504", causes.UpstreamTimeout) + classCount(rep, "504", causes.UpstreamLatency)
	if n504 == 0 {
		return results.Advice{}, false
	}
	c := readNginxConf(gw.Text)
	v, set := c.setting("proxy_read_timeout")
	timeout := nginxReadTimeoutDefault
	if set {
		d, err := nginxTime(v)
		if err != nil {
			return results.Advice{}, false // not a time: the rule cannot compare
		}
		timeout = d
	}
	// The largest latency the run injected in a phase with 504s, or
	// measured of its slow answers.
	var most time.Duration
	var words, phase string
	for i, p := range run.Phases {
		if i < len(rep.Phases) && rep.Phases[i].Name == p.Name && rep.Phases[i].Status["504"] == 0 {
			continue
		}
		for _, f := range specs(p) {
			if d, w := f.injected(); d > most {
				most, words, phase = d, fmt.Sprintf("the %s fault held the upstream's answers back %s", f.Kind, w), p.Name
			}
		}
	}
	if rep.Slow != nil {
		for _, sc := range rep.Slow.Causes {
			d := time.Duration(sc.LatencyMS.Max * float64(time.Millisecond))
			if sc.Cause == results.SlowInjected && d > most {
				most, words, phase = d, fmt.Sprintf("%d slow answers (%s) took up to %s", sc.Count, sc.Cause, msf(sc.LatencyMS.Max)), ""
			}
		}
	}
	if most <= timeout {
		return results.Advice{}, false
	}
	cause := causes.UpstreamLatency
	if classCount(rep, "504", causes.UpstreamTimeout) > classCount(rep, "504", causes.UpstreamLatency) {
		cause = causes.UpstreamTimeout
	}
	where := ""
	if phase != "" {
		where = " " + phaseWords([]string{phase})
	}
	return results.Advice{
		Current: current(v, set, ms(nginxReadTimeoutDefault)),
		Suggest: fmt.Sprintf("above the upstream's slowest answer you accept: at least %s, if that latency is the upstream's real behaviour; else make the upstream faster", ms(most)),
		Cause:   cause,
		Evidence: fmt.Sprintf("%d answers 504 (%s) after proxy_read_timeout %s%s, while %s",
			n504, cause, ms(timeout), where, words),
	}, true
}

// nginxKeepaliveTimeout: failures of keepalive-race or
// upstream-closed-idle, where nginx keeps idle upstream connections
// longer than the upstream does (the keepalive fault's idle, when the
// run had one).
func nginxKeepaliveTimeout(rep *results.Report, run *results.Run, gw Config) (results.Advice, bool) {
	race, raceIn := failures(rep, causes.KeepaliveRace)
	idle, idleIn := failures(rep, causes.UpstreamClosedIdle)
	if race+idle == 0 {
		return results.Advice{}, false
	}
	c := readNginxConf(gw.Text)
	if c.upstream == nil {
		return results.Advice{}, false // no upstream block: no pool, no setting to change
	}
	v, set := c.upstreamSetting("keepalive_timeout")
	timeout := nginxKeepaliveTimeoutDefault
	if set {
		d, err := nginxTime(v)
		if err != nil {
			return results.Advice{}, false
		}
		timeout = d
	}
	// The upstream's idle close: the shortest idle of the run's
	// keepalive faults.
	var close time.Duration
	for _, p := range run.Phases {
		for _, f := range specs(p) {
			if d := duration(f.Idle); f.Kind == "keepalive" && d > 0 && (close == 0 || d < close) {
				close = d
			}
		}
	}
	if close > 0 && timeout < close {
		return results.Advice{}, false // already below the upstream's close
	}
	cause, n, in := causes.KeepaliveRace, race, raceIn
	if idle > race {
		cause, n, in = causes.UpstreamClosedIdle, idle, idleIn
	}
	ev := fmt.Sprintf("%d requests failed with %s (%s)", n, cause, strings.Join(in, ", "))
	if where := phasesWith(rep, run, cause, "keepalive"); where != "" {
		ev += " " + where
	}
	if m := rep.Masked.ByKind["keepalive"]; m > 0 {
		ev += fmt.Sprintf(", and %d more keepalive faults were masked", m)
	}
	suggest := "below the upstream's own idle timeout (the run did not measure it: set it from the upstream's keep-alive setting)"
	if close > 0 {
		ev += fmt.Sprintf(": the upstream closed connections idle %s, nginx keeps them %s", ms(close), ms(timeout))
		suggest = fmt.Sprintf("below the upstream's idle close of %s, such as %s", ms(close), ms(max(close*3/4, time.Millisecond).Round(time.Millisecond)))
	} else {
		ev += fmt.Sprintf(": nginx keeps idle upstream connections %s", ms(timeout))
	}
	return results.Advice{
		Current:  current(v, set, ms(nginxKeepaliveTimeoutDefault)),
		Suggest:  suggest,
		Cause:    cause,
		Evidence: ev,
	}, true
}

// retriedKinds are the failure causes nginx retries on another
// connection for an idempotent request but not, by default, for a POST
// it sent already, with the fault kind of each.
var retriedKinds = []struct{ cause, kind string }{
	{causes.KeepaliveRace, "keepalive"},
	{causes.ResetBeforeHeaders, "reset"},
	{causes.ClosedBeforeHeaders, "close"},
}

// nginxNonIdempotent: failures of a cause whose fault nginx retried
// away on other requests (masked, by the gateway's retry) but not on
// these: nginx does not pass a request it sent already to the next try
// when its method is not idempotent. The report does not count failures
// by method: that the failed ones are the non-idempotent requests is
// the inference from the same fault being retried on others.
func nginxNonIdempotent(rep *results.Report, run *results.Run, gw Config) (results.Advice, bool) {
	if rep.Masked.Reasons["gateway-retried"] == 0 {
		return results.Advice{}, false
	}
	c := readNginxConf(gw.Text)
	v, set := c.setting("proxy_next_upstream")
	if slices.Contains(strings.Fields(v), "non_idempotent") || slices.Contains(strings.Fields(v), "off") {
		return results.Advice{}, false
	}
	best, bestN, bestMasked, bestKind := "", 0, 0, ""
	for _, k := range retriedKinds {
		n, _ := failures(rep, k.cause)
		m := rep.Masked.ByKind[k.kind]
		if n > 0 && m > 0 && n > bestN {
			best, bestN, bestMasked, bestKind = k.cause, n, m, k.kind
		}
	}
	if best == "" {
		return results.Advice{}, false
	}
	ev := fmt.Sprintf("%d requests failed with %s", bestN, best)
	if where := phasesWith(rep, run, best, bestKind); where != "" {
		ev += " " + where
	}
	ev += fmt.Sprintf(" while %d %s faults on other requests were masked (%d faults in all retried away by nginx): nginx does not retry a request it sent already when its method is not idempotent (POST, LOCK, PATCH); the report does not count failures by method",
		bestMasked, bestKind, rep.Masked.Reasons["gateway-retried"])
	return results.Advice{
		Current:  current(v, set, nginxNextUpstreamDefault),
		Suggest:  "add non_idempotent (proxy_next_upstream " + strings.Join(append(nextUpstream(v, set), "non_idempotent"), " ") + ") only if those requests are safe to send twice; otherwise retry them from the client with an idempotency key",
		Cause:    best,
		Evidence: ev,
	}, true
}

// nextUpstream returns proxy_next_upstream's conditions as set, or its
// default.
func nextUpstream(v string, set bool) []string {
	if !set {
		return strings.Fields(nginxNextUpstreamDefault)
	}
	return strings.Fields(v)
}

// haproxyOutage is what HAProxy's connect retries did in the run: the
// slow answers they explain and the failures after them.
type haproxyOutage struct {
	slow     *results.SlowCause // connect-retried, over the run; nil when none
	slowIn   string             // the phases of the slow answers
	refused  int                // connection-refused failures
	refuseIn []string           // their classes
	phase    string             // the phases of the refusal
}

// measuredOutage returns the evidence of HAProxy's connect retries, and
// false when the run has none.
func measuredOutage(rep *results.Report, run *results.Run) (haproxyOutage, bool) {
	var o haproxyOutage
	if rep.Slow != nil {
		for i := range rep.Slow.Causes {
			if sc := &rep.Slow.Causes[i]; sc.Cause == results.SlowConnectRetried && sc.Count > 0 {
				o.slow = sc
			}
		}
		var names []string
		for _, p := range rep.Phases {
			if p.Slow == nil {
				continue
			}
			for _, sc := range p.Slow.Causes {
				if sc.Cause == results.SlowConnectRetried && sc.Count > 0 {
					names = append(names, p.Name)
				}
			}
		}
		o.slowIn = phaseWords(names)
	}
	o.refused, o.refuseIn = failures(rep, causes.ConnectionRefused)
	o.phase = phasesWith(rep, run, causes.ConnectionRefused, "refuse", "blackhole")
	return o, o.slow != nil || o.refused > 0
}

// words says what the retries did, with the figures.
func (o haproxyOutage) words(retries int, turn time.Duration) string {
	var s []string
	if o.slow != nil {
		in := o.slowIn
		if in == "" {
			in = o.phase
		}
		s = append(s, fmt.Sprintf("%d answers %s took %s-%s longer (p50 %s) while HAProxy retried the connect (%s)",
			o.slow.Count, in, msf(o.slow.AddedMS.Min), msf(o.slow.AddedMS.Max), msf(o.slow.AddedMS.P50), results.SlowConnectRetried))
	}
	if o.refused > 0 {
		w := fmt.Sprintf("%d requests failed with %s (%s)", o.refused, causes.ConnectionRefused, strings.Join(o.refuseIn, ", "))
		if o.phase != "" {
			w += " " + o.phase
		}
		s = append(s, w+fmt.Sprintf(", each after %d connect retries %s apart", retries, ms(turn)))
	}
	return strings.Join(s, "; ")
}

// haproxyTiming reads retries and the turn-around timer of a
// configuration; false when a value does not read.
func haproxyTiming(c haproxyConf) (retries int, rv string, rset bool, turn time.Duration, tv string, tset bool, ok bool) {
	retries = haproxyRetriesDefault
	rv, rset = c.setting("retries")
	if rset {
		n, err := strconv.Atoi(strings.TrimSpace(rv))
		if err != nil || n < 0 {
			return 0, "", false, 0, "", false, false
		}
		retries = n
	}
	turn = haproxyTurnAroundMax
	tv, tset = c.setting("timeout connect")
	if tset {
		d, err := haproxyTime(strings.TrimSpace(tv))
		if err != nil {
			return 0, "", false, 0, "", false, false
		}
		turn = min(d, haproxyTurnAroundMax)
	}
	return retries, rv, rset, turn, tv, tset, true
}

// haproxyConnectRetries: answers slowed by connect retries
// (connect-retried, with the latency they added), or failures of
// connection-refused after the retries: retries x min(timeout connect,
// 1s) is the latency an outage adds to each request. No advice with
// retries 0: the retries add nothing.
func haproxyConnectRetries(rep *results.Report, run *results.Run, gw Config) (results.Advice, bool) {
	o, ok := measuredOutage(rep, run)
	if !ok {
		return results.Advice{}, false
	}
	retries, rv, rset, turn, tv, tset, ok := haproxyTiming(readHAProxyConf(gw.Text))
	if !ok || retries == 0 {
		return results.Advice{}, false
	}
	budget := time.Duration(retries) * turn
	cause := causes.ConnectionRefused
	if o.slow != nil {
		cause = results.SlowConnectRetried
	}
	return results.Advice{
		Current: fmt.Sprintf("retries %s, timeout connect %s: up to %s of connect retries (%d x %s)",
			current(rv, rset, strconv.Itoa(haproxyRetriesDefault)), current(tv, tset, "none"), ms(budget), retries, ms(turn)),
		Suggest: fmt.Sprintf("keep retries x min(timeout connect, 1s) within the latency a request may take: a shorter timeout connect retries sooner (timeout connect 250ms: %d retries within %s) but gives up on a shorter outage; more retries ride out a longer one at more latency",
			retries, ms(time.Duration(retries)*min(turn, 250*time.Millisecond))),
		Cause:    cause,
		Evidence: o.words(retries, turn),
	}, true
}

// haproxyRedispatch: the same evidence, where the backend has several
// servers and option redispatch is off: the retries all go to the server
// that refuses.
func haproxyRedispatch(rep *results.Report, run *results.Run, gw Config) (results.Advice, bool) {
	o, ok := measuredOutage(rep, run)
	if !ok {
		return results.Advice{}, false
	}
	c := readHAProxyConf(gw.Text)
	n := c.servers()
	if n < 2 || c.option("redispatch") {
		return results.Advice{}, false
	}
	retries, _, _, turn, _, _, ok := haproxyTiming(c)
	if !ok || retries == 0 {
		return results.Advice{}, false
	}
	cause := causes.ConnectionRefused
	if o.slow != nil {
		cause = results.SlowConnectRetried
	}
	return results.Advice{
		Current:  "off (default)",
		Suggest:  fmt.Sprintf("option redispatch: the last retry goes to another of the backend's %d servers instead of the one refusing", n),
		Cause:    cause,
		Evidence: o.words(retries, turn),
	}, true
}

// caddyRetryable are the 502 causes a Caddy retry would have masked: a
// refused connect (always retried), and a connection ended before the
// answer (retried for the requests lb_retry_match allows).
var caddyRetryable = []string{causes.ConnectionRefused, causes.ResetBeforeHeaders, causes.ClosedBeforeHeaders}

// caddyTryDuration: 502s that a retry would have masked, where Caddy
// does not retry (lb_try_duration and lb_retries unset or 0). nginx and
// HAProxy retry a refused connect by default.
func caddyTryDuration(rep *results.Report, run *results.Run, gw Config) (results.Advice, bool) {
	c := readCaddyProxy(gw.Text)
	if c.proxy == nil {
		return results.Advice{}, false
	}
	v, set := c.setting("lb_try_duration")
	if set {
		if d, err := caddyDuration(strings.TrimSpace(v)); err != nil || d > 0 {
			return results.Advice{}, false // retries on, or not a duration
		}
	}
	if r, ok := c.setting("lb_retries"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(r)); err != nil || n > 0 {
			return results.Advice{}, false
		}
	}
	var parts []string
	total, best, bestN := 0, "", 0
	for _, cause := range caddyRetryable {
		n := classCount(rep, "502", cause)
		if n == 0 {
			continue
		}
		total += n
		parts = append(parts, fmt.Sprintf("%d %s", n, cause))
		if n > bestN {
			best, bestN = cause, n
		}
	}
	if total == 0 {
		return results.Advice{}, false
	}
	// The longest refusal, from the plan: the phases with a refuse fault.
	var refusal time.Duration
	var in []string
	for _, p := range run.Phases {
		if slices.Contains(p.Faults, "refuse") {
			refusal = max(refusal, time.Duration((p.EndS-p.StartS)*float64(time.Second)))
			in = append(in, p.Name)
		}
	}
	ev := fmt.Sprintf("%d answers 502 (%s)", total, strings.Join(parts, ", "))
	if where := phasesWith(rep, run, best, "refuse", "reset", "close"); where != "" {
		ev += " " + where
	}
	ev += ": Caddy tried each once (retries are off without lb_try_duration or lb_retries), where nginx and HAProxy retry a refused connect by default"
	suggest := "lb_try_duration 5s: Caddy then retries a failed connect (every lb_try_interval, 250ms by default) for up to 5s"
	if refusal > 0 && classCount(rep, "502", causes.ConnectionRefused) > 0 {
		// Whole seconds past the refusal: a request that came as it
		// began still has a try after it ended.
		d := refusal.Truncate(time.Second) + time.Second
		suggest = fmt.Sprintf("lb_try_duration %s, longer than the refusal (%s %s): Caddy then retries a failed connect (every lb_try_interval, 250ms by default) until the upstream listens again", ms(d), ms(refusal), phaseWords(in))
	}
	if classCount(rep, "502", causes.ResetBeforeHeaders)+classCount(rep, "502", causes.ClosedBeforeHeaders) > 0 {
		suggest += "; a request ended before its answer is retried only when lb_retry_match allows it (GETs by default)"
	}
	return results.Advice{
		Current:  current(v, set, caddyTryDurationDefault),
		Suggest:  suggest,
		Cause:    best,
		Evidence: ev,
	}, true
}
