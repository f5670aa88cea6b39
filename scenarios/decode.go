package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// emptyFix is the advice for a file with no scenario in it.
const emptyFix = "start from a ready scenario: gatecrash list names them"

// Decode reads the scenario in data strictly, checks it, and applies the
// defaults. file names data in messages. Every problem found is an
// *Error with the file, line, field and fix; several are joined with
// [errors.Join], sorted by line. A scenario returned without error is
// valid, with File set to file.
//
// Decode reads no other file: target.config is checked for its form only.
// [Load] also checks that the template it names can be read and parses.
//
// Every address must be on loopback: [Consent.Decode] allows the hosts
// that the command line consents to.
func Decode(file string, data []byte) (*Scenario, error) {
	return decode(file, data, false, Consent{})
}

// decode is Decode; files says file is a path on disk, and the files the
// scenario names are checked too; consent is the hosts allowed beyond
// loopback.
func decode(file string, data []byte, files bool, consent Consent) (*Scenario, error) {
	var s Scenario
	c, err := decodeStrict(file, data, scenarioDoc, &s)
	if c == nil {
		return nil, err
	}
	c.consent = consent
	c.scenario(&s)
	s.File = file
	if files && len(c.errs) == 0 {
		c.configFile(&s)
	}
	if len(c.errs) > 0 {
		return nil, joinErrors(c.errs)
	}
	return &s, nil
}

// docType says what a document holds, for the messages about its shape.
type docType struct {
	empty  string // the problem with an empty document; "" when one is valid
	shape  string // the problem with a document that is not a mapping; %s names what it holds
	second string // the problem with a second document
}

// The documents this package reads.
var (
	scenarioDoc = docType{
		empty:  "the file is empty; " + emptyFix,
		shape:  "the file holds %s, not a scenario; write a mapping with fields such as name:, requests: and phases:, one per line, or " + emptyFix,
		second: "a second YAML document starts here; a scenario file holds one: remove this --- line and what follows, or move it to a file of its own",
	}
	faultSetDoc = docType{
		shape:  "the file holds %s, not a fault set; write a mapping, with the faults under faults:, such as faults: [{kind: reset, probability: 0.1}]",
		second: "a second YAML document starts here; a fault file holds one: remove this --- line and what follows, or move it to a file of its own",
	}
	faultDoc = docType{
		empty:  `the fault is empty; send one such as {"kind": "reset", "probability": 0.1}`,
		shape:  `the input holds %s, not a fault; send one mapping such as {"kind": "reset", "probability": 0.1}`,
		second: "a second YAML document starts here; send one fault: remove this --- line and what follows",
	}
)

// decodeStrict parses data as a document of type d and decodes it
// strictly into v, a pointer to a struct. It returns a checker holding the
// problems found so far, for the caller to check the values; or nil and
// the error when decoding cannot go on; or nil, nil for an empty document
// that d allows.
func decodeStrict(file string, data []byte, d docType, v any) (*checker, error) {
	root, errs := parse(file, data, d)
	if root == nil {
		return nil, joinErrors(errs)
	}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := decodeSafely(dec, v)
	var typeErr *yaml.TypeError
	if err != nil && !errors.As(err, &typeErr) {
		// The decoder gave up, on excessive aliasing or an anchor that
		// contains itself.
		errs = append(errs, &Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ") + "; write the values out instead of using anchors and aliases"})
		return nil, joinErrors(errs)
	}

	c := &checker{
		file:   file,
		x:      newIndex(root, reflect.TypeOf(v).Elem()),
		errs:   errs,
		broken: make(map[string]bool),
		mode:   ModeHTTP,
	}
	if typeErr != nil {
		for _, msg := range typeErr.Errors {
			c.typeError(msg)
		}
	}
	return c, nil
}

// Load reads and decodes the scenario file at path; see [Decode]. It also
// checks that the gateway template named by target.config, if any, can be
// read and parses as a Go text/template. A file that cannot be read is an
// *Error too, wrapping the cause.
func Load(path string) (*Scenario, error) {
	return load(path, Consent{})
}

// load is Load with consent to the hosts of consent.
func load(path string, consent Consent) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read the scenario: " + readProblem(err) + "; check the path", err: err}
	}
	return decode(path, data, true, consent)
}

// Resolve returns the catalog scenario named arg, or else decodes the file
// at path arg.
func Resolve(arg string) (*Scenario, error) {
	return resolve(arg, Consent{})
}

// resolve is Resolve with consent to the hosts of consent.
func resolve(arg string, consent Consent) (*Scenario, error) {
	if data, ok := CatalogSource(arg); ok {
		return decode(catalogFile(arg), data, false, consent)
	}
	s, err := load(arg, consent)
	if err != nil && errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(arg, `/\`) && !strings.HasSuffix(arg, ".yaml") && !strings.HasSuffix(arg, ".yml") {
		msg := Quote(arg) + " is neither a catalog scenario nor a file; "
		if near, ok := closest(arg, catalogNames()); ok {
			msg += "did you mean " + near + "? "
		}
		msg += "gatecrash list names the catalog scenarios"
		return nil, &Error{Msg: msg, err: err}
	}
	return s, err
}

// readProblem says why a file could not be read, without repeating its
// path.
func readProblem(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return err.Error()
}

// decodeSafely runs dec.Decode, turning a panic in the YAML library into
// an error: no input may crash the caller.
func decodeSafely(dec *yaml.Decoder, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the parser failed: %v", r)
		}
	}()
	return dec.Decode(v)
}

// parse parses the first YAML document in data, of type d, and returns
// its top mapping, or nil with the errors that stop decoding: none for an
// empty document that d allows.
func parse(file string, data []byte, d docType) (*yaml.Node, []*Error) {
	empty := func() []*Error {
		if d.empty == "" {
			return nil
		}
		return []*Error{{File: file, Msg: d.empty}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := decodeSafely(dec, &doc)
	if err == io.EOF {
		return nil, empty()
	}
	if err != nil {
		return nil, []*Error{syntaxError(file, data, err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, empty()
	}
	root := doc.Content[0]
	if root.ShortTag() == "!!null" {
		return nil, empty()
	}
	if root.Kind != yaml.MappingNode {
		return nil, []*Error{{File: file, Line: root.Line, Msg: fmt.Sprintf(d.shape, kindName(root))}}
	}

	var errs []*Error
	var next yaml.Node
	switch err := decodeSafely(dec, &next); {
	case err == io.EOF:
	case err != nil:
		errs = append(errs, syntaxError(file, data, err))
	case len(next.Content) == 1 && next.Content[0].ShortTag() == "!!null" && next.Content[0].Value == "":
		// A trailing --- with nothing after it.
	default:
		errs = append(errs, &Error{File: file, Line: next.Line, Msg: d.second})
	}
	return root, errs
}

// kindName names the kind of value n holds, for a file that is not a
// mapping: "a list", or the single value it is.
func kindName(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return "the single value " + describe(n)
	}
	return describe(n)
}
