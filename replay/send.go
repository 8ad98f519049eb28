package replay

import (
	"context"
	"math"
	"net"
	"slices"
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
	iov       [][]byte // the batch's datagrams, in order
	// gso is the largest datagram that may go in a UDP GSO message (0: GSO off); control
	// and segs are each message's UDP_SEGMENT control and datagram count.
	gso     int
	control [][]byte
	segs    []int
	// The run's cursor: the next packet (counting across loops), the end (-1: none), and
	// the loop whose addresses buf holds (UniqueLoops).
	next, end, addrLoop int64
}

// sendBuffer is the socket send buffer asked for, so bursts of catch-up batches fit.
const sendBuffer = 4 << 20

func (s *sender) open(raddr *net.UDPAddr, batch int, gso bool, portsChanged *atomic.Int64) error {
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
	v4 := raddr.IP.To4() != nil
	if v4 {
		s.w = ipv4.NewPacketConn(c)
	} else {
		s.w = ipv6.NewPacketConn(c)
	}
	s.msgs = make([]ipv4.Message, batch)
	s.iov = make([][]byte, batch)
	s.segs = make([]int, batch)
	s.gso = 0
	if gso {
		s.gso = gsoSegmentLimit(c, !v4)
	}
	if s.gso > 0 {
		s.control = make([][]byte, batch)
		for i := range s.control {
			s.control[i] = newGSOControl()
		}
	}
	return nil
}

func (s *sender) close() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// start readies the sender's cursor for a run of r.
func (s *sender) start(r *Replayer) {
	s.next, s.addrLoop, s.end = 0, 0, -1
	if r.cfg.Loop > 0 {
		s.end = int64(r.cfg.Loop) * int64(len(s.slots))
	}
}

// finished reports whether the sender has sent (or dropped) every packet of the run.
func (s *sender) finished() bool { return s.end >= 0 && s.next >= s.end }

// step sends one batch of the sender's packets that are due by now (ns after the start)
// and reports whether it sent; when none is due yet it returns when the next one is.
//
// A batch runs on past the end of a loop into the next one: a small capture sent many
// times gives each socket only a few packets per loop, and one sendmmsg per loop would
// cost a syscall for every few datagrams. With UniqueLoops a batch stops at the loop's
// end instead, since the next loop rewrites the addresses in the same buffer.
func (s *sender) step(r *Replayer, now int64) (sent bool, due int64) {
	perLoop := int64(len(s.slots))
	loop := s.next / perLoop
	if r.cfg.UniqueLoops && loop != s.addrLoop {
		for i := range s.slots {
			shiftAddrs(s.buf, s.slots[i].patch, uint32(loop-s.addrLoop))
		}
		s.addrLoop = loop
	}
	nb := 0
	for j := s.next; nb < len(s.msgs) && (s.end < 0 || j < s.end); j++ {
		jl, sl := j/perLoop, &s.slots[j%perLoop]
		if jl != loop && r.cfg.UniqueLoops {
			break
		}
		if r.paced && jl*r.loopDur+r.dues[sl.idx] > now {
			break
		}
		s.iov[nb] = s.buf[sl.off : sl.off+sl.n]
		nb++
	}
	if nb == 0 {
		return false, loop*r.loopDur + r.dues[s.slots[s.next%perLoop].idx]
	}
	s.next += int64(s.send(r, nb))
	return true, 0
}

// work sends every packet of its senders from one goroutine: a batch of each in turn,
// sleeping when none has a packet due. It returns false when ctx ended the run early.
// With Config.Threads, a few goroutines that each take turns over many sockets are
// cheaper than a goroutine per socket: no hand-offs between goroutines, and each thread
// stays on its CPU.
func (r *Replayer) work(ctx context.Context, senders []*sender, start time.Time) bool {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	done := ctx.Done()
	active := slices.Clone(senders)
	for len(active) > 0 {
		select {
		case <-done:
			return false
		default:
		}
		var now int64
		if r.paced {
			now = int64(time.Since(start))
		}
		sent, next := false, int64(math.MaxInt64)
		for i := 0; i < len(active); {
			s := active[i]
			if s.finished() {
				active = slices.Delete(active, i, i+1)
				continue
			}
			if ok, due := s.step(r, now); ok {
				sent = true
			} else {
				next = min(next, due)
			}
			i++
		}
		if !sent && len(active) > 0 {
			timer.Reset(time.Duration(next - now))
			select {
			case <-done:
				return false
			case <-timer.C:
			}
		}
	}
	return true
}

// send writes the first nb datagrams of s.iov with one sendmmsg and returns how many
// were consumed: those sent, plus those of one refused message per error, which are
// counted and dropped so that a refusing target cannot stall the run. A GSO message that
// the kernel declines (no checksum offload on the path, an old kernel) turns GSO off for
// the socket, and its datagrams go again, one by one, in the next batch.
func (s *sender) send(r *Replayer, nb int) int {
	nm := s.pack(nb)
	n, err := s.w.WriteBatch(s.msgs[:nm], 0)
	n = max(n, 0)
	sent, inRuns := 0, 0
	for _, k := range s.segs[:n] {
		sent += k
		if k > 1 {
			inRuns += k
		}
	}
	var bytes uint64
	for _, b := range s.iov[:sent] {
		bytes += uint64(len(b))
	}
	r.sentStats.packets.Add(uint64(sent))
	r.sentStats.bytes.Add(bytes)
	if inRuns > 0 {
		r.sentStats.gso.Add(uint64(inRuns))
	}
	if err != nil {
		if n < nm && s.segs[n] > 1 && gsoRefused(err) {
			s.gso = 0
			return sent
		}
		msg := err.Error()
		r.sentStats.lastErr.Store(&msg)
		dropped := 1
		if n < nm {
			dropped = s.segs[n]
			sent += dropped
		}
		r.sentStats.errors.Add(uint64(dropped))
	}
	if sent == 0 && err == nil {
		sent = nb // WriteBatch reported neither progress nor error; do not spin
		r.sentStats.errors.Add(uint64(nb))
	}
	return sent
}

// pack lays the first nb datagrams of s.iov out as messages and returns their number:
// each datagram on its own, or, with GSO, a run of equal sizes (its last may be shorter)
// as one message that the kernel cuts into those datagrams again. A run crosses the IP
// output path and, on the same host, the input path once instead of once per datagram.
func (s *sender) pack(nb int) int {
	m := 0
	for i := 0; i < nb; m++ {
		size, j := len(s.iov[i]), i+1
		if size <= s.gso {
			for total := size; j < nb && j-i < gsoMaxSegments; j++ {
				n := len(s.iov[j])
				if n > size || total+n > maxPayload {
					break
				}
				total += n
				if n < size {
					j++
					break
				}
			}
		}
		s.msgs[m].Buffers = s.iov[i:j]
		s.segs[m] = j - i
		s.msgs[m].OOB = nil
		if j-i > 1 {
			setGSOSize(s.control[m], size)
			s.msgs[m].OOB = s.control[m]
		}
		i = j
	}
	return m
}
