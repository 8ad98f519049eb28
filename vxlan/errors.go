package vxlan

// Reason is the error Decode returns for malformed input. It is a small integer so that
// returning it allocates nothing and callers can count drops in an array indexed by it.
type Reason uint8

// The reasons a packet cannot be summarized.
const (
	// ErrShortHeader: fewer bytes than the VXLAN (8) or GENEVE header with its options.
	ErrShortHeader Reason = iota + 1
	// ErrBadFlags: the VXLAN I flag (0x08) is not set, so the VNI is not valid.
	ErrBadFlags
	// ErrBadGENEVEVersion: a GENEVE version other than 0.
	ErrBadGENEVEVersion
	// ErrUnknownProtocol: a GENEVE protocol type other than Ethernet, IPv4 or IPv6.
	ErrUnknownProtocol
	// ErrShortFrame: the inner Ethernet frame (or a VLAN tag) is cut short.
	ErrShortFrame
	// ErrTooManyVLANs: more VLAN tags than any real network stacks.
	ErrTooManyVLANs
	// ErrUnknownEtherType: the inner frame is neither IPv4 nor IPv6 (e.g. ARP).
	ErrUnknownEtherType
	// ErrTruncatedIP: the IP header (with IPv4 options) did not arrive whole.
	ErrTruncatedIP
	// ErrBadIPVersion: the IP version nibble does not match the EtherType.
	ErrBadIPVersion
	// ErrBadIHL: an IPv4 header length below 5 words.
	ErrBadIHL
	// ErrBadIPLength: an IP length field shorter than the IP header itself.
	ErrBadIPLength
	// ErrBadExtHeader: an IPv6 extension-header chain that is too long to be real.
	ErrBadExtHeader
	// ErrTruncatedL4: the ports (or an IPv6 extension header before them) were cut off.
	ErrTruncatedL4
	// ErrNestedTooDeep: an encapsulation inside an encapsulation inside GENEVE.
	ErrNestedTooDeep

	numReasons
)

// NumReasons is one more than the largest Reason, for arrays indexed by Reason.
const NumReasons = int(numReasons)

var reasonLabels = [...]string{
	0:                   "none",
	ErrShortHeader:      "short_header",
	ErrBadFlags:         "bad_flags",
	ErrBadGENEVEVersion: "bad_geneve_version",
	ErrUnknownProtocol:  "unknown_geneve_protocol",
	ErrShortFrame:       "short_frame",
	ErrTooManyVLANs:     "too_many_vlans",
	ErrUnknownEtherType: "unknown_ethertype",
	ErrTruncatedIP:      "truncated_ip",
	ErrBadIPVersion:     "bad_ip_version",
	ErrBadIHL:           "bad_ihl",
	ErrBadIPLength:      "bad_ip_length",
	ErrBadExtHeader:     "bad_ipv6_ext_header",
	ErrTruncatedL4:      "truncated_l4",
	ErrNestedTooDeep:    "nested_too_deep",
}

var reasonText = [...]string{
	0:                   "no error",
	ErrShortHeader:      "short VXLAN/GENEVE header",
	ErrBadFlags:         "VXLAN I flag not set",
	ErrBadGENEVEVersion: "unsupported GENEVE version",
	ErrUnknownProtocol:  "GENEVE protocol type is not Ethernet, IPv4 or IPv6",
	ErrShortFrame:       "inner Ethernet frame too short",
	ErrTooManyVLANs:     "too many VLAN tags",
	ErrUnknownEtherType: "inner EtherType is not IPv4 or IPv6",
	ErrTruncatedIP:      "IP header truncated",
	ErrBadIPVersion:     "IP version does not match EtherType",
	ErrBadIHL:           "IPv4 header length below 20 bytes",
	ErrBadIPLength:      "IP length field shorter than the header",
	ErrBadExtHeader:     "IPv6 extension header chain too long",
	ErrTruncatedL4:      "transport header truncated before the ports",
	ErrNestedTooDeep:    "encapsulation nested too deep",
}

// Error describes the reason in words.
func (r Reason) Error() string {
	if int(r) < len(reasonText) {
		return "vxlan: " + reasonText[r]
	}
	return "vxlan: unknown decode error"
}

// Label is the reason as a Prometheus label value ("short_header", "bad_flags", …).
func (r Reason) Label() string {
	if int(r) < len(reasonLabels) {
		return reasonLabels[r]
	}
	return "unknown"
}

// Reasons lists every Reason, for pre-creating per-reason counters.
func Reasons() []Reason {
	rs := make([]Reason, 0, NumReasons-1)
	for r := Reason(1); r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}
