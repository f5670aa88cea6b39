package run

import "fmt"

// InputError is an error the user can fix in the scenario or on the
// command line (gatecrash exits 2 on it), as opposed to a run that broke.
type InputError struct {
	// Err says what is wrong and how to fix it.
	Err error
}

// Error returns Err's message.
func (e *InputError) Error() string { return e.Err.Error() }

// Unwrap returns the error itself.
func (e *InputError) Unwrap() error { return e.Err }

func inputErrf(format string, args ...any) error { return &InputError{fmt.Errorf(format, args...)} }
