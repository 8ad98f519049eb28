package kafka

import (
	"context"
	"sync"
	"time"
)

// budget bounds the decoded records a runner holds over all its partitions: a decoded
// flowlog.Record takes about 1 KB, so with many partitions each filling a batch the
// process would otherwise hold partitions × MaxRecords of them.
type budget struct {
	mu    sync.Mutex
	size  int64
	free  int64         // below zero while one fetch larger than the whole budget is held
	freed chan struct{} // closed and replaced whenever records are given back
}

func newBudget(n int64) *budget { return &budget{size: n, free: n, freed: make(chan struct{})} }

// fits reports whether n records can be taken now: when the budget holds them, or, for
// more records than the whole budget (one fetch of a huge producer batch), when it is
// entirely free, so that such a fetch waits for room instead of forever.
func (b *budget) fits(n int64) bool { return b.free >= min(n, b.size) }

// take takes n records from the budget, waiting up to wait (forever when wait ≤ 0) for
// them; it reports whether it got them.
func (b *budget) take(ctx context.Context, n int64, wait time.Duration) bool {
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		b.mu.Lock()
		if b.fits(n) {
			b.free -= n
			b.mu.Unlock()
			return true
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-timeout:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// tryTake takes n records from the budget if it holds them, without waiting.
func (b *budget) tryTake(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.fits(n) {
		return false
	}
	b.free -= n
	return true
}

// available returns the records the budget holds now.
func (b *budget) available() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(b.free, 0)
}

// give returns n records to the budget.
func (b *budget) give(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}
