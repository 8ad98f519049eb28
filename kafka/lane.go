package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/kafka/spill"
)

// lane is one sender: a memory queue, its own spill queue, and one produce call in flight.
// All messages of a key go through the same lane, so a lane's order is their order.
//
// Invariant: while spilling, everything in the memory queue is older than everything in the
// spill (new writes go to the spill's tail; on a failed call the queue moves to its front).
type lane struct {
	p        *Producer
	id       int
	maxBytes int64 // the lane's share of QueueBytes

	mu       sync.Mutex
	spill    *spill.Queue // set by Producer.openSpills
	queue    []queued
	qBytes   int64
	spilling bool // new messages go to the spill: it holds messages newer than the queue
	closed   bool
	space    chan struct{} // closed (and replaced) when the queue shrinks
	wake     chan struct{}

	sendBuf []kafkago.Message
	taken   []*encodeMem // of the queue entries taken whole since the last send: reused after it
	free    chan *encodeMem
}

// queued is one write's messages in a lane's queue and the memory they alias.
type queued struct {
	msgs []kafkago.Message
	mem  *encodeMem
}

func newLane(p *Producer, id int, maxBytes int64) *lane {
	return &lane{p: p, id: id, maxBytes: maxBytes, space: make(chan struct{}), wake: make(chan struct{}, 1),
		free: make(chan *encodeMem, memsPerLane)}
}

// getMem returns encoding memory for a write to this lane: kept from an earlier one (of
// about the same size: a lane's share of each write varies less than the lanes do) or new.
func (l *lane) getMem() *encodeMem {
	select {
	case m := <-l.free:
		return m
	default:
		return new(encodeMem)
	}
}

// putMem keeps m for a later write unless enough are kept; nil is ignored.
func (l *lane) putMem(m *encodeMem) {
	if m == nil {
		return
	}
	select {
	case l.free <- m:
	default:
	}
}

func (l *lane) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// signalSpaceLocked wakes writers waiting for room.
func (l *lane) signalSpaceLocked() {
	close(l.space)
	l.space = make(chan struct{})
}

// enqueue puts one call's messages for this lane in its memory queue, or in its spill when
// the spill already holds older messages or the queue stays full until w expires.
func (l *lane) enqueue(ctx context.Context, b laneBatch, w *blockWait) error {
	p := l.p
	msgs, bytes := p.dropOversized(b.msgs, b.bytes)
	if len(msgs) == 0 {
		l.putMem(b.mem)
		return nil
	}
	l.mu.Lock()
	for {
		if l.closed {
			l.mu.Unlock()
			l.putMem(b.mem)
			p.m.dropped.WithLabelValues("closed").Add(float64(len(msgs)))
			return fmt.Errorf("%w: %d records after shutdown", ErrClosed, len(msgs))
		}
		if l.spilling {
			break
		}
		if l.qBytes == 0 || l.qBytes+bytes <= l.maxBytes {
			l.queue = append(l.queue, queued{msgs: msgs, mem: b.mem})
			l.qBytes += bytes
			l.mu.Unlock()
			p.m.queueBytes.Add(float64(bytes))
			l.poke()
			return nil
		}
		if w.expired {
			p.log.Warn("producer queue full; spilling to disk", "lane", l.id, "queue_bytes", l.qBytes)
			l.spilling = true
			break
		}
		space := l.space
		l.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			l.putMem(b.mem)
			p.m.dropped.WithLabelValues("canceled").Add(float64(len(msgs)))
			return fmt.Errorf("kafka: queue full and %w; %d records not accepted", ctx.Err(), len(msgs))
		case <-w.c(p.cfg.BlockTimeout):
			w.expired = true
		}
		l.mu.Lock()
	}
	err := l.appendSpillLocked(msgs)
	l.mu.Unlock()
	l.putMem(b.mem) // the spill keeps a copy
	l.poke()
	return err
}

// appendSpillLocked appends msgs to the lane's spill; what does not fit is counted and logged.
func (l *lane) appendSpillLocked(msgs []kafkago.Message) error {
	p := l.p
	if l.spill == nil {
		err := p.spillErr
		if err == nil {
			err = errors.New("spill not open")
		}
		p.m.dropped.WithLabelValues("spill_error").Add(float64(len(msgs)))
		p.log.Error("spill unavailable; records dropped", "records", len(msgs), "err", err)
		return fmt.Errorf("%w: %d records: %v", ErrDropped, len(msgs), err)
	}
	err := l.spill.Append(toSpill(msgs))
	p.updateSpill()
	if err != nil {
		reason := "spill_error"
		if errors.Is(err, spill.ErrFull) {
			reason = "spill_full"
		}
		p.m.dropped.WithLabelValues(reason).Add(float64(len(msgs)))
		p.log.Error("records dropped: Kafka unreachable and the spill cannot take them", "lane", l.id, "records", len(msgs),
			"reason", reason, "err", err)
		return fmt.Errorf("%w: %d records: %v", ErrDropped, len(msgs), err)
	}
	p.m.spilled.Add(float64(len(msgs)))
	return nil
}

// prependSpillLocked puts msgs (taken out of memory, older than the spill's content) in
// front of the lane's spill.
func (l *lane) prependSpillLocked(msgs []kafkago.Message) {
	if len(msgs) == 0 {
		return
	}
	p := l.p
	err := p.spillErr
	if l.spill != nil {
		err = l.spill.Prepend(toSpill(msgs))
	} else if err == nil {
		err = errors.New("spill not open")
	}
	if err != nil {
		p.m.dropped.WithLabelValues("spill_error").Add(float64(len(msgs)))
		p.log.Error("records dropped: cannot spill them", "lane", l.id, "records", len(msgs), "err", err)
		return
	}
	p.updateSpill()
	p.m.spilled.Add(float64(len(msgs)))
}

