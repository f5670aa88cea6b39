package run

import (
	"fmt"
	"io"
	"os"

	"github.com/gatecrash/gatecrash/lab"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/scenarios"
)

// writeTestimony reads the logs of the gateway gatecrash started and
// writes what they say about each request into the folder's
// testimony.jsonl. A gateway gatecrash did not start has no logs.
func writeTestimony(dir Folder, gateway string) error {
	var access, errs string
	switch {
	case gateway == scenarios.GatewayBuiltin:
		access = GatewayLogFile
	case scenarios.Managed(gateway):
		access, errs = AccessLogFile, ErrorLogFile
	default:
		return nil
	}
	ar, closeA, err := openLog(dir, access)
	if err != nil {
		return fmt.Errorf("gateway testimony: %w", err)
	}
	defer closeA()
	er, closeE, err := openLog(dir, errs)
	if err != nil {
		return fmt.Errorf("gateway testimony: %w", err)
	}
	defer closeE()
	ts, err := lab.ReadTestimony(gateway, ar, er)
	if err != nil {
		return fmt.Errorf("gateway testimony: %w", err)
	}
	out, err := os.Create(dir.Path(TestimonyFile))
	if err != nil {
		return fmt.Errorf("gateway testimony: %w", err)
	}
	if err := results.WriteTestimony(out, ts); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// openLog opens one of the folder's gateway logs; a log not named, or
// not written, is a nil reader.
func openLog(dir Folder, name string) (io.Reader, func(), error) {
	if name == "" {
		return nil, func() {}, nil
	}
	f, err := os.Open(dir.Path(name))
	if os.IsNotExist(err) {
		return nil, func() {}, nil
	}
	if err != nil {
		return nil, func() {}, err
	}
	return f, func() { f.Close() }, nil
}
