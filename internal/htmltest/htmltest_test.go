package htmltest

import (
	"fmt"
	"slices"
	"testing"
)

// recorder is a testing.TB that keeps what Inert reports.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestInert(t *testing.T) {
	tests := []struct {
		name  string
		page  string
		errs  []string
		texts string
	}{
		{"inert", `<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><svg><text>a</text></svg>`, nil, "<script>alert(1)</script>\na"},
		{"script", `<p>x</p><script>alert(1)</script>`, []string{"the page has a <script> element"}, "x\nalert(1)"},
		{"handler", `<b onMouseOver="alert(2)">y</b><img src=x>`, []string{`<b> has an event handler onmouseover="alert(2)"`, "the page has a <img> element"}, "y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			texts := Inert(r, tt.page)
			if !slices.Equal(r.errs, tt.errs) {
				t.Errorf("got reports %q, want %q", r.errs, tt.errs)
			}
			if texts != tt.texts {
				t.Errorf("got texts %q, want %q", texts, tt.texts)
			}
		})
	}
}
