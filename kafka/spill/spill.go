// Package spill is the producer's bounded on-disk queue: when Kafka is unreachable, encoded
// messages wait here and are sent, oldest first, when it returns.
//
// A queue is a directory of segment files named by a sequence number (%020d.seg). Each
// segment holds records framed as [u32 length][u32 CRC-32C of the payload][payload], all
// little-endian; the payload is one Message (see Message.appendTo). Records are appended to
// the tail segment, which is fsynced when it is sealed (on reaching SegmentBytes, before it is
// read, and on Close). Reading takes the head segment whole; Remove deletes it once its
// messages are acknowledged. Prepend writes a new, already fsynced segment in front of the
// head, so that messages taken out of memory keep their place ahead of what was spilled.
//
// The queue holds at most MaxBytes of appended data: Append refuses what does not fit with
// ErrFull, and the caller counts and logs it. A torn or corrupt record (a crash mid-append)
// ends its segment: the messages before it are delivered, the rest are counted as corrupt.
//
// A Set (OpenSet) divides a spill into lanes, one Queue each under Dir/set-<seq>-lanes-<n>/,
// for a producer that sends in parallel lanes by key; the queues of an earlier lane count or
// of the single-queue layout come back as Older, to be drained first.
//
// Hand-written because no maintained Go library offers a small, bounded, CRC-checked FIFO of
// byte records with prepend; the format is a few lines of framing.
package spill

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowtap/flowtap/internal/fsx"
)

// ErrFull is returned by Append when the messages would take the queue above MaxBytes.
var ErrFull = errors.New("spill: queue full")

// ErrCorrupt is wrapped by decode errors: a short, oversized or CRC-mismatched record.
var ErrCorrupt = errors.New("spill: corrupt record")

// Header is one Kafka message header.
type Header struct {
	Key   string
	Value []byte
}

// Message is what the queue keeps: a Kafka message before it is produced.
type Message struct {
	Topic   string
	Key     []byte
	Headers []Header
	Value   []byte
}

// Size is the number of bytes m takes in a segment, framing included.
func (m *Message) Size() int {
	n := frameHeader + 4*binary.MaxVarintLen32 + len(m.Topic) + len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += 2*binary.MaxVarintLen32 + len(h.Key) + len(h.Value)
	}
	return n
}

const (
	frameHeader   = 8
	maxRecordSize = 64 << 20 // larger lengths are corruption, not data
	segSuffix     = ".seg"
	// firstSeq leaves room below for Prepend on a fresh queue.
	firstSeq uint64 = 1 << 40
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendTo appends m's payload encoding: topic, key, headers, then the value to the end.
func (m *Message) appendTo(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(m.Topic)))
	dst = append(dst, m.Topic...)
	dst = binary.AppendUvarint(dst, uint64(len(m.Key)))
	dst = append(dst, m.Key...)
	dst = binary.AppendUvarint(dst, uint64(len(m.Headers)))
	for _, h := range m.Headers {
		dst = binary.AppendUvarint(dst, uint64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = binary.AppendUvarint(dst, uint64(len(h.Value)))
		dst = append(dst, h.Value...)
	}
	return append(dst, m.Value...)
}

// AppendRecord appends m framed as a segment record to dst.
func AppendRecord(dst []byte, m *Message) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeader)...)
	dst = m.appendTo(dst)
	payload := dst[start+frameHeader:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	return dst
}

// DecodeRecord reads one framed record from the start of data and returns the message (its
// slices alias data) and the number of bytes consumed.
func DecodeRecord(data []byte) (Message, int, error) {
	if len(data) < frameHeader {
		return Message{}, 0, fmt.Errorf("%w: %d bytes left, frame needs %d", ErrCorrupt, len(data), frameHeader)
	}
	n := binary.LittleEndian.Uint32(data)
	if n > maxRecordSize || int(n) > len(data)-frameHeader {
		return Message{}, 0, fmt.Errorf("%w: length %d exceeds the %d bytes left", ErrCorrupt, n, len(data)-frameHeader)
	}
	payload := data[frameHeader : frameHeader+int(n)]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(data[4:]) {
		return Message{}, 0, fmt.Errorf("%w: CRC mismatch", ErrCorrupt)
	}
	m, err := decodePayload(payload)
	if err != nil {
		return Message{}, 0, err
	}
	return m, frameHeader + int(n), nil
}

