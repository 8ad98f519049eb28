package generate

import (
	"math"
	"math/rand/v2"
	"net/netip"
)

// service is a server port and the shape of its conversations.
type service struct {
	port   uint16
	proto  uint8
	req    float64 // median request packet size (bytes)
	resp   float64 // median response packet size
	pkts   float64 // median client packets per flow
	ratio  float64 // server packets per client packet
	dur    float64 // median flow duration (s)
	weight int     // popularity among a server's services
}

const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

var services = []service{
	0: {443, protoTCP, 180, 1100, 12, 1.6, 0.8, 70},
	1: {80, protoTCP, 160, 900, 8, 1.5, 0.4, 30},
	2: {22, protoTCP, 120, 160, 60, 1.1, 120, 10},
	3: {3306, protoTCP, 140, 600, 10, 1.3, 2, 10},
	4: {5432, protoTCP, 150, 650, 10, 1.3, 2, 10},
	5: {6379, protoTCP, 90, 120, 20, 1, 5, 10},
	6: {53, protoUDP, 74, 130, 1, 1, 0.01, 10},
	7: {123, protoUDP, 76, 76, 1, 1, 0.01, 10},
	8: {8080, protoTCP, 200, 800, 10, 1.4, 0.5, 10},
}

// roleServices maps instance roles to the services they listen on.
var roleServices = map[string][]int8{
	"web": {0, 1}, "api": {8, 0}, "mysql": {3}, "postgres": {4}, "redis": {5},
	"dns": {6}, "ntp": {7}, "bastion": {2}, "worker": {8},
}

// scanPorts are ports scanners probe; they are closed on the targets.
var scanPorts = []uint16{23, 445, 3389, 1433, 5900, 9200, 27017, 2375, 8443, 21, 25, 111, 135, 139, 161, 5060, 8888, 6443}

// Address slots of a flow: where each logged address comes from.
const (
	slotClient = iota // the initiator's address on the wire
	slotServer        // the responder's address on the wire
	slotCPrim         // the client ENI's primary address (if the wire address is a secondary)
	slotSPrim         // the server ENI's primary address
	slotMidA          // a NAT or client-side transit gateway ENI
	slotMidB          // the server-side transit gateway ENI
	numSlots
)

const (
	obsVPC uint8 = iota
	obsTGW
)

// obs is one place that logs the flow: an ENI (VPC records) or a transit gateway
// attachment (TGW records). It logs the forward direction and, unless the flow was
// rejected, the reverse one with addresses swapped.
type obs struct {
	kind       uint8
	fwdIngress bool  // the forward direction enters this ENI/attachment
	fwdOnly    bool  // logs only the forward direction
	reject     bool  // VPC: this ENI's security group rejects the flow
	path       uint8 // VPC: traffic-path of this ENI's egress records
	src, dst   uint8 // slots of srcaddr/dstaddr (forward direction)
	psrc, pdst uint8 // slots of pkt-srcaddr/pkt-dstaddr (forward direction)
	eni        int32 // VPC: ENI; TGW: attachment
	pair       int32 // TGW: pair attachment (-1: none)
	fsrc, fdst int32 // TGW: ENIs of the forward source and destination attachments (-1: none)
	lostNoRt   bool  // TGW: packets dropped for lack of a route
}

const maxObs = 12

// flow is one conversation (5-tuple) with its lifetime, counters and observers.
type flow struct {
	start, end   float64 // epoch seconds, fractional
	fwdPk, revPk uint64  // packets over the whole flow
	fwdSz, revSz uint32  // bytes per packet
	cport, sport uint16
	proto        uint8
	v6           bool
	rst          bool // ends with a reset rather than FIN
	pubSlot      int8 // slot of the public address (-1: none)
	svc          string
	tgw          int32
	addr         [numSlots]netip.Addr
	nobs         uint8
	obs          [maxObs]obs
}

func (f *flow) add(o obs) {
	if int(f.nobs) < maxObs {
		f.obs[f.nobs] = o
		f.nobs++
	}
}

// addENI logs the flow on ENI e. out says the forward direction leaves e (egress); path
// is e's traffic path for its egress records.
func (f *flow) addENI(e int32, out bool, src, dst, psrc, pdst uint8, path uint8) {
	f.add(obs{kind: obsVPC, fwdIngress: !out, eni: e, src: src, dst: dst, psrc: psrc, pdst: pdst, path: path, pair: -1})
}

