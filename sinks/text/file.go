// Package text writes flow records as AWS delivers them to S3 in plain-text format: one
// gzip member per object, the format's header line first, one record per line ending in
// "\n", under AWS's key layout and file names (package lake).
//
// FileWriter writes one file; Rotator routes a stream of records to files by account,
// region and 5-minute bucket (used by `flowtap generate --out`); Sink is the Kafka-side
// destination (sinks.Sink) that names files from batch offsets.
//
// Budget: encoding is flowlog's AppendText (≥ 5 M records/s/core); gzip (klauspost,
// default level) dominates, so a file writer runs at roughly the compressor's speed.
package text

import (
	"bufio"
	"context"
	"fmt"

	"github.com/klauspost/compress/gzip"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/lake/objstore"
)

// Ext is the file name extension AWS uses for text files.
const Ext = ".log.gz"

// FileWriter writes one gzip text file. Records become visible only when Close returns
// nil: the file is staged, then fsynced and renamed (or uploaded) by the store.
type FileWriter struct {
	key     string
	format  *flowlog.Format
	obj     objstore.Writer
	gz      *gzip.Writer
	bw      *bufio.Writer
	line    []byte
	records int
	raw     int64
	err     error
}

// Create starts the file key in store and writes the header line of format. level is a
// gzip level (0 means gzip.DefaultCompression).
func Create(ctx context.Context, store objstore.Store, key string, format *flowlog.Format, level int) (*FileWriter, error) {
	obj, err := store.Create(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("text: %w", err)
	}
	if level == 0 {
		level = gzip.DefaultCompression
	}
	gz, err := gzip.NewWriterLevel(obj, level)
	if err != nil {
		obj.Abort()
		return nil, fmt.Errorf("text: gzip level %d: %w", level, err)
	}
	w := &FileWriter{key: key, format: format, obj: obj, gz: gz, bw: bufio.NewWriterSize(gz, 64<<10),
		line: make([]byte, 0, 512)}
	w.bw.WriteString(format.Header())
	w.bw.WriteByte('\n')
	w.raw = int64(len(format.Header()) + 1)
	return w, nil
}

// Key is the object key the file will have.
func (w *FileWriter) Key() string { return w.key }

// Records is the number of records written.
func (w *FileWriter) Records() int { return w.records }

// RawBytes is the uncompressed size of the text written so far, header included.
func (w *FileWriter) RawBytes() int64 { return w.raw }

// Size is roughly the compressed size so far (what the compressor has emitted).
func (w *FileWriter) Size() int64 { return w.obj.Size() }

// Write appends r as one line.
func (w *FileWriter) Write(r *flowlog.Record) error {
	if w.err != nil {
		return w.err
	}
	w.line = w.format.AppendText(w.line[:0], r)
	w.line = append(w.line, '\n')
	if _, err := w.bw.Write(w.line); err != nil {
		w.err = fmt.Errorf("text: write %s: %w", w.key, err)
		return w.err
	}
	w.records++
	w.raw += int64(len(w.line))
	return nil
}

// WriteRecords appends recs in order.
func (w *FileWriter) WriteRecords(recs []flowlog.Record) error {
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// Close finishes the gzip member and commits the file durably. On error nothing is
// visible under the key (or a previous version stays).
func (w *FileWriter) Close(ctx context.Context) error {
	if w.err != nil {
		w.obj.Abort()
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.obj.Abort()
		return fmt.Errorf("text: flush %s: %w", w.key, err)
	}
	if err := w.gz.Close(); err != nil {
		w.obj.Abort()
		return fmt.Errorf("text: gzip %s: %w", w.key, err)
	}
	if err := w.obj.Commit(ctx); err != nil {
		return fmt.Errorf("text: %w", err)
	}
	return nil
}

// Abort discards the file.
func (w *FileWriter) Abort() { w.obj.Abort() }