func decodePayload(p []byte) (Message, error) {
	var m Message
	field := func(what string) ([]byte, error) {
		l, k := binary.Uvarint(p)
		if k <= 0 || l > uint64(len(p)-k) {
			return nil, fmt.Errorf("%w: bad %s length", ErrCorrupt, what)
		}
		v := p[k : k+int(l)]
		p = p[k+int(l):]
		return v, nil
	}
	topic, err := field("topic")
	if err != nil {
		return m, err
	}
	m.Topic = string(topic)
	if m.Key, err = field("key"); err != nil {
		return m, err
	}
	nh, k := binary.Uvarint(p)
	if k <= 0 || nh > uint64(len(p)) {
		return m, fmt.Errorf("%w: bad header count", ErrCorrupt)
	}
	p = p[k:]
	if nh > 0 {
		m.Headers = make([]Header, 0, nh)
	}
	for range nh {
		hk, err := field("header key")
		if err != nil {
			return m, err
		}
		hv, err := field("header value")
		if err != nil {
			return m, err
		}
		m.Headers = append(m.Headers, Header{Key: string(hk), Value: hv})
	}
	m.Value = p
	return m, nil
}

// Config sizes a queue.
type Config struct {
	Dir          string
	MaxBytes     int64 // cap on appended data; Append beyond it fails with ErrFull
	SegmentBytes int64 // the tail is sealed (fsynced) at this size
}

// DefaultConfig is 1 GiB in 16 MiB segments under DefaultDir().
func DefaultConfig() Config {
	return Config{Dir: DefaultDir(), MaxBytes: 1 << 30, SegmentBytes: 16 << 20}
}

// DefaultDir is where a spill lives when no directory is configured: a fixed place per user,
// never relative to the working directory (a command run from another directory would not
// find, and so never send, what an earlier run spilled): $XDG_STATE_HOME/flowtap/spill,
// else ~/.local/state/flowtap/spill, else /var/lib/flowtap/spill without a home directory.
func DefaultDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "flowtap", "spill")
	}
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "state", "flowtap", "spill")
	}
	return filepath.Join(string(filepath.Separator), "var", "lib", "flowtap", "spill")
}

type segment struct {
	seq     uint64
	bytes   int64
	records int64
}

// Queue is a FIFO of messages in segment files. It is safe for concurrent use.
type Queue struct {
	cfg Config

	mu      sync.Mutex
	segs    []segment // oldest first; the last one is the tail when tail != nil
	tail    *os.File
	buf     []byte
	bytes   int64
	records int64
}

// Open opens (creating if needed) the queue in cfg.Dir and indexes the segments already there.
func Open(cfg Config) (*Queue, error) {
	if cfg.SegmentBytes <= 0 {
		cfg.SegmentBytes = DefaultConfig().SegmentBytes
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultConfig().MaxBytes
	}
	if err := fsx.MkdirAll(cfg.Dir); err != nil {
		return nil, fmt.Errorf("spill: create %s: %w", cfg.Dir, err)
	}
	ents, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("spill: list %s: %w", cfg.Dir, err)
	}
	q := &Queue{cfg: cfg}
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(cfg.Dir, name)) // an interrupted Prepend or Replace
			continue
		}
		seqStr, ok := strings.CutSuffix(name, segSuffix)
		if !ok {
			continue
		}
		seq, err := strconv.ParseUint(seqStr, 10, 64)
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("spill: stat %s: %w", name, err)
		}
		if info.Size() == 0 {
			os.Remove(filepath.Join(cfg.Dir, name))
			continue
		}
		recs, _ := countRecords(filepath.Join(cfg.Dir, name))
		q.segs = append(q.segs, segment{seq: seq, bytes: info.Size(), records: recs})
		q.bytes += info.Size()
		q.records += recs
	}
	sort.Slice(q.segs, func(i, j int) bool { return q.segs[i].seq < q.segs[j].seq })
	return q, nil
}

