package ingest

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"

	"gopkg.in/yaml.v3"
)

// Session is the metadata of one mirror session's source ENI: what a VPC Flow Log of that
// ENI would carry, and its IPs, which decide flow-direction and srcaddr/dstaddr.
type Session struct {
	VNI         uint32       `yaml:"vni"`
	AccountID   string       `yaml:"account-id"`
	InterfaceID string       `yaml:"interface-id"`
	VPCID       string       `yaml:"vpc-id"`
	SubnetID    string       `yaml:"subnet-id"`
	InstanceID  string       `yaml:"instance-id"`
	Region      string       `yaml:"region"`
	AZID        string       `yaml:"az-id"`
	IPs         []netip.Addr `yaml:"ips"` // the first IPv4 is the primary private IPv4

	primary4 netip.Addr
	known    bool
}

// Sessions maps VNIs to sessions. A VNI without an entry still yields records, under the
// derived interface ID of UnknownSession.
type Sessions map[uint32]*Session

// sessionsFile is the YAML layout of a sessions file:
//
//	sessions:
//	  - vni: 4660
//	    account-id: "123456789012"
//	    interface-id: eni-1235b8ca123456789
//	    vpc-id: vpc-abcdefab012345678
//	    subnet-id: subnet-aaaaaaaa012345678
//	    instance-id: i-0c50d5961bcb2d47b
//	    region: ap-southeast-2
//	    az-id: apse2-az3
//	    ips: [10.0.0.71, 10.0.0.72, 2001:db8::71]
type sessionsFile struct {
	Sessions []*Session `yaml:"sessions"`
}

// LoadSessions reads a sessions file (see ParseSessions).
func LoadSessions(path string) (Sessions, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ingest: sessions: %w", err)
	}
	s, err := ParseSessions(raw)
	if err != nil {
		return nil, fmt.Errorf("ingest: sessions %s: %w", path, err)
	}
	return s, nil
}

// ParseSessions parses the YAML sessions document: a top-level "sessions" list whose items
// carry vni, account-id, interface-id, vpc-id, subnet-id, instance-id, region, az-id and ips.
// Unknown keys, duplicate VNIs and VNIs above 2^24-1 are errors that name the entry.
func ParseSessions(raw []byte) (Sessions, error) {
	var doc sessionsFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	out := make(Sessions, len(doc.Sessions))
	for i, s := range doc.Sessions {
		if s == nil {
			return nil, fmt.Errorf("sessions[%d]: empty entry", i)
		}
		if s.VNI > 1<<24-1 {
			return nil, fmt.Errorf("sessions[%d]: vni %d exceeds 24 bits", i, s.VNI)
		}
		if _, dup := out[s.VNI]; dup {
			return nil, fmt.Errorf("sessions[%d]: vni %d appears twice", i, s.VNI)
		}
		if s.InterfaceID == "" {
			return nil, fmt.Errorf("sessions[%d] (vni %d): interface-id is required", i, s.VNI)
		}
		s.prepare()
		out[s.VNI] = s
	}
	return out, nil
}

func (s *Session) prepare() {
	s.known = true
	for i, a := range s.IPs {
		s.IPs[i] = a.Unmap()
		if s.IPs[i].Is4() && !s.primary4.IsValid() {
			s.primary4 = s.IPs[i]
		}
	}
}

// UnknownSession is the session used for a VNI missing from the sessions map: the interface
// ID is derived from the VNI as "eni-vni" + 8 hex digits (eni-vni00001234 for VNI 0x1234),
// which cannot collide with a real ENI ID (those are hex only); every other field is "-".
func UnknownSession(vni uint32) *Session {
	return &Session{VNI: vni, InterfaceID: fmt.Sprintf("eni-vni%08x", vni)}
}

// Known reports whether the session came from the sessions map.
func (s *Session) Known() bool { return s.known }

// owns reports whether a is one of the session ENI's addresses.
func (s *Session) owns(a netip.Addr) bool {
	for _, x := range s.IPs {
		if x == a {
			return true
		}
	}
	return false
}