// addTGW logs the flow on transit gateway attachments from (where it enters) and to (where
// it leaves), with their ENIs fe and te (-1 for non-VPC attachments).
func (f *flow) addTGW(from, to, fe, te int32) {
	f.add(obs{kind: obsTGW, fwdIngress: true, eni: from, pair: to, fsrc: fe, fdst: te})
	if to >= 0 {
		f.add(obs{kind: obsTGW, fwdIngress: false, eni: to, pair: from, fsrc: fe, fdst: te})
	}
}

// Flow kinds and their shares of new flows.
const (
	fkIntra = iota
	fkInternetOut
	fkInternetIn
	fkCrossVPC
	fkRemote
	fkScan
	fkSGReject
	fkPing
	numFlowKinds
)

var flowKindWeights = [numFlowKinds]int{fkIntra: 32, fkInternetOut: 24, fkInternetIn: 14, fkCrossVPC: 12,
	fkRemote: 7, fkScan: 6, fkSGReject: 2, fkPing: 3}

// model builds flows from the topology.
type model struct {
	ix        *index
	net       *internet
	kindTable [100]uint8
	nitro     bool
	// vgwPrefixes are the on-premises prefixes of each VPN connection (by topology index).
	vgwPrefixes [][]netip.Prefix
}

func newModel(ix *index, net *internet) *model {
	m := &model{ix: ix, net: net, nitro: true}
	n := 0
	for k, w := range flowKindWeights {
		for j := 0; j < w && n < len(m.kindTable); j++ {
			m.kindTable[n] = uint8(k)
			n++
		}
	}
	return m
}

func ephemeral(rng *rand.Rand) uint16 { return uint16(32768 + rng.IntN(60999-32768+1)) }

// newFlow fills f with a new flow starting at start. It returns false when the topology
// offers no place for the drawn kind (the caller draws again).
func (m *model) newFlow(rng *rand.Rand, f *flow, start float64) bool {
	f.nobs, f.pubSlot, f.svc, f.v6, f.rst, f.tgw = 0, -1, "", false, false, -1
	f.start = start
	ix := m.ix
	if ix.clients.empty() {
		return false
	}
	v := &ix.vpcs[ix.clients.pick(rng)]
	c := v.instances.pick(rng)
	switch m.kindTable[rng.IntN(len(m.kindTable))] {
	case fkIntra:
		return m.intra(rng, f, v, c, false, false)
	case fkSGReject:
		return m.intra(rng, f, v, c, true, false)
	case fkPing:
		return m.intra(rng, f, v, c, false, true)
	case fkInternetOut:
		return m.internetOut(rng, f, v, c)
	case fkInternetIn:
		return m.internetIn(rng, f, v, false)
	case fkScan:
		return m.internetIn(rng, f, v, true)
	case fkCrossVPC:
		return m.crossVPC(rng, f, v, c)
	case fkRemote:
		return m.remote(rng, f, v, c)
	}
	return false
}

// shape draws the flow's duration, packet counts and sizes for service s.
func shape(rng *rand.Rand, f *flow, s *service) {
	f.proto = s.proto
	f.sport = s.port
	f.cport = ephemeral(rng)
	d := s.dur * expRand(rng, 0, 1.6)
	if rng.IntN(50) == 0 {
		d *= 1 + 200*rng.Float64() // long-lived sessions: tunnels, replication, downloads
	}
	d = math.Min(d, 7200)
	f.end = f.start + d
	pk := s.pkts * expRand(rng, 0, 1.2) * (1 + math.Sqrt(d)/4)
	f.fwdPk = uint64(math.Max(1, pk))
	f.revPk = uint64(math.Max(1, pk*s.ratio*expRand(rng, 0, 0.3)))
	if f.proto == protoTCP {
		f.fwdPk = max(f.fwdPk, 3) // SYN, ACK, FIN at least
		f.revPk = max(f.revPk, 2)
	}
	min := 40.0
	if f.proto != protoTCP {
		min = 28
	}
	f.fwdSz = uint32(math.Min(1500, math.Max(min, s.req*expRand(rng, 0, 0.35))))
	f.revSz = uint32(math.Min(1500, math.Max(min, s.resp*expRand(rng, 0, 0.35))))
	f.rst = f.proto == protoTCP && rng.IntN(20) == 0
}

