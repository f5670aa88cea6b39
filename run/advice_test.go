package run

import (
	"os"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/results"
)

func TestAdvise(t *testing.T) {
	refused := func() *results.Report {
		return &results.Report{Causes: []results.Cause{{Cause: "connection-refused", Count: 80}}}
	}
	plan := &results.Run{Gateway: "caddy", Phases: []results.PhasePlan{{Name: "refused", EndS: 2, Faults: []string{"refuse"}}}}
	caddy := ":80 {\n\treverse_proxy 127.0.0.1:9\n}\n"
	tests := []struct {
		name    string
		conf    string // gateway.conf; "" for none, "/" for a folder in its place
		gateway string
		want    string // the rule wanted, "" for no advice
		wantErr string
	}{
		{name: "caddy's refusals", conf: caddy, gateway: "caddy", want: "caddy-lb-try-duration"},
		{name: "no gateway.conf", gateway: "caddy"},
		{name: "the kind is the plan's", conf: caddy, gateway: "nginx"},
		{name: "unreadable", conf: "/", gateway: "caddy", wantErr: "make gateway.conf a readable file, or remove it to report without advice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Folder(t.TempDir())
			switch tt.conf {
			case "":
			case "/":
				if err := os.Mkdir(f.Path(GatewayConfigFile), 0o755); err != nil {
					t.Fatal(err)
				}
			default:
				if err := os.WriteFile(f.Path(GatewayConfigFile), []byte(tt.conf), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p := *plan
			p.Gateway = tt.gateway
			rep := refused()
			err := f.advise(rep, &p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Advice == nil {
				t.Fatal("got nil advice, want a list")
			}
			var rules []string
			for _, a := range rep.Advice {
				rules = append(rules, a.Rule)
			}
			if got := strings.Join(rules, ","); got != tt.want {
				t.Errorf("advice: got %q, want %q", got, tt.want)
			}
		})
	}
}
