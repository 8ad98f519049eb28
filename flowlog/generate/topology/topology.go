// Package topology describes the AWS network that `flowtap generate` simulates: accounts,
// VPCs with CIDRs, subnets in real availability zones, ENIs with instances and private
// addresses, NAT gateways, transit gateways and their attachments, Site-to-Site VPN
// connections and Client VPN endpoints.
//
// A topology comes from a YAML file (Parse, Load) or from a few counts (Build). Both end in
// Complete, which fills every ID and address left out (deterministically, from a seed),
// and checks the network is one AWS would accept: real regions and AZ IDs, well-formed IDs,
// non-overlapping CIDRs, subnets inside their VPC, and no more addresses in a subnet than it
// holds once AWS's 5 reserved addresses are taken. The completed topology marshals back to
// YAML (Marshal) that Parse reads unchanged, so a generated network can be saved and edited.
package topology

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"

	"gopkg.in/yaml.v3"
)

// Topology is the whole simulated network.
type Topology struct {
	Accounts           []Account           `yaml:"accounts"`
	TransitGateways    []TransitGateway    `yaml:"transit-gateways,omitempty"`
	VPNConnections     []VPNConnection     `yaml:"vpn-connections,omitempty"`
	ClientVPNEndpoints []ClientVPNEndpoint `yaml:"client-vpn-endpoints,omitempty"`
}

// Account is one AWS account and the VPCs it owns.
type Account struct {
	ID   string `yaml:"id,omitempty"` // 12 digits
	VPCs []VPC  `yaml:"vpcs"`
}

// VPC is one virtual private cloud.
type VPC struct {
	ID   string `yaml:"id,omitempty"`
	Name string `yaml:"name,omitempty"` // optional handle for references in the file
	// Region is a real AWS region name (us-east-1 …).
	Region   string `yaml:"region"`
	CIDR     string `yaml:"cidr"`
	IPv6CIDR string `yaml:"ipv6-cidr,omitempty"` // a /56
	// InternetGateway lets public subnets reach the internet and be reached from it.
	InternetGateway bool `yaml:"internet-gateway,omitempty"`
	// GatewayEndpoints lists gateway VPC endpoints: "s3", "dynamodb".
	GatewayEndpoints []string `yaml:"gateway-endpoints,omitempty"`
	Subnets          []Subnet `yaml:"subnets"`

	Prefix     netip.Prefix `yaml:"-"`
	IPv6Prefix netip.Prefix `yaml:"-"`
}

// Subnet is one subnet of a VPC, in one availability zone.
type Subnet struct {
	ID       string `yaml:"id,omitempty"`
	AZID     string `yaml:"az-id"`
	CIDR     string `yaml:"cidr"`
	IPv6CIDR string `yaml:"ipv6-cidr,omitempty"` // a /64
	// Public subnets route to the internet gateway; their instances serve internet clients.
	Public bool `yaml:"public,omitempty"`
	// NATGateway places a NAT gateway (a requester-managed ENI) in this subnet.
	NATGateway bool `yaml:"nat-gateway,omitempty"`
	// ENICount asks Complete to create this many instance ENIs besides those listed.
	ENICount int   `yaml:"eni-count,omitempty"`
	ENIs     []ENI `yaml:"enis,omitempty"`

	Prefix     netip.Prefix `yaml:"-"`
	IPv6Prefix netip.Prefix `yaml:"-"`
}

// ENI types.
const (
	ENIInterface      = "interface"
	ENINATGateway     = "nat_gateway"
	ENITransitGateway = "transit_gateway"
)

// Roles say which service an instance runs; the traffic model derives ports from them.
var Roles = []string{"web", "api", "mysql", "postgres", "redis", "dns", "ntp", "bastion", "worker"}

// ENI is one elastic network interface.
type ENI struct {
	ID string `yaml:"id,omitempty"`
	// InstanceID is "i-…" for instance ENIs and "-" for requester-managed ones.
	InstanceID string `yaml:"instance-id,omitempty"`
	Type       string `yaml:"type,omitempty"` // interface (default), nat_gateway, transit_gateway
	Role       string `yaml:"role,omitempty"` // one of Roles (instance ENIs)
	// Attachment is the transit gateway attachment of a transit_gateway ENI.
	Attachment string `yaml:"attachment,omitempty"`
	// PrivateIPs holds the primary private IPv4 first, then secondary ones.
	PrivateIPs []string `yaml:"private-ips,omitempty"`
	IPv6       string   `yaml:"ipv6,omitempty"`

	Addrs    []netip.Addr `yaml:"-"`
	IPv6Addr netip.Addr   `yaml:"-"`
}