func (m *model) pickService(rng *rand.Rand, e *eniInfo) *service {
	if len(e.svc) == 0 {
		return &services[8]
	}
	return &services[e.svc[rng.IntN(len(e.svc))]]
}

// serverAddr sets the server slot to s's address (sometimes a secondary one) and the
// primary slot to its primary address; logged addresses use the primary (reference §1.1).
func (f *flow) serverAddr(rng *rand.Rand, s *eniInfo, v6 bool) {
	f.addr[slotSPrim] = s.addr
	f.addr[slotServer] = s.addr
	if v6 {
		f.addr[slotServer], f.addr[slotSPrim] = s.v6, s.v6
	} else if s.secondary.IsValid() && rng.IntN(4) == 0 {
		f.addr[slotServer] = s.secondary
	}
}

func (m *model) intra(rng *rand.Rand, f *flow, v *vpcInfo, c int32, reject, ping bool) bool {
	if len(v.instances.idx) < 2 {
		return false
	}
	s := v.instances.pick(rng)
	for tries := 0; s == c && tries < 4; tries++ {
		s = v.instances.pick(rng)
	}
	if s == c {
		return false
	}
	ce, se := &m.ix.enis[c], &m.ix.enis[s]
	svc := m.pickService(rng, se)
	shape(rng, f, svc)
	if ping {
		f.proto, f.cport, f.sport = protoICMP, 0, 0
		f.fwdPk = 1 + uint64(rng.IntN(10))
		f.revPk, f.fwdSz, f.revSz = f.fwdPk, 84, 84
		f.end = f.start + float64(f.fwdPk)
		f.rst = false
	}
	if reject {
		f.sport = scanPorts[rng.IntN(len(scanPorts))]
		synOnly(rng, f)
	}
	f.v6 = ce.v6.IsValid() && se.v6.IsValid() && rng.IntN(4) == 0
	if ping && f.v6 {
		f.proto = protoICMPv6
	}
	f.addr[slotClient], f.addr[slotCPrim] = ce.addr, ce.addr
	if f.v6 {
		f.addr[slotClient], f.addr[slotCPrim] = ce.v6, ce.v6
	}
	f.serverAddr(rng, se, f.v6)
	f.addENI(c, true, slotClient, slotServer, slotClient, slotServer, 1)
	f.addENI(s, false, slotClient, slotSPrim, slotClient, slotServer, 1)
	if reject {
		f.obs[f.nobs-1].reject = true
		f.obs[0].fwdOnly, f.obs[1].fwdOnly = true, true
	}
	return true
}

// synOnly turns f into an unanswered connection attempt: a few SYNs, no reply.
func synOnly(rng *rand.Rand, f *flow) {
	f.proto = protoTCP
	f.fwdPk = 1 + uint64(rng.IntN(3))
	f.revPk = 0
	f.fwdSz = uint32(40 + 4*rng.IntN(6))
	f.end = f.start + float64(f.fwdPk-1)*rng.Float64()*3
	f.rst = false
}

func (m *model) internetOut(rng *rand.Rand, f *flow, v *vpcInfo, c int32) bool {
	ce := &m.ix.enis[c]
	if !v.igw {
		return false
	}
	svc := &services[0]
	if rng.IntN(5) == 0 {
		svc = &services[1]
	}
	shape(rng, f, svc)
	f.v6 = ce.v6.IsValid() && ce.public && rng.IntN(3) == 0
	f.addr[slotClient], f.addr[slotCPrim] = ce.addr, ce.addr
	var dst netip.Addr
	switch {
	case f.v6:
		f.addr[slotClient], f.addr[slotCPrim] = ce.v6, ce.v6
		if rng.IntN(3) == 0 {
			dst = randIn(rng, awsRanges[len(awsRanges)-2].prefix)
		} else {
			dst = m.net.dests6[skewed(rng, len(m.net.dests6))]
		}
	case rng.IntN(100) < 55:
		r := &awsRanges[m.net.awsPick[rng.IntN(len(m.net.awsPick))]]
		dst = randIn(rng, r.prefix)
	default:
		dst = m.net.dests[skewed(rng, len(m.net.dests))]
	}
	f.svc = awsService(dst)
	f.addr[slotServer], f.addr[slotSPrim] = dst, dst
	f.pubSlot = slotServer
	igwPath := uint8(2)
	if m.nitro && rng.IntN(2) == 0 {
		igwPath = 8
	}
	switch {
	case (f.svc == "S3" && v.s3ep || f.svc == "DYNAMODB" && v.ddbep) && !f.v6:
		p := uint8(7)
		if rng.IntN(3) == 0 {
			p = 2
		}
		f.addENI(c, true, slotClient, slotServer, slotClient, slotServer, p)
	case ce.public || f.v6:
		f.addENI(c, true, slotClient, slotServer, slotClient, slotServer, igwPath)
	case len(v.nats) > 0:
		nat := v.nats[rng.IntN(len(v.nats))]
		f.addr[slotMidA] = m.ix.enis[nat].addr
		f.addENI(c, true, slotClient, slotServer, slotClient, slotServer, 1)
		// The NAT gateway's inside leg: the packet is addressed to the internet host, so
		// dstaddr shows the NAT ENI's own address and pkt-dstaddr the real one.
		f.addENI(nat, false, slotClient, slotMidA, slotClient, slotServer, 1)
		f.addENI(nat, true, slotMidA, slotServer, slotMidA, slotServer, igwPath)
	default:
		return false
	}
	return true
}

