package generate

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// JSONLines writes VPN events as one JSON object per line, as CloudWatch Logs shows them.
type JSONLines struct {
	w   io.Writer
	buf []byte
}

// NewJSONLines returns a VPNWriter to w.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{w: w} }

// WriteVPNEvents implements VPNWriter.
func (j *JSONLines) WriteVPNEvents(_ context.Context, evs []VPNEvent) error {
	buf := j.buf[:0]
	for i := range evs {
		buf = evs[i].AppendJSON(buf)
		buf = append(buf, '\n')
	}
	j.buf = buf
	if _, err := j.w.Write(buf); err != nil {
		return fmt.Errorf("generate: write: %w", err)
	}
	return nil
}

// StreamFiles writes VPN events under dir the way CloudWatch Logs groups them: one file
// per log and stream, dir/{tunnel|bgp|client}/{stream}.log, one JSON object per line.
type StreamFiles struct {
	dir   string
	files map[string]*streamFile
	buf   []byte
}

type streamFile struct {
	f  *os.File
	bw *bufio.Writer
}

// NewStreamFiles returns a VPNWriter writing below dir.
func NewStreamFiles(dir string) *StreamFiles {
	return &StreamFiles{dir: dir, files: map[string]*streamFile{}}
}

// WriteVPNEvents implements VPNWriter.
func (s *StreamFiles) WriteVPNEvents(_ context.Context, evs []VPNEvent) error {
	for i := range evs {
		e := &evs[i]
		path := filepath.Join(s.dir, e.Log, e.Stream+".log")
		sf := s.files[path]
		if sf == nil {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return fmt.Errorf("generate: %w", err)
			}
			f, err := os.Create(path)
			if err != nil {
				return fmt.Errorf("generate: %w", err)
			}
			sf = &streamFile{f: f, bw: bufio.NewWriterSize(f, 64<<10)}
			s.files[path] = sf
		}
		s.buf = e.AppendJSON(s.buf[:0])
		s.buf = append(s.buf, '\n')
		if _, err := sf.bw.Write(s.buf); err != nil {
			return fmt.Errorf("generate: write %s: %w", path, err)
		}
	}
	return nil
}

// Close flushes and closes every file (in name order, so errors are reproducible).
func (s *StreamFiles) Close() error {
	names := slices.Sorted(maps.Keys(s.files))
	var first error
	for _, n := range names {
		sf := s.files[n]
		if err := sf.bw.Flush(); err != nil && first == nil {
			first = fmt.Errorf("generate: write %s: %w", n, err)
		}
		if err := sf.f.Close(); err != nil && first == nil {
			first = fmt.Errorf("generate: close %s: %w", n, err)
		}
	}
	s.files = map[string]*streamFile{}
	return first
}