// Attachment types.
const (
	AttachVPC        = "vpc"
	AttachVPN        = "vpn"
	AttachDXGateway  = "direct-connect-gateway"
	AttachPeering    = "peering"
	attachTypesNames = "vpc, vpn, direct-connect-gateway or peering"
)

// TransitGateway is one transit gateway and its attachments.
type TransitGateway struct {
	ID          string       `yaml:"id,omitempty"`
	Account     string       `yaml:"account,omitempty"` // owner; default the first account
	Region      string       `yaml:"region"`
	ASN         int          `yaml:"asn,omitempty"`
	Attachments []Attachment `yaml:"attachments"`
}

// Attachment is one transit gateway attachment.
type Attachment struct {
	ID   string `yaml:"id,omitempty"`
	Type string `yaml:"type"`
	// VPC names the attached VPC (ID or name) for type vpc.
	VPC string `yaml:"vpc,omitempty"`
	// VPN names the VPN connection for type vpn.
	VPN string `yaml:"vpn,omitempty"`
	// CIDRs are the remote prefixes behind a direct-connect-gateway or peering attachment.
	CIDRs []string `yaml:"cidrs,omitempty"`
	// PeerRegion is the region of the peer transit gateway (peering).
	PeerRegion string `yaml:"peer-region,omitempty"`

	Prefixes []netip.Prefix `yaml:"-"`
}

// VPNConnection is one Site-to-Site VPN connection with its two tunnels.
type VPNConnection struct {
	ID      string `yaml:"id,omitempty"`
	Account string `yaml:"account,omitempty"`
	Region  string `yaml:"region"`
	// VPC attaches the connection to that VPC's virtual private gateway; leave it empty
	// when a transit gateway attachment refers to the connection.
	VPC                string   `yaml:"vpc,omitempty"`
	CustomerGatewayIP  string   `yaml:"customer-gateway-ip,omitempty"`
	CustomerGatewayASN int      `yaml:"customer-gateway-asn,omitempty"`
	AmazonASN          int      `yaml:"amazon-asn,omitempty"`
	RemoteCIDRs        []string `yaml:"remote-cidrs,omitempty"` // on-premises prefixes
	IKEVersion         string   `yaml:"ike-version,omitempty"`  // ikev1 or ikev2
	NATTraversal       bool     `yaml:"nat-traversal,omitempty"`
	Tunnels            []Tunnel `yaml:"tunnels,omitempty"`

	Prefixes []netip.Prefix `yaml:"-"`
}

// Tunnel is one VPN tunnel: its AWS outside address and its inside /30.
type Tunnel struct {
	OutsideIP  string `yaml:"outside-ip,omitempty"`
	InsideCIDR string `yaml:"inside-cidr,omitempty"` // 169.254.x.y/30
}

// ClientVPNEndpoint is one Client VPN endpoint.
type ClientVPNEndpoint struct {
	ID                string `yaml:"id,omitempty"`
	Account           string `yaml:"account,omitempty"`
	Region            string `yaml:"region"`
	VPC               string `yaml:"vpc,omitempty"`
	ClientCIDR        string `yaml:"client-cidr,omitempty"` // at least a /22
	TransportProtocol string `yaml:"transport-protocol,omitempty"`
	Users             int    `yaml:"users,omitempty"`

	Prefix netip.Prefix `yaml:"-"`
}

// Parse reads a topology from YAML and completes it (see Complete). Unknown keys are an
// error that names the key and its line.
func Parse(data []byte, seed uint64) (*Topology, error) {
	var t Topology
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("topology: empty document")
		}
		return nil, fmt.Errorf("topology: %w", err)
	}
	if err := t.Complete(seed); err != nil {
		return nil, err
	}
	return &t, nil
}

// Load reads and completes the topology file at path.
func Load(path string, seed uint64) (*Topology, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	t, err := Parse(data, seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Marshal renders the topology as YAML that Parse reads back to the same network.
func (t *Topology) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(t); err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	return b.Bytes(), enc.Close()
}

// ENICount is the number of ENIs of every type.
func (t *Topology) ENICount() int {
	n := 0
	for ai := range t.Accounts {
		for vi := range t.Accounts[ai].VPCs {
			for si := range t.Accounts[ai].VPCs[vi].Subnets {
				n += len(t.Accounts[ai].VPCs[vi].Subnets[si].ENIs)
			}
		}
	}
	return n
}
