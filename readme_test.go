package main

import (
	"os"
	"strings"
	"testing"

	"github.com/gatecrash/gatecrash/results/causes"
)

// TestREADMECauses checks that the README's table of causes is the code's
// table, row for row.
func TestREADMECauses(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- causes:begin -->\n")
	got, _, ok2 := strings.Cut(rest, "<!-- causes:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no <!-- causes:begin --> ... <!-- causes:end --> table")
	}
	if want := causes.Markdown(); got != want {
		t.Errorf("README.md's table of causes differs from results/causes; write this between the markers:\n%s", want)
	}
}
