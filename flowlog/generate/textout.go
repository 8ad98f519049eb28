package generate

import (
	"context"
	"fmt"
	"io"

	"github.com/flowtap/flowtap/flowlog"
)

// TextWriter encodes records as AWS text lines in one format and writes them to an
// io.Writer, one Write per batch. It reuses one buffer, so encoding allocates nothing.
type TextWriter struct {
	w      io.Writer
	format *flowlog.Format
	buf    []byte
	header bool
}

// NewTextWriter returns a writer of format lines to w. With header, the format's header
// line (as at the top of AWS's S3 files) precedes the first record.
func NewTextWriter(w io.Writer, format *flowlog.Format, header bool) *TextWriter {
	return &TextWriter{w: w, format: format, buf: make([]byte, 0, 1<<20), header: header}
}

// WriteRecords implements flowlog.RecordWriter.
func (t *TextWriter) WriteRecords(_ context.Context, recs []flowlog.Record) error {
	buf := t.buf[:0]
	if t.header {
		buf = append(buf, t.format.Header()...)
		buf = append(buf, '\n')
		t.header = false
	}
	for i := range recs {
		buf = t.format.AppendText(buf, &recs[i])
		buf = append(buf, '\n')
	}
	t.buf = buf
	if _, err := t.w.Write(buf); err != nil {
		return fmt.Errorf("generate: write: %w", err)
	}
	return nil
}