func (m *model) internetIn(rng *rand.Rand, f *flow, v *vpcInfo, scan bool) bool {
	if v.public.empty() || !v.igw {
		return false
	}
	s := v.public.pick(rng)
	se := &m.ix.enis[s]
	shape(rng, f, m.pickService(rng, se))
	if scan {
		f.addr[slotClient] = m.net.scanners[skewed(rng, len(m.net.scanners))]
		if rng.IntN(3) > 0 {
			f.sport = scanPorts[rng.IntN(len(scanPorts))]
		} else {
			// Any port outside the ephemeral range, which sweeps rarely bother with.
			f.sport = uint16(1 + rng.IntN(32767))
		}
		synOnly(rng, f)
	} else {
		f.addr[slotClient] = m.net.clients[skewed(rng, len(m.net.clients))]
	}
	f.addr[slotCPrim] = f.addr[slotClient]
	f.svc = awsService(f.addr[slotClient])
	f.pubSlot = slotClient
	f.serverAddr(rng, se, false)
	path := uint8(2)
	if m.nitro && rng.IntN(2) == 0 {
		path = 8
	}
	f.addENI(s, false, slotClient, slotSPrim, slotClient, slotServer, path)
	if scan {
		f.obs[0].reject, f.obs[0].fwdOnly = true, true
	}
	return true
}

// tgwENI picks v's transit gateway ENI in AZ az (or any).
func (m *model) tgwENI(v *vpcInfo, az string) int32 {
	for _, e := range v.tgwENIs {
		if m.ix.enis[e].az == az {
			return e
		}
	}
	if len(v.tgwENIs) == 0 {
		return -1
	}
	return v.tgwENIs[0]
}