// setQueuedLocked sets the queue's byte count and moves the gauge by the difference.
func (l *lane) setQueuedLocked(n int64) {
	l.p.m.queueBytes.Add(float64(n - l.qBytes))
	l.qBytes = n
}

// takeLocked removes up to SendChunk messages from the head of the queue (splitting a call
// when it is larger: a produce call never carries more, see sendHead).
func (l *lane) takeLocked() []kafkago.Message {
	out := l.sendBuf[:0]
	var bytes int64
	for len(out) < l.p.cfg.SendChunk && len(l.queue) > 0 {
		q := l.queue[0].msgs
		n := min(len(q), l.p.cfg.SendChunk-len(out))
		for _, m := range q[:n] {
			bytes += int64(len(m.Key) + len(m.Value))
		}
		out = append(out, q[:n]...)
		if n < len(q) {
			l.queue[0].msgs = q[n:]
			break
		}
		l.taken = append(l.taken, l.queue[0].mem)
		l.queue[0] = queued{}
		l.queue = l.queue[1:]
	}
	left := l.qBytes - bytes
	if len(l.queue) == 0 {
		l.queue = nil
		left = 0
	}
	l.setQueuedLocked(max(left, 0))
	l.signalSpaceLocked()
	l.sendBuf = out
	return out
}

// spillQueueLocked moves failed (in flight, oldest) and the whole memory queue in front of
// the spill and switches new writes to the spill.
func (l *lane) spillQueueLocked(failed []kafkago.Message) {
	n := len(failed)
	for _, q := range l.queue {
		n += len(q.msgs)
	}
	all := make([]kafkago.Message, 0, n)
	all = append(all, failed...)
	for _, q := range l.queue {
		all = append(all, q.msgs...)
		l.taken = append(l.taken, q.mem) // the spill keeps a copy
	}
	l.queue = nil
	l.setQueuedLocked(0)
	l.signalSpaceLocked()
	if !l.spilling && len(all) > 0 {
		l.p.log.Warn("Kafka unreachable; spilling to disk", "lane", l.id, "records", len(all))
	}
	l.spilling = true
	l.prependSpillLocked(all)
}

// run sends the lane's messages until ctx ends, once the spills of earlier layouts are sent,
// then drains.
func (l *lane) run(ctx context.Context) {
	p := l.p
	select {
	case <-p.olderDone:
	case <-ctx.Done():
	}
	failures := 0
	for ctx.Err() == nil {
		l.mu.Lock()
		switch {
		case len(l.queue) > 0:
			msgs := l.takeLocked()
			l.mu.Unlock()
			failed := p.send(msgs)
			if len(failed) > 0 {
				l.mu.Lock()
				l.spillQueueLocked(failed)
				l.mu.Unlock()
			}
			l.releaseTaken()
			if len(failed) > 0 {
				failures++
				p.backoff(ctx, failures)
			} else {
				failures = 0
			}
		case l.spilling:
			l.mu.Unlock()
			if l.drainSpill() {
				failures = 0
			} else {
				failures++
				p.backoff(ctx, failures)
			}
		default:
			l.mu.Unlock()
			select {
			case <-l.wake:
			case <-ctx.Done():
			}
		}
	}
	// sendOlder returns at once when ctx ends; wait for it, or a producer stopped right after
	// a write would see the older spills as pending and keep everything for next time.
	<-p.olderExit
	select {
	case <-p.olderDone:
		l.shutdown(time.Now().Add(p.cfg.DrainTimeout))
	default:
		// Older spills still hold messages that must go first: keep everything for next time.
		l.shutdown(time.Now())
	}
}

// drainSpill sends the oldest segment of the lane's spill; it reports false when Kafka
// failed. Once the spill and the queue are empty, writes go to memory again.
func (l *lane) drainSpill() bool {
	if !l.p.sendHead(l.spill) {
		return false
	}
	l.mu.Lock()
	if l.spill.Len() == 0 && len(l.queue) == 0 {
		if l.spilling {
			l.p.log.Info("spill drained; producing directly again", "lane", l.id)
		}
		l.spilling = false
	}
	l.mu.Unlock()
	return true
}

// close refuses new writes.
func (l *lane) close() {
	l.mu.Lock()
	l.closed = true
	l.signalSpaceLocked()
	l.mu.Unlock()
}

// shutdown refuses new writes, sends what is queued or spilled (oldest first) until
// deadline and spills the rest. Sending the spill too lets a short-lived producer (a
// backfill that writes and stops) deliver what an earlier run left behind.
func (l *lane) shutdown(deadline time.Time) {
	l.close()
	for time.Now().Before(deadline) {
		l.mu.Lock()
		if l.spilling && l.spill != nil && l.spill.Len() > 0 {
			l.mu.Unlock()
			if !l.drainSpill() {
				break
			}
			continue
		}
		if len(l.queue) == 0 {
			l.mu.Unlock()
			break
		}
		msgs := l.takeLocked()
		l.mu.Unlock()
		if failed := l.p.send(msgs); len(failed) > 0 {
			l.mu.Lock()
			l.spillQueueLocked(failed)
			l.mu.Unlock()
			l.releaseTaken()
			break
		}
		l.releaseTaken()
	}
	l.mu.Lock()
	if len(l.queue) > 0 {
		l.spillQueueLocked(nil)
	}
	l.mu.Unlock()
	l.releaseTaken()
}

// releaseTaken hands the memory of the queue entries sent or spilled back for reuse. Only
// the lane's own goroutine takes entries, so no lock is needed.
func (l *lane) releaseTaken() {
	for i, m := range l.taken {
		l.putMem(m)
		l.taken[i] = nil
	}
	l.taken = l.taken[:0]
}
