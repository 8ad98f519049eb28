package logstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/fsx"
	"github.com/flowtap/flowtap/logstore/logql"
)

// Store is the embedded log store: WAL, per-stream chunks, per-tenant label index and
// the Loki HTTP API over them.
type Store struct {
	cfg     Config
	codec   Codec
	m       *metrics
	gather  prometheus.Gatherer
	log     *slog.Logger
	walDir  string
	chunks  string
	limits  logql.Limits
	handler http.Handler

	mu      sync.RWMutex
	tenants map[string]*tenant

	ingestMu sync.Mutex // orders WAL records and head appends identically
	wal      *wal
	dirLock  *fsx.Lock // held from open to shutdown: one store per data directory

	rate rateLimiter

	ready     chan struct{}
	readyOnce sync.Once
	closed    atomic.Bool
	diskBytes atomic.Int64
}

// Error is a request the store refuses, with the HTTP status Loki gives for it.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// New validates cfg and wires a Store; it does no I/O. Metrics go to d.Registry; /metrics
// serves it when it also gathers.
func New(cfg Config, d component.Deps) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	codec, _ := ParseCodec(cfg.ChunkEncoding)
	d = d.WithDefaults()
	s := &Store{
		cfg:     cfg,
		codec:   codec,
		log:     d.Log.With("component", "logstore"),
		walDir:  filepath.Join(cfg.DataDir, "wal"),
		chunks:  filepath.Join(cfg.DataDir, "chunks"),
		tenants: map[string]*tenant{},
		ready:   make(chan struct{}),
		limits: logql.Limits{MaxSeries: cfg.MaxQuerySeries, MaxLines: cfg.MaxEntriesLimit,
			MaxQueryRange: cfg.MaxQueryLength, Timeout: cfg.QueryTimeout},
	}
	s.gather = prometheus.DefaultGatherer
	if g, ok := d.Registry.(prometheus.Gatherer); ok {
		s.gather = g
	}
	m, err := newMetrics(d.Registry, s)
	if err != nil {
		return nil, err
	}
	s.m = m
	s.handler = s.routes()
	return s, nil
}

// Ready is closed once recovery has finished and the store takes pushes and queries.
func (s *Store) Ready() <-chan struct{} { return s.ready }

