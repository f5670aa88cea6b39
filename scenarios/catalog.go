package scenarios

import (
	"embed"
	"slices"
	"strings"
)

//go:embed catalog/*.yaml
var catalogFS embed.FS

// Entry is one scenario of the catalog.
type Entry struct {
	// Name is what Lookup and Resolve take, such as upstream-resets.
	Name string
	// Description is the scenario's one-line description.
	Description string
}

// Catalog lists the ready scenarios built into gatecrash, sorted by name.
func Catalog() []Entry {
	var entries []Entry
	for _, name := range catalogNames() {
		e := Entry{Name: name}
		if s, err := Lookup(name); err == nil {
			e.Description = s.Description
		}
		entries = append(entries, e)
	}
	return entries
}

// Lookup decodes the catalog scenario called name. Messages name its file
// catalog/NAME.yaml. An unknown name is an *Error listing the known ones.
func Lookup(name string) (*Scenario, error) {
	data, ok := CatalogSource(name)
	if !ok {
		return nil, &Error{Msg: unknownEntry(name)}
	}
	return Decode(catalogFile(name), data)
}

// CatalogSource returns the YAML source of the catalog scenario called
// name, comments included, and whether there is one.
func CatalogSource(name string) ([]byte, bool) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return nil, false
	}
	data, err := catalogFS.ReadFile(catalogFile(name))
	if err != nil {
		return nil, false
	}
	return data, true
}

// catalogFile is the file of the catalog scenario called name.
func catalogFile(name string) string { return "catalog/" + name + ".yaml" }

// catalogNames lists the catalog's scenario names, sorted.
func catalogNames() []string {
	files, _ := catalogFS.ReadDir("catalog")
	var names []string
	for _, f := range files {
		if name, ok := strings.CutSuffix(f.Name(), ".yaml"); ok && !f.IsDir() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// unknownEntry is the message for a name that is not in the catalog.
func unknownEntry(name string) string {
	names := catalogNames()
	msg := "no catalog scenario is called " + Quote(name) + "; "
	if near, ok := closest(name, names); ok {
		msg += "did you mean " + near + "? "
	}
	return msg + "the catalog has " + strings.Join(names, ", ")
}
