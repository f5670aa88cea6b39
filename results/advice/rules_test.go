package advice

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/results"
)

// nginxText is an nginx configuration with the settings given; "" leaves
// one unset.
func nginxText(read, keepalive, next string) string {
	var loc, up string
	if read != "" {
		loc += "proxy_read_timeout " + read + ";\n"
	}
	if next != "" {
		loc += "proxy_next_upstream " + next + ";\n"
	}
	if keepalive != "" {
		up = "keepalive_timeout " + keepalive + ";\n"
	}
	return fmt.Sprintf("http {\n upstream gc {\n  server 127.0.0.1:9;\n  keepalive 32;\n  %s }\n server {\n  location / {\n   proxy_pass http://gc;\n   %s  }\n }\n}\n", up, loc)
}

// haproxyText is an HAProxy configuration with the lines given in its
// defaults, and servers servers.
func haproxyText(defaults string, servers int) string {
	s := "defaults\n mode http\n" + defaults + "\nfrontend f\n bind :80\n default_backend b\nbackend b\n"
	for i := range servers {
		s += fmt.Sprintf(" server s%d 127.0.0.1:%d\n", i, 9000+i)
	}
	return s
}

// caddyText is a Caddyfile whose reverse_proxy has the lines given.
func caddyText(lines string) string {
	return ":80 {\n\treverse_proxy 127.0.0.1:9 {\n" + lines + "\n\t\ttransport http {\n\t\t\tdial_timeout 1000ms\n\t\t}\n\t}\n}\n"
}

// plan is a run of the phases given: name, fault kinds, fault specs.
func plan(phases ...results.PhasePlan) *results.Run {
	at := 0.0
	for i := range phases {
		phases[i].StartS, phases[i].EndS = at, at+2
		at += 2
	}
	return &results.Run{Gateway: "test", Phases: phases}
}

func phase(name, kind, spec string) results.PhasePlan {
	p := results.PhasePlan{Name: name}
	if kind != "" {
		p.Faults, p.FaultSpecs = []string{kind}, []string{spec}
	}
	return p
}

// failed is a report with the failures given by class, each class a
// list of cause and count.
func failed(byClass map[string][]results.Cause) *results.Report {
	rep := &results.Report{OtherCauses: map[string][]results.Cause{}, Masked: results.Masked{Reasons: map[string]int{}, ByKind: map[string]int{}}}
	for class, cs := range byClass {
		if class == "502" {
			rep.Causes = cs
		} else {
			rep.OtherCauses[class] = cs
		}
	}
	return rep
}

func cause(name string, n int) results.Cause { return results.Cause{Cause: name, Count: n} }

// withPhases gives the report the phases named, with the 504s given to
// the first.
func withPhases(rep *results.Report, n504 int, names ...string) *results.Report {
	for i, n := range names {
		p := results.PhaseReport{Name: n, Status: map[string]int{}}
		if i == 0 && n504 > 0 {
			p.Status["504"] = n504
		}
		rep.Phases = append(rep.Phases, p)
	}
	return rep
}

// masked sets the report's masked faults: gateway-retried, by kind.
func masked(rep *results.Report, kind string, n int) *results.Report {
	rep.Masked.Count += n
	rep.Masked.Reasons["gateway-retried"] += n
	rep.Masked.ByKind[kind] += n
	return rep
}

// slowRetried gives the report n slow answers of connect-retried in the
// phase named, with the latency they added.
func slowRetried(rep *results.Report, n int, phase string, added results.Range) *results.Report {
	sc := results.SlowCause{Cause: results.SlowConnectRetried, Count: n, Share: 1, AddedMS: added}
	rep.Slow = &results.Slow{ThresholdMS: 500, From: results.SlowFromDefault, Count: n, Causes: []results.SlowCause{sc}}
	found := false
	for i := range rep.Phases {
		if rep.Phases[i].Name == phase {
			rep.Phases[i].Slow = &results.PhaseSlow{Count: n, Causes: []results.SlowCause{sc}}
			found = true
		}
	}
	if !found {
		rep.Phases = append(rep.Phases, results.PhaseReport{Name: phase, Slow: &results.PhaseSlow{Count: n, Causes: []results.SlowCause{sc}}})
	}
	return rep
}

