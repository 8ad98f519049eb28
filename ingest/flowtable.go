package ingest

import (
	"encoding/binary"
	"math/bits"
	"net/netip"

	"github.com/flowtap/flowtap/vxlan"
)

// flowKey identifies a unidirectional flow on one ENI (one mirror session), as a VPC Flow Log
// record does: VNI and the packet's 5-tuple; with the IP version (kept beside it, in item and
// flow, so that a flow fits one cache line) it is the whole identity. It is five machine
// words compared word by word (a [16]byte pair costs a memequal call): the addresses as the
// big-endian halves of their 16-byte form (IPv4 mapped into IPv6), the rest packed into
// meta. Scalar fields rather than arrays keep the words in registers.
type flowKey struct {
	srcHi, srcLo uint64
	dstHi, dstLo uint64
	meta         uint64 // VNI (24 bits) | protocol<<24 | source port<<32 | destination port<<48
}

// set fills k in place.
func (k *flowKey) set(src, dst netip.Addr, vni uint32, proto uint8, sport, dport uint16) {
	k.srcHi, k.srcLo = addrWords(src)
	k.dstHi, k.dstLo = addrWords(dst)
	k.meta = uint64(vni&0xffffff) | uint64(proto)<<24 | uint64(sport)<<32 | uint64(dport)<<48
}

// addrWords returns the big-endian halves of a's 16-byte form. It goes through AppendBinary,
// not As16: As16's array result is copied with one 16-byte load over two 8-byte stores,
// which defeats store-to-load forwarding and cost several ns per address.
func addrWords(a netip.Addr) (hi, lo uint64) {
	var buf [16]byte
	b, _ := a.AppendBinary(buf[:0]) // cannot fail; 0, 4 or 16 bytes (a zone, which decoded addresses never have, follows)
	switch {
	case len(b) == 4:
		return 0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b))
	case len(b) >= 16:
		return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])
	}
	return 0, 0
}

func (k *flowKey) vni() uint32   { return uint32(k.meta) & 0xffffff }
func (k *flowKey) proto() uint8  { return uint8(k.meta >> 24) }
func (k *flowKey) sport() uint16 { return uint16(k.meta >> 32) }
func (k *flowKey) dport() uint16 { return uint16(k.meta >> 48) }

// ports returns both ports as sport | dport<<16.
func (k *flowKey) ports() uint32 { return uint32(k.meta >> 32) }

// setPorts sets both ports from sport | dport<<16.
func (k *flowKey) setPorts(p uint32) { k.meta = k.meta&0xffffffff | uint64(p)<<32 }

func (k *flowKey) eq(o *flowKey) bool {
	return (k.srcHi^o.srcHi)|(k.srcLo^o.srcLo)|(k.dstHi^o.dstHi)|(k.dstLo^o.dstLo)|(k.meta^o.meta) == 0
}

// Fragment classes of an item.
const (
	fragNone  = iota
	fragFirst // offset 0, more fragments: carries the ports of the datagram
	fragLater // offset > 0: ports come from the first fragment
)

// item is what a receiver hands a shard per packet: the flow key and the counters' inputs.
type item struct {
	key    flowKey
	shash  uint64 // shardHash of key: picks the shard and seeds the flow hash
	length uint32 // IP length from the header
	fragID uint32
	frag   uint8
	flags  uint8 // raw TCP flags
	v6     bool  // an IPv6 packet: tells ::ffff:a.b.c.d in IPv6 from IPv4 a.b.c.d
	sec    int64 // receive time, Unix seconds
}

// setItem fills it from a decoded packet.
func setItem(it *item, p *vxlan.Packet, sec int64) {
	it.key.set(p.Src, p.Dst, p.VNI, p.Proto, p.SrcPort, p.DstPort)
	it.v6 = p.IPVersion == 6
	it.shash = shardHash(&it.key, it.v6)
	it.length = p.IPLength
	it.flags = p.TCPFlags
	it.sec = sec
	it.frag, it.fragID = fragNone, 0
	if p.IsFragment() {
		it.fragID = p.Frag.ID
		it.frag = fragFirst
		if p.Frag.Offset != 0 {
			it.frag = fragLater
		}
	}
}

// shardHash hashes what every fragment of a datagram carries (VNI, addresses, protocol),
// so that all packets of a flow, fragments included, meet in one shard. Source and
// destination halves are crossed so that the two directions of a connection hash apart.
func shardHash(k *flowKey, v6 bool) uint64 {
	a := k.meta&0xffffffff | uint64(b2u(v6))<<32
	return mix(k.srcHi^k.dstLo^a*0x9e3779b97f4a7c15, k.srcLo^k.dstHi)
}

