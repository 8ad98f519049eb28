package topology

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
)

// maxENIs bounds the size of a topology so that a typo cannot exhaust memory.
const maxENIs = 1 << 20

// ids draws AWS-shaped identifiers from a seeded generator.
type ids struct{ rng *rand.Rand }

func (g ids) hex(prefix string) string {
	const digits = "0123456789abcdef"
	var b [17]byte
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return prefix + string(b[:])
}

func (g ids) account() string {
	var b [12]byte
	b[0] = byte('1' + g.rng.IntN(9))
	for i := 1; i < len(b); i++ {
		b[i] = byte('0' + g.rng.IntN(10))
	}
	return string(b[:])
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x746f706f6c6f6779)) }

// validID reports whether s is prefix followed by 8 or 17 lowercase hex digits.
func validID(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || (len(rest) != 8 && len(rest) != 17) {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func validAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checker fills missing values and collects the first error with its location.
type checker struct {
	ids    ids
	seen   map[string]string // ID → where it was defined, to reject duplicates
	vpcs   map[string]*VPC   // by ID and by name
	vpcAcc map[*VPC]string
	vpns   map[string]*VPNConnection
	routed []routedPrefix // every prefix traffic can be routed to, for the overlap check
}

type routedPrefix struct {
	p     netip.Prefix
	owner string
}

func (c *checker) id(where string, p *string, prefix string) error {
	if *p == "" {
		*p = c.ids.hex(prefix)
	} else if !validID(*p, prefix) {
		return fmt.Errorf("%s: id %q is not %s followed by 8 or 17 hex digits", where, *p, prefix)
	}
	if prev, dup := c.seen[*p]; dup {
		return fmt.Errorf("%s: id %s already used by %s", where, *p, prev)
	}
	c.seen[*p] = where
	return nil
}

func (c *checker) route(p netip.Prefix, owner string) error {
	for _, r := range c.routed {
		if r.p.Overlaps(p) {
			return fmt.Errorf("%s: CIDR %s overlaps %s CIDR %s", owner, p, r.owner, r.p)
		}
	}
	c.routed = append(c.routed, routedPrefix{p, owner})
	return nil
}

func parsePrefix(where, s string, v6 bool, minBits, maxBits int) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, fmt.Errorf("%s: CIDR %q: %v", where, s, err)
	}
	if p.Addr().Is6() != v6 {
		fam := "IPv4"
		if v6 {
			fam = "IPv6"
		}
		return p, fmt.Errorf("%s: CIDR %s is not %s", where, s, fam)
	}
	if p.Masked() != p {
		return p, fmt.Errorf("%s: CIDR %s has host bits set (did you mean %s?)", where, s, p.Masked())
	}
	if p.Bits() < minBits || p.Bits() > maxBits {
		return p, fmt.Errorf("%s: CIDR %s: prefix length must be /%d to /%d", where, s, minBits, maxBits)
	}
	return p, nil
}

func checkRegion(where, region string) error {
	if _, ok := regionAZs[region]; !ok {
		return fmt.Errorf("%s: unknown region %q (known: %s)", where, region, strings.Join(regionOrder, ", "))
	}
	return nil
}

// Complete fills every missing ID and address with values drawn from seed, and checks the
// topology. Its errors name the offending element and value.
func (t *Topology) Complete(seed uint64) error {
	c := &checker{
		ids:    ids{newRand(seed)},
		seen:   map[string]string{},
		vpcs:   map[string]*VPC{},
		vpcAcc: map[*VPC]string{},
		vpns:   map[string]*VPNConnection{},
	}
	if err := t.complete(c); err != nil {
		return fmt.Errorf("topology: %w", err)
	}
	return nil
}

