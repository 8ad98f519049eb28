package ingest

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowtap/flowtap/flowlog"
)

// batchSize is the capacity of a receiver→shard batch; a receiver sends what one recvmmsg
// call gave each shard, so batches are usually smaller.
const batchSize = 128

type batch struct{ items []item }

var batchPool = sync.Pool{New: func() any { return &batch{items: make([]item, 0, batchSize)} }}

// emitChunk is how many records a shard hands the writer per call.
const emitChunk = 1024

// maxUnknownVNIs bounds each shard's cache of derived sessions.
const maxUnknownVNIs = 1 << 16

// shard owns one flow table: all packets whose (VNI, addresses, protocol) hash to it pass
// through its channel, so flow state needs no lock.
type shard struct {
	c        *Collector
	in       chan *batch
	t        *table
	interval int64
	winStart int64 // start of the open window (Unix s, aligned to interval); 0 before the first packet
	cut      map[uint32]struct{}
	unknown  map[uint32]*Session
	recs     []flowlog.Record
	active   atomic.Int64
	// through is the start of the open window: every earlier window is final in this shard,
	// its flows emitted and its sessions' activity marked. 0 until the first tick or packet.
	through atomic.Int64
}

func newShard(c *Collector) *shard {
	return &shard{
		c:        c,
		in:       make(chan *batch, 256),
		t:        newTable(c.cfg.MaxFlows),
		interval: int64(c.cfg.Interval / time.Second),
		cut:      map[uint32]struct{}{},
		unknown:  map[uint32]*Session{},
		recs:     make([]flowlog.Record, 0, emitChunk),
	}
}

// run consumes batches until in is closed, closing windows as the clock passes their end,
// then flushes the open window with flushCtx.
func (s *shard) run(flushCtx context.Context) {
	tick := time.NewTicker(s.c.tick)
	defer tick.Stop()
	for {
		select {
		case b, ok := <-s.in:
			if !ok {
				s.closeWindow(flushCtx, 0)
				return
			}
			s.process(flushCtx, b)
			b.items = b.items[:0]
			batchPool.Put(b)
		case <-tick.C:
			s.tick(flushCtx, s.c.now().Unix())
		}
	}
}

// tick closes the open window once the clock has passed its end. An idle shard opens the
// current window, so that its through moves on (and a packet stamped earlier counts in the
// window open when it arrives, as in a busy shard). Shard 0 then emits NODATA records.
func (s *shard) tick(ctx context.Context, now int64) {
	switch {
	case s.winStart == 0 && now > 0:
		s.winStart = now - now%s.interval
	case s.winStart != 0 && now >= s.winStart+s.interval:
		s.closeWindow(ctx, now)
	}
	s.through.Store(s.winStart)
	if s == s.c.shards[0] {
		s.c.emitNoData(ctx, s)
	}
}

func (s *shard) process(ctx context.Context, b *batch) {
	s.t.warm(b.items)
	for i := range b.items {
		it := &b.items[i]
		if s.winStart == 0 {
			s.winStart = it.sec - it.sec%s.interval
		}
		if it.sec >= s.winStart+s.interval {
			s.closeWindow(ctx, it.sec)
		}
		// A receiver stamped this packet just before the window closed: count it in the
		// open window rather than reopen a closed one.
		it.sec = max(it.sec, s.winStart)
		if !s.t.add(it) {
			s.cutWindow(ctx)
			s.t.add(it)
		}
	}
	s.active.Store(int64(s.t.len()))
	s.through.Store(s.winStart)
}

// cutWindow emits every open flow early because the table is full; the window's SKIPDATA
// records (one per ENI involved) follow at its close.
func (s *shard) cutWindow(ctx context.Context) {
	s.c.m.cuts.Inc()
	for i := range s.t.len() {
		s.cut[s.t.at(i).key.vni()] = struct{}{}
	}
	s.emitFlows(ctx)
	s.t.reset()
}

// closeWindow emits the open window's records and opens the window holding now (or none
// when now is 0, at shutdown: through then stays, as the flushed window was not whole).
func (s *shard) closeWindow(ctx context.Context, now int64) {
	if s.winStart != 0 {
		for _, it := range s.t.takeOrphans() {
			if !s.t.insert(&it) {
				s.cutWindow(ctx)
				s.t.insert(&it)
			}
		}
		s.emitFlows(ctx)
		end := s.winStart + s.interval
		for vni := range s.cut {
			if !s.c.skipSent.first(vni, s.winStart, s.interval) {
				continue // another shard wrote this window's SKIPDATA for the session
			}
			statusRecord(s.add(), s.session(vni), flowlog.StatusSkipData, s.winStart, end)
			s.c.m.records.WithLabelValues(flowlog.StatusSkipData.String()).Inc()
		}
		s.flushRecs(ctx)
		clear(s.cut)
		s.t.reset()
		s.t.rotateFrags()
		s.c.m.windowLag.Set(s.c.now().Sub(time.Unix(end, 0)).Seconds())
		s.c.m.fragsUnmatched.Add(float64(s.t.fragsUnmatched))
		s.c.m.fragsNoRoom.Add(float64(s.t.fragsNoRoom))
		s.t.fragsUnmatched, s.t.fragsNoRoom = 0, 0
	}
	s.winStart = 0
	if now != 0 {
		s.winStart = now - now%s.interval
	}
	s.active.Store(0)
}

// emitFlows writes a record for every flow in the table.
func (s *shard) emitFlows(ctx context.Context) {
	var unknownRecs, unknownPkts float64
	lastVNI := ^uint32(0)
	for i := range s.t.len() {
		f := s.t.at(i)
		if vni := f.key.vni(); vni != lastVNI {
			if a := s.c.activity[vni]; a != nil {
				a.mark(s.winStart, s.interval)
			}
			lastVNI = vni
		}
		sess := s.session(f.key.vni())
		if !sess.known {
			unknownRecs++
			unknownPkts += float64(f.packets)
		}
		flowRecord(s.add(), f, sess)
		if len(s.recs) == emitChunk {
			s.flushRecs(ctx)
		}
	}
	s.c.m.records.WithLabelValues(flowlog.StatusOK.String()).Add(float64(s.t.len()))
	s.c.m.unknownRecords.Add(unknownRecs)
	s.c.m.unknownPackets.Add(unknownPkts)
	s.flushRecs(ctx)
}

// add appends a record slot to the pending chunk.
func (s *shard) add() *flowlog.Record {
	s.recs = append(s.recs, flowlog.Record{})
	return &s.recs[len(s.recs)-1]
}

func (s *shard) flushRecs(ctx context.Context) {
	if len(s.recs) == 0 {
		return
	}
	if err := s.c.write(ctx, s.recs); err != nil {
		s.c.m.writeErrors.Inc()
		s.c.m.recordsLost.Add(float64(len(s.recs)))
		s.c.log.Error("ingest: writing records", slog.Int("records", len(s.recs)), slog.Any("err", err))
	}
	clear(s.recs) // drop string references
	s.recs = s.recs[:0]
}

// session returns the configured session of a VNI, or its derived unknown session.
func (s *shard) session(vni uint32) *Session {
	if sess, ok := s.c.sessions[vni]; ok {
		return sess
	}
	sess, ok := s.unknown[vni]
	if !ok {
		sess = UnknownSession(vni)
		if len(s.unknown) < maxUnknownVNIs { // a flood of random VNIs must not grow memory
			s.unknown[vni] = sess
			s.c.m.unknownVNIs.Inc()
		}
	}
	return sess
}
