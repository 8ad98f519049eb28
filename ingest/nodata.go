package ingest

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/flowtap/flowtap/flowlog"
)

// NODATA records: AWS writes one for an ENI that had no traffic in an aggregation window.
// Shards mark, as they emit a window's flows, which known sessions it carried; once every
// shard has moved past a window, shard 0 (and Run, after the shards stop) writes one NODATA
// record per known session the window did not mark. Only windows the collector saw whole
// get NODATA: not the one it started in, nor the one open at shutdown. Unknown VNIs never
// do, as nothing says they exist when they are silent.

// sessionActivity records which recent windows carried a known session's traffic.
type sessionActivity struct {
	sess *Session
	// windows has bit (start/interval)%64 set once a shard emitted a flow of the window
	// starting at start. The owner clears the bit as it checks the window, so a bit is
	// reused only when a shard runs 64 windows ahead of the slowest one.
	windows atomic.Uint64
}

func windowBit(start, interval int64) uint64 { return 1 << (uint64(start/interval) % 64) }

func (a *sessionActivity) mark(start, interval int64) { a.windows.Or(windowBit(start, interval)) }

// take reports whether the window starting at start was marked and clears its mark.
func (a *sessionActivity) take(start, interval int64) bool {
	bit := windowBit(start, interval)
	return a.windows.And(^bit)&bit != 0
}

// newActivity indexes the known sessions by VNI, and lists them in VNI order so that the
// NODATA records of a window come out in a stable order.
func newActivity(sessions Sessions) (map[uint32]*sessionActivity, []*sessionActivity) {
	byVNI := make(map[uint32]*sessionActivity, len(sessions))
	list := make([]*sessionActivity, 0, len(sessions))
	for vni, s := range sessions {
		a := &sessionActivity{sess: s}
		byVNI[vni] = a
		list = append(list, a)
	}
	slices.SortFunc(list, func(a, b *sessionActivity) int { return cmp.Compare(a.sess.VNI, b.sess.VNI) })
	return byVNI, list
}

// firstWholeWindow returns the start of the first window that begins at or after now.
func firstWholeWindow(now, interval int64) int64 {
	return (now + interval - 1) / interval * interval
}

// maxNoDataWindows bounds how many windows one pass checks: after a clock jump, or a shard
// stalled that long, older windows are skipped (their activity bits are no longer reliable).
const maxNoDataWindows = 60

// emitNoData writes, through shard s's record buffer, the NODATA records of every window
// that all shards have finished since the last call. Only one goroutine calls it: shard 0,
// or Run once the shards have stopped.
func (c *Collector) emitNoData(ctx context.Context, s *shard) {
	if len(c.noData) == 0 {
		return
	}
	through := int64(1<<63 - 1)
	for _, sh := range c.shards {
		through = min(through, sh.through.Load())
	}
	iv := s.interval
	w := c.noDataNext
	if through-w > maxNoDataWindows*iv {
		skipped := (through - w) / iv
		w = through - maxNoDataWindows*iv
		c.log.Warn("ingest: NODATA not checked for windows the shards passed all at once (clock jump or stall)",
			slog.Int64("windows", skipped-maxNoDataWindows))
	}
	n := 0
	for ; w+iv <= through; w += iv {
		for _, a := range c.noData {
			if a.take(w, iv) {
				continue
			}
			statusRecord(s.add(), a.sess, flowlog.StatusNoData, w, w+iv)
			n++
			if len(s.recs) == emitChunk {
				s.flushRecs(ctx)
			}
		}
	}
	c.noDataNext = w
	s.flushRecs(ctx)
	c.m.records.WithLabelValues(flowlog.StatusNoData.String()).Add(float64(n))
}

// skipSet remembers which (session, window) pairs already have their SKIPDATA record. The
// flows of one ENI are spread over the shards, and each shard whose table filled up cuts
// the window; the window still gets one SKIPDATA record per ENI, as AWS writes, not one per
// shard. Cuts are rare (a full flow table), so a mutex is cheap enough.
type skipSet struct {
	mu   sync.Mutex
	sent map[skipKey]struct{}
}

type skipKey struct {
	vni   uint32
	start int64
}

// first reports whether this is the first call for vni's window starting at start, and
// forgets windows far enough behind that no shard can still be closing them.
func (s *skipSet) first(vni uint32, start, interval int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := skipKey{vni, start}
	if _, ok := s.sent[k]; ok {
		return false
	}
	if s.sent == nil {
		s.sent = map[skipKey]struct{}{}
	}
	for old := range s.sent {
		if old.start < start-maxNoDataWindows*interval {
			delete(s.sent, old)
		}
	}
	s.sent[k] = struct{}{}
	return true
}
