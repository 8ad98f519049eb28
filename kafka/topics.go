package kafka

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"sync/atomic"
)

// Topic names: one per log kind, plus the dead-letter topic. The embedded broker creates
// AllTopics on start; any Kafka cluster needs them created (or auto-creation on).
const (
	TopicVPC        = "flowtap.vpc"
	TopicTGW        = "flowtap.tgw"
	TopicVPN        = "flowtap.vpn"
	TopicDeadLetter = "flowtap.deadletter"
)

// AllTopics lists every topic flowtap uses, in the order the embedded broker creates them.
func AllTopics() []string { return []string{TopicVPC, TopicTGW, TopicVPN, TopicDeadLetter} }

// HeaderKind is the message header that names the log kind: vpc, tgw, or the VPN event kind
// given to WriteVPN.
const HeaderKind = "flowtap-kind"

// HeaderID carries a message's identity: 8 bytes naming the producer instance (random per
// Producer) and an 8-byte big-endian sequence number within it. A message keeps it when it
// is spilled and sent again, so the runner can drop the copies a re-send after an answer
// that never came (the broker stored the request, the producer did not learn it) leaves in
// a partition. Messages without it are never dropped.
const HeaderID = "flowtap-id"

// idLen is the length of a HeaderID value.
const idLen = 16

// MessageIDs hands out HeaderID values: a random 8-byte name chosen when it is made, and a
// sequence number. The Producer has one; so do the parts that produce on their own (import,
// the Firehose receiver), so that kafka-go's retries of their calls are dropped too.
type MessageIDs struct {
	instance [8]byte
	seq      atomic.Uint64
}

// NewMessageIDs returns an id source with a random name.
func NewMessageIDs() *MessageIDs {
	g := &MessageIDs{}
	binary.BigEndian.PutUint64(g.instance[:], rand.Uint64())
	return g
}

// SourceMessageIDs returns an id source named after source, numbering from 0: for messages
// whose identity is their source's, e.g. the records of a Firehose request, which Firehose
// delivers again with the same request id. Every delivery of the source then gives its
// messages the same ids, so the runner drops the copies of a re-delivered one as it drops a
// producer's re-sends. The name is the first 8 bytes of source's SHA-256, as unlikely to
// meet another source's, or a random name, as two random names are.
func SourceMessageIDs(source string) *MessageIDs {
	sum := sha256.Sum256([]byte(source))
	g := &MessageIDs{}
	copy(g.instance[:], sum[:8])
	return g
}

// reserve takes n consecutive sequence numbers and returns the first.
func (g *MessageIDs) reserve(n int) uint64 { return g.seq.Add(uint64(n)) - uint64(n) }

// Append appends a new HeaderID value to dst.
func (g *MessageIDs) Append(dst []byte) []byte {
	return binary.BigEndian.AppendUint64(append(dst, g.instance[:]...), g.reserve(1))
}

// Dead-letter headers: why a message was set aside and where it came from.
const (
	HeaderDLQReason    = "flowtap-dlq-reason"
	HeaderDLQTopic     = "flowtap-dlq-topic"
	HeaderDLQPartition = "flowtap-dlq-partition"
	HeaderDLQOffset    = "flowtap-dlq-offset"
)

// Optional headers of a VPN topic message: the AWS account and region of the event, which
// its JSON does not carry. Absent, the event's account and region are unknown.
const (
	HeaderAccount = "flowtap-account"
	HeaderRegion  = "flowtap-region"
)

// HeaderImport marks a message that flowtap import produced: "<import id> <object key hash>
// <record number in the object>". A resumed import looks for it to skip what a killed run
// had produced.
const HeaderImport = "flowtap-import"

// PartitionOf returns the partition of a message with key among n partitions, as the
// Producer and kafka-go's Hash balancer choose it (a keyless message: partition 0).
func PartitionOf(key []byte, n int) int { return laneOf(key, n) }