func (t *Topology) complete(c *checker) error {
	if len(t.Accounts) == 0 {
		return fmt.Errorf("no accounts")
	}
	// Pass 1: accounts, VPCs, subnets, listed ENIs.
	for ai := range t.Accounts {
		a := &t.Accounts[ai]
		where := fmt.Sprintf("accounts[%d]", ai)
		if a.ID == "" {
			a.ID = c.ids.account()
		} else if !validAccount(a.ID) {
			return fmt.Errorf("%s: account id %q is not 12 digits", where, a.ID)
		}
		if prev, dup := c.seen[a.ID]; dup {
			return fmt.Errorf("%s: account %s already defined at %s", where, a.ID, prev)
		}
		c.seen[a.ID] = where
		for vi := range a.VPCs {
			if err := c.vpc(a, &a.VPCs[vi], fmt.Sprintf("%s.vpcs[%d]", where, vi)); err != nil {
				return err
			}
		}
	}
	// Pass 2: VPN connections (attachments refer to them), transit gateways, client VPN.
	for i := range t.VPNConnections {
		if err := c.vpn(t, &t.VPNConnections[i], fmt.Sprintf("vpn-connections[%d]", i)); err != nil {
			return err
		}
	}
	attached := map[*VPC]string{}
	tgwENIs := map[*Subnet][]string{} // subnet → attachments needing an ENI there
	for i := range t.TransitGateways {
		if err := c.tgw(t, &t.TransitGateways[i], fmt.Sprintf("transit-gateways[%d]", i), attached, tgwENIs); err != nil {
			return err
		}
	}
	for i := range t.ClientVPNEndpoints {
		if err := c.clientVPN(t, &t.ClientVPNEndpoints[i], fmt.Sprintf("client-vpn-endpoints[%d]", i)); err != nil {
			return err
		}
	}
	// Pass 3: capacity, then addresses for every ENI still without one.
	total := 0
	for ai := range t.Accounts {
		for vi := range t.Accounts[ai].VPCs {
			v := &t.Accounts[ai].VPCs[vi]
			for si := range v.Subnets {
				s := &v.Subnets[si]
				where := fmt.Sprintf("subnet %s (%s)", s.ID, s.CIDR)
				if err := c.fill(v, s, where, tgwENIs[s]); err != nil {
					return err
				}
				total += len(s.ENIs)
				if total > maxENIs {
					return fmt.Errorf("%s: more than %d ENIs in the topology", where, maxENIs)
				}
			}
		}
	}
	return nil
}

