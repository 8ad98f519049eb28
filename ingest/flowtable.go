package ingest

import (
	"math/bits"
	"net/netip"

	"github.com/flowtap/flowtap/vxlan"
)

// flowKey identifies a unidirectional flow on one ENI (one mirror session), as a VPC Flow Log
// record does: VNI and the packet's 5-tuple.
type flowKey struct {
	src, dst     [16]byte
	vni          uint32
	sport, dport uint16
	proto        uint8
	v6           bool
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
	length uint32 // IP length from the header
	fragID uint32
	frag   uint8
	flags  uint8 // raw TCP flags
	sec    int64 // receive time, Unix seconds
}

// setItem fills it from a decoded packet.
func setItem(it *item, p *vxlan.Packet, sec int64) {
	it.key = flowKey{src: p.Src.As16(), dst: p.Dst.As16(), vni: p.VNI, sport: p.SrcPort, dport: p.DstPort,
		proto: p.Proto, v6: p.IPVersion == 6}
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
// so that all packets of a flow, fragments included, meet in one shard.
func shardHash(p *vxlan.Packet) uint64 {
	s, d := p.Src.As16(), p.Dst.As16()
	h := mix(le64(s[:8])^le64(d[8:]), le64(s[8:])^le64(d[:8]))
	return mix(h, uint64(p.VNI)<<8|uint64(p.Proto))
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// mix is a 64-bit multiply-fold hash step (as in wyhash): fast and well spread.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a^0x2d358dccaa6c78a5, b^0x8bb84b93962eacc9)
	return hi ^ lo
}

func (k *flowKey) hash() uint64 {
	h := mix(le64(k.src[:8]), le64(k.src[8:]))
	h = mix(h^le64(k.dst[:8]), le64(k.dst[8:]))
	return mix(h, uint64(k.vni)<<32|uint64(k.sport)<<16|uint64(k.dport)^uint64(k.proto)<<56)
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

// flow is the state of one flow in the current window.
type flow struct {
	key            flowKey
	hash           uint64
	packets, bytes uint64
	first, last    int64
	flags          uint8 // AWS-reported flags, OR-ed
}

type fragKey struct {
	src, dst [16]byte
	vni, id  uint32
	proto    uint8
}

// maxFragEntries bounds each generation of the fragment map; maxPending the later
// fragments held for a first fragment still to come.
const (
	maxFragEntries = 1 << 16
	maxPending     = 1 << 12
)

// table is a shard's flow table for one window: an open-addressing index (linear probing)
// over a slice of flows, so that an update is a hash, usually one probe and a few adds,
// with no allocation once the slices have grown. Only its shard goroutine touches it.
type table struct {
	slots    []uint32 // index+1 into flows; 0 = empty. len is a power of two ≥ 2×len(flows)
	flows    []flow
	maxFlows int

	// First fragments' ports by (VNI, addresses, protocol, IP ID), so that later fragments
	// count toward the same flow. Two generations, rotated at each window close, let a
	// datagram straddle one window boundary.
	frags, oldFrags map[fragKey][2]uint16

	// Later fragments that arrived before their first fragment, by datagram (indexes into
	// pendingItems); at the window close, those still unmatched count under ports 0.
	pending      map[fragKey][]int32
	pendingItems []item

	fragsUnmatched uint64 // later fragments without their first: counted under ports 0
	fragsNoRoom    uint64 // first fragments not remembered because the map was full
}

func newTable(maxFlows int) *table {
	return &table{
		slots:    make([]uint32, 1024),
		maxFlows: maxFlows,
		frags:    make(map[fragKey][2]uint16),
		oldFrags: make(map[fragKey][2]uint16),
		pending:  make(map[fragKey][]int32),
	}
}

// add accounts one packet. It returns false, changing nothing, when the packet starts a new
// flow and the table already holds maxFlows flows.
func (t *table) add(it *item) bool {
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
			p.key.sport, p.key.dport = it.key.sport, it.key.dport
			p.frag = fragNone // accounted: the flow exists now, so insert cannot fail
			t.insert(p)
		}
		delete(t.pending, fk)
	}
	return true
}

// insert adds the packet to its flow, creating the flow unless the table is full.
func (t *table) insert(it *item) bool {
	h := it.key.hash()
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			if len(t.flows) >= t.maxFlows {
				return false
			}
			t.flows = append(t.flows, flow{key: it.key, hash: h, packets: 1, bytes: uint64(it.length),
				first: it.sec, last: it.sec, flags: awsTCPFlags(it.flags)})
			t.slots[i] = uint32(len(t.flows))
			if 2*len(t.flows) > len(t.slots) {
				t.grow()
			}
			return true
		}
		f := &t.flows[s-1]
		if f.hash == h && f.key == it.key {
			f.packets++
			f.bytes += uint64(it.length)
			f.last = max(f.last, it.sec)
			f.first = min(f.first, it.sec)
			if it.key.proto == vxlan.ProtoTCP {
				f.flags |= awsTCPFlags(it.flags)
			}
			return true
		}
	}
}

func fragKeyOf(it *item) fragKey {
	return fragKey{src: it.key.src, dst: it.key.dst, vni: it.key.vni, id: it.fragID, proto: it.key.proto}
}

// rememberPorts keeps a first fragment's ports for the later fragments of its datagram.
func (t *table) rememberPorts(it *item) {
	if len(t.frags) < maxFragEntries {
		t.frags[fragKeyOf(it)] = [2]uint16{it.key.sport, it.key.dport}
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
		it.key.sport, it.key.dport = ports[0], ports[1]
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
			if vxlan.HasPorts(it.key.proto) {
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
	slots := make([]uint32, 2*len(t.slots))
	mask := uint64(len(slots) - 1)
	for n := range t.flows {
		i := t.flows[n].hash & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = uint32(n + 1)
	}
	t.slots = slots
}

// reset empties the table for the next window, keeping its memory.
func (t *table) reset() {
	clear(t.slots)
	t.flows = t.flows[:0]
}

// rotateFrags ages the fragment map at a window close.
func (t *table) rotateFrags() {
	t.oldFrags, t.frags = t.frags, t.oldFrags
	clear(t.frags)
}

// addrs returns the flow's source and destination as netip.Addr.
func (k *flowKey) addrs() (src, dst netip.Addr) {
	if k.v6 {
		return netip.AddrFrom16(k.src), netip.AddrFrom16(k.dst)
	}
	return netip.AddrFrom4([4]byte(k.src[12:])), netip.AddrFrom4([4]byte(k.dst[12:]))
}
