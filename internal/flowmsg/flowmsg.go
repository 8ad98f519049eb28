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
	hdrVPC = []kafkago.Header{{Key: kafka.HeaderKind, Value: []byte("vpc")}}
	hdrTGW = []kafkago.Header{{Key: kafka.HeaderKind, Value: []byte("tgw")}}
)

// Batch accumulates messages whose keys and values share one buffer.
type Batch struct {
	Msgs []kafkago.Message
	Buf  []byte
}

// Reset empties b, keeping its memory; the messages must no longer be in use.
func (b *Batch) Reset() {
	clear(b.Msgs)
	b.Msgs, b.Buf = b.Msgs[:0], b.Buf[:0]
}

// AddRecord appends r: topic by kind, key r.Key(), value flowlog.AppendJSON.
func (b *Batch) AddRecord(t kafka.Topics, r *flowlog.Record) {
	start := len(b.Buf)
	b.Buf = flowlog.AppendJSON(b.Buf, r)
	m := kafkago.Message{Topic: t.VPC, Headers: hdrVPC}
	if r.Kind == flowlog.KindTGW {
		m.Topic, m.Headers = t.TGW, hdrTGW
	}
	b.add(m, start, r.Key())
}

// AddEvent appends a VPN log event (AWS's JSON) of kind (flowlog.VPNTunnel, …) with the
// CloudWatch stream as key and, when known, the account and region headers.
func (b *Batch) AddEvent(t kafka.Topics, kind, stream, account, region string, data []byte) {
	start := len(b.Buf)
	b.Buf = append(b.Buf, data...)
	hdr := []kafkago.Header{{Key: kafka.HeaderKind, Value: []byte(kind)}}
	if account != "" {
		hdr = append(hdr, kafkago.Header{Key: kafka.HeaderAccount, Value: []byte(account)})
	}
	if region != "" {
		hdr = append(hdr, kafkago.Header{Key: kafka.HeaderRegion, Value: []byte(region)})
	}
	b.add(kafkago.Message{Topic: t.VPN, Headers: hdr}, start, stream)
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
