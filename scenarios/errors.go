package scenarios

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is one problem in a scenario file. Decode, Load, Resolve and Lookup
// return an *Error, or several joined with [errors.Join] and sorted by
// line, for every problem with their input; callers can use [errors.As] to
// tell bad input from other failures.
type Error struct {
	// File is the name the scenario was read from; empty when the problem
	// is not in a file, such as an unknown catalog name.
	File string
	// Line is the 1-based line of the problem; 0 means the whole file.
	Line int
	// Field is the path of the field at fault, such as
	// phases[1].faults[0].probability; empty when no field applies.
	Field string
	// Msg says what is wrong and how to fix it.
	Msg string

	err error // the cause, for Unwrap
	col int   // the column, to sort problems on one line
}

// Error formats e as "file:line: field: msg", leaving out the parts that
// are empty or zero, for example:
//
//	scenario.yaml:14: phases[1].rate: "fast" is not a rate; write 100/s or 6000/m
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(cutField(e.Field))
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the error that caused e, such as the *fs.PathError of a
// file that could not be read; nil for a problem in the file's content.
func (e *Error) Unwrap() error { return e.err }

// joinErrors sorts errs by line and column, and joins them. It returns nil when errs is empty and the error
// itself when there is one.
func joinErrors(errs []*Error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.col, b.col))
	})
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

// Closest returns the candidate nearest to s by edit distance, in any
// case, and whether it is near enough to be a likely typo: every "did you
// mean" of gatecrash's messages, the scenario's and the flags'.
func Closest(s string, candidates []string) (string, bool) { return closest(s, candidates) }

// closest returns the candidate nearest to s by edit distance, if it is
// near enough to be a likely typo.
func closest(s string, candidates []string) (string, bool) {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := 2
	if len(s) <= 5 {
		limit = 1
	}
	return best, bestDist >= 0 && bestDist <= limit && len(s) < 64
}

// editDistance is the optimal string alignment distance between a and b,
// in bytes: the Levenshtein distance, with a swap of two neighbouring
// bytes as one edit ("fro" is one edit from "for").
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	// d[i][j] is the distance between a[:i] and b[:j].
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// maxQuoted is how many bytes of a value an error message quotes; a
// longer value is cut, so that a whole file or a 2 MB scalar does not
// make a 2 MB message.
const maxQuoted = 40

// Cut returns s, or its first bytes followed by "…" when it is longer
// than a message should quote (the cut falls between whole UTF-8
// characters).
func Cut(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Quote quotes s for an error message as %q does, cut as Cut does, with
// the length of the whole value after a cut one, for example:
//
//	"root:x:0:0:root:/root:/bin/bash daemon:x…" (1843 bytes)
func Quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s (%d bytes)", strconv.Quote(Cut(s)), len(s))
}

// cutField cuts each name in a field path as Cut does: a key the file
// writes is part of the path.
func cutField(path string) string {
	if len(path) <= maxQuoted {
		return path
	}
	names := strings.Split(path, ".")
	for i, n := range names {
		names[i] = Cut(n)
	}
	return strings.Join(names, ".")
}
