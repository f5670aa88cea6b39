package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, e := range Catalog() {
		data, _ := CatalogSource(e.Name)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode("fuzz.yaml", data)
		if err != nil {
			if s != nil {
				t.Fatalf("got a scenario and error %v, want nil", err)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("got %T %v, want a *scenarios.Error", err, err)
			}
			if se.Line < 0 || se.Msg == "" {
				t.Fatalf("got line %d and message %q, want line >= 0 and a message", se.Line, se.Msg)
			}
			_ = err.Error()
			return
		}
		if len(s.Phases) == 0 || len(s.Requests) == 0 {
			t.Fatalf("got %d phases and %d requests with no error, want at least one each", len(s.Phases), len(s.Requests))
		}
		for _, p := range s.Phases {
			if p.Duration <= 0 || p.Rate.Freq <= 0 || p.Rate.Per <= 0 {
				t.Fatalf("got phase %+v with no error, want duration and rate above 0", p)
			}
			if p.RampTo != nil && (p.RampTo.Freq < 0 || p.RampTo.Per <= 0) {
				t.Fatalf("got ramp_to %+v with no error, want a rate", *p.RampTo)
			}
			for _, fl := range p.Faults {
				if pr := fl.P(); !(pr >= 0 && pr <= 1) {
					t.Fatalf("got probability %v with no error, want it in [0, 1]", pr)
				}
				if _, ok := kindFields[fl.Kind]; !ok {
					t.Fatalf("got fault kind %q with no error, want a known one", fl.Kind)
				}
				if fl.Line <= 0 {
					t.Fatalf("got fault line %d, want it set", fl.Line)
				}
			}
		}
		if s.Target.Timeout <= 0 || s.Target.UpstreamTimeout <= 0 {
			t.Fatalf("got timeouts %v and %v, want them above 0", s.Target.Timeout, s.Target.UpstreamTimeout)
		}
		if s.Upstream.Builtin == nil && s.Upstream.URL == "" {
			t.Fatal("got no upstream, want the built-in one by default")
		}
		if s.Name == "" || nameProblem(s.Name) != "" {
			t.Fatalf("got name %q with no error, want a folder name", s.Name)
		}

		// What Decode accepts, written back, reads the same.
		out, err := yaml.Marshal(s)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := Decode("fuzz.yaml", out)
		if err != nil {
			t.Fatalf("got %v decoding the scenario written back, want none:\n%s", err, out)
		}
		clearLines(s)
		clearLines(again)
		if !reflect.DeepEqual(s, again) {
			t.Fatalf("got %+v written back, want %+v:\n%s", again, s, out)
		}
	})
}