// everything is a report with every rule's evidence, for the fuzzers.
func everything() *results.Report {
	rep := failed(map[string][]results.Cause{
		"502":   {cause("keepalive-race", 5), cause("connection-refused", 4), cause("reset-before-headers", 3)},
		"504":   {cause("upstream-latency", 7)},
		"503":   {cause("connection-refused", 2)},
		"error": {cause("keepalive-race", 1)},
	})
	withPhases(rep, 7, "slow", "race", "refused")
	masked(rep, "keepalive", 9)
	masked(rep, "reset", 2)
	return slowRetried(rep, 80, "refused", results.Range{Min: 1000, P50: 1004, Max: 2007})
}

func everythingRun() *results.Run {
	return plan(
		phase("slow", "latency", "{kind: latency, distribution: {type: lognormal, p50: 300ms, p99: 800ms}}"),
		phase("race", "keepalive", "{kind: keepalive, idle: 40ms, probability: 0.5}"),
		phase("refused", "refuse", "{kind: refuse}"),
	)
}

// want is what a test expects of a rule's advice; a nil want means no
// advice.
type want struct {
	current, cause string
	// evidence and suggest are words each must hold.
	evidence, suggest []string
}

func TestRules(t *testing.T) {
	latencyRun := plan(phase("baseline", "", ""), phase("slow", "latency", "{kind: latency, distribution: {type: lognormal, p50: 300ms, p99: 800ms}}"))
	fixedRun := plan(phase("slow", "latency", "{kind: latency, delay: 700ms, jitter: 100ms}"))
	hangRun := plan(phase("slow", "hang", "{kind: hang}"))
	raceRun := plan(phase("race", "keepalive", "{kind: keepalive, idle: 40ms, probability: 0.3}"))
	refuseRun := plan(phase("before", "", ""), phase("refused", "refuse", "{kind: refuse}"), phase("after", "", ""))
	n504 := func(n int, name string) *results.Report {
		return withPhases(failed(map[string][]results.Cause{"504": {cause(name, n)}}), n, "slow")
	}
	race := func(n502, nMasked int) *results.Report {
		return masked(failed(map[string][]results.Cause{"502": {cause("keepalive-race", n502)}}), "keepalive", nMasked)
	}
	refused := func(class string, n int) *results.Report {
		return failed(map[string][]results.Cause{class: {cause("connection-refused", n)}})
	}
	tests := []struct {
		name string
		rule string
		rep  *results.Report
		run  *results.Run
		gw   Config
		want *want
	}{
		// nginx-read-timeout
		{
			name: "504s of the latency tail past the timeout", rule: "nginx-read-timeout",
			rep: n504(112, "upstream-latency"), run: latencyRun, gw: Config{Nginx, nginxText("500ms", "", "")},
			want: &want{current: "500ms", cause: "upstream-latency",
				evidence: []string{"112 answers 504 (upstream-latency) after proxy_read_timeout 500ms in phase slow", "p99 800ms"},
				suggest:  []string{"at least 800ms"}},
		},
		{
			name: "a fixed delay and its jitter", rule: "nginx-read-timeout",
			rep: n504(3, "upstream-timeout"), run: fixedRun, gw: Config{Nginx, nginxText("500ms", "", "")},
			want: &want{current: "500ms", cause: "upstream-timeout", evidence: []string{"3 answers 504", "700ms ± 100ms"}, suggest: []string{"at least 800ms"}},
		},
		{
			name: "unset: nginx's default 60s is above the latency", rule: "nginx-read-timeout",
			rep: n504(3, "upstream-latency"), run: latencyRun, gw: Config{Nginx, nginxText("", "", "")},
		},
		{
			name: "the timeout already above the latency", rule: "nginx-read-timeout",
			rep: n504(3, "upstream-latency"), run: latencyRun, gw: Config{Nginx, nginxText("1s", "", "")},
		},
		{name: "no 504", rule: "nginx-read-timeout", rep: n504(0, "upstream-latency"), run: latencyRun, gw: Config{Nginx, nginxText("500ms", "", "")}},
		{name: "a hang: no timeout would help", rule: "nginx-read-timeout", rep: n504(9, "upstream-timeout"), run: hangRun, gw: Config{Nginx, nginxText("500ms", "", "")}},
		{
			name: "504s of another cause", rule: "nginx-read-timeout",
			rep: n504(9, "upstream-5xx-passthrough"), run: latencyRun, gw: Config{Nginx, nginxText("500ms", "", "")},
		},
		{
			name: "latency in a phase without 504s", rule: "nginx-read-timeout",
			rep: withPhases(failed(map[string][]results.Cause{"504": {cause("upstream-latency", 2)}}), 0, "baseline", "slow"),
			run: latencyRun, gw: Config{Nginx, nginxText("500ms", "", "")},
		},
		{name: "not nginx", rule: "nginx-read-timeout", rep: n504(112, "upstream-latency"), run: latencyRun, gw: Config{HAProxy, nginxText("500ms", "", "")}},

		// nginx-upstream-keepalive-timeout
		{
			name: "keep-alive race under nginx's default", rule: "nginx-upstream-keepalive-timeout",
			rep: race(12, 30), run: raceRun, gw: Config{Nginx, nginxText("", "", "")},
			want: &want{current: "unset (default 60s)", cause: "keepalive-race",
				evidence: []string{"12 requests failed with keepalive-race (12 502s) in phase race", "30 more keepalive faults were masked", "idle 40ms, nginx keeps them 60s"},
				suggest:  []string{"below the upstream's idle close of 40ms, such as 30ms"}},
		},
		{
			name: "set, still above the idle close", rule: "nginx-upstream-keepalive-timeout",
			rep: race(2, 0), run: raceRun, gw: Config{Nginx, nginxText("", "50ms", "")},
			want: &want{current: "50ms", cause: "keepalive-race", evidence: []string{"2 requests failed", "nginx keeps them 50ms"}},
		},
		{name: "already below the idle close", rule: "nginx-upstream-keepalive-timeout", rep: race(12, 30), run: raceRun, gw: Config{Nginx, nginxText("", "30ms", "")}},
		{
			name: "no upstream block", rule: "nginx-upstream-keepalive-timeout",
			rep: race(12, 30), run: raceRun, gw: Config{Nginx, "http { server { location / { proxy_pass http://127.0.0.1:9; } } }"},
		},
		{name: "no race", rule: "nginx-upstream-keepalive-timeout", rep: race(0, 30), run: raceRun, gw: Config{Nginx, nginxText("", "", "")}},
		{
			name: "the upstream's own idle close: no fault to say how long", rule: "nginx-upstream-keepalive-timeout",
			rep: failed(map[string][]results.Cause{"error": {cause("upstream-closed-idle", 4)}}), run: plan(phase("p", "", "")), gw: Config{Nginx, nginxText("", "", "")},
			want: &want{current: "unset (default 60s)", cause: "upstream-closed-idle",
				evidence: []string{"4 requests failed with upstream-closed-idle (4 without an answer)", "nginx keeps idle upstream connections 60s"},
				suggest:  []string{"did not measure it"}},
		},

		// nginx-next-upstream-non-idempotent
		{
			name: "POSTs of the race fail while GETs are retried", rule: "nginx-next-upstream-non-idempotent",
			rep: race(12, 30), run: raceRun, gw: Config{Nginx, nginxText("", "", "")},
			want: &want{current: "unset (default error timeout)", cause: "keepalive-race",
				evidence: []string{"12 requests failed with keepalive-race in phase race while 30 keepalive faults", "not idempotent", "does not count failures by method"},
				suggest:  []string{"proxy_next_upstream error timeout non_idempotent", "safe to send twice"}},
		},
		{name: "non_idempotent already", rule: "nginx-next-upstream-non-idempotent", rep: race(12, 30), run: raceRun, gw: Config{Nginx, nginxText("", "", "error timeout non_idempotent")}},
		{name: "nothing retried: nothing masked", rule: "nginx-next-upstream-non-idempotent", rep: race(12, 0), run: raceRun, gw: Config{Nginx, nginxText("", "", "")}},
		{
			name: "masked faults of another kind", rule: "nginx-next-upstream-non-idempotent",
			rep: masked(failed(map[string][]results.Cause{"502": {cause("keepalive-race", 3)}}), "reset", 5), run: raceRun, gw: Config{Nginx, nginxText("", "", "")},
		},
		{
			name: "resets before headers, set conditions kept", rule: "nginx-next-upstream-non-idempotent",
			rep: masked(failed(map[string][]results.Cause{"502": {cause("reset-before-headers", 3)}}), "reset", 5), run: plan(phase("resets", "reset", "{kind: reset}")),
			gw:   Config{Nginx, nginxText("", "", "error http_502")},
			want: &want{current: "error http_502", cause: "reset-before-headers", evidence: []string{"3 requests failed with reset-before-headers in phase resets while 5 reset faults"}, suggest: []string{"proxy_next_upstream error http_502 non_idempotent"}},
		},

		// haproxy-connect-retries
		{
			name: "slow 200s while HAProxy retried the connect", rule: "haproxy-connect-retries",
			rep: slowRetried(failed(nil), 80, "refused", results.Range{Min: 1000, P50: 1004, Max: 2007}), run: refuseRun,
			gw: Config{HAProxy, haproxyText(" retries 3\n timeout connect 1000ms", 1)},
			want: &want{current: "retries 3, timeout connect 1000ms: up to 3s of connect retries (3 x 1s)", cause: "connect-retried",
				evidence: []string{"80 answers in phase refused took 1s-2.007s longer (p50 1.004s)"},
				suggest:  []string{"3 retries within 750ms"}},
		},
		{
			name: "503s after the retries, defaults", rule: "haproxy-connect-retries",
			rep: refused("503", 40), run: refuseRun, gw: Config{HAProxy, haproxyText("", 1)},
			want: &want{current: "retries unset (default 3), timeout connect unset (default none): up to 3s of connect retries (3 x 1s)", cause: "connection-refused",
				evidence: []string{"40 requests failed with connection-refused (40 503s) in phase refused, each after 3 connect retries 1s apart"}},
		},
		{
			name: "a short timeout connect is the turn-around", rule: "haproxy-connect-retries",
			rep: refused("503", 4), run: refuseRun, gw: Config{HAProxy, haproxyText(" retries 2\n timeout connect 200", 1)},
			want: &want{current: "retries 2, timeout connect 200: up to 400ms of connect retries (2 x 200ms)", cause: "connection-refused", evidence: []string{"2 connect retries 200ms apart"}},
		},
		{name: "retries 0", rule: "haproxy-connect-retries", rep: refused("503", 40), run: refuseRun, gw: Config{HAProxy, haproxyText(" retries 0", 1)}},
		{name: "no outage", rule: "haproxy-connect-retries", rep: failed(nil), run: refuseRun, gw: Config{HAProxy, haproxyText("", 1)}},

		// haproxy-redispatch
		{
			name: "several servers, no redispatch", rule: "haproxy-redispatch",
			rep: refused("503", 40), run: refuseRun, gw: Config{HAProxy, haproxyText(" retries 3\n timeout connect 1s", 3)},
			want: &want{current: "off (default)", cause: "connection-refused", evidence: []string{"40 requests failed with connection-refused"}, suggest: []string{"another of the backend's 3 servers"}},
		},
		{name: "one server", rule: "haproxy-redispatch", rep: refused("503", 40), run: refuseRun, gw: Config{HAProxy, haproxyText("", 1)}},
		{name: "redispatch on already", rule: "haproxy-redispatch", rep: refused("503", 40), run: refuseRun, gw: Config{HAProxy, haproxyText(" option redispatch", 2)}},
		{name: "no evidence", rule: "haproxy-redispatch", rep: failed(nil), run: refuseRun, gw: Config{HAProxy, haproxyText("", 2)}},

		// caddy-lb-try-duration
		{
			name: "refused connects: Caddy tried once", rule: "caddy-lb-try-duration",
			rep: refused("502", 80), run: refuseRun, gw: Config{Caddy, caddyText("")},
			want: &want{current: "unset (default 0: no retry)", cause: "connection-refused",
				evidence: []string{"80 answers 502 (80 connection-refused) in phase refused", "Caddy tried each once"},
				suggest:  []string{"lb_try_duration 3s, longer than the refusal (2s in phase refused)"}},
		},
		{
			name: "resets before headers", rule: "caddy-lb-try-duration",
			rep: failed(map[string][]results.Cause{"502": {cause("reset-before-headers", 6), cause("length-mismatch", 3)}}), run: plan(phase("resets", "reset", "{kind: reset}")),
			gw:   Config{Caddy, caddyText("\t\tlb_try_duration 0")},
			want: &want{current: "0", cause: "reset-before-headers", evidence: []string{"6 answers 502 (6 reset-before-headers) in phase resets"}, suggest: []string{"lb_try_duration 5s", "lb_retry_match"}},
		},
		{name: "retries on", rule: "caddy-lb-try-duration", rep: refused("502", 80), run: refuseRun, gw: Config{Caddy, caddyText("\t\tlb_try_duration 2s")}},
		{name: "lb_retries on", rule: "caddy-lb-try-duration", rep: refused("502", 80), run: refuseRun, gw: Config{Caddy, caddyText("\t\tlb_retries 2")}},
		{name: "a cause no retry masks", rule: "caddy-lb-try-duration", rep: failed(map[string][]results.Cause{"502": {cause("malformed-header", 6)}}), run: refuseRun, gw: Config{Caddy, caddyText("")}},
		{name: "no configuration", rule: "caddy-lb-try-duration", rep: refused("502", 80), run: refuseRun, gw: Config{Caddy, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+tt.name, func(t *testing.T) {
			var got *results.Advice
			all := For(tt.rep, tt.run, tt.gw)
			for i := range all {
				if all[i].Rule == tt.rule {
					got = &all[i]
				}
			}
			if tt.want == nil {
				if got != nil {
					t.Fatalf("got advice %+v, want none", *got)
				}
				return
			}
			if got == nil {
				t.Fatalf("got no advice of %s (all: %+v), want some", tt.rule, all)
			}
			if got.Gateway != tt.gw.Kind || got.Setting == "" {
				t.Errorf("gateway, setting: got %q, %q, want %q and the setting", got.Gateway, got.Setting, tt.gw.Kind)
			}
			if got.Current != tt.want.current {
				t.Errorf("current: got %q, want %q", got.Current, tt.want.current)
			}
			if got.Cause != tt.want.cause {
				t.Errorf("cause: got %q, want %q", got.Cause, tt.want.cause)
			}
			for _, w := range tt.want.evidence {
				if !strings.Contains(got.Evidence, w) {
					t.Errorf("evidence: got %q, want it to hold %q", got.Evidence, w)
				}
			}
			for _, w := range tt.want.suggest {
				if !strings.Contains(got.Suggest, w) {
					t.Errorf("suggest: got %q, want it to hold %q", got.Suggest, w)
				}
			}
			if got.Suggest == "" || got.Evidence == "" {
				t.Errorf("got %+v, want a suggestion and evidence", *got)
			}
		})
	}
}

// Every rule of the table has a name of its own, a gateway For knows
// and a setting; For gives nothing without a configuration, and never
// nil.
func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r[0]] || r[0] == "" || r[2] == "" {
			t.Errorf("rule %v: want a name of its own and a setting", r)
		}
		seen[r[0]] = true
		if r[1] != Nginx && r[1] != HAProxy && r[1] != Caddy {
			t.Errorf("rule %v: gateway %q, want nginx, haproxy or caddy", r, r[1])
		}
	}
	for _, gw := range []Config{{Builtin, ""}, {Nginx, ""}, {"none", "x"}, {Builtin, "anything"}} {
		if got := For(everything(), everythingRun(), gw); got == nil || len(got) != 0 {
			t.Errorf("For(%+v): got %#v, want an empty list", gw, got)
		}
	}
	if got := For(nil, nil, Config{Nginx, nginxText("", "", "")}); got == nil || len(got) != 0 {
		t.Errorf("For(nil report): got %#v, want an empty list", got)
	}
	// Every rule fires on the report with every evidence, on its own
	// gateway's configuration.
	fired := map[string]bool{}
	for _, gw := range []Config{
		{Nginx, nginxText("500ms", "", "")},
		{HAProxy, haproxyText(" retries 3\n timeout connect 1s", 2)},
		{Caddy, caddyText("")},
	} {
		for _, a := range For(everything(), everythingRun(), gw) {
			fired[a.Rule] = true
		}
	}
	for _, r := range Rules() {
		if !fired[r[0]] {
			t.Errorf("rule %s: did not fire on every evidence", r[0])
		}
	}
}
