package topology

import (
	"fmt"
	"math/bits"
	"net/netip"
)

// Spec sizes a topology built from counts (the generate command's --accounts, --vpcs …).
type Spec struct {
	Accounts      int      // accounts
	VPCs          int      // VPCs per account, spread over Regions
	Subnets       int      // subnets per VPC, alternating public and private over the AZs
	ENIs          int      // instance ENIs per subnet
	Regions       []string // real region names
	TransitGW     bool     // one transit gateway per region attaching every VPC there
	VPNs          int      // Site-to-Site VPN connections, attached to the first region's TGW
	ClientVPNs    int      // Client VPN endpoints
	DirectConnect bool     // a Direct Connect gateway attachment on the first TGW
	IPv6          bool     // every other VPC gets an IPv6 /56
}

// DefaultSpec is the network used when no topology is given: two accounts with two VPCs
// each, four subnets per VPC over two AZs, a transit gateway, a VPN connection, a Direct
// Connect gateway and a Client VPN endpoint.
func DefaultSpec() Spec {
	return Spec{Accounts: 2, VPCs: 2, Subnets: 4, ENIs: 8, Regions: []string{"us-east-1"},
		TransitGW: true, VPNs: 1, ClientVPNs: 1, DirectConnect: true, IPv6: true}
}

// Build creates and completes the topology that spec describes.
func Build(spec Spec, seed uint64) (*Topology, error) {
	if spec.Accounts < 1 || spec.VPCs < 1 || spec.Subnets < 1 || spec.ENIs < 0 {
		return nil, fmt.Errorf("topology: need at least one account, VPC and subnet (got --accounts %d --vpcs %d --subnets %d --enis %d)",
			spec.Accounts, spec.VPCs, spec.Subnets, spec.ENIs)
	}
	if len(spec.Regions) == 0 {
		spec.Regions = []string{"us-east-1"}
	}
	for _, r := range spec.Regions {
		if err := checkRegion("--regions", r); err != nil {
			return nil, fmt.Errorf("topology: %w", err)
		}
	}
	if n := spec.Accounts * spec.VPCs; n > 256 {
		return nil, fmt.Errorf("topology: %d VPCs (--accounts × --vpcs) do not fit in 10.0.0.0/8 as /16s; the most is 256", n)
	}
	// Subnet size: the smallest AWS allows (/28) that holds the ENIs, a NAT gateway, a
	// transit gateway ENI and room for secondary addresses, within a /16 VPC.
	need := spec.ENIs + spec.ENIs/4 + 2 + 5
	subnetBits := 32 - bits.Len(uint(need-1))
	subnetBits = min(subnetBits, 28)
	if subnetBits < 16 || spec.Subnets<<(32-subnetBits) > 1<<16 {
		return nil, fmt.Errorf("topology: %d subnets of %d ENIs do not fit in a /16 VPC (AWS's largest): lower --subnets or --enis",
			spec.Subnets, spec.ENIs)
	}
	t := &Topology{}
	type regVPC struct{ acc, vpc int }
	byRegion := map[string][]regVPC{}
	n := 0
	for a := 0; a < spec.Accounts; a++ {
		acc := Account{}
		for v := 0; v < spec.VPCs; v++ {
			region := spec.Regions[(a*spec.VPCs+v)%len(spec.Regions)]
			azs := regionAZs[region]
			nAZ := min(len(azs), 3, max(1, (spec.Subnets+1)/2))
			vpc := VPC{Region: region, CIDR: fmt.Sprintf("10.%d.0.0/16", n), InternetGateway: true}
			if spec.IPv6 && n%2 == 0 {
				vpc.IPv6CIDR = fmt.Sprintf("2600:1f18:%x:%x::/56", 0x4000+n*7%0x1000, (n%256)<<8)
			}
			if n%2 == 0 {
				vpc.GatewayEndpoints = []string{"s3"}
			}
			base := netip.MustParsePrefix(vpc.CIDR).Addr().As4()
			for s := 0; s < spec.Subnets; s++ {
				off := uint32(s) << (32 - subnetBits)
				addr := fromU32(u32(netip.AddrFrom4(base)) + off)
				sub := Subnet{AZID: azs[s%nAZ], CIDR: netip.PrefixFrom(addr, subnetBits).String(),
					Public: s < nAZ && spec.Subnets > 1, ENICount: spec.ENIs}
				sub.NATGateway = s == 0 && spec.Subnets > 1
				vpc.Subnets = append(vpc.Subnets, sub)
			}
			acc.VPCs = append(acc.VPCs, vpc)
			byRegion[region] = append(byRegion[region], regVPC{a, v})
			n++
		}
		t.Accounts = append(t.Accounts, acc)
	}
	// IDs first, so that attachments can refer to VPCs by ID.
	c := &checker{ids: ids{newRand(seed ^ 0x6275696c64)}, seen: map[string]string{}}
	for a := range t.Accounts {
		t.Accounts[a].ID = c.ids.account()
		for v := range t.Accounts[a].VPCs {
			t.Accounts[a].VPCs[v].ID = c.ids.hex("vpc-")
		}
	}
	for i := 0; i < spec.VPNs; i++ {
		t.VPNConnections = append(t.VPNConnections, VPNConnection{ID: c.ids.hex("vpn-"), Region: spec.Regions[0],
			RemoteCIDRs: []string{fmt.Sprintf("192.168.%d.0/24", i%256)}, NATTraversal: i%2 == 1})
	}
	if spec.TransitGW {
		for ri, region := range spec.Regions {
			if len(byRegion[region]) == 0 {
				continue
			}
			g := TransitGateway{ID: c.ids.hex("tgw-"), Region: region, ASN: 64512 + ri}
			for _, rv := range byRegion[region] {
				g.Attachments = append(g.Attachments, Attachment{Type: AttachVPC, VPC: t.Accounts[rv.acc].VPCs[rv.vpc].ID})
			}
			if ri == 0 {
				for _, v := range t.VPNConnections {
					g.Attachments = append(g.Attachments, Attachment{Type: AttachVPN, VPN: v.ID})
				}
				if spec.DirectConnect {
					g.Attachments = append(g.Attachments, Attachment{Type: AttachDXGateway, CIDRs: []string{"172.16.0.0/16"}})
				}
			}
			if len(spec.Regions) > 1 {
				peer := spec.Regions[(ri+1)%len(spec.Regions)]
				g.Attachments = append(g.Attachments, Attachment{Type: AttachPeering, PeerRegion: peer,
					CIDRs: []string{fmt.Sprintf("10.%d.0.0/16", 255-ri)}})
			}
			t.TransitGateways = append(t.TransitGateways, g)
		}
	} else {
		// Without a transit gateway, VPN connections end on the first VPC's gateway.
		for i := range t.VPNConnections {
			t.VPNConnections[i].VPC = t.Accounts[0].VPCs[0].ID
			t.VPNConnections[i].Region = t.Accounts[0].VPCs[0].Region
		}
	}
	for i := 0; i < spec.ClientVPNs; i++ {
		v := &t.Accounts[0].VPCs[i%len(t.Accounts[0].VPCs)]
		t.ClientVPNEndpoints = append(t.ClientVPNEndpoints, ClientVPNEndpoint{Region: v.Region, VPC: v.ID,
			ClientCIDR: fmt.Sprintf("100.64.%d.0/22", 4*(i%64)), Users: 25})
	}
	if err := t.Complete(seed); err != nil {
		return nil, err
	}
	return t, nil
}