// Run recovers the data directory (chunk headers, then WAL replay), serves the HTTP API
// on cfg.Listen if set, cuts and flushes chunks by age, applies retention, and on ctx's
// end flushes every open chunk to disk and closes the WAL.
func (s *Store) Run(ctx context.Context) error {
	if err := s.open(); err != nil {
		return err
	}
	s.readyOnce.Do(func() { close(s.ready) })

	var srv *http.Server
	errc := make(chan error, 1)
	if s.cfg.Listen != "" {
		ln, err := net.Listen("tcp", s.cfg.Listen)
		if err != nil {
			s.shutdown()
			return fmt.Errorf("logstore: listen %s: %w", s.cfg.Listen, err)
		}
		srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
		s.log.Info("logstore listening", "addr", ln.Addr().String(), "data", s.cfg.DataDir)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}

	tick := time.NewTicker(flushCheckPeriod(s.cfg))
	defer tick.Stop()
	var syncTick <-chan time.Time
	if s.cfg.Fsync == FsyncInterval {
		t := time.NewTicker(s.cfg.FsyncInterval)
		defer t.Stop()
		syncTick = t.C
	}
	lastRetention := time.Time{}
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-errc:
			runErr = fmt.Errorf("logstore: serve: %w", err)
			break loop
		case <-syncTick:
			if err := s.wal.syncNow(); err != nil {
				s.log.Error("wal fsync", "err", err)
			}
		case now := <-tick.C:
			s.flushDue(now, false, time.Time{})
			if s.cfg.Retention > 0 && now.Sub(lastRetention) >= time.Minute {
				s.applyRetention(now)
				lastRetention = now
			}
		}
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		srv.Shutdown(sctx)
		cancel()
	}
	if err := s.shutdown(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

func flushCheckPeriod(cfg Config) time.Duration {
	p := 10 * time.Second
	for _, d := range []time.Duration{cfg.MaxChunkAge / 4, cfg.ChunkIdlePeriod / 4} {
		if d > 0 && d < p {
			p = d
		}
	}
	return max(p, 10*time.Millisecond)
}

// shutdown flushes all open chunks, so the WAL is empty on a clean stop, and closes it.
func (s *Store) shutdown() error {
	s.closed.Store(true)
	s.ingestMu.Lock() // wait for in-flight appends
	s.ingestMu.Unlock()
	if s.wal == nil {
		return nil
	}
	defer s.dirLock.Close()
	var deadline time.Time
	if s.cfg.ShutdownFlushTimeout > 0 {
		deadline = time.Now().Add(s.cfg.ShutdownFlushTimeout)
	}
	s.flushDue(time.Now(), true, deadline)
	if err := s.wal.close(); err != nil {
		return err
	}
	if s.unflushed() == 0 {
		// Everything is in chunk files: leave an empty WAL so the next start replays nothing.
		return s.wal.removeAll()
	}
	return nil
}

// unflushed is the oldest WAL record not yet in a chunk file, or 0.
func (s *Store) unflushed() uint64 {
	minSeq := uint64(0)
	for _, t := range s.allTenants() {
		for _, st := range t.all() {
			if seq := st.unflushedSeq(); seq != 0 && (minSeq == 0 || seq < minSeq) {
				minSeq = seq
			}
		}
	}
	return minSeq
}

// open locks the data directory and recovers it.
func (s *Store) open() error {
	lock, err := fsx.LockDir(s.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("logstore: %w", err)
	}
	s.dirLock = lock
	if err := s.recover(); err != nil {
		lock.Close()
		s.dirLock = nil
		return err
	}
	return nil
}

// recover loads chunk headers into the index, replays the WAL and opens a new WAL segment.
func (s *Store) recover() error {
	for _, d := range []string{s.walDir, s.chunks} {
		if err := fsx.MkdirAll(d); err != nil {
			return fmt.Errorf("logstore: create %s: %w", d, err)
		}
	}
	maxSeq, err := s.loadChunks()
	if err != nil {
		return err
	}
	start := time.Now()
	records := 0
	last, corrupt, err := replayWAL(s.walDir, func(seq uint64, payload []byte) error {
		records++
		return s.replayRecord(seq, payload)
	})
	if err != nil {
		return err
	}
	s.m.walReplayed.Add(float64(records))
	s.m.walCorrupt.Add(float64(corrupt))
	if corrupt > 0 {
		s.log.Warn("wal: dropped torn or corrupt tail records", "count", corrupt)
	}
	if records > 0 {
		s.log.Info("wal replayed", "records", records, "took", time.Since(start))
	}
	w, err := openWAL(s.walDir, s.cfg.Fsync, s.cfg.WALSegmentSize, max(last, maxSeq)+1)
	if err != nil {
		return err
	}
	s.wal = w
	return nil
}

// loadChunks reads every chunk header; it returns the highest walSeq seen.
func (s *Store) loadChunks() (uint64, error) {
	dirs, err := os.ReadDir(s.chunks)
	if err != nil {
		return 0, fmt.Errorf("logstore: read %s: %w", s.chunks, err)
	}
	var maxSeq uint64
	cutoff := s.retentionCutoff(time.Now())
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		t := s.tenant(d.Name())
		if _, err := fsx.RemoveTemps(t.dir); err != nil {
			return 0, fmt.Errorf("logstore: %w", err)
		}
		files, err := os.ReadDir(t.dir)
		if err != nil {
			return 0, fmt.Errorf("logstore: read %s: %w", t.dir, err)
		}
		for _, f := range files {
			path := filepath.Join(t.dir, f.Name())
			if strings.HasSuffix(f.Name(), ".tmp") {
				os.Remove(path)
				continue
			}
			if !strings.HasSuffix(f.Name(), ".chunk") {
				continue
			}
			if maxT, ok := chunkMaxTFromName(f.Name()); ok && maxT < cutoff {
				os.Remove(path)
				s.m.retentionDeleted.Inc()
				continue
			}
			c, err := readChunkHeader(path)
			if err != nil {
				s.log.Error("unreadable chunk set aside", "path", path, "err", err)
				s.m.corruptChunks.Inc()
				os.Rename(path, path+".corrupt")
				continue
			}
			ls, _ := ParseLabels(c.labels) // checked by readChunkHeader
			t.mu.Lock()
			st := t.addLocked(ls, ls.String())
			t.mu.Unlock()
			st.files = append(st.files, c)
			st.flushedSeq = max(st.flushedSeq, c.walSeq)
			st.minT, st.maxT = min(st.minT, c.minT), max(st.maxT, c.maxT)
			maxSeq = max(maxSeq, c.walSeq)
			s.diskBytes.Add(c.size)
		}
		for _, st := range t.all() {
			sort.Slice(st.files, func(i, j int) bool { return st.files[i].walSeq < st.files[j].walSeq })
		}
	}
	return maxSeq, nil
}

