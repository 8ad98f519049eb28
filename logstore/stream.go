package logstore

import (
	"slices"
	"sort"
	"sync"
	"time"
	"unsafe"

	"github.com/flowtap/flowtap/logstore/logql"
)

// stream is one label set of one tenant: its flushed chunk files, chunks being written,
// the blocks of its open chunk and the head block still taking appends.
type stream struct {
	fp     uint64
	labels logql.Labels
	key    string

	// active and activeSince are guarded by the tenant's mu: the stream counts against
	// the tenant's stream limit (see tenant.acquire).
	active      bool
	activeSince time.Time

	// flushMu orders chunk cuts and file writes, so a newer chunk never reaches disk
	// before an older one (replay skips WAL records up to the newest file's walSeq).
	flushMu sync.Mutex

	mu          sync.Mutex
	files       []*chunkFile
	cut         []*memChunk
	open        []*block
	openBytes   int
	head        []logql.Entry
	lastHeadLen int // entries of the last head closed, to size the next
	headBytes   int
	lineSlab    []byte // holds the head's lines: pushed lines alias the request (see keepLine)
	headSorted  bool
	headRuns    []int  // indexes of head entries older than their predecessor: starts of sorted runs
	firstSeq    uint64 // first WAL record with data in the open chunk; 0 if none
	lastSeq     uint64 // last WAL record appended
	flushedSeq  uint64 // walSeq of the newest chunk file
	openedAt    time.Time
	lastAppend  time.Time
	minT, maxT  int64 // over all data; minT > maxT when empty
}

// memChunk is a cut chunk on its way to a file.
type memChunk struct {
	blocks            []*block
	firstSeq, lastSeq uint64
}

func newStream(fp uint64, labels logql.Labels, key string) *stream {
	return &stream{fp: fp, labels: labels, key: key, minT: 1<<63 - 1, maxT: -1 << 63}
}

// appendEntries adds entries to the head under s.mu, dropping an entry identical to the
// one before it (Loki's rule for retried pushes; query time removes other duplicates).
// It reports how many it dropped and whether the open chunk has reached chunkSize.
func (s *stream) appendEntries(es []logql.Entry, seq uint64, now time.Time, blockSize, chunkSize int) (dropped int, full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstSeq == 0 {
		s.firstSeq = seq
		s.openedAt = now
	}
	s.lastSeq = seq
	s.lastAppend = now
	for _, e := range es {
		if n := len(s.head); n > 0 {
			c := compareEntries(s.head[n-1], e)
			if c == 0 {
				dropped++
				continue
			}
			if c > 0 {
				s.headSorted = false
				s.headRuns = append(s.headRuns, len(s.head))
			}
		} else {
			s.headSorted = true
		}
		e.Line = s.keepLine(e.Line)
		if s.head == nil && s.lastHeadLen > 0 {
			// Most heads close at the block size with about as many lines as the last.
			s.head = make([]logql.Entry, 0, s.lastHeadLen+s.lastHeadLen/8)
		}
		s.head = append(s.head, e)
		s.headBytes += len(e.Line) + 8
		s.minT = min(s.minT, e.Timestamp)
		s.maxT = max(s.maxT, e.Timestamp)
		if s.headBytes >= blockSize {
			dropped += s.closeHeadLocked()
		}
	}
	return dropped, s.openBytes+s.headBytes >= chunkSize
}

// maxLineSlab is the largest slab of head lines. A new slab is as large as the head so
// far: a stream with a line now and then holds no more than its lines.
const maxLineSlab = 16 << 10

// keepLine copies a line into the stream's slab of head lines: the head then holds a few
// slabs rather than one allocation per line (or the whole decoded push its lines alias).
// A slab is only appended to, so lines already handed out never change.
func (s *stream) keepLine(line string) string {
	if line == "" {
		return ""
	}
	if cap(s.lineSlab)-len(s.lineSlab) < len(line) {
		size := min(s.headBytes, maxLineSlab)
		s.lineSlab = make([]byte, 0, max(size, len(line)))
	}
	start := len(s.lineSlab)
	s.lineSlab = append(s.lineSlab, line...)
	return unsafe.String(&s.lineSlab[start], len(line))
}

// closeHeadLocked turns the head into a raw block of the open chunk. The old head slice
// is left untouched for queries that hold it (an unsorted head is sorted in a copy).
func (s *stream) closeHeadLocked() int {
	if len(s.head) == 0 {
		return 0
	}
	b, dropped := newRawBlock(s.head, s.headSorted)
	s.lastHeadLen = len(s.head)
	s.head, s.headBytes, s.headSorted, s.headRuns = nil, 0, true, nil
	if b != nil {
		s.open = append(s.open, b)
		s.openBytes += b.size()
	}
	return dropped
}

// compressOpen compresses the raw blocks of the open chunk outside the ingest lock.
func (s *stream) compressOpen(c Codec) {
	s.mu.Lock()
	var raw []*block
	for _, b := range s.open {
		if b.raw != nil {
			raw = append(raw, b)
		}
	}
	s.mu.Unlock()
	for _, b := range raw {
		cb := b.compressed(c)
		s.mu.Lock()
		for i, ob := range s.open {
			if ob == b {
				s.open[i] = cb
				s.openBytes += cb.size() - b.size()
				break
			}
		}
		s.mu.Unlock()
	}
}

