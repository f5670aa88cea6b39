package causes_test

import (
	"slices"
	"testing"

	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range causes.All() {
		if seen[c.Name] {
			t.Errorf("cause %s: listed twice", c.Name)
		}
		seen[c.Name] = true
		if c.Meaning == "" || c.Point == "" {
			t.Errorf("cause %s: meaning %q, point %q; want both", c.Name, c.Meaning, c.Point)
		}
		if got := causes.Meaning(c.Name); got != c.Meaning {
			t.Errorf("Meaning(%s) = %q, want %q", c.Name, got, c.Meaning)
		}
		for _, k := range c.Kinds {
			if !slices.Contains(scenarios.Kinds(), k) {
				t.Errorf("cause %s: kind %q is not a fault kind of scenarios", c.Name, k)
			}
		}
	}
	if got := causes.Meaning("no-such-cause"); got != "no-such-cause" {
		t.Errorf("Meaning of an unknown name = %q, want the name", got)
	}
	if causes.Known("no-such-cause") {
		t.Error("Known(no-such-cause) = true, want false")
	}
}

func TestWord(t *testing.T) {
	for _, tc := range []struct{ words, want string }{
		{"", ""},
		{"connect() failed (111: Connection refused) while connecting to upstream", causes.ConnectionRefused},
		{"upstream prematurely closed connection while reading response header from upstream", causes.ClosedBeforeHeaders},
		{"upstream prematurely closed connection while reading upstream", causes.ClosedMidBody},
		{"recv() failed (104: Connection reset by peer) while reading upstream", causes.ResetMidBody},
		{"recv() failed (104: Connection reset by peer) while reading response header from upstream", causes.ResetBeforeHeaders},
		{"SH-- server closed before headers", causes.ClosedBeforeHeaders},
		{"net/http: timeout awaiting response headers", causes.UpstreamTimeout},
		{"readfrom tcp: unexpected EOF", causes.ClosedMidBody},
		{"EOF", causes.ClosedBeforeHeaders},
		{"nothing known", ""},
	} {
		if got := causes.Word(tc.words); got != tc.want {
			t.Errorf("Word(%q) = %q, want %q", tc.words, got, tc.want)
		}
	}
}

// Every phrase of the table names one cause only, and every phrase Word
// matches names, through Word, the cause whose Words list it: the
// README's table says what the matching does.
func TestWordsListed(t *testing.T) {
	owner := map[string]string{}
	for _, c := range causes.All() {
		for _, w := range c.Words {
			if o, ok := owner[w]; ok {
				t.Errorf("%q is listed by %s and %s", w, o, c.Name)
			}
			owner[w] = c.Name
		}
	}
	for _, w := range causes.WordOrder() {
		o, ok := owner[w]
		if !ok {
			t.Errorf("Word matches %q, which no cause lists", w)
			continue
		}
		if got := causes.Word(w); got != o {
			t.Errorf("Word(%q) = %s, want %s, the cause that lists it", w, got, o)
		}
	}
}

func TestEnded(t *testing.T) {
	for _, tc := range []struct {
		how  string
		at   causes.Point
		want string
	}{
		{causes.HowReset, causes.BeforeHeaders, causes.ResetBeforeHeaders},
		{causes.HowClose, causes.BeforeHeaders, causes.ClosedBeforeHeaders},
		{causes.HowReset, causes.AfterHeaders, causes.ResetAfterHeaders},
		{causes.HowClose, causes.AfterHeaders, causes.ClosedAfterHeaders},
		{causes.HowReset, causes.MidBody, causes.ResetMidBody},
		{causes.HowClose, causes.MidBody, causes.ClosedMidBody},
	} {
		if got := causes.Ended(tc.how, tc.at); got != tc.want {
			t.Errorf("Ended(%s, %s) = %s, want %s", tc.how, tc.at, got, tc.want)
		}
	}
	for _, bad := range []func(){
		func() { causes.Ended("drop", causes.MidBody) },
		func() { causes.Ended(causes.HowReset, causes.AtConnect) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("Ended with a bad argument did not panic")
				}
			}()
			bad()
		}()
	}
	if got := causes.Passthrough(503); got != causes.Upstream5xxPassthrough {
		t.Errorf("Passthrough(503) = %s", got)
	}
	if got := causes.Passthrough(429); got != causes.UpstreamStatus {
		t.Errorf("Passthrough(429) = %s", got)
	}
}

func TestOwn(t *testing.T) {
	for _, tc := range []struct {
		how    string
		at     causes.Point
		reused bool
		want   string
	}{
		{causes.HowClose, causes.BeforeHeaders, true, causes.UpstreamClosedIdle},
		{causes.HowReset, causes.BeforeHeaders, true, causes.UpstreamClosedIdle},
		{causes.HowClose, causes.BeforeHeaders, false, causes.UpstreamClosed},
		{causes.HowReset, causes.BeforeHeaders, false, causes.UpstreamReset},
		{causes.HowClose, causes.MidBody, true, causes.UpstreamClosedMidBody},
		{causes.HowReset, causes.MidBody, false, causes.UpstreamResetMidBody},
		{causes.HowReset, causes.AfterHeaders, false, causes.UpstreamResetMidBody},
	} {
		if got := causes.Own(tc.how, tc.at, tc.reused); got != tc.want {
			t.Errorf("Own(%s, %s, %v) = %s, want %s", tc.how, tc.at, tc.reused, got, tc.want)
		}
	}
}
