package kafka

import (
	"context"
	"errors"
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// fetchGrace is how much longer than the broker's wait a fetch may take before the
// connection is considered dead.
const fetchGrace = 10 * time.Second

// fetchLoop reads one partition from offset with kafka-go's connection API: one fetch
// request at a time (ReadBatchWith: up to FetchMaxBytes, waiting up to FetchMaxWait for
// data), every message handed to the batcher in order, and the batcher told where each
// fetch ended against the high watermark. Connection and broker errors reconnect with
// capped backoff; the loop ends with ctx (nil) or with the batcher's error.
func (r *Runner) fetchLoop(ctx context.Context, b *batcher, offset int64) error {
	var conn *kafkago.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	lag := r.m.lag.WithLabelValues(b.key.topic, strconv.Itoa(b.key.partition))
	cfg := kafkago.ReadBatchConfig{MinBytes: 1, MaxBytes: r.cfg.FetchMaxBytes, MaxWait: r.cfg.FetchMaxWait}
	failures := 0
	var msgs []kafkago.Message
	fail := func(what string, err error) bool {
		failures++
		if conn != nil {
			conn.Close()
			conn = nil
		}
		r.log.Warn(what, "topic", b.key.topic, "partition", b.key.partition, "offset", offset, "attempt", failures, "err", err)
		return sleepCtx(ctx, Backoff(r.cfg.SinkBackoffMin, r.cfg.SinkBackoffMax, failures))
	}
	for ctx.Err() == nil {
		if conn == nil {
			c, err := r.dialer.DialLeader(ctx, "tcp", r.cfg.Brokers[failures%len(r.cfg.Brokers)], b.key.topic, b.key.partition)
			if err != nil {
				if !fail("dial partition leader failed; will retry", err) {
					return nil
				}
				continue
			}
			conn = c
			first, last, err := conn.ReadOffsets()
			if err != nil {
				if !fail("read partition offsets failed; will retry", err) {
					return nil
				}
				continue
			}
			switch {
			case offset < 0: // no committed offset: the group starts at the beginning
				offset = first
			case offset < first:
				r.log.Warn("committed offset was deleted by retention; skipping to the first offset", "topic", b.key.topic,
					"partition", b.key.partition, "offset", offset, "first", first, "skipped", first-offset)
				offset = first
			case offset > last:
				r.log.Warn("committed offset is past the end of the partition", "topic", b.key.topic,
					"partition", b.key.partition, "offset", offset, "last", last)
			}
			if _, err := conn.Seek(offset, kafkago.SeekAbsolute); err != nil {
				if !fail("seek failed; will retry", err) {
					return nil
				}
				continue
			}
		}
		// The whole response is read before any message is handled: handling may wait for
		// the flusher, and the connection must not sit half-read meanwhile.
		conn.SetReadDeadline(time.Now().Add(r.cfg.FetchMaxWait + fetchGrace))
		batch := conn.ReadBatchWith(cfg)
		hwm := batch.HighWaterMark()
		msgs = msgs[:0]
		for {
			m, err := batch.ReadMessage()
			if err != nil {
				break
			}
			msgs = append(msgs, m)
		}
		err := batch.Close()
		b.hwm = hwm
		for i := range msgs {
			offset = msgs[i].Offset + 1
			if err := b.handle(ctx, &msgs[i]); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		clear(msgs) // the batch keeps what it needs; let the rest go
		if errors.Is(err, kafkago.RequestTimedOut) {
			err = nil // nothing arrived within FetchMaxWait: an empty fetch
		}
		if err != nil {
			var kerr kafkago.Error
			switch {
			case errors.Is(err, kafkago.OffsetOutOfRange):
				// Reconnecting re-reads the partition's offsets and moves to the first one if
				// retention deleted ours.
				if !fail("offset out of range; re-reading the partition's offsets", err) {
					return nil
				}
			case errors.As(err, &kerr):
				if !fail("fetch refused by the broker; reconnecting", err) {
					return nil
				}
			default:
				if !fail("fetch failed; reconnecting", err) {
					return nil
				}
			}
			continue
		}
		failures = 0
		if hwm >= 0 {
			lag.Set(float64(max(hwm-offset, 0)))
		}
		if err := b.fetched(ctx, offset, hwm, time.Now()); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}