// cutAndFlush moves the open chunk (head included) into a chunk file in dir. onFile is
// called with the file written, under no lock.
func (s *stream) cutAndFlush(dir string, c Codec) (*chunkFile, error) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	s.closeHeadLocked()
	if len(s.open) == 0 {
		// Only duplicates were appended since the last cut: nothing to write, and the
		// WAL records are covered.
		if s.firstSeq != 0 && len(s.cut) == 0 {
			s.flushedSeq = max(s.flushedSeq, s.lastSeq)
		}
		s.firstSeq = 0
		s.mu.Unlock()
		return nil, nil
	}
	mc := &memChunk{blocks: s.open, firstSeq: s.firstSeq, lastSeq: s.lastSeq}
	s.cut = append(s.cut, mc)
	s.open, s.openBytes, s.firstSeq = nil, 0, 0
	s.mu.Unlock()

	blocks := make([]*block, len(mc.blocks))
	for i, b := range mc.blocks {
		blocks[i] = b.compressed(c)
	}
	sort.Slice(blocks, func(i, j int) bool { return blocks[i].meta.MinT < blocks[j].meta.MinT })
	f, err := writeChunkFile(dir, s.fp, s.key, mc.lastSeq, blocks)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Keep the data readable and the WAL held; the next cut retries with it.
		s.cut = slices.DeleteFunc(s.cut, func(m *memChunk) bool { return m == mc })
		s.open = append(blocks, s.open...)
		for _, b := range blocks {
			s.openBytes += b.size()
		}
		if s.firstSeq == 0 || mc.firstSeq < s.firstSeq {
			s.firstSeq = mc.firstSeq
		}
		return nil, err
	}
	s.cut = slices.DeleteFunc(s.cut, func(m *memChunk) bool { return m == mc })
	s.files = append(s.files, f)
	s.flushedSeq = mc.lastSeq
	return f, nil
}

// unflushedSeq is the first WAL record whose entries are not yet in a chunk file of
// this stream, or 0 when all are.
func (s *stream) unflushedSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.firstSeq
	if len(s.head) > 0 && seq == 0 {
		seq = s.lastSeq
	}
	for _, m := range s.cut {
		if seq == 0 || m.firstSeq < seq {
			seq = m.firstSeq
		}
	}
	return seq
}

// source is one sorted-or-not run of entries a query may read.
type source struct {
	minT, maxT int64
	blk        *block        // a block (sorted, deduplicated), or
	head       []logql.Entry // a snapshot of the head,
	headRuns   []int         // made of sorted runs starting at 0 and at these indexes
}

// sources snapshots what a query over [start, end) must read.
func (s *stream) sources(start, end int64) []source {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []source
	add := func(b *block) {
		if b.meta.MaxT >= start && b.meta.MinT < end {
			out = append(out, source{minT: b.meta.MinT, maxT: b.meta.MaxT, blk: b})
		}
	}
	for _, f := range s.files {
		if f.maxT < start || f.minT >= end {
			continue
		}
		for _, b := range f.blockRefs() {
			add(b)
		}
	}
	for _, m := range s.cut {
		for _, b := range m.blocks {
			add(b)
		}
	}
	for _, b := range s.open {
		add(b)
	}
	if len(s.head) > 0 {
		h := s.head[:len(s.head):len(s.head)]
		lo, hi := h[0].Timestamp, h[0].Timestamp
		for _, e := range h {
			lo, hi = min(lo, e.Timestamp), max(hi, e.Timestamp)
		}
		if hi >= start && lo < end {
			out = append(out, source{minT: lo, maxT: hi, head: h, headRuns: s.headRuns[:len(s.headRuns):len(s.headRuns)]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].minT < out[j].minT })
	return out
}

// dataRange reports the stream's time span and whether it holds data.
func (s *stream) dataRange() (int64, int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.minT, s.maxT, s.minT <= s.maxT
}

// dropFilesBefore deletes chunk files wholly older than cutoff (retention) and reports
// the files removed and whether the stream is now empty.
func (s *stream) dropFilesBefore(cutoff int64) (removed []*chunkFile, empty bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.files[:0]
	for _, f := range s.files {
		if f.maxT < cutoff {
			removed = append(removed, f)
		} else {
			kept = append(kept, f)
		}
	}
	s.files = kept
	if len(removed) > 0 {
		s.minT, s.maxT = 1<<63-1, -1<<63
		for _, f := range s.files {
			s.minT, s.maxT = min(s.minT, f.minT), max(s.maxT, f.maxT)
		}
		for _, m := range s.cut {
			for _, b := range m.blocks {
				s.minT, s.maxT = min(s.minT, b.meta.MinT), max(s.maxT, b.meta.MaxT)
			}
		}
		for _, b := range s.open {
			s.minT, s.maxT = min(s.minT, b.meta.MinT), max(s.maxT, b.meta.MaxT)
		}
		for _, e := range s.head {
			s.minT, s.maxT = min(s.minT, e.Timestamp), max(s.maxT, e.Timestamp)
		}
	}
	return removed, len(s.files) == 0 && len(s.cut) == 0 && len(s.open) == 0 && len(s.head) == 0
}

// indexStats adds the stream's chunk, entry and byte counts within [start, end).
func (s *stream) indexStats(start, end int64) (chunks, entries, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.files {
		if f.maxT >= start && f.minT < end {
			chunks++
			for _, b := range f.blocks {
				entries += int64(b.Entries)
				bytes += int64(b.RawLen)
			}
		}
	}
	mem := func(bs []*block) {
		hit := false
		for _, b := range bs {
			if b.meta.MaxT >= start && b.meta.MinT < end {
				hit = true
				entries += int64(b.meta.Entries)
				bytes += int64(b.meta.RawLen)
			}
		}
		if hit {
			chunks++
		}
	}
	for _, m := range s.cut {
		mem(m.blocks)
	}
	headHit := false
	for _, e := range s.head {
		if e.Timestamp >= start && e.Timestamp < end {
			headHit = true
			entries++
			bytes += int64(len(e.Line))
		}
	}
	before := chunks
	mem(s.open)
	if headHit && chunks == before {
		chunks++
	}
	return chunks, entries, bytes
}
