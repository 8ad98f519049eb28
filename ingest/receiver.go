package ingest

import (
	"errors"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/flowtap/flowtap/vxlan"
)

// maxDatagram is the receive buffer per message: a 9001-byte jumbo frame mirrored whole,
// plus VXLAN (or GENEVE with options) headers.
const maxDatagram = 9216

// batchReader is ipv4.PacketConn or ipv6.PacketConn: recvmmsg on Linux.
type batchReader interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
}

// receiver reads one SO_REUSEPORT socket in batches, decodes every datagram and hands the
// summaries to the shards.
type receiver struct {
	c       *Collector
	conn    net.PacketConn
	br      batchReader
	decode  func([]byte, *vxlan.Packet) error
	kdrops  prometheus.Counter
	lastOvf uint32
	haveOvf bool
}

func newReceiver(c *Collector, conn net.PacketConn, decode func([]byte, *vxlan.Packet) error, kdrops prometheus.Counter) *receiver {
	r := &receiver{c: c, conn: conn, decode: decode, kdrops: kdrops}
	if ua, ok := conn.LocalAddr().(*net.UDPAddr); ok && ua.IP.To4() == nil {
		r.br = ipv6.NewPacketConn(conn)
	} else {
		r.br = ipv4.NewPacketConn(conn)
	}
	return r
}

// run receives until the socket is closed.
func (r *receiver) run() {
	n := r.c.cfg.ReadBatch
	msgs := make([]ipv4.Message, n)
	bufs := make([]byte, n*maxDatagram)
	oobs := make([]byte, n*oobSize)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{bufs[i*maxDatagram : (i+1)*maxDatagram]}
		msgs[i].OOB = oobs[i*oobSize : (i+1)*oobSize]
	}
	shards := r.c.shards
	pending := make([]*batch, len(shards))
	// Decoded packets are staged, then copied to their shards' batches in a second pass:
	// copying an item right after writing it would stall on store-to-load forwarding.
	stage := make([]item, n)
	var drops [vxlan.NumReasons]uint64
	var p vxlan.Packet
	for {
		got, err := r.br.ReadBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.c.m.readErrors.Inc()
			r.c.log.Warn("ingest: receive", slog.Any("err", err))
			continue
		}
		sec := r.c.now().Unix()
		var bytes uint64
		staged := 0
		for i := range got {
			m := &msgs[i]
			bytes += uint64(m.N)
			if m.NN > 0 {
				if v, ok := rxqOvfl(m.OOB[:m.NN]); ok {
					if r.haveOvf && v != r.lastOvf {
						r.kdrops.Add(float64(v - r.lastOvf))
					}
					r.lastOvf, r.haveOvf = v, true
				}
			}
			if err := r.decode(m.Buffers[0][:m.N], &p); err != nil {
				if reason, ok := err.(vxlan.Reason); ok && int(reason) < len(drops) {
					drops[reason]++
				} else {
					drops[0]++
				}
				continue
			}
			setItem(&stage[staged], &p, sec)
			staged++
		}
		for i := range staged {
			s := shardOf(stage[i].shash, len(shards))
			b := pending[s]
			if b == nil {
				b = batchPool.Get().(*batch)
				pending[s] = b
			}
			b.items = append(b.items, stage[i])
			if len(b.items) == cap(b.items) {
				shards[s].in <- b
				pending[s] = nil
			}
		}
		for s, b := range pending {
			if b != nil {
				shards[s].in <- b // blocks when the shard lags: back-pressure shows as kernel drops
				pending[s] = nil
			}
		}
		r.c.m.packets.Add(float64(got))
		r.c.m.bytes.Add(float64(bytes))
		for reason, n := range drops {
			if n != 0 {
				r.c.m.drops[reason].Add(float64(n))
				drops[reason] = 0
			}
		}
	}
}
