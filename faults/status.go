package faults

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"github.com/gatecrash/gatecrash/results/causes"
)

// Status answers with Code, Body and Headers instead of asking the
// upstream. The connection stays open for the next request unless the
// request asked to close it.
type Status struct {
	// Code is the status code sent.
	Code int
	// Body is sent with its Content-Length; Content-Type defaults to
	// text/plain.
	Body string
	// Headers are sent as given, in name order.
	Headers map[string]string
}

var _ Exchanger = Status{}

// Apply sends the answer.
func (s Status) Apply(_ context.Context, x *Exchange) (Outcome, error) {
	out := Outcome{Detail: fmt.Sprintf("answered %d without asking the upstream", s.Code), Cause: causes.Passthrough(s.Code), Status: s.Code, Ended: true, Close: x.WantsClose()}
	if err := x.DrainRequest(); err != nil {
		out.Close = true
		return out, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", s.Code, http.StatusText(s.Code))
	names := make([]string, 0, len(s.Headers))
	for k := range s.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	hasType := false
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %s\r\n", http.CanonicalHeaderKey(k), s.Headers[k])
		hasType = hasType || http.CanonicalHeaderKey(k) == "Content-Type"
	}
	if !hasType {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(s.Body)) + "\r\n")
	if x.WantsClose() {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	if x.Method() != http.MethodHead {
		b.WriteString(s.Body)
	}
	if err := x.Write(b.Bytes()); err != nil {
		out.Close = true
		return out, err
	}
	return out, nil
}