func (c *checker) vpc(a *Account, v *VPC, where string) error {
	if err := checkRegion(where, v.Region); err != nil {
		return err
	}
	if err := c.id(where, &v.ID, "vpc-"); err != nil {
		return err
	}
	var err error
	if v.Prefix, err = parsePrefix(where+" "+v.ID, v.CIDR, false, 16, 28); err != nil {
		return err
	}
	if err := c.route(v.Prefix, "vpc "+v.ID); err != nil {
		return err
	}
	if v.IPv6CIDR != "" {
		if v.IPv6Prefix, err = parsePrefix(where+" "+v.ID, v.IPv6CIDR, true, 44, 56); err != nil {
			return err
		}
	}
	for _, e := range v.GatewayEndpoints {
		if e != "s3" && e != "dynamodb" {
			return fmt.Errorf("vpc %s: gateway endpoint %q is not s3 or dynamodb", v.ID, e)
		}
	}
	c.vpcs[v.ID] = v
	if v.Name != "" {
		if _, dup := c.vpcs[v.Name]; dup {
			return fmt.Errorf("vpc %s: name %q already used", v.ID, v.Name)
		}
		c.vpcs[v.Name] = v
	}
	c.vpcAcc[v] = a.ID
	if len(v.Subnets) == 0 {
		return fmt.Errorf("vpc %s: no subnets", v.ID)
	}
	for si := range v.Subnets {
		s := &v.Subnets[si]
		sw := fmt.Sprintf("vpc %s subnets[%d]", v.ID, si)
		if !azInRegion(v.Region, s.AZID) {
			return fmt.Errorf("%s: az-id %q is not in region %s (known: %s)", sw, s.AZID, v.Region, strings.Join(regionAZs[v.Region], ", "))
		}
		if err := c.id(sw, &s.ID, "subnet-"); err != nil {
			return err
		}
		if s.Prefix, err = parsePrefix(sw, s.CIDR, false, 16, 28); err != nil {
			return err
		}
		if !v.Prefix.Contains(s.Prefix.Addr()) || s.Prefix.Bits() < v.Prefix.Bits() {
			return fmt.Errorf("%s: subnet CIDR %s is not inside VPC CIDR %s", sw, s.Prefix, v.Prefix)
		}
		for sj := 0; sj < si; sj++ {
			if o := &v.Subnets[sj]; o.Prefix.Overlaps(s.Prefix) {
				return fmt.Errorf("%s: subnet CIDR %s overlaps subnet %s CIDR %s", sw, s.Prefix, o.ID, o.Prefix)
			}
		}
		if s.IPv6CIDR == "" && v.IPv6Prefix.IsValid() && si < 256 {
			// AWS numbers /64s inside the VPC's /56; give subnet i the i-th one.
			b := v.IPv6Prefix.Addr().As16()
			b[7] = byte(si)
			s.IPv6CIDR = netip.PrefixFrom(netip.AddrFrom16(b), 64).String()
		}
		if s.IPv6CIDR != "" {
			if !v.IPv6Prefix.IsValid() {
				return fmt.Errorf("%s: ipv6-cidr set but VPC %s has no ipv6-cidr", sw, v.ID)
			}
			if s.IPv6Prefix, err = parsePrefix(sw, s.IPv6CIDR, true, 64, 64); err != nil {
				return err
			}
			if !v.IPv6Prefix.Contains(s.IPv6Prefix.Addr()) {
				return fmt.Errorf("%s: ipv6-cidr %s is not inside VPC %s", sw, s.IPv6Prefix, v.IPv6Prefix)
			}
		}
		if s.ENICount < 0 {
			return fmt.Errorf("%s: eni-count %d is negative", sw, s.ENICount)
		}
		if s.ENICount > maxENIs {
			return fmt.Errorf("%s: eni-count %d is more than %d", sw, s.ENICount, maxENIs)
		}
		for ei := range s.ENIs {
			if err := c.eni(s, &s.ENIs[ei], fmt.Sprintf("subnet %s enis[%d]", s.ID, ei)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *checker) eni(s *Subnet, e *ENI, where string) error {
	if err := c.id(where, &e.ID, "eni-"); err != nil {
		return err
	}
	switch e.Type {
	case "", ENIInterface:
		e.Type = ENIInterface
		if e.InstanceID == "" {
			e.InstanceID = c.ids.hex("i-")
		} else if e.InstanceID != "-" && !validID(e.InstanceID, "i-") {
			return fmt.Errorf("eni %s: instance-id %q is not i- followed by 8 or 17 hex digits", e.ID, e.InstanceID)
		}
		if e.Role == "" {
			e.Role = "worker"
		} else if !contains(Roles, e.Role) {
			return fmt.Errorf("eni %s: role %q is not one of %s", e.ID, e.Role, strings.Join(Roles, ", "))
		}
	case ENINATGateway, ENITransitGateway:
		if e.InstanceID != "" && e.InstanceID != "-" {
			return fmt.Errorf("eni %s: a %s ENI is requester-managed and has no instance (instance-id %q)", e.ID, e.Type, e.InstanceID)
		}
		e.InstanceID = "-"
		if e.Role != "" {
			return fmt.Errorf("eni %s: a %s ENI has no role", e.ID, e.Type)
		}
	default:
		return fmt.Errorf("eni %s: type %q is not interface, nat_gateway or transit_gateway", e.ID, e.Type)
	}
	if e.Type == ENITransitGateway && e.Attachment == "" {
		return fmt.Errorf("eni %s: a transit_gateway ENI needs its attachment", e.ID)
	}
	e.Addrs = e.Addrs[:0]
	for _, ip := range e.PrivateIPs {
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.Is4() {
			return fmt.Errorf("eni %s: private IP %q is not an IPv4 address", e.ID, ip)
		}
		if !usable(s.Prefix, a) {
			return fmt.Errorf("eni %s: private IP %s is not a usable address of subnet %s %s (AWS reserves the first four and the last)", e.ID, a, s.ID, s.Prefix)
		}
		if prev, dup := c.seen[a.String()]; dup {
			return fmt.Errorf("eni %s: private IP %s already used by %s", e.ID, a, prev)
		}
		c.seen[a.String()] = "eni " + e.ID
		e.Addrs = append(e.Addrs, a)
	}
	if e.IPv6 != "" {
		a, err := netip.ParseAddr(e.IPv6)
		if err != nil || !a.Is6() || !s.IPv6Prefix.Contains(a) {
			return fmt.Errorf("eni %s: ipv6 %q is not an address of subnet %s ipv6-cidr %q", e.ID, e.IPv6, s.ID, s.IPv6CIDR)
		}
		e.IPv6Addr = a
	}
	return nil
}

// usable reports whether a is a host address AWS lets ENIs use in p.
func usable(p netip.Prefix, a netip.Addr) bool {
	if !p.Contains(a) {
		return false
	}
	off := addrOffset(p, a)
	return off >= 4 && off < prefixSize(p)-1
}

func prefixSize(p netip.Prefix) uint64 { return 1 << (32 - p.Bits()) }

func addrOffset(p netip.Prefix, a netip.Addr) uint64 {
	return uint64(u32(a) - u32(p.Addr()))
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func fromU32(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *checker) lookupVPC(where, ref string) (*VPC, error) {
	v, ok := c.vpcs[ref]
	if !ok {
		return nil, fmt.Errorf("%s: no VPC with id or name %q", where, ref)
	}
	return v, nil
}

func (c *checker) owner(t *Topology, where string, acc *string) error {
	if *acc == "" {
		*acc = t.Accounts[0].ID
		return nil
	}
	for i := range t.Accounts {
		if t.Accounts[i].ID == *acc {
			return nil
		}
	}
	return fmt.Errorf("%s: account %q is not in the topology", where, *acc)
}

// regional checks what a regional resource outside a VPC has: a known region, an owner
// among the topology's accounts (the first when empty) and an id with prefix (made up
// when empty).
func (c *checker) regional(t *Topology, where, region string, account, id *string, prefix string) error {
	if err := checkRegion(where, region); err != nil {
		return err
	}
	if err := c.owner(t, where, account); err != nil {
		return err
	}
	return c.id(where, id, prefix)
}

func (c *checker) vpn(t *Topology, v *VPNConnection, where string) error {
	if err := c.regional(t, where, v.Region, &v.Account, &v.ID, "vpn-"); err != nil {
		return err
	}
	c.vpns[v.ID] = v
	if v.VPC != "" {
		vpc, err := c.lookupVPC("vpn "+v.ID, v.VPC)
		if err != nil {
			return err
		}
		if vpc.Region != v.Region {
			return fmt.Errorf("vpn %s: VPC %s is in %s, not %s", v.ID, vpc.ID, vpc.Region, v.Region)
		}
	}
	if v.CustomerGatewayIP == "" {
		v.CustomerGatewayIP = fmt.Sprintf("198.51.100.%d", 1+c.ids.rng.IntN(254))
	}
	if a, err := netip.ParseAddr(v.CustomerGatewayIP); err != nil || !a.Is4() {
		return fmt.Errorf("vpn %s: customer-gateway-ip %q is not an IPv4 address", v.ID, v.CustomerGatewayIP)
	}
	if v.CustomerGatewayASN == 0 {
		v.CustomerGatewayASN = 65000
	}
	if v.AmazonASN == 0 {
		v.AmazonASN = 64512
	}
	for _, asn := range []int{v.CustomerGatewayASN, v.AmazonASN} {
		if asn < 1 || asn > 4294967294 {
			return fmt.Errorf("vpn %s: ASN %d out of range 1..4294967294", v.ID, asn)
		}
	}
	switch v.IKEVersion {
	case "":
		v.IKEVersion = "ikev2"
	case "ikev1", "ikev2":
	default:
		return fmt.Errorf("vpn %s: ike-version %q is not ikev1 or ikev2", v.ID, v.IKEVersion)
	}
	if len(v.RemoteCIDRs) == 0 {
		v.RemoteCIDRs = []string{fmt.Sprintf("192.168.%d.0/24", len(c.vpns)-1)}
	}
	v.Prefixes = v.Prefixes[:0]
	for _, s := range v.RemoteCIDRs {
		p, err := parsePrefix("vpn "+v.ID+" remote-cidrs", s, false, 8, 30)
		if err != nil {
			return err
		}
		if err := c.route(p, "vpn "+v.ID); err != nil {
			return err
		}
		v.Prefixes = append(v.Prefixes, p)
	}
	for len(v.Tunnels) < 2 {
		v.Tunnels = append(v.Tunnels, Tunnel{})
	}
	if len(v.Tunnels) > 2 {
		return fmt.Errorf("vpn %s: %d tunnels; a VPN connection has two", v.ID, len(v.Tunnels))
	}
	for i := range v.Tunnels {
		tu := &v.Tunnels[i]
		if tu.OutsideIP == "" {
			// AWS tunnel endpoints come from Amazon's public ranges.
			tu.OutsideIP = fmt.Sprintf("3.%d.%d.%d", 208+c.ids.rng.IntN(16), c.ids.rng.IntN(256), 1+c.ids.rng.IntN(254))
		}
		if a, err := netip.ParseAddr(tu.OutsideIP); err != nil || !a.Is4() {
			return fmt.Errorf("vpn %s tunnels[%d]: outside-ip %q is not an IPv4 address", v.ID, i, tu.OutsideIP)
		}
		if tu.InsideCIDR == "" {
			tu.InsideCIDR = fmt.Sprintf("169.254.%d.%d/30", 10+c.ids.rng.IntN(240), 4*c.ids.rng.IntN(64))
		}
		p, err := netip.ParsePrefix(tu.InsideCIDR)
		if err != nil || p.Bits() != 30 || !netip.MustParsePrefix("169.254.0.0/16").Contains(p.Addr()) || p.Masked() != p {
			return fmt.Errorf("vpn %s tunnels[%d]: inside-cidr %q is not a /30 in 169.254.0.0/16", v.ID, i, tu.InsideCIDR)
		}
	}
	return nil
}

func (c *checker) tgw(t *Topology, g *TransitGateway, where string, attached map[*VPC]string, tgwENIs map[*Subnet][]string) error {
	if err := c.regional(t, where, g.Region, &g.Account, &g.ID, "tgw-"); err != nil {
		return err
	}
	if g.ASN == 0 {
		g.ASN = 64512
	}
	for i := range g.Attachments {
		a := &g.Attachments[i]
		aw := fmt.Sprintf("tgw %s attachments[%d]", g.ID, i)
		if err := c.id(aw, &a.ID, "tgw-attach-"); err != nil {
			return err
		}
		a.Prefixes = a.Prefixes[:0]
		switch a.Type {
		case AttachVPC:
			v, err := c.lookupVPC(aw, a.VPC)
			if err != nil {
				return err
			}
			if v.Region != g.Region {
				return fmt.Errorf("%s: VPC %s is in %s, transit gateway %s in %s", aw, v.ID, v.Region, g.ID, g.Region)
			}
			if prev, dup := attached[v]; dup {
				return fmt.Errorf("%s: VPC %s is already attached by %s", aw, v.ID, prev)
			}
			attached[v] = a.ID
			a.VPC = v.ID
			// One transit gateway ENI per AZ, in the first subnet of that AZ, unless listed.
			for si := range v.Subnets {
				s := &v.Subnets[si]
				first := true
				for sj := 0; sj < si; sj++ {
					if v.Subnets[sj].AZID == s.AZID {
						first = false
					}
				}
				if !first || hasAttachmentENI(v, s.AZID, a.ID) {
					continue
				}
				tgwENIs[s] = append(tgwENIs[s], a.ID)
			}
		case AttachVPN:
			v, ok := c.vpns[a.VPN]
			if !ok {
				return fmt.Errorf("%s: no VPN connection %q", aw, a.VPN)
			}
			if v.VPC != "" {
				return fmt.Errorf("%s: VPN connection %s is already attached to VPC %s", aw, v.ID, v.VPC)
			}
			if v.Region != g.Region {
				return fmt.Errorf("%s: VPN connection %s is in %s, transit gateway %s in %s", aw, v.ID, v.Region, g.ID, g.Region)
			}
			a.Prefixes = append(a.Prefixes, v.Prefixes...)
		case AttachDXGateway, AttachPeering:
			if a.Type == AttachPeering {
				if err := checkRegion(aw+" peer-region", a.PeerRegion); err != nil {
					return err
				}
			}
			if len(a.CIDRs) == 0 {
				return fmt.Errorf("%s: a %s attachment needs the remote cidrs behind it", aw, a.Type)
			}
			for _, s := range a.CIDRs {
				p, err := parsePrefix(aw+" cidrs", s, false, 8, 28)
				if err != nil {
					return err
				}
				if err := c.route(p, a.Type+" attachment "+a.ID); err != nil {
					return err
				}
				a.Prefixes = append(a.Prefixes, p)
			}
		default:
			return fmt.Errorf("%s: type %q is not %s", aw, a.Type, attachTypesNames)
		}
	}
	return nil
}

func hasAttachmentENI(v *VPC, az, att string) bool {
	for si := range v.Subnets {
		if v.Subnets[si].AZID != az {
			continue
		}
		for _, e := range v.Subnets[si].ENIs {
			if e.Attachment == att {
				return true
			}
		}
	}
	return false
}

func (c *checker) clientVPN(t *Topology, e *ClientVPNEndpoint, where string) error {
	if err := c.regional(t, where, e.Region, &e.Account, &e.ID, "cvpn-endpoint-"); err != nil {
		return err
	}
	if e.VPC != "" {
		v, err := c.lookupVPC("client vpn "+e.ID, e.VPC)
		if err != nil {
			return err
		}
		e.VPC = v.ID
	}
	if e.ClientCIDR == "" {
		e.ClientCIDR = fmt.Sprintf("100.64.%d.0/22", 4*c.ids.rng.IntN(64))
	}
	var err error
	if e.Prefix, err = parsePrefix("client vpn "+e.ID+" client-cidr", e.ClientCIDR, false, 12, 22); err != nil {
		return err
	}
	if err := c.route(e.Prefix, "client vpn "+e.ID); err != nil {
		return err
	}
	switch e.TransportProtocol {
	case "":
		e.TransportProtocol = "udp"
	case "udp", "tcp":
	default:
		return fmt.Errorf("client vpn %s: transport-protocol %q is not udp or tcp", e.ID, e.TransportProtocol)
	}
	if e.Users == 0 {
		e.Users = 20
	}
	if e.Users < 0 || e.Users > 100000 {
		return fmt.Errorf("client vpn %s: users %d out of range 1..100000", e.ID, e.Users)
	}
	return nil
}

// fill checks that subnet s can hold its ENIs and creates the missing ones: ENICount
// instance ENIs, a NAT gateway ENI and one ENI per transit gateway attachment listed.
func (c *checker) fill(v *VPC, s *Subnet, where string, attachments []string) error {
	hasNAT := false
	used := 0
	for _, e := range s.ENIs {
		if e.Type == ENINATGateway {
			hasNAT = true
		}
		used += max(len(e.Addrs), 1)
	}
	need := used + s.ENICount + len(attachments)
	if s.NATGateway && !hasNAT {
		need++
	}
	capacity := int(prefixSize(s.Prefix)) - 5
	if need > capacity {
		return fmt.Errorf("%s: %d ENI addresses do not fit: a /%d holds %d usable addresses (AWS reserves 5)",
			where, need, s.Prefix.Bits(), capacity)
	}
	taken := map[netip.Addr]bool{}
	for _, e := range s.ENIs {
		for _, a := range e.Addrs {
			taken[a] = true
		}
	}
	next := func() netip.Addr {
		size := prefixSize(s.Prefix)
		base := u32(s.Prefix.Addr())
		// Random picks while the subnet is mostly free, like AWS's DHCP; a scan otherwise.
		if len(taken) < int(size)/2 {
			for {
				a := fromU32(base + 4 + uint32(c.ids.rng.Uint64N(size-5)))
				if !taken[a] {
					taken[a] = true
					return a
				}
			}
		}
		for off := uint32(4); off < uint32(size)-1; off++ {
			if a := fromU32(base + off); !taken[a] {
				taken[a] = true
				return a
			}
		}
		return netip.Addr{} // unreachable: capacity was checked
	}
	for i := range s.ENIs {
		if e := &s.ENIs[i]; len(e.Addrs) == 0 {
			e.Addrs = []netip.Addr{next()}
		}
	}
	add := func(e ENI) error {
		if err := c.eni(s, &e, where); err != nil {
			return err
		}
		if len(e.Addrs) == 0 {
			e.Addrs = []netip.Addr{next()}
		}
		s.ENIs = append(s.ENIs, e)
		return nil
	}
	created := len(s.ENIs)
	if s.NATGateway && !hasNAT {
		if err := add(ENI{Type: ENINATGateway}); err != nil {
			return err
		}
	}
	for _, att := range attachments {
		if err := add(ENI{Type: ENITransitGateway, Attachment: att}); err != nil {
			return err
		}
	}
	for i := 0; i < s.ENICount; i++ {
		if err := add(ENI{Role: pickRole(c.ids.rng, s.Public)}); err != nil {
			return err
		}
	}
	s.ENICount = 0
	// Some new instances carry a secondary private IP, while the subnet has room to spare,
	// and most get an IPv6 address when the subnet has an IPv6 CIDR.
	for i := range s.ENIs {
		e := &s.ENIs[i]
		isNew := i >= created && e.Type == ENIInterface
		if isNew && len(taken) < int(prefixSize(s.Prefix))/2 && c.ids.rng.IntN(8) == 0 {
			e.Addrs = append(e.Addrs, next())
		}
		if isNew && s.IPv6Prefix.IsValid() && c.ids.rng.IntN(5) < 3 {
			b := s.IPv6Prefix.Addr().As16()
			for j := 8; j < 16; j++ {
				b[j] = byte(c.ids.rng.IntN(256))
			}
			e.IPv6Addr = netip.AddrFrom16(b)
			e.IPv6 = e.IPv6Addr.String()
		}
		if len(e.PrivateIPs) == 0 {
			for _, a := range e.Addrs {
				e.PrivateIPs = append(e.PrivateIPs, a.String())
			}
		}
	}
	return nil
}

// pickRole draws an instance role: public subnets hold web servers and bastions, private
// ones application, database, cache and infrastructure servers.
func pickRole(rng *rand.Rand, public bool) string {
	x := rng.IntN(100)
	if public {
		switch {
		case x < 70:
			return "web"
		case x < 80:
			return "bastion"
		default:
			return "worker"
		}
	}
	switch {
	case x < 30:
		return "api"
	case x < 42:
		return "mysql"
	case x < 52:
		return "postgres"
	case x < 62:
		return "redis"
	case x < 66:
		return "dns"
	case x < 68:
		return "ntp"
	default:
		return "worker"
	}
}
