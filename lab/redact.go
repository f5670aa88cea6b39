package lab

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gatecrash/gatecrash/results"
)

// redactor removes secrets from the lines of a gateway log: in a line
// that is a JSON object (Caddy's log), the value of every key that names
// a secret header (results.SecretHeader), wherever it is nested; in any
// line, each of the secret values the run's requests carry, which text
// formats (nginx's, HAProxy's, a user template's) may log without their
// header's name.
type redactor struct {
	values *strings.Replacer // nil: no values to replace
}

// newRedactor returns a redactor of the JSON keys and of values.
func newRedactor(values []string) *redactor {
	vs := make([]string, 0, len(values))
	for _, v := range values {
		if v != "" {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return &redactor{}
	}
	// The longest first: a value that holds another is replaced whole.
	sort.Slice(vs, func(i, j int) bool { return len(vs[i]) > len(vs[j]) })
	pairs := make([]string, 0, 2*len(vs))
	for _, v := range vs {
		pairs = append(pairs, v, results.Redacted)
	}
	return &redactor{values: strings.NewReplacer(pairs...)}
}

// line returns line, without its newline, redacted.
func (r *redactor) line(line string) string {
	if t := strings.TrimSpace(line); strings.HasPrefix(t, "{") && results.MentionsSecret(t) {
		dec := json.NewDecoder(strings.NewReader(t))
		dec.UseNumber()
		var obj map[string]any
		if dec.Decode(&obj) == nil && !dec.More() && redactJSON(obj) {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if enc.Encode(obj) == nil {
				line = strings.TrimSuffix(b.String(), "\n")
			}
		}
	}
	if r.values != nil {
		line = r.values.Replace(line)
	}
	return line
}

// redactJSON replaces, in v, the value of every key that names a secret
// header with results.Redacted (each element of a list of values), and
// reports whether it replaced any.
func redactJSON(v any) bool {
	changed := false
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if results.SecretHeader(k) {
				x[k] = redactedValue(e)
				changed = true
				continue
			}
			changed = redactJSON(e) || changed
		}
	case []any:
		for _, e := range x {
			changed = redactJSON(e) || changed
		}
	}
	return changed
}

// redactedValue is what takes the place of v, a secret header's value or
// list of values.
func redactedValue(v any) any {
	if list, ok := v.([]any); ok {
		out := make([]any, len(list))
		for i := range out {
			out[i] = results.Redacted
		}
		return out
	}
	return results.Redacted
}

// file rewrites the log at path redacted, through a temporary file in its
// folder renamed over it. A missing log is no error.
func (r *redactor) file(path string) (err error) {
	in, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("redact %s: %w", path, err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("redact %s: %w", path, err)
	}
	out, err := os.CreateTemp(filepath.Dir(path), ".redact-*")
	if err != nil {
		return fmt.Errorf("redact %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(out.Name())
		}
	}()
	br := bufio.NewReaderSize(in, 1<<16)
	bw := bufio.NewWriterSize(out, 1<<16)
	for {
		line, rerr := br.ReadString('\n')
		if line != "" {
			nl := strings.HasSuffix(line, "\n")
			bw.WriteString(r.line(strings.TrimSuffix(line, "\n")))
			if nl {
				bw.WriteByte('\n')
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("redact %s: %w", path, rerr)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("redact %s: %w", path, err)
	}
	if err := out.Chmod(fi.Mode().Perm()); err != nil {
		return fmt.Errorf("redact %s: %w", path, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("redact %s: %w", path, err)
	}
	if err := os.Rename(out.Name(), path); err != nil {
		return fmt.Errorf("redact %s: %w", path, err)
	}
	return nil
}
