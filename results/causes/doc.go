// Package causes is the one table of the causes gatecrash gives a failed
// request: each cause's stable name, its meaning in plain words, where in
// an exchange it breaks, the fault kinds that produce it and the words a
// gateway uses for it. Faults name the cause of what they do from it, the
// analysis attributes by it, the reports print its meanings, expectations
// validate share(cause=...) against it, and the README's table of causes
// is checked against it.
//
// It holds data only: it imports no other gatecrash package and must not
// learn how faults work or how a report is drawn.
package causes