func (s *Store) retentionCutoff(now time.Time) int64 {
	if s.cfg.Retention <= 0 {
		return -1 << 63
	}
	return now.Add(-s.cfg.Retention).UnixNano()
}

// tenant returns (creating) the tenant's state.
func (s *Store) tenant(name string) *tenant {
	s.mu.RLock()
	t := s.tenants[name]
	s.mu.RUnlock()
	if t != nil {
		return t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t = s.tenants[name]; t == nil {
		t = newTenant(name, filepath.Join(s.chunks, name))
		s.tenants[name] = t
	}
	return t
}

func (s *Store) tenantIfExists(name string) *tenant {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tenants[name]
}

func (s *Store) allTenants() []*tenant {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Collect(maps.Values(s.tenants))
}

// ValidateTenant applies Loki's tenant ID rules: at most 150 characters of
// [a-zA-Z0-9!-_.*'()], and not "." or "..".
func ValidateTenant(id string) error {
	if len(id) > 150 {
		return errorf(http.StatusBadRequest, "tenant ID is too long: max 150 characters")
	}
	if id == "." || id == ".." {
		return errorf(http.StatusBadRequest, "tenant ID '%s' is unsupported", id)
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!-_.*'()", r):
		default:
			return errorf(http.StatusBadRequest, "tenant ID '%s' contains unsupported character '%c'", id, r)
		}
	}
	return nil
}

// pendingStream is one validated stream of a push; st is nil until acquired if new.
type pendingStream struct {
	st      *stream
	ls      logql.Labels
	key     string
	raw     string
	entries []logql.Entry
}

// resolved is one pushed stream bound to its index entry.
type resolved struct {
	st      *stream
	entries []logql.Entry
}

// Push stores streams for tenant in process, with the same validation, WAL write and
// acknowledgement semantics as POST /loki/api/v1/push: when it returns nil the entries
// are in the WAL (fsynced per policy) and visible to queries. A refused push returns an
// *Error with Loki's status code.
func (s *Store) Push(ctx context.Context, tenantID string, streams []push.Stream) error {
	return s.push(ctx, tenantID, streams, nil)
}

