package generate

import (
	"math/rand/v2"
	"net/netip"

	"github.com/flowtap/flowtap/flowlog/generate/topology"
)

// ENI kinds in the index.
const (
	eniInstance uint8 = iota
	eniNAT
	eniTGW
)

// eniInfo is one ENI with everything a record needs, resolved once.
type eniInfo struct {
	id, instance, account, vpcID, subnetID, az, region, ifType string
	kind                                                       uint8
	public                                                     bool
	addr                                                       netip.Addr // primary private IPv4
	secondary                                                  netip.Addr // a secondary IPv4, if any
	v6                                                         netip.Addr
	vpc                                                        int32
	svc                                                        []int8 // services it listens on (instances)
}

// vpcInfo groups a VPC's ENIs for the traffic model.
type vpcInfo struct {
	id, account, region string
	instances           wlist // instance ENIs, weighted by activity
	public              wlist // instance ENIs in public subnets
	nats                []int32
	tgwENIs             []int32 // transit gateway ENIs (by AZ)
	igw, s3ep, ddbep    bool
	tgw, att            int32 // transit gateway and its attachment, -1 if none
	vgw                 int32 // VPN connection ending on this VPC's gateway, -1 if none
}

// attInfo is a transit gateway attachment.
type attInfo struct {
	id       string
	typ      string
	tgw      int32
	vpc      int32 // for VPC attachments, else -1
	prefixes []netip.Prefix
}

type tgwInfo struct {
	id, account, region string
	vpcAtts, remoteAtts []int32
}

// wlist is a list of indices with cumulative weights, for skewed picks.
type wlist struct {
	idx []int32
	cum []float64
}

func (w *wlist) add(i int32, weight float64) {
	total := weight
	if n := len(w.cum); n > 0 {
		total += w.cum[n-1]
	}
	w.idx = append(w.idx, i)
	w.cum = append(w.cum, total)
}

func (w *wlist) empty() bool { return len(w.idx) == 0 }

func (w *wlist) pick(rng *rand.Rand) int32 {
	x := rng.Float64() * w.cum[len(w.cum)-1]
	lo, hi := 0, len(w.cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if w.cum[m] <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return w.idx[lo]
}

// index is the topology flattened for the hot path.
type index struct {
	enis    []eniInfo
	vpcs    []vpcInfo
	atts    []attInfo
	tgws    []tgwInfo
	clients wlist // VPCs weighted by instance count, to pick where a flow starts
}

func buildIndex(t *topology.Topology, rng *rand.Rand) *index {
	ix := &index{}
	attByID := map[string]int32{}
	for gi := range t.TransitGateways {
		g := &t.TransitGateways[gi]
		ix.tgws = append(ix.tgws, tgwInfo{id: g.ID, account: g.Account, region: g.Region})
		for _, a := range g.Attachments {
			ai := int32(len(ix.atts))
			attByID[a.ID] = ai
			ix.atts = append(ix.atts, attInfo{id: a.ID, typ: a.Type, tgw: int32(gi), vpc: -1, prefixes: a.Prefixes})
			if a.Type == topology.AttachVPC {
				ix.tgws[gi].vpcAtts = append(ix.tgws[gi].vpcAtts, ai)
			} else {
				ix.tgws[gi].remoteAtts = append(ix.tgws[gi].remoteAtts, ai)
			}
		}
	}
	vpcByID := map[string]int32{}
	for ai := range t.Accounts {
		acc := &t.Accounts[ai]
		for vi := range acc.VPCs {
			v := &acc.VPCs[vi]
			vx := int32(len(ix.vpcs))
			vpcByID[v.ID] = vx
			info := vpcInfo{id: v.ID, account: acc.ID, region: v.Region, igw: v.InternetGateway, tgw: -1, att: -1, vgw: -1}
			for _, e := range v.GatewayEndpoints {
				info.s3ep = info.s3ep || e == "s3"
				info.ddbep = info.ddbep || e == "dynamodb"
			}
			for si := range v.Subnets {
				s := &v.Subnets[si]
				for ei := range s.ENIs {
					e := &s.ENIs[ei]
					x := eniInfo{id: e.ID, instance: e.InstanceID, account: acc.ID, vpcID: v.ID, subnetID: s.ID,
						az: s.AZID, region: v.Region, public: s.Public, addr: e.Addrs[0], v6: e.IPv6Addr, vpc: vx}
					if len(e.Addrs) > 1 {
						x.secondary = e.Addrs[1]
					}
					i := int32(len(ix.enis))
					switch e.Type {
					case topology.ENINATGateway:
						x.kind, x.ifType = eniNAT, "nat_gateway"
						info.nats = append(info.nats, i)
					case topology.ENITransitGateway:
						x.kind, x.ifType = eniTGW, "transit_gateway"
						info.tgwENIs = append(info.tgwENIs, i)
						if a, ok := attByID[e.Attachment]; ok {
							info.att = a
							info.tgw = ix.atts[a].tgw
						}
					default:
						x.kind = eniInstance
						x.svc = roleServices[e.Role]
						// Activity is lognormal: a few ENIs carry most of the traffic.
						w := expRand(rng, 0, 1.2)
						info.instances.add(i, w)
						if s.Public {
							info.public.add(i, w)
						}
					}
					ix.enis = append(ix.enis, x)
				}
			}
			ix.vpcs = append(ix.vpcs, info)
		}
	}
	for i := range ix.atts {
		a := &ix.atts[i]
		if a.typ != topology.AttachVPC {
			continue
		}
		for _, g := range t.TransitGateways {
			for _, ta := range g.Attachments {
				if ta.ID == a.id {
					a.vpc = vpcByID[ta.VPC]
				}
			}
		}
	}
	for i := range t.VPNConnections {
		if v := t.VPNConnections[i].VPC; v != "" {
			ix.vpcs[vpcByID[v]].vgw = int32(i)
		}
	}
	for i := range ix.vpcs {
		if n := len(ix.vpcs[i].instances.idx); n > 0 {
			ix.clients.add(int32(i), float64(n))
		}
	}
	return ix
}