func (m *model) crossVPC(rng *rand.Rand, f *flow, v *vpcInfo, c int32) bool {
	if v.tgw < 0 {
		return false
	}
	g := &m.ix.tgws[v.tgw]
	if len(g.vpcAtts) < 2 {
		return false
	}
	ba := g.vpcAtts[rng.IntN(len(g.vpcAtts))]
	if ba == v.att {
		return false
	}
	bv := &m.ix.vpcs[m.ix.atts[ba].vpc]
	if bv.instances.empty() {
		return false
	}
	s := bv.instances.pick(rng)
	ce, se := &m.ix.enis[c], &m.ix.enis[s]
	ta, tb := m.tgwENI(v, ce.az), m.tgwENI(bv, se.az)
	if ta < 0 || tb < 0 {
		return false
	}
	shape(rng, f, m.pickService(rng, se))
	f.tgw = v.tgw
	f.addr[slotClient], f.addr[slotCPrim] = ce.addr, ce.addr
	f.serverAddr(rng, se, false)
	f.addr[slotMidA], f.addr[slotMidB] = m.ix.enis[ta].addr, m.ix.enis[tb].addr
	noRoute := rng.IntN(100) == 0
	reject := !noRoute && rng.IntN(50) == 0
	if noRoute {
		// A destination no route table knows: the transit gateway drops it.
		f.addr[slotServer] = netip.AddrFrom4([4]byte{10, 254, byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
		f.addr[slotSPrim] = f.addr[slotServer]
		synOnly(rng, f)
	}
	if reject {
		synOnly(rng, f)
		f.sport = scanPorts[rng.IntN(len(scanPorts))]
	}
	f.addENI(c, true, slotClient, slotServer, slotClient, slotServer, 1)
	f.addENI(ta, false, slotClient, slotMidA, slotClient, slotServer, 1)
	if noRoute {
		f.addTGW(v.att, -1, ta, -1)
		f.obs[f.nobs-1].lostNoRt = true
		f.markFwdOnly()
		return true
	}
	f.addTGW(v.att, ba, ta, tb)
	f.addENI(tb, true, slotMidB, slotServer, slotClient, slotServer, 1)
	f.addENI(s, false, slotClient, slotSPrim, slotClient, slotServer, 1)
	if reject {
		f.obs[f.nobs-1].reject = true
		f.markFwdOnly()
	}
	return true
}

func (f *flow) markFwdOnly() {
	for i := 0; i < int(f.nobs); i++ {
		f.obs[i].fwdOnly = true
	}
}

// remote is traffic between a VPC and a network behind a VPN, Direct Connect gateway or
// peering attachment (or a VPC's own virtual private gateway), in either direction.
func (m *model) remote(rng *rand.Rand, f *flow, v *vpcInfo, c int32) bool {
	var prefixes []netip.Prefix
	ra := int32(-1)
	switch {
	case v.tgw >= 0 && len(m.ix.tgws[v.tgw].remoteAtts) > 0:
		g := &m.ix.tgws[v.tgw]
		ra = g.remoteAtts[rng.IntN(len(g.remoteAtts))]
		prefixes = m.ix.atts[ra].prefixes
	case v.vgw >= 0:
		prefixes = m.vgwPrefixes[v.vgw]
	default:
		return false
	}
	if len(prefixes) == 0 {
		return false
	}
	ce := &m.ix.enis[c]
	remote := randIn(rng, prefixes[rng.IntN(len(prefixes))])
	inbound := rng.IntN(3) == 0 // on-premises clients reaching servers in the VPC
	if inbound {
		shape(rng, f, m.pickService(rng, ce))
		f.addr[slotClient], f.addr[slotCPrim] = remote, remote
		f.serverAddr(rng, ce, false)
	} else {
		svc := &services[[]int{0, 2, 3, 6, 8}[rng.IntN(5)]]
		shape(rng, f, svc)
		f.addr[slotClient], f.addr[slotCPrim] = ce.addr, ce.addr
		f.addr[slotServer], f.addr[slotSPrim] = remote, remote
	}
	if ra < 0 {
		// Virtual private gateway: no transit gateway, traffic-path 3 on egress.
		if inbound {
			f.addENI(c, false, slotClient, slotSPrim, slotClient, slotServer, 3)
		} else {
			f.addENI(c, true, slotClient, slotServer, slotClient, slotServer, 3)
		}
		return true
	}
	ta := m.tgwENI(v, ce.az)
	if ta < 0 {
		return false
	}
	f.tgw = v.tgw
	f.addr[slotMidA] = m.ix.enis[ta].addr
	if inbound {
		f.addTGW(ra, v.att, -1, ta)
		f.addENI(ta, true, slotMidA, slotServer, slotClient, slotServer, 1)
		f.addENI(c, false, slotClient, slotSPrim, slotClient, slotServer, 1)
	} else {
		f.addENI(c, true, slotClient, slotServer, slotClient, slotServer, 1)
		f.addENI(ta, false, slotClient, slotMidA, slotClient, slotServer, 1)
		f.addTGW(v.att, ra, ta, -1)
	}
	return true
}

// Rich TCP flag bits seen in a window, mapped to each log's reporting rules.
const (
	tFIN = 1 << iota
	tSYN
	tRST
	tPSH
	tACK
	tURG
	tSYNACK
)

// vpcFlags applies reference §1.4: FIN, SYN, RST and SYN-ACK are reported; ACK only with SYN.
func vpcFlags(rich uint8) uint8 {
	v := rich & (tFIN | tSYN | tRST)
	if rich&tSYNACK != 0 {
		v |= 18
	}
	return v
}

// tgwFlags applies reference §3.3: PSH, ACK and URG are reported too, but ACK alone is 0.
func tgwFlags(rich uint8) uint8 {
	v := rich & (tFIN | tSYN | tRST | tPSH | tURG)
	if rich&tACK != 0 {
		v |= 16
	}
	if rich&tSYNACK != 0 {
		v |= 18
	}
	if v == 16 {
		return 0
	}
	return v
}