// flowHash is the flow table's hash of a key whose shardHash is sh: one more multiply-fold
// step adds the ports.
func flowHash(sh uint64, k *flowKey) uint64 { return mix(sh, k.meta>>32) }

// shardOf maps a shard hash onto n shards by multiply-shift (no division).
func shardOf(sh uint64, n int) int { return int((sh >> 32) * uint64(n) >> 32) }

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// mix is a 64-bit multiply-fold hash step (as in wyhash): fast and well spread.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a^0x2d358dccaa6c78a5, b^0x8bb84b93962eacc9)
	return hi ^ lo
}

// awsTCPFlags maps raw TCP flags to what a VPC Flow Log reports: FIN 1, SYN 2, RST 4 and
// SYN-ACK 18; ACK, PSH and the rest are not reported (ACK-only gives 0).
func awsTCPFlags(raw uint8) uint8 {
	f := raw & (vxlan.TCPFin | vxlan.TCPRst)
	if raw&vxlan.TCPSyn != 0 {
		f |= vxlan.TCPSyn
		if raw&vxlan.TCPAck != 0 {
			f |= vxlan.TCPAck
		}
	}
	return f
}

// flow is the state of one flow in the current window: one 64-byte cache line, so that an
// update touches one line. The table's entry array is large enough to be page-aligned.
type flow struct {
	key            flowKey // 40 bytes
	packets, bytes uint64  // packets == 0 marks an empty table entry
	first          uint32  // Unix seconds of the first packet (uint32 holds dates to 2106)
	span           uint16  // last − first, seconds: a window is at most 600 s
	flags          uint8   // AWS-reported flags, OR-ed
	v6             bool
}

func (f *flow) start() int64 { return int64(f.first) }
func (f *flow) end() int64   { return int64(f.first) + int64(f.span) }

// addrs returns the flow's source and destination as netip.Addr.
func (f *flow) addrs() (src, dst netip.Addr) {
	return wordsAddr(f.key.srcHi, f.key.srcLo, f.v6), wordsAddr(f.key.dstHi, f.key.dstLo, f.v6)
}

func wordsAddr(hi, lo uint64, v6 bool) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	if v6 {
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte(b[12:]))
}

type fragKey struct {
	srcHi, srcLo uint64
	dstHi, dstLo uint64
	vniProto     uint32 // the low half of flowKey.meta
	id           uint32
	v6           bool
}

// maxFragEntries bounds each generation of the fragment map; maxPending the later
// fragments held for a first fragment still to come.
const (
	maxFragEntries = 1 << 16
	maxPending     = 1 << 12
)

// table is a shard's flow table for one window: open addressing with linear probing over
// the flows themselves, so that an update is a hash, usually one cache line and a few adds,
// with no index to chase and no allocation once the arrays have grown. order keeps the
// flows' positions in arrival order, the order their records are emitted in. Only its
// shard goroutine touches it.
type table struct {
	entries  []flow   // len is a power of two ≥ 2×len(order); packets == 0 is empty
	order    []uint32 // indexes of the used entries, in arrival order
	maxFlows int

	// First fragments' ports by (VNI, addresses, protocol, IP ID), so that later fragments
	// count toward the same flow. Two generations, rotated at each window close, let a
	// datagram straddle one window boundary.
	frags, oldFrags map[fragKey]uint32

	// Later fragments that arrived before their first fragment, by datagram (indexes into
	// pendingItems); at the window close, those still unmatched count under ports 0.
	pending      map[fragKey][]int32
	pendingItems []item

	fragsUnmatched uint64 // later fragments without their first: counted under ports 0
	fragsNoRoom    uint64 // first fragments not remembered because the map was full
	warmSum        uint64 // keeps warm's loads from being optimised away
}

func newTable(maxFlows int) *table {
	return &table{
		entries:  make([]flow, 1024),
		maxFlows: maxFlows,
		frags:    make(map[fragKey]uint32),
		oldFrags: make(map[fragKey]uint32),
		pending:  make(map[fragKey][]int32),
	}
}

// len returns the number of flows in the table.
func (t *table) len() int { return len(t.order) }

// at returns the i-th flow in arrival order.
func (t *table) at(i int) *flow { return &t.entries[t.order[i]] }

