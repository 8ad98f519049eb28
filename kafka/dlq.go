package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/flowlog"
)

// Dead-letter reasons, the reason label of flowtap_consumer_deadlettered_total (a refused
// batch is labelled "refused:" + the sink's name).
const reasonUndecodable = "undecodable"

// newDeadLetterWriter returns the writer of the dead-letter topic, shared by every partition
// worker (kafka-go Writers are safe for concurrent use).
func newDeadLetterWriter(cfg RunnerConfig) *kafkago.Writer {
	mech, _ := cfg.SASL.mechanism() // checked by NewRunner
	return &kafkago.Writer{
		Addr:         kafkago.TCP(cfg.Brokers...),
		Topic:        cfg.DeadLetterTopic,
		Balancer:     &kafkago.Hash{},
		RequiredAcks: kafkago.RequireAll,
		BatchTimeout: time.Millisecond,
		BatchSize:    1000, // a refused batch is dead-lettered whole
		MaxAttempts:  3,
		Transport:    newTransport(clientIDDeadLetter, mech),
	}
}

// dlqMessage is m as set aside on the dead-letter topic: its key, value and headers, and
// why and where from.
func dlqMessage(m kafkago.Message, reason string) kafkago.Message {
	hs := make([]kafkago.Header, 0, len(m.Headers)+4)
	hs = append(hs, m.Headers...)
	hs = append(hs,
		kafkago.Header{Key: HeaderDLQReason, Value: []byte(reason)},
		kafkago.Header{Key: HeaderDLQTopic, Value: []byte(m.Topic)},
		kafkago.Header{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(m.Partition))},
		kafkago.Header{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(m.Offset, 10))},
	)
	return kafkago.Message{Key: m.Key, Value: m.Value, Headers: hs}
}

// deadLetter sets m aside on the dead-letter topic with the reason and its origin; it retries
// until the write is acknowledged (or ctx ends), so that committing past m loses nothing.
func (r *Runner) deadLetter(ctx context.Context, m kafkago.Message, reason string) error {
	if err := r.writeDLQ(ctx, []kafkago.Message{dlqMessage(m, reason)}); err != nil {
		return err
	}
	r.m.deadLettered.WithLabelValues(m.Topic, reasonUndecodable).Inc()
	r.log.Warn("undecodable message sent to the dead-letter topic", "topic", m.Topic, "partition", m.Partition,
		"offset", m.Offset, "reason", reason)
	return nil
}

// deadLetterBatch sets the whole batch aside for the sink that refused it for good (cause):
// every record (re-encoded with flowlog.AppendJSON, keyed by Record.Key(), as the Producer
// sends it) or event (its value unchanged, keyed by its stream), with its own offset and the
// reason "sink <name> refused the batch: <cause>".
func (r *Runner) deadLetterBatch(ctx context.Context, st *partState, sink string, cause error) error {
	b := &st.batch
	reason := fmt.Sprintf("sink %s refused the batch [%d,%d] for good: %v", sink, b.FirstOffset, b.LastOffset, cause)
	msgs := make([]kafkago.Message, 0, len(st.offsets))
	for i, off := range st.offsets {
		m := kafkago.Message{Topic: b.Topic, Partition: b.Partition, Offset: off}
		if st.eventTopic {
			ev := &st.events[i]
			m.Value = ev.Data
			if ev.Stream != "" {
				m.Key = []byte(ev.Stream)
			}
			m.Headers = []kafkago.Header{{Key: HeaderKind, Value: []byte(ev.Kind)}}
			if ev.Account != "" {
				m.Headers = append(m.Headers, kafkago.Header{Key: HeaderAccount, Value: []byte(ev.Account)})
			}
			if ev.Region != "" {
				m.Headers = append(m.Headers, kafkago.Header{Key: HeaderRegion, Value: []byte(ev.Region)})
			}
		} else {
			rec := &b.Records[i]
			m.Value = flowlog.AppendJSON(nil, rec)
			if k := rec.Key(); k != "" {
				m.Key = []byte(k)
			}
			m.Headers = []kafkago.Header{{Key: HeaderKind, Value: []byte(rec.Kind.String())}}
		}
		msgs = append(msgs, dlqMessage(m, reason))
	}
	if err := r.writeDLQ(ctx, msgs); err != nil {
		return err
	}
	r.m.deadLettered.WithLabelValues(b.Topic, "refused:"+sink).Add(float64(len(msgs)))
	r.log.Error("sink refused a batch for good; its messages went to the dead-letter topic", "sink", sink,
		"topic", b.Topic, "partition", b.Partition, "first", b.FirstOffset, "last", b.LastOffset,
		"messages", len(msgs), "dead_letter_topic", r.cfg.DeadLetterTopic, "err", cause)
	return nil
}

// writeDLQ writes msgs to the dead-letter topic, retrying what failed with backoff until
// every message is acknowledged or ctx ends.
func (r *Runner) writeDLQ(ctx context.Context, msgs []kafkago.Message) error {
	for attempt := 1; ; attempt++ {
		err := r.dlq.WriteMessages(ctx, msgs...)
		if err == nil {
			return nil
		}
		var werrs kafkago.WriteErrors
		if errors.As(err, &werrs) && len(werrs) == len(msgs) {
			failed := msgs[:0:0]
			for i, e := range werrs {
				if e != nil {
					failed = append(failed, msgs[i])
				}
			}
			msgs = failed
		}
		r.log.Error("dead-letter write failed", "attempt", attempt, "messages", len(msgs), "err", err)
		if !sleepCtx(ctx, Backoff(r.cfg.SinkBackoffMin, r.cfg.SinkBackoffMax, attempt)) {
			return ctx.Err()
		}
	}
}
