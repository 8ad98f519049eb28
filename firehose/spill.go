package firehose

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/internal/fsx"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/kafka/spill"
)

// SpillDir is the directory of the receiver's spill.
func (s *Server) SpillDir() string {
	dir := s.cfg.SpillDir
	if dir == "" {
		dir = spill.DefaultDir()
	}
	return filepath.Join(dir, kafka.ClusterKey(s.cfg.Brokers), "firehose")
}

// openSpill opens the spill once; nil if it cannot be (the reason in s.spillErr).
func (s *Server) openSpill() *spill.Queue {
	s.spillOnce.Do(func() {
		dir := s.SpillDir()
		lock, err := fsx.LockDir(dir)
		if err != nil {
			s.spillErr = fmt.Errorf("spill %s: %w", dir, err)
			s.log.Error("spill unavailable: a request Kafka does not take is answered 503", "err", s.spillErr)
			return
		}
		q, err := spill.Open(spill.Config{Dir: dir, MaxBytes: s.cfg.SpillMaxBytes})
		if err != nil {
			lock.Close()
			s.spillErr = err
			s.log.Error("spill unavailable: a request Kafka does not take is answered 503", "err", err)
			return
		}
		s.spillLock = lock
		s.queue.Store(q)
		if n := q.Len(); n > 0 {
			s.log.Info("spill holds messages of an earlier run; sending them first", "messages", n)
		}
	})
	return s.queue.Load()
}

func (s *Server) closeSpill() {
	if q := s.queue.Load(); q != nil {
		q.Close()
		s.spillLock.Close()
	}
}

// store produces msgs, or keeps them in the spill, and returns once they are in one of the
// two; spilled says which. While the spill holds messages, new ones go behind them.
func (s *Server) store(id string, msgs []kafkago.Message) (spilled bool, err error) {
	q := s.openSpill()
	if q != nil && q.Len() > 0 {
		err := s.spillDurably(q, msgs)
		if err == nil {
			return true, nil
		}
		s.log.Warn("spill refused a request behind its backlog; trying Kafka", "request_id", id, "err", err)
	}
	// Not the request's context: a write abandoned midway might land after a 503.
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	werr := s.writer.WriteMessages(ctx, msgs...)
	cancel()
	if werr == nil {
		return false, nil
	}
	failed := msgs
	var werrs kafkago.WriteErrors
	if errors.As(werr, &werrs) && len(werrs) == len(msgs) {
		failed = failed[:0:0]
		for i, e := range werrs {
			if e != nil {
				failed = append(failed, msgs[i])
			}
		}
	}
	if q == nil {
		return false, fmt.Errorf("%w (and no spill: %v)", werr, s.spillErr)
	}
	if err := s.spillDurably(q, failed); err != nil {
		return false, fmt.Errorf("%w; spill: %v", werr, err)
	}
	s.log.Warn("kafka write failed; records kept in the spill until Kafka is back", "request_id", id, "messages", len(failed), "err", werr)
	return true, nil
}

func (s *Server) spillDurably(q *spill.Queue, msgs []kafkago.Message) error {
	if err := q.AppendSynced(kafka.ToSpill(msgs)); err != nil {
		return err
	}
	s.m.spilled.Add(float64(len(msgs)))
	select {
	case s.poke <- struct{}{}:
	default:
	}
	return nil
}

// The spill sender's backoff cap and produce timeout.
const (
	maxBackoff   = 10 * time.Second
	writeTimeout = 30 * time.Second
)

// DeadLetterDir holds the spilled messages Kafka refuses for good (see kafka.DeadLetter).
func (s *Server) DeadLetterDir() string { return filepath.Join(s.SpillDir(), "deadletter") }

// drain sends the spill to Kafka, oldest segment first and at most SendChunk messages per
// call, until ctx ends, backing off while Kafka fails.
func (s *Server) drain(ctx context.Context) {
	q := s.openSpill()
	if q == nil {
		return
	}
	// send produces msgs and returns those that failed, with the client's error.
	send := func(msgs []kafkago.Message) ([]kafkago.Message, error) {
		if s.sendHook != nil {
			s.sendHook(len(msgs))
		}
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := s.writer.WriteMessages(wctx, msgs...)
		cancel()
		if err == nil {
			s.m.drained.Add(float64(len(msgs)))
			return nil, nil
		}
		var werrs kafkago.WriteErrors
		if !errors.As(err, &werrs) || len(werrs) != len(msgs) {
			return slices.Clone(msgs), err
		}
		var failed []kafkago.Message
		for i, e := range werrs {
			if e != nil {
				failed = append(failed, msgs[i])
			}
		}
		s.m.drained.Add(float64(len(msgs) - len(failed)))
		return failed, err
	}
	// A message the brokers refuse for good goes to the dead-letter file, as the
	// producer's spill does, instead of holding the head of the spill forever.
	dead := &kafka.DeadLetter{
		Dir: s.DeadLetterDir(), After: s.cfg.UndeliverableAfter, Gap: 2 * (maxBackoff + writeTimeout),
		Send: send, Counter: s.m.deadLettered, Log: s.log,
	}
	failures := 0
	for ctx.Err() == nil {
		id, spilled, corrupt, ok, err := q.Head()
		if err != nil || !ok {
			if err != nil {
				s.log.Error("spill read failed", "err", err)
			}
			select {
			case <-ctx.Done():
			case <-s.poke:
			case <-time.After(time.Second):
			}
			continue
		}
		if corrupt > 0 {
			s.log.Error("spill segment ends in a torn or corrupt record (a crash while writing it); the messages before it are sent", "segment", id)
		}
		msgs := kafka.FromSpill(spilled)
		left, err := dead.SendPieces(msgs, s.cfg.SendChunk)
		if len(left) == 0 {
			if err := q.Remove(id); err != nil {
				s.log.Error("spill remove failed", "err", err)
			}
			failures = 0
			continue
		}
		if len(left) < len(msgs) {
			if rerr := q.Replace(id, kafka.ToSpill(left)); rerr != nil {
				s.log.Error("spill rewrite failed", "err", rerr)
			}
		}
		failures++
		s.log.Warn("sending the spill failed; retrying", "messages", len(left), "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(kafka.Backoff(200*time.Millisecond, maxBackoff, failures)):
		}
	}
}

// SpillDepth is the number of messages waiting in the spill.
func (s *Server) SpillDepth() int64 {
	if q := s.queue.Load(); q != nil {
		return q.Len()
	}
	return 0
}
