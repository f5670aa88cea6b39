package run

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestFilesListsTheLayout: Files names every file constant of folder.go,
// so that run --force clears whatever a run writes.
func TestFilesListsTheLayout(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "folder.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	files := Files()
	n := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasSuffix(name.Name, "File") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					continue // planPartFile, built from PlanFile
				}
				v, _ := strconv.Unquote(lit.Value)
				n++
				if !slices.Contains(files, v) {
					t.Errorf("Files() lacks %s (%q)", name.Name, v)
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("found %d file constants in folder.go, want the layout's", n)
	}
	if !slices.Contains(files, PlanFile+".new") {
		t.Errorf("Files() lacks run.json as results.WriteRun writes it before the rename")
	}
}