func countRecords(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var n int64
	for len(data) > 0 {
		_, k, err := DecodeRecord(data)
		if err != nil {
			return n, err
		}
		n++
		data = data[k:]
	}
	return n, nil
}

func (q *Queue) path(seq uint64) string {
	return filepath.Join(q.cfg.Dir, fmt.Sprintf("%020d%s", seq, segSuffix))
}

// Depth returns the number of messages and bytes in the queue.
func (q *Queue) Depth() (records, bytes int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.records, q.bytes
}

// Len returns the number of messages in the queue.
func (q *Queue) Len() int64 {
	r, _ := q.Depth()
	return r
}

// Append adds msgs at the tail. It either appends all of them or, when they would take the
// queue above MaxBytes, none (ErrFull).
func (q *Queue) Append(msgs []Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.buf = q.buf[:0]
	for i := range msgs {
		q.buf = AppendRecord(q.buf, &msgs[i])
	}
	if q.bytes+int64(len(q.buf)) > q.cfg.MaxBytes {
		return fmt.Errorf("%w: %d bytes queued, %d more would pass the %d-byte cap", ErrFull, q.bytes, len(q.buf), q.cfg.MaxBytes)
	}
	if q.tail == nil {
		seq := firstSeq
		if len(q.segs) > 0 {
			seq = q.segs[len(q.segs)-1].seq + 1
		}
		f, err := os.OpenFile(q.path(seq), os.O_CREATE|os.O_EXCL|os.O_WRONLY, fsx.FileMode)
		if err != nil {
			return fmt.Errorf("spill: create segment: %w", err)
		}
		q.tail = f
		q.segs = append(q.segs, segment{seq: seq})
	}
	if _, err := q.tail.Write(q.buf); err != nil {
		// The segment may hold a torn record now; seal it so reading stops at the tear.
		q.sealLocked()
		return fmt.Errorf("spill: append: %w", err)
	}
	t := &q.segs[len(q.segs)-1]
	t.bytes += int64(len(q.buf))
	t.records += int64(len(msgs))
	q.bytes += int64(len(q.buf))
	q.records += int64(len(msgs))
	if t.bytes >= q.cfg.SegmentBytes {
		return q.sealLocked()
	}
	return nil
}

// sealLocked fsyncs and closes the tail segment.
func (q *Queue) sealLocked() error {
	if q.tail == nil {
		return nil
	}
	f := q.tail
	q.tail = nil
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spill: seal %s: %w", f.Name(), err)
	}
	return nil
}

// writeSegment writes msgs to a fresh file for seq, fsynced, through a temp file and rename.
func (q *Queue) writeSegment(seq uint64, msgs []Message) (int64, error) {
	buf := make([]byte, 0, 64<<10)
	for i := range msgs {
		buf = AppendRecord(buf, &msgs[i])
	}
	final := q.path(seq)
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, fsx.FileMode)
	if err != nil {
		return 0, fmt.Errorf("spill: create %s: %w", tmp, err)
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("spill: write segment %s: %w", final, err)
	}
	return int64(len(buf)), fsx.SyncDir(q.cfg.Dir)
}

// AppendSynced adds msgs at the tail as one new segment, fsynced (file and directory) before
// it returns, for a caller that acknowledges the messages once they are on disk. Like
// Append it takes all of them or, past MaxBytes, none (ErrFull).
func (q *Queue) AppendSynced(msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	size := int64(0)
	for i := range msgs {
		size += int64(msgs[i].Size())
	}
	if q.bytes+size > q.cfg.MaxBytes {
		return fmt.Errorf("%w: %d bytes queued, %d more would pass the %d-byte cap", ErrFull, q.bytes, size, q.cfg.MaxBytes)
	}
	if err := q.sealLocked(); err != nil {
		return err
	}
	seq := firstSeq
	if len(q.segs) > 0 {
		seq = q.segs[len(q.segs)-1].seq + 1
	}
	n, err := q.writeSegment(seq, msgs)
	if err != nil {
		return err
	}
	q.segs = append(q.segs, segment{seq: seq, bytes: n, records: int64(len(msgs))})
	q.bytes += n
	q.records += int64(len(msgs))
	return nil
}

