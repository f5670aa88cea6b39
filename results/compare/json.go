package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// MarshalIndent renders the comparison as indented JSON with a final
// newline.
func (c *Comparison) MarshalIndent() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "->" stays readable; nothing here goes into HTML
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode comparison: %w", err)
	}
	return b.Bytes(), nil
}