// push is Push; walBody, when not nil, is the snappy-compressed protobuf request streams
// were decoded from. A push is stored whole or refused, so the WAL record can hold the
// request as sent (a third of the size of its lines) rather than the streams encoded.
func (s *Store) push(ctx context.Context, tenantID string, streams []push.Stream, walBody []byte) error {
	select {
	case <-s.ready:
	default:
		return errorf(http.StatusServiceUnavailable, "Ingester not ready: waiting for WAL replay")
	}
	if s.closed.Load() {
		return errorf(http.StatusServiceUnavailable, "Ingester is shutting down")
	}
	if err := ValidateTenant(tenantID); err != nil {
		return err
	}
	t := s.tenant(tenantID)
	lim := s.limitsFor(tenantID)
	now := time.Now()

	// Validate with Loki's limits and wording. Unlike Loki's distributor, which stores the
	// valid part of a push and answers 400 for the rest, a push with any refused stream or
	// line is refused whole: a client (the flowtap sinks) that dead-letters or retries a
	// refused batch then never holds a second copy of what was stored.
	var verrs groupedErrors
	bounds := lim.entryBounds(now)
	checked := make([]pendingStream, 0, len(streams))
	lines, bytes := 0, 0
	for i := range streams {
		ps := &streams[i]
		if len(ps.Entries) == 0 {
			continue
		}
		st, ls, key, err := t.resolve(ps.Labels)
		if err == nil {
			err = lim.validateLabels(ps.Labels, ls)
		}
		if err != nil {
			s.m.discarded.WithLabelValues("invalid_labels").Add(float64(len(ps.Entries)))
			verrs.add(err)
			continue
		}
		es := make([]logql.Entry, 0, len(ps.Entries))
		for _, e := range ps.Entries {
			// Only an entry outside the bounds (worked out once per push) is refused.
			if !bounds.within(e.Timestamp, len(e.Line)) {
				if reason, err := lim.validateEntry(key, e.Timestamp, len(e.Line), now); err != nil {
					s.m.discarded.WithLabelValues(reason).Inc()
					verrs.add(err)
					continue
				}
			}
			es = append(es, logql.Entry{Timestamp: e.Timestamp.UnixNano(), Line: e.Line})
			bytes += len(e.Line)
		}
		lines += len(es)
		checked = append(checked, pendingStream{st: st, ls: ls, key: key, raw: ps.Labels, entries: es})
	}
	if e := verrs.err(); e != nil {
		s.m.rejected.WithLabelValues("invalid").Inc()
		return e
	}
	if len(checked) == 0 {
		return nil
	}
	if !s.rate.allow(tenantID, lim.IngestionRateMB*bytesInMB, lim.IngestionBurstSizeMB*bytesInMB, bytes, now) {
		s.m.discarded.WithLabelValues("rate_limited").Add(float64(lines))
		s.m.rejected.WithLabelValues("rate_limited").Inc()
		return errorf(http.StatusTooManyRequests, "Ingestion rate limit exceeded for user %s (limit: %d bytes/sec) while attempting to ingest '%d' lines totaling '%d' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased",
			tenantID, int(lim.IngestionRateMB*bytesInMB), lines, bytes)
	}
	// Streams beyond the tenant's stream limit refuse the push (429); nothing is created.
	if refused := t.acquire(checked, lim.MaxGlobalStreamsPerUser, now); refused != "" {
		s.m.discarded.WithLabelValues("stream_limit").Add(float64(lines))
		s.m.rejected.WithLabelValues("stream_limit").Inc()
		return errorf(http.StatusTooManyRequests, "Maximum active stream limit exceeded when trying to create stream %s, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: '%s'",
			refused, tenantID)
	}
	batch := make([]resolved, 0, len(checked))
	size := len(tenantID) + 10
	for _, c := range checked {
		if walBody == nil {
			for _, e := range c.entries {
				size += len(e.Line) + 12
			}
			size += len(c.key) + 10
		}
		batch = append(batch, resolved{st: c.st, entries: c.entries})
	}
	recBuf := walRecords.Get().(*[]byte)
	defer func() {
		if cap(*recBuf) <= maxPooledWALRecord {
			walRecords.Put(recBuf)
		}
	}()
	rec := slices.Grow((*recBuf)[:0], walHeaderLen+size+len(walBody))[:walHeaderLen]
	if walBody != nil {
		rec = encodeWALBody(rec, tenantID, walBody)
	} else {
		rec = encodeWALPayload(rec, tenantID, batch)
	}
	*recBuf = rec

	dropped := 0
	s.ingestMu.Lock()
	if s.closed.Load() {
		s.ingestMu.Unlock()
		return errorf(http.StatusServiceUnavailable, "Ingester is shutting down")
	}
	seq, err := s.wal.append(rec)
	var full []*stream
	if err == nil {
		for _, r := range batch {
			d, isFull := r.st.appendEntries(r.entries, seq, now, s.cfg.BlockSize, s.cfg.ChunkTargetSize)
			dropped += d
			if isFull {
				full = append(full, r.st)
			}
		}
	}
	s.ingestMu.Unlock()
	if err != nil {
		s.m.rejected.WithLabelValues("wal_error").Inc()
		return errorf(http.StatusInternalServerError, "%s", err.Error())
	}
	if s.cfg.Fsync == FsyncAlways {
		start := time.Now()
		if err := s.wal.syncTo(seq); err != nil {
			s.m.rejected.WithLabelValues("wal_error").Inc()
			return errorf(http.StatusInternalServerError, "%s", err.Error())
		}
		s.m.fsyncSeconds.Observe(time.Since(start).Seconds())
	}
	// Closing a head block drops the copies its sort finds, also of lines that earlier
	// pushes counted: counting every line here and every copy as a duplicate keeps both
	// counters monotonic (stored = ingested − duplicates).
	s.m.lines.Add(float64(lines))
	s.m.bytes.Add(float64(bytes))
	s.m.duplicates.Add(float64(dropped))
	for _, r := range batch {
		r.st.compressOpen(s.codec)
	}
	for _, st := range full {
		s.flushStream(t, st)
	}
	return nil
}

