package scenarios

import (
	"cmp"
	"fmt"
)

// FaultSet is a fault file: the proxy's mode and one list of faults, all active.
type FaultSet struct {
	// Mode is http (the default, which DecodeFaultSet sets) or tcp; the
	// faults must work in it.
	Mode string `yaml:"mode,omitempty"`
	// Faults all apply while the proxy runs, each with its probability
	// and match.
	Faults []Fault `yaml:"faults"`
}

// DecodeFaultSet reads the fault file in data strictly, as `gatecrash
// proxy --faults` takes it, checks it as [Decode] checks the faults of a
// scenario, and applies the defaults: Mode http, and the defaults of every
// kind. An empty file is an empty set. file names data in messages, and
// every problem is an *Error with the file, line, field (such as
// faults[2].probability) and fix, several joined with [errors.Join]. A
// set returned without error is valid, with Faults not nil and each
// fault's Line set.
func DecodeFaultSet(file string, data []byte) (*FaultSet, error) {
	return DecodeFaults(file, data, "")
}

// DecodeFaults is [DecodeFaultSet] for a proxy whose mode the command line
// may give. mode, when not empty, is the mode of `gatecrash proxy --mode`
// (ModeHTTP or ModeTCP): a file whose mode: names another is a problem
// on the line of its mode:, and the faults of a file without mode: are
// checked for mode, with messages that name --mode. The set returned has
// Mode set to the mode in effect: mode, else the file's, else http.
func DecodeFaults(file string, data []byte, mode string) (*FaultSet, error) {
	switch mode {
	case "", ModeHTTP, ModeTCP:
	default:
		return nil, &Error{File: file, Msg: modeProblem(mode)}
	}
	var fs FaultSet
	c, err := decodeStrict(file, data, faultSetDoc, &fs)
	switch {
	case c != nil:
		c.faultSetMode(&fs.Mode, mode)
		c.faults("faults", fs.Faults)
		if len(c.errs) > 0 {
			return nil, joinErrors(c.errs)
		}
	case err != nil:
		return nil, err
	default:
		fs.Mode = cmp.Or(mode, ModeHTTP)
	}
	if fs.Faults == nil {
		fs.Faults = []Fault{}
	}
	return &fs, nil
}

// faultSetMode checks the mode: of a fault file, written, against the
// mode the command line gives, if any, and sets the mode the faults are
// checked for: the file's when it writes one, else the command line's.
func (c *checker) faultSetMode(written *string, given string) {
	wrote := c.x.get("mode") != nil
	if !c.proxyMode("mode", written) || given == "" {
		return
	}
	switch {
	case wrote && *written != given:
		c.add("mode", fmt.Sprintf("the file says %s but --mode says %s; remove one, or make them agree", *written, given))
	case !wrote:
		*written = given
		c.mode, c.modeFlag = given, true
	}
}

// DecodeFault reads one fault, a YAML mapping or a JSON object (JSON is
// YAML), as the proxy's admin API takes it, checks it for the proxy mode
// mode (ModeHTTP or ModeTCP; empty means ModeHTTP), and applies the
// defaults of its kind. file names data in messages; fields are named
// without a prefix, such as probability. A fault returned without error
// is valid, with Line set.
func DecodeFault(file string, data []byte, mode string) (Fault, error) {
	switch mode {
	case "":
		mode = ModeHTTP
	case ModeHTTP, ModeTCP:
	default:
		return Fault{}, &Error{File: file, Msg: modeProblem(mode)}
	}
	var f Fault
	c, err := decodeStrict(file, data, faultDoc, &f)
	if c == nil {
		return Fault{}, err
	}
	c.mode = mode
	f.Line = c.x.root.Line
	c.fault("", &f)
	if len(c.errs) > 0 {
		return Fault{}, joinErrors(c.errs)
	}
	return f, nil
}
