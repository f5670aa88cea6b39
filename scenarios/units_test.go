package scenarios

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"150ms", 150 * time.Millisecond, ""},
		{"3s", 3 * time.Second, ""},
		{"1m30s", 90 * time.Second, ""},
		{"0s", 0, ""},
		{"150", 0, "write 150ms"},
		{"1.5", 0, "write 1.5ms"},
		{"-1s", 0, "negative"},
		{"-5", 0, "negative"},
		{"3 seconds", 0, "is not a duration"},
		{"", 0, "is not a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if !parsed(t, err, tt.wantErr) {
				return
			}
			if got.D() != tt.want {
				t.Errorf("got %v, want %v", got.D(), tt.want)
			}
			if s := got.String(); s != tt.want.String() {
				t.Errorf("got string %q, want %q", s, tt.want.String())
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    Rate
		str     string
		wantErr string
	}{
		{"100/s", Rate{100, time.Second}, "100/s", ""},
		{"6000/m", Rate{6000, time.Minute}, "6000/m", ""},
		{"0/s", Rate{0, time.Second}, "0/s", ""},
		{"100", Rate{}, "", "write 100/s for per second"},
		{"fast", Rate{}, "", `"fast" is not a rate; write 100/s or 6000/m`},
		{"100/h", Rate{}, "", "is not a rate"},
		{"-1/s", Rate{}, "", "is not a rate"},
		{"+1/s", Rate{}, "", "is not a rate"},
		{"1/1s", Rate{}, "", "is not a rate"},
		{"99999999999999999999/s", Rate{}, "", "is not a rate"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if !parsed(t, err, tt.wantErr) {
				return
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("got string %q, want %q", s, tt.str)
			}
		})
	}
}

func TestUnitsYAML(t *testing.T) {
	type units struct {
		D Duration `yaml:"d"`
		R Rate     `yaml:"r"`
	}
	in := units{D: Duration(1500 * time.Millisecond), R: Rate{6000, time.Minute}}
	out, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := "d: 1.5s\nr: 6000/m\n"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
	var back units
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if back != in {
		t.Errorf("got %+v, want %+v", back, in)
	}
	err = yaml.Unmarshal([]byte("d: 3 seconds\nr: fast\n"), &back)
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) != 2 {
		t.Fatalf("got %v, want a *yaml.TypeError with 2 problems", err)
	}
	if want := `line 1: "3 seconds" is not a duration`; !strings.HasPrefix(te.Errors[0], want) {
		t.Errorf("got %q, want it to start with %q", te.Errors[0], want)
	}
}

// parsed checks the error of a parse against wantErr, a part of the
// message wanted ("" for no error), and reports whether the parsed value
// is to be checked.
func parsed(t *testing.T, err error, wantErr string) bool {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("got error %v, want one containing %q", err, wantErr)
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}
