package replay

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchWriter is sendmmsg on a connected UDP socket (ipv4 and ipv6 PacketConns both have
// it, with the same Message type).
type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// sender owns one socket and the packets whose flows hash to it.
type sender struct {
	kind      tunnelKind // notTunnel: frames wrapped here; else captured tunnel frames
	localPort int        // outer source port to bind (captured frames); 0 = ephemeral
	buf       []byte
	slots     []slot
	conn      *net.UDPConn
	w         batchWriter
	msgs      []ipv4.Message
	iov       [][]byte
}

// sendBuffer is the socket send buffer asked for, so bursts of catch-up batches fit.
const sendBuffer = 4 << 20

func (s *sender) open(raddr *net.UDPAddr, batch int, portsChanged *atomic.Int64) error {
	var c *net.UDPConn
	var err error
	if s.localPort != 0 {
		// The captured source port; when it cannot be had (in use, privileged), the flow
		// still goes out, from an ephemeral port, and the report counts it.
		if c, err = net.DialUDP("udp", &net.UDPAddr{Port: s.localPort}, raddr); err != nil {
			portsChanged.Add(1)
		}
	}
	if c == nil {
		if c, err = net.DialUDP("udp", nil, raddr); err != nil {
			return err
		}
	}
	_ = c.SetWriteBuffer(sendBuffer) // best effort: the kernel caps it at wmem_max
	s.conn = c
	if raddr.IP.To4() != nil {
		s.w = ipv4.NewPacketConn(c)
	} else {
		s.w = ipv6.NewPacketConn(c)
	}
	s.msgs = make([]ipv4.Message, batch)
	s.iov = make([][]byte, batch)
	for i := range s.msgs {
		s.msgs[i].Buffers = s.iov[i : i+1]
	}
	return nil
}

func (s *sender) close() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// run sends every loop of the sender's packets on schedule. It returns false when ctx
// ended the run early.
func (s *sender) run(ctx context.Context, r *Replayer, start time.Time) bool {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	done := ctx.Done()
	batch := len(s.msgs)
	for loop := 0; r.cfg.Loop == 0 || loop < r.cfg.Loop; loop++ {
		if loop > 0 && r.cfg.UniqueLoops {
			for i := range s.slots {
				shiftAddrs(s.buf, s.slots[i].patch, 1)
			}
		}
		base := int64(loop) * r.loopDur
		for i := 0; i < len(s.slots); {
			select {
			case <-done:
				return false
			default:
			}
			nb := 0
			if r.paced {
				now := int64(time.Since(start))
				for nb < batch && i+nb < len(s.slots) && base+r.dues[s.slots[i+nb].idx] <= now {
					nb++
				}
				if nb == 0 {
					timer.Reset(time.Duration(base + r.dues[s.slots[i].idx] - now))
					select {
					case <-done:
						return false
					case <-timer.C:
					}
					continue
				}
			} else {
				nb = min(batch, len(s.slots)-i)
			}
			i += s.send(r, s.slots[i:i+nb])
		}
	}
	return true
}

// send writes the slots with one sendmmsg (more if the kernel takes part of them) and
// returns how many slots were consumed: sent ones, plus one refused datagram per error,
// which is counted and dropped so that a refusing target cannot stall the run.
func (s *sender) send(r *Replayer, slots []slot) int {
	for j, sl := range slots {
		s.iov[j] = s.buf[sl.off : sl.off+sl.n]
	}
	if r.threads != nil {
		r.threads <- struct{}{}
	}
	n, err := s.w.WriteBatch(s.msgs[:len(slots)], 0)
	if r.threads != nil {
		<-r.threads
	}
	if n < 0 {
		n = 0
	}
	var bytes uint64
	for _, sl := range slots[:n] {
		bytes += uint64(sl.n)
	}
	r.sentStats.packets.Add(uint64(n))
	r.sentStats.bytes.Add(bytes)
	if err != nil {
		msg := err.Error()
		r.sentStats.lastErr.Store(&msg)
		r.sentStats.errors.Add(1)
		if n < len(slots) {
			n++
		}
	}
	if n == 0 {
		n = len(slots) // WriteBatch reported neither progress nor error; do not spin
		r.sentStats.errors.Add(uint64(n))
	}
	return n
}
