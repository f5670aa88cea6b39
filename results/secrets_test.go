package results

import (
	"net/http"
	"reflect"
	"testing"
)

func TestSecretHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"Authorization", true},
		{"authorization", true},
		{"PROXY-AUTHORIZATION", true},
		{"Cookie", true},
		{"Set-Cookie", true},
		{"X-Api-Key", true},
		{"x-apikey", true},
		{"X-Session-Token", true},
		{"X-Client-Secret", true},
		{"Keep-Alive", false},
		{"X-Idempotency-Key", true}, // contains key: redacted, harmless
		{"X-Trace-Id", false},
		{"X-Vegeta-Seq", false},
		{"X-Vegeta-Attack", false},
		{"Content-Type", false},
		{"Cookies-Policy", false},
		{"", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SecretHeader(tc.name); got != tc.want {
				t.Errorf("SecretHeader(%q): got %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

func TestRedactHeader(t *testing.T) {
	h := http.Header{
		"Set-Cookie":   {"a=1", "b=2"},
		"X-Api-Key":    {"k1"},
		"X-Trace-Id":   {"trace-1"},
		"Content-Type": {"text/plain"},
	}
	RedactHeader(h)
	want := http.Header{
		"Set-Cookie":   {Redacted, Redacted},
		"X-Api-Key":    {Redacted},
		"X-Trace-Id":   {"trace-1"},
		"Content-Type": {"text/plain"},
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got %v, want %v", h, want)
	}
	RedactHeader(nil) // no panic
}

func TestSecretValues(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        []string
	}{
		{"Authorization", "Bearer abcdef123", []string{"Bearer abcdef123", "abcdef123"}},
		{"Proxy-Authorization", "Basic dXNlcjpwYXNz", []string{"Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"}},
		{"Cookie", "session=s3cr3tsess; theme=dark", []string{"session=s3cr3tsess; theme=dark", "s3cr3tsess"}},
		{"X-Api-Key", "key-0123456", []string{"key-0123456"}},
		{"X-Api-Key", "abc", nil}, // too short to replace safely
		{"X-Trace-Id", "trace-0123456", nil},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			got := SecretValues(tc.name, tc.value)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMentionsSecret(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{`{"headers":{"X-API-KEY":["k"]}}`, true},
		{`{"headers":{"Cookie":[]}}`, true},
		{`{"headers":{"Proxy-Authorization":["x"]}}`, true},
		{`{"client_secret":"x"}`, true},
		{`{"headers":{"X-Trace-Id":["t1"],"Accept":["*/*"]}}`, false},
	} {
		if got := MentionsSecret(tc.s); got != tc.want {
			t.Errorf("MentionsSecret(%s): got %v, want %v", tc.s, got, tc.want)
		}
	}
}