// add accounts one packet. It returns false, changing nothing, when the packet starts a new
// flow and the table already holds maxFlows flows.
func (t *table) add(it *item) bool {
	if it.frag == fragNone {
		return t.insert(it)
	}
	switch it.frag {
	case fragFirst:
		t.rememberPorts(it)
	case fragLater:
		if !t.portsOf(it) && len(t.pendingItems) < maxPending {
			// Its first fragment may still come (another socket, NLB reordering): hold it.
			t.pending[fragKeyOf(it)] = append(t.pending[fragKeyOf(it)], int32(len(t.pendingItems)))
			t.pendingItems = append(t.pendingItems, *it)
			return true
		}
	}
	if !t.insert(it) {
		return false
	}
	if it.frag == fragFirst && len(t.pending) > 0 {
		fk := fragKeyOf(it)
		for _, i := range t.pending[fk] {
			p := &t.pendingItems[i]
			p.key.setPorts(it.key.ports())
			p.frag = fragNone // accounted: the flow exists now, so insert cannot fail
			t.insert(p)
		}
		delete(t.pending, fk)
	}
	return true
}

// insert adds the packet to its flow, creating the flow unless the table is full.
func (t *table) insert(it *item) bool {
	h := flowHash(it.shash, &it.key)
	mask := uint64(len(t.entries) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		f := &t.entries[i]
		if f.packets == 0 {
			if len(t.order) >= t.maxFlows {
				return false
			}
			*f = flow{key: it.key, packets: 1, bytes: uint64(it.length), first: uint32(it.sec),
				flags: awsTCPFlags(it.flags), v6: it.v6}
			t.order = append(t.order, uint32(i))
			if 2*len(t.order) > len(t.entries) {
				t.grow()
			}
			return true
		}
		if f.key.eq(&it.key) && f.v6 == it.v6 {
			f.packets++
			f.bytes += uint64(it.length)
			if sec := uint32(it.sec); sec >= f.first {
				f.span = uint16(max(uint32(f.span), min(sec-f.first, 0xffff)))
			} else { // stamped a little earlier by another receiver
				f.span = uint16(min(f.first-sec+uint32(f.span), 0xffff))
				f.first = sec
			}
			if it.key.proto() == vxlan.ProtoTCP {
				f.flags |= awsTCPFlags(it.flags)
			}
			return true
		}
	}
}

// warm loads the entry each item's probe starts at, for a whole batch before the batch is
// accounted: the loads are independent, so their cache misses overlap instead of each
// packet waiting for its own.
func (t *table) warm(items []item) {
	mask := uint64(len(t.entries) - 1)
	var sum uint64
	for i := range items {
		sum += t.entries[flowHash(items[i].shash, &items[i].key)&mask].packets
	}
	t.warmSum += sum
}

func fragKeyOf(it *item) fragKey {
	return fragKey{srcHi: it.key.srcHi, srcLo: it.key.srcLo, dstHi: it.key.dstHi, dstLo: it.key.dstLo, vniProto: uint32(it.key.meta), id: it.fragID, v6: it.v6}
}

// rememberPorts keeps a first fragment's ports for the later fragments of its datagram.
func (t *table) rememberPorts(it *item) {
	if len(t.frags) < maxFragEntries {
		t.frags[fragKeyOf(it)] = it.key.ports()
	} else {
		t.fragsNoRoom++
	}
}

// portsOf gives a later fragment the ports of its first fragment, if that was seen.
func (t *table) portsOf(it *item) bool {
	fk := fragKeyOf(it)
	ports, ok := t.frags[fk]
	if !ok {
		ports, ok = t.oldFrags[fk]
	}
	if ok {
		it.key.setPorts(ports)
	}
	return ok
}

// takeOrphans returns the held later fragments whose first fragment never came, to be
// counted under ports 0, and forgets them.
func (t *table) takeOrphans() []item {
	var out []item
	for _, idxs := range t.pending {
		for _, i := range idxs {
			it := t.pendingItems[i]
			it.frag = fragNone
			if vxlan.HasPorts(it.key.proto()) {
				t.fragsUnmatched++
			}
			out = append(out, it)
		}
	}
	clear(t.pending)
	t.pendingItems = t.pendingItems[:0]
	return out
}

func (t *table) grow() {
	entries := make([]flow, 2*len(t.entries))
	mask := uint64(len(entries) - 1)
	for n, old := range t.order {
		f := &t.entries[old]
		i := flowHash(shardHash(&f.key, f.v6), &f.key) & mask
		for entries[i].packets != 0 {
			i = (i + 1) & mask
		}
		entries[i] = *f
		t.order[n] = uint32(i)
	}
	t.entries = entries
}

// reset empties the table for the next window, keeping its memory.
func (t *table) reset() {
	for _, i := range t.order {
		t.entries[i] = flow{}
	}
	t.order = t.order[:0]
}

// rotateFrags ages the fragment map at a window close.
func (t *table) rotateFrags() {
	t.oldFrags, t.frags = t.frags, t.oldFrags
	clear(t.frags)
}
