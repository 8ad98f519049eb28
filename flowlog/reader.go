package flowlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// Reader reads AWS flow log text: plain or gzip (detected by its magic bytes, including
// several concatenated gzip members), with or without header lines. A header line sets the
// format for the lines after it, so concatenated S3 files each with a header read correctly.
// Blank lines are skipped; CRLF is tolerated.
type Reader struct {
	name   string
	br     *bufio.Reader
	format *Format
	fixed  bool // the format was given by the caller; header lines are only skipped
	line   int
	buf    []byte
}

// NewReader reads from r. If format is nil, the first non-blank line must be a header. name
// is used in error messages (a file name, or "stdin").
func NewReader(r io.Reader, name string, format *Format) (*Reader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		br = bufio.NewReaderSize(zr, 256<<10)
	}
	return &Reader{name: name, br: br, format: format, fixed: format != nil}, nil
}

// Format is the format in effect (nil before a header was read when none was given).
func (rd *Reader) Format() *Format { return rd.format }

// Line is the number of the line read last.
func (rd *Reader) Line() int { return rd.line }

// Read parses the next record into rec; it returns io.EOF at the end. Errors name the
// input and line number and wrap the ParseError.
func (rd *Reader) Read(rec *Record) error {
	for {
		line, err := rd.readLine()
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if IsHeader(string(line)) {
			if rd.fixed {
				continue
			}
			f, err := FormatFromHeader(string(line))
			if err != nil {
				return fmt.Errorf("%s:%d: %w", rd.name, rd.line, err)
			}
			rd.format = f
			continue
		}
		if rd.format == nil {
			return fmt.Errorf("%s:%d: no header line and no --format given", rd.name, rd.line)
		}
		if err := rd.format.ParseBytes(rec, line); err != nil {
			return fmt.Errorf("%s:%d: %w", rd.name, rd.line, err)
		}
		return nil
	}
}

func (rd *Reader) readLine() ([]byte, error) {
	rd.buf = rd.buf[:0]
	for {
		chunk, err := rd.br.ReadSlice('\n')
		rd.buf = append(rd.buf, chunk...)
		switch {
		case err == nil:
			rd.line++
			return rd.buf[:len(rd.buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			if len(rd.buf) > 1<<20 {
				return nil, fmt.Errorf("%s:%d: line longer than 1 MiB", rd.name, rd.line+1)
			}
			continue
		case errors.Is(err, io.EOF):
			if len(rd.buf) > 0 {
				rd.line++
				return rd.buf, nil // no final newline: tolerated
			}
			return nil, io.EOF
		default:
			return nil, fmt.Errorf("%s: %w", rd.name, err)
		}
	}
}
