package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// DecodeReport decodes the report.json b read from name (which its errors
// name, with the line and column of a JSON error), and checks what
// a comparison relies on.
func DecodeReport(name string, b []byte) (*Report, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%s: empty; give a report.json that gatecrash run or gatecrash report wrote", name)
	}
	var probe struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, jsonError(name, b, err)
	}
	switch {
	case probe.Schema == nil:
		return nil, fmt.Errorf("%s: no schema field: not a gatecrash report; give a report.json (schema %s) that gatecrash run or gatecrash report wrote", name, Schema)
	case *probe.Schema == RunSchema:
		return nil, fmt.Errorf("%s: this is a run.json (schema %s), not a report; give the report.json next to it, or the run folder", name, RunSchema)
	case *probe.Schema != Schema:
		return nil, fmt.Errorf("%s: schema %q is not %q; give a report.json that gatecrash run or gatecrash report wrote", name, *probe.Schema, Schema)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, jsonError(name, b, err)
	}
	if err := r.checkForCompare(); err != nil {
		return nil, fmt.Errorf("%s: %w; it is not a report.json gatecrash wrote", name, err)
	}
	return &r, nil
}

// jsonError says where in b a JSON error is, as file:line:column.
func jsonError(name string, b []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(b, se.Offset-1) // the offset is past the bad byte
		return fmt.Errorf("%s:%d:%d: not valid JSON: %v; give a report.json that gatecrash run or gatecrash report wrote", name, line, col, se)
	case errors.As(err, &te):
		line, col := lineCol(b, te.Offset-1) // the offset is past the value's first byte
		if te.Field == "" {
			return fmt.Errorf("%s:%d:%d: a JSON %s, not an object; give a report.json that gatecrash run or gatecrash report wrote", name, line, col, te.Value)
		}
		return fmt.Errorf("%s:%d:%d: %s: a JSON %s where report.json has %s; give a report.json that gatecrash run or gatecrash report wrote", name, line, col, te.Field, te.Value, te.Type)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// lineCol turns a byte offset into a line and a column, from 1.
func lineCol(b []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(b)))
	before := b[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// checkForCompare rejects the numbers no report has.
func (r *Report) checkForCompare() error {
	var errs []error
	if r.Analysis.Bucket < 0 || r.Analysis.Threshold < 0 || r.Analysis.Sustain < 0 {
		errs = append(errs, fmt.Errorf("analysis: bucket_s %v, threshold %v, sustain %d: must not be negative", r.Analysis.Bucket.Seconds(), r.Analysis.Threshold, r.Analysis.Sustain))
	}
	if r.Totals.Requests < 0 || r.Totals.Errors < 0 {
		errs = append(errs, fmt.Errorf("totals: requests %d, errors %d: must not be negative", r.Totals.Requests, r.Totals.Errors))
	}
	for i, p := range r.Phases {
		switch {
		case p.EndS < p.StartS:
			errs = append(errs, fmt.Errorf("phases[%d] (%s): end_s %v is before start_s %v", i, p.Name, p.EndS, p.StartS))
		case p.Requests < 0 || p.Errors < 0 || p.AchievedRate < 0 || p.OfferedRate < 0:
			errs = append(errs, fmt.Errorf("phases[%d] (%s): requests %d, errors %d, offered_rate %v, achieved_rate %v: must not be negative", i, p.Name, p.Requests, p.Errors, p.OfferedRate, p.AchievedRate))
		}
	}
	for i, b := range r.Timeline {
		if b.Requests < 0 || b.Errors < 0 || b.AchievedRate < 0 {
			errs = append(errs, fmt.Errorf("timeline[%d]: requests %d, errors %d, achieved_rate %v: must not be negative", i, b.Requests, b.Errors, b.AchievedRate))
			break
		}
	}
	return errors.Join(errs...)
}