// walRecords are buffers of WAL records (a push's size, about a MB for a sink's push):
// a record is written before its push is answered and not kept.
var walRecords = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledWALRecord = 16 << 20

// encodeWALPayload lays out one push: tenant, stream count, then per stream the canonical
// labels, entry count and entries (varint timestamp, uvarint length, line).
func encodeWALPayload(dst []byte, tenantID string, batch []resolved) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(tenantID)))
	dst = append(dst, tenantID...)
	dst = binary.AppendUvarint(dst, uint64(len(batch)))
	for _, r := range batch {
		dst = binary.AppendUvarint(dst, uint64(len(r.st.key)))
		dst = append(dst, r.st.key...)
		dst = binary.AppendUvarint(dst, uint64(len(r.entries)))
		for _, e := range r.entries {
			dst = binary.AppendVarint(dst, e.Timestamp)
			dst = binary.AppendUvarint(dst, uint64(len(e.Line)))
			dst = append(dst, e.Line...)
		}
	}
	return dst
}

// walBodyRecord starts a WAL payload that is a push request as sent: the marker, the
// tenant (uvarint length and bytes), then the snappy-compressed protobuf body. An
// encodeWALPayload record never starts with it: its first byte is the length of a tenant
// ID, at most 150 (a uvarint whose first byte is at most 0x96).
const walBodyRecord = 0xff

func encodeWALBody(dst []byte, tenantID string, body []byte) []byte {
	dst = append(dst, walBodyRecord)
	dst = binary.AppendUvarint(dst, uint64(len(tenantID)))
	dst = append(dst, tenantID...)
	return append(dst, body...)
}

// walStream is one stream of a decoded WAL record.
type walStream struct {
	labels  string
	entries []logql.Entry
}

// decodeWALPayload is the inverse of encodeWALPayload.
func decodeWALPayload(p []byte) (string, []walStream, error) {
	if len(p) > 0 && p[0] == walBodyRecord {
		return decodeWALBody(p[1:])
	}
	d := decoder{b: p}
	tenantID := d.str()
	n := d.uvarint()
	if d.err != nil || n > uint64(len(p)) {
		return "", nil, errors.New("logstore: corrupt wal record")
	}
	out := make([]walStream, 0, n)
	for i := uint64(0); i < n; i++ {
		ws := walStream{labels: d.str()}
		m := d.uvarint()
		if d.err != nil || m > uint64(len(p)) {
			return "", nil, errors.New("logstore: corrupt wal record")
		}
		ws.entries = make([]logql.Entry, 0, m)
		for j := uint64(0); j < m; j++ {
			ts := d.varint()
			line := d.str()
			ws.entries = append(ws.entries, logql.Entry{Timestamp: ts, Line: line})
		}
		if d.err != nil {
			return "", nil, errors.New("logstore: corrupt wal record")
		}
		out = append(out, ws)
	}
	if len(d.b) != 0 {
		return "", nil, errors.New("logstore: trailing bytes in wal record")
	}
	return tenantID, out, nil
}

// decodeWALBody decodes an encodeWALBody record (after its marker). Streams keep their
// labels as pushed; streams without entries, which the push skipped, are left out.
func decodeWALBody(p []byte) (string, []walStream, error) {
	d := decoder{b: p}
	tenantID := d.str()
	if d.err != nil {
		return "", nil, errors.New("logstore: corrupt wal record")
	}
	streams, _, err := decodeProtoPush(d.b, maxWALRecord, nil)
	if err != nil {
		return "", nil, fmt.Errorf("logstore: corrupt wal record: %w", err)
	}
	out := make([]walStream, 0, len(streams))
	for _, ps := range streams {
		if len(ps.Entries) == 0 {
			continue
		}
		es := make([]logql.Entry, len(ps.Entries))
		for i, e := range ps.Entries {
			es[i] = logql.Entry{Timestamp: e.Timestamp.UnixNano(), Line: e.Line}
		}
		out = append(out, walStream{labels: ps.Labels, entries: es})
	}
	return tenantID, out, nil
}

