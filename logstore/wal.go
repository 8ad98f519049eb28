package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/flowtap/flowtap/internal/fsx"
)

// FsyncPolicy says when the WAL is fsynced relative to the push acknowledgement.
type FsyncPolicy string

const (
	// FsyncAlways fsyncs before every acknowledgement (concurrent pushes share one fsync).
	FsyncAlways FsyncPolicy = "always"
	// FsyncInterval fsyncs every Config.FsyncInterval; a push is acknowledged once written
	// to the OS, so it survives a process crash but not a power loss within the interval.
	FsyncInterval FsyncPolicy = "interval"
	// FsyncNever leaves syncing to the OS; the same process-crash guarantee as interval.
	FsyncNever FsyncPolicy = "never"
)

// WAL record framing: u32 payload length, u32 CRC-32C of (seq ‖ payload), u64 seq, payload.
// A record is written with one write(2) before the push is acknowledged; at replay a record
// whose length or checksum does not hold is the torn tail of a crash and ends the segment.
const walHeaderLen = 16

// maxWALRecord bounds a record's payload, so a corrupt length cannot make replay allocate
// without limit.
const maxWALRecord = 1 << 30

// wal is a directory of segment files named <first seq, 16 hex digits>.wal.
type wal struct {
	dir         string
	policy      FsyncPolicy
	segmentSize int64

	mu       sync.Mutex // guards f, size, segments, written
	f        *os.File
	size     int64
	segments []walSegment // oldest first; the last one is open
	written  uint64       // last seq written

	syncMu sync.Mutex // one fsync at a time; later callers piggyback
	synced uint64     // last seq known durable

	// damaged is set when a write failed and its partial record could not be cut off:
	// the next append seals the segment and starts a new one, so that no acknowledged
	// record ever follows a torn one (replay stops a segment at its first torn record).
	damaged bool
	// write and truncate are f.Write and f.Truncate; tests replace them to inject a
	// failed or partial write (ENOSPC) and a failing truncate.
	write    func(f *os.File, b []byte) (int, error)
	truncate func(f *os.File, size int64) error
}

type walSegment struct {
	first uint64
	path  string
}

func segmentName(first uint64) string { return fmt.Sprintf("%016x.wal", first) }

// listSegments returns the WAL segments of dir, oldest first.
func listSegments(dir string) ([]walSegment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []walSegment
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".wal") {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, ".wal"), 16, 64)
		if err != nil {
			continue
		}
		segs = append(segs, walSegment{first: first, path: filepath.Join(dir, name)})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
	return segs, nil
}

// replayWAL calls fn for every intact record of every segment, in order, and truncates a
// torn tail. It returns the last seq seen and how many corrupt records ended a segment.
func replayWAL(dir string, fn func(seq uint64, payload []byte) error) (last uint64, corrupt int, err error) {
	segs, err := listSegments(dir)
	if err != nil {
		return 0, 0, err
	}
	for _, seg := range segs {
		f, err := os.OpenFile(seg.path, os.O_RDWR, 0)
		if err != nil {
			return last, corrupt, fmt.Errorf("logstore: open wal %s: %w", seg.path, err)
		}
		data, err := io.ReadAll(f)
		if err != nil {
			f.Close()
			return last, corrupt, fmt.Errorf("logstore: read wal %s: %w", seg.path, err)
		}
		off := 0
		for off < len(data) {
			seq, payload, n := decodeWALRecord(data[off:])
			if n == 0 {
				corrupt++
				break
			}
			if err := fn(seq, payload); err != nil {
				f.Close()
				return last, corrupt, err
			}
			last = max(last, seq)
			off += n
		}
		if off < len(data) {
			// Drop the torn or corrupt tail so that new records never follow garbage.
			if err := f.Truncate(int64(off)); err != nil {
				f.Close()
				return last, corrupt, fmt.Errorf("logstore: truncate wal %s: %w", seg.path, err)
			}
		}
		f.Close()
	}
	return last, corrupt, nil
}

// decodeWALRecord returns the record at the start of b and its framed length, or n == 0
// when b does not start with an intact record.
func decodeWALRecord(b []byte) (seq uint64, payload []byte, n int) {
	if len(b) < walHeaderLen {
		return 0, nil, 0
	}
	l := binary.LittleEndian.Uint32(b)
	if l > maxWALRecord || int(l) > len(b)-walHeaderLen {
		return 0, nil, 0
	}
	sum := binary.LittleEndian.Uint32(b[4:])
	if crc32.Checksum(b[8:walHeaderLen+int(l)], crcTable) != sum {
		return 0, nil, 0
	}
	return binary.LittleEndian.Uint64(b[8:]), b[walHeaderLen : walHeaderLen+int(l)], walHeaderLen + int(l)
}

