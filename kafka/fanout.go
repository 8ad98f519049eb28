package kafka

import (
	"context"
	"sync"
	"time"

	"github.com/flowtap/flowtap/sinks"
)

// committer commits a partition's offset: a kafka-go Generation in a running group.
type committer interface {
	CommitOffsets(map[string]map[int]int64) error
}

// flushLoop is the second half of a partition worker: it takes the batches the fetch loop
// cut, in order, and for each records its intent, writes it to every sink and commits, then
// hands the emptied batch back through free. Fetching the next batch thus overlaps with the
// sink writes of this one, and a partition whose sinks back off holds up no other partition.
func (r *Runner) flushLoop(ctx context.Context, gen committer, batches <-chan *partState, free chan<- *partState) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case st := <-batches:
			err := r.flush(ctx, gen, st)
			st.giveBack(r.budget)
			r.release(st)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			st.reset()
			free <- st
		}
	}
}

// flush records the batch's intent, hands it to every sink until each succeeded (or refused
// it for good), and commits.
func (r *Runner) flush(ctx context.Context, gen committer, st *partState) error {
	b := &st.batch
	if err := r.intents.put(Intent{Topic: b.Topic, Partition: b.Partition, First: b.FirstOffset, Last: b.LastOffset}); err != nil {
		return err
	}
	targets := r.targets(st)
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { errs[i] = r.writeUntilDone(ctx, st, t) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if r.beforeCommit != nil {
		r.testMu.Lock()
		err := r.beforeCommit(b)
		r.testMu.Unlock()
		if err != nil {
			return err
		}
	}
	offsets := map[string]map[int]int64{b.Topic: {b.Partition: b.LastOffset + 1}}
	for attempt := 1; ; attempt++ {
		// One commit at a time: kafka-go's generation shares one coordinator connection, and
		// a caller whose response is not next on it spins (re-arming the read deadline)
		// until it is; with every partition committing at once that spin cost the sink ~5 %
		// of its CPU.
		r.commitMu.Lock()
		err := gen.CommitOffsets(offsets)
		r.commitMu.Unlock()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.log.Warn("offset commit failed", "topic", b.Topic, "partition", b.Partition, "offset", b.LastOffset, "attempt", attempt, "err", err)
		if attempt >= 5 {
			// A rebalance took the partition; its next owner redelivers from the last commit.
			break
		}
		if !sleepCtx(ctx, Backoff(r.cfg.SinkBackoffMin, r.cfg.SinkBackoffMax, attempt)) {
			return ctx.Err()
		}
	}
	r.m.committed.Inc()
	r.m.consumed.WithLabelValues(b.Topic).Add(float64(len(b.Records) + len(st.events)))
	r.m.batchLatency.Observe(time.Since(st.started).Seconds())
	return nil
}

// writeUntilDone writes the batch to one sink, retrying with capped backoff until it
// succeeds; a permanent refusal dead-letters the batch for that sink instead.
func (r *Runner) writeUntilDone(ctx context.Context, st *partState, t target) error {
	b := &st.batch
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := t.write(ctx)
		if err == nil {
			r.m.sinkLatency.WithLabelValues(t.name).Observe(time.Since(start).Seconds())
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.m.sinkErrors.WithLabelValues(t.name).Inc()
		if sinks.IsPermanent(err) {
			// Retrying cannot help and would block the partition for good: set the batch
			// aside for this sink; the other sinks must still succeed before the commit.
			return r.deadLetterBatch(ctx, st, t.name, err)
		}
		r.log.Warn("sink write failed; will retry", "sink", t.name, "topic", b.Topic, "partition", b.Partition,
			"first", b.FirstOffset, "last", b.LastOffset, "attempt", attempt, "err", err)
		// A batch waiting for a sink must not hold up the decoding of other partitions: it
		// gives its records back to the budget (they stay in memory, outside its bound).
		st.giveBack(r.budget)
		if !sleepCtx(ctx, Backoff(r.cfg.SinkBackoffMin, r.cfg.SinkBackoffMax, attempt)) {
			return ctx.Err()
		}
	}
}

// target is one sink's write of the batch being flushed.
type target struct {
	name  string
	write func(context.Context) error
}

// targets returns the writes of st's batch: to every record sink for a record topic, to
// every event sink for an event topic; none when every message was dead-lettered.
func (r *Runner) targets(st *partState) []target {
	b := &st.batch
	var out []target
	if st.eventTopic {
		if len(st.events) == 0 {
			return nil
		}
		eb := &sinks.EventBatch{Topic: b.Topic, Partition: b.Partition, FirstOffset: b.FirstOffset,
			LastOffset: b.LastOffset, Events: st.events}
		for _, s := range r.events {
			out = append(out, target{s.Name(), func(ctx context.Context) error { return s.WriteEvents(ctx, eb) }})
		}
		return out
	}
	if len(b.Records) == 0 {
		return nil
	}
	for _, s := range r.sinks {
		out = append(out, target{s.Name(), func(ctx context.Context) error { return s.Write(ctx, b) }})
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
