package scenarios

import (
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// index maps field paths of one YAML document, such as
// phases[1].faults[0].probability, to the nodes and lines that wrote them.
// It is built by walking the node tree along the Go types the document
// decodes into, so it visits what the decoder visits and no more.
type index struct {
	root    *yaml.Node          // the document's top mapping
	entries map[string]*entry   // path -> value; the first one written wins
	values  map[int][]*entry    // every value by the line of its node, in document order
	keys    map[int][]*keyRef   // every mapping key by line, in document order
	active  map[*yaml.Node]bool // aliases being walked, against cycles
	fields  map[reflect.Type][]fieldInfo
	budget  int // values left to index; bounds the work on hostile input
}

// entry is one value in the document.
type entry struct {
	path string
	line int          // line of the mapping key, or of the sequence item
	col  int          // column of the same
	node *yaml.Node   // the value, aliases resolved
	typ  reflect.Type // the Go type it decodes into, pointers removed
}

// keyRef is one mapping key in the document.
type keyRef struct {
	path  string // path of the value the key introduces
	name  string
	line  int
	col   int
	known []string     // the struct's fields when the mapping is a struct
	owner reflect.Type // the struct, when the mapping is one
	field bool         // whether name is one of known
	used  bool         // whether an error has already claimed this key
}

// fieldInfo is one field of a struct as YAML sees it.
type fieldInfo struct {
	name string
	num  int
	typ  reflect.Type
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// maxIndexed bounds the number of values indexed in one document.
const maxIndexed = 1 << 20

// newIndex indexes the document whose top node is root, a mapping that
// decodes into t.
func newIndex(root *yaml.Node, t reflect.Type) *index {
	x := &index{
		root:    root,
		entries: make(map[string]*entry),
		values:  make(map[int][]*entry),
		keys:    make(map[int][]*keyRef),
		active:  make(map[*yaml.Node]bool),
		fields:  make(map[reflect.Type][]fieldInfo),
		budget:  maxIndexed,
	}
	x.walk(root, "", root.Line, root.Column, t)
	return x
}

// walk indexes n, written at line and col, as the value at path of Go
// type t.
func (x *index) walk(n *yaml.Node, path string, line, col int, t reflect.Type) {
	if x.budget <= 0 {
		return
	}
	x.budget--
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil || x.active[n] {
			return
		}
		x.active[n] = true
		defer delete(x.active, n)
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if path != "" {
		e := &entry{path: path, line: line, col: col, node: n, typ: t}
		x.values[n.Line] = append(x.values[n.Line], e)
		if _, ok := x.entries[path]; !ok {
			x.entries[path] = e
		}
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind == yaml.MappingNode {
			x.walkStruct(n, path, t)
		}
	case reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			for i, item := range n.Content {
				x.walk(item, path+"["+strconv.Itoa(i)+"]", item.Line, item.Column, t.Elem())
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Kind != yaml.ScalarNode {
					continue
				}
				p := join(path, k.Value)
				x.keys[k.Line] = append(x.keys[k.Line], &keyRef{path: p, name: k.Value, line: k.Line, col: k.Column})
				x.walk(v, p, k.Line, k.Column, t.Elem())
			}
		}
	}
}

// walkStruct indexes the mapping n that decodes into the struct type t.
// Keys written in n win over keys merged in with <<, as in the decoder.
func (x *index) walkStruct(n *yaml.Node, path string, t reflect.Type) {
	fields := x.fieldsOf(t)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
			continue
		}
		p := join(path, k.Value)
		f, ok := findField(fields, k.Value)
		x.keys[k.Line] = append(x.keys[k.Line], &keyRef{path: p, name: k.Value, line: k.Line, col: k.Column, known: fieldNames(fields), owner: t, field: ok})
		if ok {
			x.walk(v, p, k.Line, k.Column, f.typ)
		}
	}
	for _, m := range merges {
		x.walkMerge(m, path, t, true)
	}
}

// walkMerge indexes the value of a << key: a mapping, an alias of one, or
// (at the top) a list of those.
func (x *index) walkMerge(m *yaml.Node, path string, t reflect.Type, top bool) {
	if x.budget <= 0 {
		return
	}
	x.budget--
	if m.Kind == yaml.AliasNode {
		if m.Alias == nil {
			return
		}
		m = m.Alias
	}
	switch m.Kind {
	case yaml.MappingNode:
		if x.active[m] {
			return
		}
		x.active[m] = true
		defer delete(x.active, m)
		x.walkStruct(m, path, t)
	case yaml.SequenceNode:
		if top {
			for _, item := range m.Content {
				x.walkMerge(item, path, t, false)
			}
		}
	}
}

// fieldsOf lists the fields of struct type t as YAML names them.
func (x *index) fieldsOf(t reflect.Type) []fieldInfo {
	if fs, ok := x.fields[t]; ok {
		return fs
	}
	fs := yamlFields(t)
	x.fields[t] = fs
	return fs
}

// yamlFields lists the fields of struct type t as YAML names them: the
// name in the yaml tag, or the lower-cased Go name; fields tagged "-" and
// unexported fields are left out.
func yamlFields(t reflect.Type) []fieldInfo {
	var fs []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fs = append(fs, fieldInfo{name: name, num: i, typ: f.Type})
	}
	return fs
}

func findField(fs []fieldInfo, name string) (fieldInfo, bool) {
	for _, f := range fs {
		if f.name == name {
			return f, true
		}
	}
	return fieldInfo{}, false
}

func fieldNames(fs []fieldInfo) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return names
}

// join appends the field name to path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// parent returns the path of the field that holds path: phases[1] for
// phases[1].rate, phases for phases[1], "" for a top-level field.
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// get returns the value at path, or nil when the document does not write
// it.
func (x *index) get(path string) *yaml.Node {
	if x == nil {
		return nil
	}
	if e, ok := x.entries[path]; ok {
		return e.node
	}
	return nil
}

// has reports whether the document sets the field at path to something
// other than null.
func (x *index) has(path string) bool {
	n := x.get(path)
	return n != nil && n.ShortTag() != "!!null"
}

// line returns the line and column of the field at path, or of its
// nearest parent that the document writes.
func (x *index) line(path string) (line, col int) {
	for p := path; p != ""; p = parent(p) {
		if e, ok := x.entries[p]; ok {
			return e.line, e.col
		}
	}
	return x.root.Line, x.root.Column
}

// lineOnly returns the line of the field at path, or of its nearest
// parent that the document writes.
func (x *index) lineOnly(path string) int {
	line, _ := x.line(path)
	return line
}

// unalias returns the node an alias stands for, following a chain of
// aliases a bounded number of steps; n itself when it is not an alias.
func unalias(n *yaml.Node) *yaml.Node {
	for i := 0; i < 100 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}