// openWAL starts a new segment after the existing ones; next is the seq the next record
// will carry.
func openWAL(dir string, policy FsyncPolicy, segmentSize int64, next uint64) (*wal, error) {
	segs, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	w := &wal{dir: dir, policy: policy, segmentSize: segmentSize, segments: segs, written: next - 1, synced: next - 1}
	if err := w.rotate(next); err != nil {
		return nil, err
	}
	return w, nil
}

// rotate closes the open segment and starts one whose first record is seq. mu held.
func (w *wal) rotate(seq uint64) error {
	if w.f != nil {
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("logstore: sync wal: %w", err)
		}
		w.f.Close()
	}
	path := filepath.Join(w.dir, segmentName(seq))
	if n := len(w.segments); w.damaged && n > 0 && w.segments[n-1].path == path {
		// The damaged segment holds no whole record (it starts at seq): replace it.
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("logstore: replace damaged wal segment: %w", err)
		}
		w.segments = w.segments[:n-1]
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, fsx.FileMode)
	if err != nil {
		return fmt.Errorf("logstore: create wal segment: %w", err)
	}
	if err := fsx.SyncDir(w.dir); err != nil {
		f.Close()
		return fmt.Errorf("logstore: %w", err)
	}
	st, _ := f.Stat()
	w.f, w.size = f, st.Size()
	if n := len(w.segments); n == 0 || w.segments[n-1].path != path {
		w.segments = append(w.segments, walSegment{first: seq, path: path})
	}
	return nil
}

// append writes one record with the next seq, in one write(2). rec is the record: room
// for the walHeaderLen bytes of its header, which append fills in, then the payload. The
// store calls it under its ingest lock, which orders WAL records and head appends the
// same way.
func (w *wal) append(rec []byte) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	seq := w.written + 1
	if w.size >= w.segmentSize {
		if err := w.rotate(seq); err != nil {
			return 0, err
		}
	}
	if w.damaged {
		if err := w.rotate(seq); err != nil {
			return 0, err
		}
		w.damaged = false
	}
	need := len(rec)
	b := rec
	binary.LittleEndian.PutUint32(b, uint32(len(rec)-walHeaderLen))
	binary.LittleEndian.PutUint64(b[8:], seq)
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[8:], crcTable))
	if n, err := w.writeRecord(b); err != nil {
		if n > 0 {
			// A partial record (ENOSPC, EIO) must not stay in front of later records:
			// cut the file back to the last whole record, or seal this segment.
			if terr := w.truncateTo(w.size); terr != nil {
				w.damaged = true
			}
		}
		return 0, fmt.Errorf("logstore: write wal: %w", err)
	}
	w.size += int64(need)
	w.written = seq
	return seq, nil
}

func (w *wal) writeRecord(b []byte) (int, error) {
	if w.write != nil {
		return w.write(w.f, b)
	}
	return w.f.Write(b)
}

func (w *wal) truncateTo(size int64) error {
	if w.truncate != nil {
		return w.truncate(w.f, size)
	}
	return w.f.Truncate(size)
}

// syncTo makes every record up to seq durable. Concurrent callers share one fsync.
func (w *wal) syncTo(seq uint64) error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.synced >= seq {
		return nil
	}
	w.mu.Lock()
	f, upTo := w.f, w.written
	w.mu.Unlock()
	// Records before seq in an already rotated segment were synced by rotate.
	if f == nil {
		return nil
	}
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("logstore: fsync wal: %w", err)
	}
	w.synced = upTo
	return nil
}

// syncNow fsyncs everything written so far (the FsyncInterval timer).
func (w *wal) syncNow() error {
	w.mu.Lock()
	upTo := w.written
	w.mu.Unlock()
	return w.syncTo(upTo)
}

// truncateBefore deletes whole segments all of whose records are < seq (flushed to chunks).
func (w *wal) truncateBefore(seq uint64) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for len(w.segments) > 1 && w.segments[1].first <= seq {
		if err := os.Remove(w.segments[0].path); err != nil && !os.IsNotExist(err) {
			return n, fmt.Errorf("logstore: remove wal segment: %w", err)
		}
		w.segments = w.segments[1:]
		n++
	}
	return n, nil
}

// bytes is the WAL's size on disk.
func (w *wal) bytes() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var n int64
	for _, s := range w.segments[:len(w.segments)-1] {
		if st, err := os.Stat(s.path); err == nil {
			n += st.Size()
		}
	}
	return n + w.size
}

func (w *wal) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Sync()
	w.f.Close()
	w.f = nil
	return err
}

// removeAll deletes every segment of a closed WAL.
func (w *wal) removeAll() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, sg := range w.segments {
		if err := os.Remove(sg.path); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("logstore: remove wal segment: %w", err)
		}
	}
	w.segments = nil
	if err := fsx.SyncDir(w.dir); err != nil {
		return fmt.Errorf("logstore: %w", err)
	}
	return nil
}
