package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/kafka/spill"
)

// The spill is keyed by cluster: Spill.Dir/<cluster key>/. A record spilled while producing to
// one set of brokers waits for those brokers; a producer configured for other brokers never
// sees it. Each record carries its topic, so it is only ever produced to that topic.

// SpillDir is the directory of this producer's spill: Spill.Dir/brokers-<sorted brokers>.
func (p *Producer) SpillDir() string {
	return filepath.Join(p.cfg.Spill.Dir, ClusterKey(p.cfg.Brokers))
}

// DeadLetterDir is where records that can never be produced are kept (see WriteDeadLetter).
func (p *Producer) DeadLetterDir() string { return filepath.Join(p.SpillDir(), "deadletter") }

// ClusterKey names the spill directory of a cluster from its bootstrap brokers: sorted,
// lower-cased and joined, with characters unsafe in a file name replaced; long lists are
// shortened with a hash so that the name stays unique.
func ClusterKey(brokers []string) string {
	bs := make([]string, 0, len(brokers))
	for _, b := range brokers {
		if b = strings.ToLower(strings.TrimSpace(b)); b != "" {
			bs = append(bs, b)
		}
	}
	slices.Sort(bs)
	bs = slices.Compact(bs)
	joined := strings.Join(bs, ",")
	safe := []byte(joined)
	for i, c := range safe {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ',') {
			safe[i] = '_'
		}
	}
	key := "brokers-" + string(safe)
	if len(key) > 120 {
		h := uint32(2166136261)
		for i := 0; i < len(joined); i++ {
			h ^= uint32(joined[i])
			h *= 16777619
		}
		key = fmt.Sprintf("%s-%08x", key[:100], h)
	}
	return key
}

// warnOtherSpills logs spills in Spill.Dir that belong to other clusters (or predate the
// per-cluster layout): they are not sent by this producer.
func (p *Producer) warnOtherSpills() {
	ents, err := os.ReadDir(p.cfg.Spill.Dir)
	if err != nil {
		return
	}
	mine := ClusterKey(p.cfg.Brokers)
	for _, e := range ents {
		name := e.Name()
		switch {
		case name == mine:
		case e.IsDir() && strings.HasPrefix(name, "brokers-"):
			p.log.Info("spill of other brokers left alone; a producer to those brokers sends it", "dir", filepath.Join(p.cfg.Spill.Dir, name))
		case strings.HasSuffix(name, ".seg") || strings.HasPrefix(name, "set-"):
			p.log.Warn("spill without a cluster (from an older version) left alone: its brokers are unknown; move it into the directory of its brokers to send it",
				"path", filepath.Join(p.cfg.Spill.Dir, name), "this_cluster_dir", p.SpillDir())
		}
	}
}

// undeliverable tracks, per topic, how long the brokers have kept answering that the topic
// does not exist or may not be written, so that a spilled record for it is given up after
// UndeliverableAfter instead of holding the head of its spill forever.
type undeliverable struct {
	mu     sync.Mutex
	topics map[string]topicRefusal
}

type topicRefusal struct{ since, last time.Time }

// judge returns why a message for topic that failed with err can never be produced, or ""
// when it should be retried. Only answers from a broker count: network errors and timeouts
// (a broker outage) are always retried.
func (u *undeliverable) judge(topic string, err error, now time.Time, after, gap time.Duration) string {
	var kerr kafkago.Error
	if !errors.As(err, &kerr) {
		return ""
	}
	switch kerr {
	case kafkago.InvalidMessageSize, kafkago.MessageSizeTooLarge, kafkago.InvalidTopic,
		kafkago.InvalidTimestamp, kafkago.InvalidRecord:
		return "refused"
	case kafkago.UnknownTopicOrPartition, kafkago.TopicAuthorizationFailed, kafkago.UnknownTopicID:
		u.mu.Lock()
		defer u.mu.Unlock()
		if u.topics == nil {
			u.topics = map[string]topicRefusal{}
		}
		r := u.topics[topic]
		if r.since.IsZero() || now.Sub(r.last) > gap {
			r.since = now // not refused lately: a new streak
		}
		r.last = now
		u.topics[topic] = r
		if now.Sub(r.since) >= after {
			return "unknown_topic"
		}
	}
	return ""
}

// delivered forgets a topic's refusals once a message was produced to it.
func (u *undeliverable) delivered(topic string) {
	u.mu.Lock()
	delete(u.topics, topic)
	u.mu.Unlock()
}

