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
	freed chan struct{} // closed and replaced whenever records are given back or a wait ends
	// wholeTurn lets one takeWhole at a time wait; while one waits (waitingWhole), take and
	// tryTake give nothing, so the budget fills up for it instead of being nibbled away.
	wholeTurn    chan struct{}
	waitingWhole bool
}

func newBudget(n int64) *budget {
	return &budget{size: n, free: n, freed: make(chan struct{}), wholeTurn: make(chan struct{}, 1)}
}

// fits reports whether n records can be taken now: when the budget holds them, or, for
// more records than the whole budget (one fetch of a huge producer batch), when it is
// entirely free, so that such a fetch waits for room instead of forever. Nothing fits
// while a takeWhole waits.
func (b *budget) fits(n int64) bool { return !b.waitingWhole && b.free >= min(n, b.size) }

// takeWhole takes n records for a batch that cannot be cut short (one re-formed from an
// intent), of a partition that already holds held records, waiting for them until ctx
// ends; it reports whether it got them. Callers wait one at a time and ahead of every
// take, and the wait ends once the budget holds n or all the rest of it (size - held):
// every other partition gives its records back after cutting its batch or flushing it, so
// this never waits for ever, and memory stays within the budget or one such batch.
func (b *budget) takeWhole(ctx context.Context, n, held int64) bool {
	select {
	case b.wholeTurn <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-b.wholeTurn }()
	b.mu.Lock()
	b.waitingWhole = true
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.waitingWhole = false
		b.wake()
		b.mu.Unlock()
	}()
	return b.acquire(ctx, n, nil, func() bool { return b.free >= min(n, b.size-held) })
}

// acquire waits until ready (called with b.mu held) reports true, then takes n records; it
// reports false when timeout fires or ctx ends first.
func (b *budget) acquire(ctx context.Context, n int64, timeout <-chan time.Time, ready func() bool) bool {
	for {
		b.mu.Lock()
		if ready() {
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

// wake tells every waiter to look again; b.mu is held.
func (b *budget) wake() {
	close(b.freed)
	b.freed = make(chan struct{})
}

// take takes n records from the budget, waiting up to wait (forever when wait ≤ 0) for
// them; it reports whether it got them.
func (b *budget) take(ctx context.Context, n int64, wait time.Duration) bool {
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	return b.acquire(ctx, n, timeout, func() bool { return b.fits(n) })
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

// awaitRoom waits until n could be taken (see fits), taking nothing; it reports false when
// ctx ends first.
func (b *budget) awaitRoom(ctx context.Context, n int64) bool {
	return b.acquire(ctx, 0, nil, func() bool { return b.fits(n) })
}

// force takes n at once, beyond what the budget holds if need be: for what is in memory
// already when it turns out larger than was taken for it.
func (b *budget) force(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.free -= n
	b.mu.Unlock()
}

// give returns n records to the budget.
func (b *budget) give(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	b.wake()
	b.mu.Unlock()
}
