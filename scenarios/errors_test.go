package scenarios

import "testing"

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "scenario.yaml", Line: 14, Field: "phases[1].rate", Msg: `"fast" is not a rate; write 100/s or 6000/m`},
			`scenario.yaml:14: phases[1].rate: "fast" is not a rate; write 100/s or 6000/m`},
		{Error{File: "scenario.yaml", Msg: "the file is empty"}, "scenario.yaml: the file is empty"},
		{Error{File: "s.yaml", Line: 2, Msg: "invalid YAML"}, "s.yaml:2: invalid YAML"},
		{Error{Msg: "no catalog scenario"}, "no catalog scenario"},
		{Error{Line: 3, Field: "name", Msg: "bad"}, "line 3: name: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
