package flowlog

import (
	"errors"
	"fmt"
	"strings"
)

// AppendText appends r as one AWS text line (no newline) in format f: fields joined by one
// space, "-" for absent values. It allocates nothing when dst has room.
func (f *Format) AppendText(dst []byte, r *Record) []byte {
	for i, fd := range f.fields {
		if i > 0 {
			dst = append(dst, ' ')
		}
		if fd == FieldIgnored {
			dst = append(dst, f.extraValue(r, i)...)
			continue
		}
		dst = r.AppendValue(dst, fd, f.version)
	}
	return dst
}

// extraValue is the text of unknown column i of f in r: the value as read, or "-".
func (f *Format) extraValue(r *Record, i int) string {
	if f.names != nil {
		if v, ok := r.ExtraValue(f.names[i]); ok && v != "" {
			return v
		}
	}
	return "-"
}

// ParseError reports a line that does not fit its format: the column (1-based) and field of
// a bad value, or the field counts of a line with the wrong number of fields.
type ParseError struct {
	Column int    // 1-based column of the bad value; 0 for a count mismatch
	Field  string // field name of that column
	Value  string
	Got    int // fields on the line, for a count mismatch
	Want   int // fields in the format
	Err    error
}

func (e *ParseError) Error() string {
	if e.Column == 0 {
		return fmt.Sprintf("flowlog: line has %d fields, format has %d", e.Got, e.Want)
	}
	return fmt.Sprintf("flowlog: column %d (%s): %v", e.Column, e.Field, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ErrFieldCount is matched (errors.Is) by ParseErrors for lines with the wrong field count.
var ErrFieldCount = errors.New("wrong field count")

// Is lets errors.Is(err, ErrFieldCount) identify count mismatches.
func (e *ParseError) Is(target error) bool { return target == ErrFieldCount && e.Column == 0 }

// Parse reads one AWS text line in format f into r (which it resets first; integer fields
// the format lacks are left absent). String fields
// of r refer to line, so callers that reuse a buffer must copy it into a string first
// (ParseBytes does). A trailing "\n" or "\r\n" is ignored.
func (f *Format) Parse(r *Record, line string) error {
	line = strings.TrimRight(line, "\r\n")
	r.Reset()
	r.Kind = f.kind
	r.Null = nullInts
	rest := line
	n := len(f.fields)
	for i, fd := range f.fields {
		var val string
		if i == n-1 {
			val = rest
			if strings.IndexByte(rest, ' ') >= 0 {
				return &ParseError{Got: strings.Count(line, " ") + 1, Want: n}
			}
		} else {
			sp := strings.IndexByte(rest, ' ')
			if sp < 0 {
				return &ParseError{Got: i + 1, Want: n}
			}
			val, rest = rest[:sp], rest[sp+1:]
		}
		if val == "" {
			return &ParseError{Column: i + 1, Field: fd.String(), Value: val, Err: fmt.Errorf("%w: empty (two spaces in a row?)", errBadValue)}
		}
		if fd == FieldIgnored {
			if strings.ContainsAny(val, "\r\n") {
				// Record.Extra keeps one unknown column per line, and a text line cannot
				// hold a line break: such a value could not be written back as read.
				return &ParseError{Column: i + 1, Field: fd.String(), Value: val, Err: fmt.Errorf("%w: line break inside a value", errBadValue)}
			}
			if f.names != nil {
				if r.Extra != "" {
					r.Extra += "\n"
				}
				r.Extra += f.names[i] + " " + val
			}
			continue
		}
		if err := r.SetValue(fd, val); err != nil {
			return &ParseError{Column: i + 1, Field: fd.String(), Value: val, Err: err}
		}
	}
	return nil
}

// ParseBytes is Parse for a line in a reused buffer: it copies the line once.
func (f *Format) ParseBytes(r *Record, line []byte) error {
	return f.Parse(r, string(line))
}

// IsHeader reports whether line looks like the header line of an S3 text file (field names
// rather than values), so that readers can skip or use it.
func IsHeader(line string) bool {
	first, _, _ := strings.Cut(strings.TrimSpace(line), " ")
	_, known := fieldByName[first]
	return known
}
