package htmltest

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Inert parses page as a browser does and reports through t every element
// that runs or loads something (script, img, iframe, object, embed, link)
// and every event-handler attribute. It returns the page's text, one text
// node a line, for the caller to find the strings it expects shown as
// written.
func Inert(t testing.TB, page string) string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.ElementNode:
			switch n.Data {
			case "script", "img", "iframe", "object", "embed", "link":
				t.Errorf("the page has a <%s> element", n.Data)
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") {
					t.Errorf("<%s> has an event handler %s=%q", n.Data, a.Key, a.Val)
				}
			}
		case html.TextNode:
			texts = append(texts, n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return strings.Join(texts, "\n")
}
