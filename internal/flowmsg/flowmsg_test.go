package flowmsg

import (
	"net/netip"
	"testing"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/kafka"
)

// TestEveryMessageHasItsOwnID: records and events keep their kind (and account, region)
// headers and each gets its own flowtap-id, also after the shared buffer has grown.
func TestEveryMessageHasItsOwnID(t *testing.T) {
	var b Batch // empty: the buffers grow (and move) while messages point into them
	topics := kafka.DefaultTopics()
	for i := range 500 {
		r := flowlog.Record{Kind: flowlog.KindVPC, Version: 2, InterfaceID: "eni-0123456789abcdef0",
			SrcAddr: netip.MustParseAddr("10.0.0.1"), DstAddr: netip.MustParseAddr("10.0.0.2"), Packets: uint64(i)}
		if i%3 == 0 {
			r.Kind, r.TGWAttachmentID = flowlog.KindTGW, "tgw-attach-0123456789abcdef0"
		}
		b.AddRecord(topics, &r)
		if i%5 == 0 {
			b.AddEvent(topics, "vpn-tunnel", "vpn-1_1.2.3.4", "123456789012", "us-east-1", []byte(`{"event":1}`))
		}
	}
	seen := map[string]bool{}
	for i, m := range b.Msgs {
		var kind, id, account string
		for _, h := range m.Headers {
			switch h.Key {
			case kafka.HeaderKind:
				kind = string(h.Value)
			case kafka.HeaderID:
				id = string(h.Value)
			case kafka.HeaderAccount:
				account = string(h.Value)
			}
		}
		want := map[string]string{topics.VPC: "vpc", topics.TGW: "tgw", topics.VPN: "vpn-tunnel"}[m.Topic]
		if kind != want || len(id) != 16 || (m.Topic == topics.VPN && account != "123456789012") {
			t.Fatalf("message %d (%s): kind %q, id %x, account %q", i, m.Topic, kind, id, account)
		}
		if seen[id] {
			t.Fatalf("message %d: id %x given twice", i, id)
		}
		seen[id] = true
	}
}
