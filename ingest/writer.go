package ingest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/flowtap/flowtap/flowlog"
)

// LineWriter is a flowlog.RecordWriter that writes one record per line to an io.Writer
// (stdout for `flowtap collect --output text|json`). It is safe for concurrent use.
type LineWriter struct {
	mu     sync.Mutex
	w      *bufio.Writer
	append func(dst []byte, r *flowlog.Record) []byte
	buf    []byte
}

// NewTextWriter writes records as AWS text lines in format f.
func NewTextWriter(w io.Writer, f *flowlog.Format) *LineWriter {
	return &LineWriter{w: bufio.NewWriterSize(w, 64<<10), append: f.AppendText}
}

// NewJSONWriter writes records as JSON objects, one per line: with a format, exactly its
// fields in order (flowlog Format.AppendJSON); without (f == nil), every field the record
// has (flowlog.AppendJSON), version 5 — the highest version of the fields a mirror
// collector fills.
func NewJSONWriter(w io.Writer, f *flowlog.Format) *LineWriter {
	lw := &LineWriter{w: bufio.NewWriterSize(w, 64<<10)}
	if f != nil {
		lw.append = f.AppendJSON
	} else {
		lw.append = func(dst []byte, r *flowlog.Record) []byte {
			if r.Version != 0 {
				return flowlog.AppendJSON(dst, r)
			}
			r.Version = 5
			dst = flowlog.AppendJSON(dst, r)
			r.Version = 0
			return dst
		}
	}
	return lw
}

// WriteRecords writes recs and flushes, so that each batch reaches the output whole.
func (lw *LineWriter) WriteRecords(_ context.Context, recs []flowlog.Record) error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	for i := range recs {
		lw.buf = append(lw.append(lw.buf[:0], &recs[i]), '\n')
		if _, err := lw.w.Write(lw.buf); err != nil {
			return fmt.Errorf("ingest: write records: %w", err)
		}
	}
	if err := lw.w.Flush(); err != nil {
		return fmt.Errorf("ingest: write records: %w", err)
	}
	return nil
}
