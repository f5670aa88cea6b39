package run

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/advice"
)

// advise sets the report's advice (results/advice) from the folder's
// gateway.conf, the configuration of the nginx, HAProxy or Caddy the
// run started, rendered from gatecrash's template or the user's; the
// kind comes from the plan. A folder without gateway.conf (the built-in
// gateway, a gateway gatecrash did not start) gets no advice: an empty
// list.
func (f Folder) advise(rep *results.Report, plan *results.Run) error {
	rep.Advice = []results.Advice{}
	b, err := os.ReadFile(f.Path(GatewayConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("the gateway's configuration, which the advice reads: %w; make %s a readable file, or remove it to report without advice", err, GatewayConfigFile)
	}
	rep.Advice = advice.For(rep, plan, advice.Config{Kind: plan.Gateway, Text: string(b)})
	return nil
}