// DeadLetter settles the failed sends of a spill: it moves the messages that can never be
// produced to files in Dir (see spill.WriteDeadLetter), counted in Counter by reason and
// logged, so that they stop holding the head of the spill. The Producer has one per spill
// set; the Firehose receiver one for its spill.
type DeadLetter struct {
	Dir string
	// After is how long the brokers may keep answering that a topic does not exist (or may
	// not be written) before its messages are given up; Gap is the longest pause between
	// two such answers that still counts as one streak (about one retry cycle).
	After, Gap time.Duration
	// Send produces msgs on their own and returns those that failed with the client's
	// error; Settle uses it to narrow a whole-call error down to one topic.
	Send    func(msgs []kafkago.Message) ([]kafkago.Message, error)
	Counter *prometheus.CounterVec // by reason: unknown_topic, refused
	Log     *slog.Logger

	undeliverable undeliverable
}

// Settle takes the messages of a spill send (sent, and failed with the client's err) and
// moves those that can never be produced to the dead-letter file, counted and logged; it
// returns the ones to retry. A whole-call error from the brokers (kafka-go checks every
// message's topic before sending any) is narrowed down by sending each topic's messages on
// their own.
func (d *DeadLetter) Settle(sent, failed []kafkago.Message, err error) []kafkago.Message {
	if len(failed) == 0 {
		d.forgetTopics(sent)
		return nil
	}
	now := time.Now()
	var werrs kafkago.WriteErrors
	if errors.As(err, &werrs) {
		errs := make([]error, 0, len(failed))
		for _, e := range werrs {
			if e != nil {
				errs = append(errs, e)
			}
		}
		if len(errs) != len(failed) {
			return failed
		}
		var retry []kafkago.Message
		dead := map[string][]kafkago.Message{}
		for i, m := range failed {
			if reason := d.undeliverable.judge(m.Topic, errs[i], now, d.After, d.Gap); reason != "" {
				dead[reason] = append(dead[reason], m)
			} else {
				retry = append(retry, m)
			}
		}
		for reason, msgs := range dead {
			if !d.deadLetter(msgs, reason, errs[0]) {
				return failed // keep everything, in order, rather than lose any
			}
		}
		return retry
	}
	var kerr kafkago.Error
	if !errors.As(err, &kerr) {
		return failed
	}
	var topics []string
	for _, m := range failed {
		if !slices.Contains(topics, m.Topic) {
			topics = append(topics, m.Topic)
		}
	}
	if len(topics) > 1 {
		var retry []kafkago.Message
		for _, t := range topics {
			var group []kafkago.Message
			for _, m := range failed {
				if m.Topic == t {
					group = append(group, m)
				}
			}
			f, e := d.Send(group)
			retry = append(retry, d.Settle(group, f, e)...)
		}
		return retry
	}
	reason := d.undeliverable.judge(topics[0], kerr, now, d.After, d.Gap)
	if reason == "" || !d.deadLetter(failed, reason, kerr) {
		return failed
	}
	return nil
}

// SendPieces sends msgs, the messages of a spill segment, in calls of at most n messages
// (Send), settling each call (Settle), as the messages from memory are sent: the copies that
// a call answered with an error after the broker stored it leaves in a partition then stay
// within the runner's DedupeWindow of their first copies, and one call stays well inside
// the write timeout. It stops at the first call that leaves messages to retry and returns
// them, followed by the messages not tried yet, with that call's error; nil once every
// message is in Kafka or the dead-letter file.
func (d *DeadLetter) SendPieces(msgs []kafkago.Message, n int) ([]kafkago.Message, error) {
	for i := 0; i < len(msgs); i += n {
		piece := msgs[i:min(i+n, len(msgs))]
		failed, err := d.Send(piece)
		if left := d.Settle(piece, failed, err); len(left) > 0 {
			rest := msgs[i+len(piece):]
			return append(append(make([]kafkago.Message, 0, len(left)+len(rest)), left...), rest...), err
		}
	}
	return nil, nil
}

func (d *DeadLetter) forgetTopics(sent []kafkago.Message) {
	d.undeliverable.mu.Lock()
	n := len(d.undeliverable.topics)
	d.undeliverable.mu.Unlock()
	if n == 0 {
		return
	}
	for _, m := range sent {
		d.undeliverable.delivered(m.Topic)
	}
}

// deadLetter writes msgs to a new file in Dir; it reports false (and the messages stay in
// the spill) when the file cannot be written.
func (d *DeadLetter) deadLetter(msgs []kafkago.Message, reason string, cause error) bool {
	path, err := spill.WriteDeadLetter(d.Dir, reason, toSpill(msgs))
	if err != nil {
		d.Log.Error("records cannot be produced and cannot be dead-lettered; they stay in the spill", "records", len(msgs),
			"topic", msgs[0].Topic, "reason", reason, "cause", cause, "err", err)
		return false
	}
	d.Counter.WithLabelValues(reason).Add(float64(len(msgs)))
	d.Log.Error("records can never be produced; moved to the dead-letter file", "records", len(msgs), "topic", msgs[0].Topic,
		"reason", reason, "cause", cause, "file", path)
	return true
}
