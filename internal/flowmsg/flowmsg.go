// Package flowmsg encodes flow records and VPN log events as the Kafka messages
// kafka.Producer writes (topic by kind, key, flowtap-kind header, lossless JSON value), for
// the parts that produce synchronously: import and the Firehose receiver.
package flowmsg

import (
	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/kafka"
)

var (
	kindVPC = []byte("vpc")
	kindTGW = []byte("tgw")
	// ids names every message this process produces through a Batch (kafka.HeaderID), so that
	// the sinks drop the copies kafka-go's retries of an unanswered produce leave.
	ids = kafka.NewMessageIDs()
)

// Batch accumulates messages whose keys, values and header values share one buffer (and
// whose headers share one slice).
type Batch struct {
	Msgs []kafkago.Message
	Buf  []byte
	hdrs []kafkago.Header
	// IDs names the messages added after it is set (kafka.HeaderID); nil: this process's
	// own source, each message a fresh id. Reset clears it.
	IDs *kafka.MessageIDs
}

// Reset empties b, keeping its memory; the messages must no longer be in use.
func (b *Batch) Reset() {
	clear(b.Msgs)
	clear(b.hdrs)
	b.Msgs, b.Buf, b.hdrs = b.Msgs[:0], b.Buf[:0], b.hdrs[:0]
	b.IDs = nil
}

// headers appends the kind header, the others (key and value pairs) and a new kafka.HeaderID
// to the batch's headers and returns the message's. Like Buf, hdrs is never written again
// below its length, so earlier messages keep theirs when it grows.
func (b *Batch) headers(kind []byte, more ...kafkago.Header) []kafkago.Header {
	start := len(b.hdrs)
	b.hdrs = append(b.hdrs, kafkago.Header{Key: kafka.HeaderKind, Value: kind})
	b.hdrs = append(b.hdrs, more...)
	idStart := len(b.Buf)
	src := b.IDs
	if src == nil {
		src = ids
	}
	b.Buf = src.Append(b.Buf)
	b.hdrs = append(b.hdrs, kafkago.Header{Key: kafka.HeaderID, Value: b.Buf[idStart:len(b.Buf):len(b.Buf)]})
	return b.hdrs[start:len(b.hdrs):len(b.hdrs)]
}

// AddRecord appends r: topic by kind, key r.Key(), value flowlog.AppendJSON.
func (b *Batch) AddRecord(t kafka.Topics, r *flowlog.Record) {
	topic, kind := t.VPC, kindVPC
	if r.Kind == flowlog.KindTGW {
		topic, kind = t.TGW, kindTGW
	}
	m := kafkago.Message{Topic: topic, Headers: b.headers(kind)}
	start := len(b.Buf)
	b.Buf = flowlog.AppendJSON(b.Buf, r)
	b.add(m, start, r.Key())
}

// AddEvent appends a VPN log event (AWS's JSON) of kind (flowlog.VPNTunnel, …) with the
// CloudWatch stream as key and, when known, the account and region headers.
func (b *Batch) AddEvent(t kafka.Topics, kind, stream, account, region string, data []byte) {
	var more []kafkago.Header
	if account != "" {
		more = append(more, kafkago.Header{Key: kafka.HeaderAccount, Value: []byte(account)})
	}
	if region != "" {
		more = append(more, kafkago.Header{Key: kafka.HeaderRegion, Value: []byte(region)})
	}
	m := kafkago.Message{Topic: t.VPN, Headers: b.headers([]byte(kind), more...)}
	start := len(b.Buf)
	b.Buf = append(b.Buf, data...)
	b.add(m, start, stream)
}

// add finishes m with the value Buf[start:] and key, both slices of Buf. Earlier messages
// keep pointing at the old array when Buf grows: it is never written again below len.
func (b *Batch) add(m kafkago.Message, start int, key string) {
	kstart := len(b.Buf)
	b.Buf = append(b.Buf, key...)
	m.Value = b.Buf[start:kstart:kstart]
	if len(key) > 0 {
		m.Key = b.Buf[kstart:len(b.Buf):len(b.Buf)]
	}
	b.Msgs = append(b.Msgs, m)
}