// Prepend puts msgs in front of everything queued, as one new fsynced segment. It ignores
// MaxBytes: the messages were already accepted into memory and must not be lost.
func (q *Queue) Prepend(msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	seq := firstSeq
	if len(q.segs) > 0 {
		seq = q.segs[0].seq - 1
	}
	n, err := q.writeSegment(seq, msgs)
	if err != nil {
		return err
	}
	q.segs = append([]segment{{seq: seq, bytes: n, records: int64(len(msgs))}}, q.segs...)
	q.bytes += n
	q.records += int64(len(msgs))
	return nil
}

// Head reads the oldest segment. It returns its id for Remove or Replace, its messages (the
// ones before any corrupt record) and the number of corrupt records skipped (at most 1: a
// tear ends the segment). ok is false when the queue is empty.
func (q *Queue) Head() (id uint64, msgs []Message, corrupt int, ok bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.segs) == 0 {
		return 0, nil, 0, false, nil
	}
	if len(q.segs) == 1 && q.tail != nil {
		if err := q.sealLocked(); err != nil {
			return 0, nil, 0, false, err
		}
	}
	s := q.segs[0]
	data, err := os.ReadFile(q.path(s.seq))
	if err != nil {
		return 0, nil, 0, false, fmt.Errorf("spill: read segment: %w", err)
	}
	for len(data) > 0 {
		m, k, derr := DecodeRecord(data)
		if derr != nil {
			corrupt = 1
			break
		}
		msgs = append(msgs, m)
		data = data[k:]
	}
	return s.seq, msgs, corrupt, true, nil
}

// Remove deletes the segment id (from Head) once its messages are delivered.
func (q *Queue) Remove(id uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, s := range q.segs {
		if s.seq != id {
			continue
		}
		if i == len(q.segs)-1 && q.tail != nil {
			return fmt.Errorf("spill: segment %d is the open tail", id)
		}
		if err := os.Remove(q.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spill: remove segment: %w", err)
		}
		q.segs = append(q.segs[:i], q.segs[i+1:]...)
		q.bytes -= s.bytes
		q.records -= s.records
		return nil
	}
	return nil
}

// Replace rewrites segment id with msgs, what is left of it after a partial delivery.
func (q *Queue) Replace(id uint64, msgs []Message) error {
	if len(msgs) == 0 {
		return q.Remove(id)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, s := range q.segs {
		if s.seq != id {
			continue
		}
		n, err := q.writeSegment(id, msgs)
		if err != nil {
			return err
		}
		q.bytes += n - s.bytes
		q.records += int64(len(msgs)) - s.records
		q.segs[i].bytes, q.segs[i].records = n, int64(len(msgs))
		return nil
	}
	return fmt.Errorf("spill: no segment %d", id)
}

// Close seals the tail segment.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sealLocked()
}

// WriteDeadLetter writes msgs, which can never be produced, to a new file in dir named by the
// time and reason (<UTC time>-<reason>.seg), in the segment format, so that nothing is lost
// and an operator can inspect them or send them again once the cause is fixed. It returns
// the file's path.
func WriteDeadLetter(dir, reason string, msgs []Message) (string, error) {
	if err := fsx.MkdirAll(dir); err != nil {
		return "", fmt.Errorf("spill: dead-letter dir: %w", err)
	}
	var buf []byte
	for i := range msgs {
		buf = AppendRecord(buf, &msgs[i])
	}
	name := time.Now().UTC().Format("20060102T150405.000000000Z") + "-" + reason + segSuffix
	path := filepath.Join(dir, name)
	if err := fsx.WriteFile(path, buf); err != nil {
		return "", fmt.Errorf("spill: dead-letter: %w", err)
	}
	return path, nil
}

// ReadFile decodes a segment or dead-letter file. It stops at the first corrupt record and
// returns the messages before it with the error.
func ReadFile(path string) ([]Message, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var msgs []Message
	for len(data) > 0 {
		m, k, err := DecodeRecord(data)
		if err != nil {
			return msgs, fmt.Errorf("%s: %w", path, err)
		}
		msgs = append(msgs, m)
		data = data[k:]
	}
	return msgs, nil
}