// replayRecord re-applies one WAL record, skipping streams whose chunk files already
// hold it.
func (s *Store) replayRecord(seq uint64, payload []byte) error {
	tenantID, streams, err := decodeWALPayload(payload)
	if err != nil {
		s.m.walCorrupt.Inc()
		s.log.Error("wal record skipped", "seq", seq, "err", err)
		return nil
	}
	t := s.tenant(tenantID)
	now := time.Now()
	for _, ws := range streams {
		st, err := t.streamFor(ws.labels)
		if err != nil {
			s.m.walCorrupt.Inc()
			continue
		}
		t.activate(st, now)
		st.mu.Lock()
		done := seq <= st.flushedSeq
		st.mu.Unlock()
		if done {
			continue
		}
		if _, full := st.appendEntries(ws.entries, seq, now, s.cfg.BlockSize, s.cfg.ChunkTargetSize); full {
			st.compressOpen(s.codec)
			s.flushStream(t, st)
		}
	}
	return nil
}

// flushStream cuts a stream's open chunk into a file.
func (s *Store) flushStream(t *tenant, st *stream) {
	if err := fsx.MkdirAll(t.dir); err != nil {
		s.m.flushErrors.Inc()
		s.log.Error("chunk flush", "err", err)
		return
	}
	f, err := st.cutAndFlush(t.dir, s.codec)
	if err != nil {
		s.m.flushErrors.Inc()
		s.log.Error("chunk flush", "stream", st.key, "err", err)
		return
	}
	if f != nil {
		s.m.chunksFlushed.Inc()
		s.diskBytes.Add(f.size)
	}
}

// flushDue cuts chunks that are old or idle (all of them when force), cuts those holding
// back the WAL beyond MaxWALSize, then deletes WAL segments every stream has flushed.
//
// A non-zero deadline stops the cutting there (shutdown): what is left stays in the WAL.
func (s *Store) flushDue(now time.Time, force bool, deadline time.Time) {
	if s.wal == nil {
		return
	}
	walTooBig := s.cfg.MaxWALSize > 0 && s.wal.bytes() > s.cfg.MaxWALSize
	var oldestKeep uint64
	if walTooBig {
		s.wal.mu.Lock()
		if len(s.wal.segments) > 1 {
			oldestKeep = s.wal.segments[1].first
		}
		s.wal.mu.Unlock()
	}
	stopped := false
	for _, t := range s.allTenants() {
		for _, st := range t.all() {
			if !deadline.IsZero() && time.Now().After(deadline) {
				stopped = true
				break
			}
			st.mu.Lock()
			has := st.firstSeq != 0
			due := has && (force || now.Sub(st.openedAt) >= s.cfg.MaxChunkAge || now.Sub(st.lastAppend) >= s.cfg.ChunkIdlePeriod ||
				(walTooBig && st.firstSeq < oldestKeep))
			st.mu.Unlock()
			if due {
				st.compressOpen(s.codec)
				s.flushStream(t, st)
			}
		}
		if !force {
			t.deactivateIdle(now, s.cfg.ChunkIdlePeriod)
		}
	}
	if stopped {
		s.log.Warn("shutdown flush timeout: open chunks left to WAL replay", "timeout", s.cfg.ShutdownFlushTimeout)
	}
	minSeq := s.unflushed()
	if minSeq == 0 {
		s.wal.mu.Lock()
		minSeq = s.wal.written + 1
		s.wal.mu.Unlock()
	}
	if _, err := s.wal.truncateBefore(minSeq); err != nil {
		s.log.Error("wal truncate", "err", err)
	}
}

// applyRetention deletes chunk files whose newest entry is older than the retention.
func (s *Store) applyRetention(now time.Time) {
	cutoff := s.retentionCutoff(now)
	for _, t := range s.allTenants() {
		for _, st := range t.all() {
			removed, empty := st.dropFilesBefore(cutoff)
			for _, f := range removed {
				if err := os.Remove(f.path); err != nil && !os.IsNotExist(err) {
					s.log.Error("retention", "path", f.path, "err", err)
					continue
				}
				s.diskBytes.Add(-f.size)
				s.m.retentionDeleted.Inc()
			}
			if empty {
				t.remove(st)
			}
		}
	}
}

// DiskBytes is the size of the chunk files and the WAL.
func (s *Store) DiskBytes() int64 {
	n := s.diskBytes.Load()
	if s.wal != nil {
		n += s.wal.bytes()
	}
	return n
}

// FlushAll cuts every open chunk into a file and truncates the WAL (what shutdown does);
// benchmarks use it to measure bytes on disk.
func (s *Store) FlushAll() { s.flushDue(time.Now(), true, time.Time{}) }
