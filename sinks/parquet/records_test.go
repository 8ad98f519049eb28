package parquet

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/flowtap/flowtap/flowlog"
)

// realistic returns n VPC records shaped like a busy account's: 300 ENIs in 3 accounts and
// 2 regions, each talking to a few hundred peers (Zipf-distributed), client ports
// ephemeral and server ports from common services, mostly TCP, about 2% REJECT, some IPv6,
// NODATA now and then, egress records with traffic-path, and end times advancing through a
// 5-minute window.
func realistic(n int, seed uint64) []flowlog.Record {
	rng := rand.New(rand.NewPCG(seed, 42))
	type eni struct {
		id, account, vpc, subnet, instance, region, az string
		ip                                             netip.Addr
		ip6                                            netip.Addr
	}
	regions := []string{"us-east-1", "eu-west-3"}
	accounts := []string{"123456789012", "210987654321", "111122223333"}
	enis := make([]eni, 300)
	for i := range enis {
		reg := regions[i%2]
		enis[i] = eni{
			id:       fmt.Sprintf("eni-%017x", 0x0a1b2c3d4e5f0000+uint64(i)),
			account:  accounts[i%3],
			vpc:      fmt.Sprintf("vpc-%017x", 0x0abc0000+uint64(i%6)),
			subnet:   fmt.Sprintf("subnet-%017x", 0x0def0000+uint64(i%24)),
			instance: fmt.Sprintf("i-%017x", 0x0fed0000+uint64(i)),
			region:   reg,
			az:       reg[:2] + "1-az" + fmt.Sprint(1+i%3),
			ip:       netip.AddrFrom4([4]byte{10, byte(i % 6), byte(i / 250), byte(1 + i%250)}),
			ip6:      netip.MustParseAddr(fmt.Sprintf("2600:1f18:%x:%x::%x", i%6, i%24, 100+i)),
		}
	}
	zipf := rand.NewZipf(rng, 1.2, 4, 5000)
	peer := func() netip.Addr {
		k := zipf.Uint64()
		if k%3 == 0 {
			return netip.AddrFrom4([4]byte{52, byte(k >> 8), byte(k), 17})
		}
		return netip.AddrFrom4([4]byte{10, byte(k % 6), byte(k >> 8), byte(k)})
	}
	services := []uint16{443, 443, 443, 80, 53, 22, 5432, 6379, 8080, 9092, 3306, 123}
	base := int64(1700000100)
	out := make([]flowlog.Record, n)
	for i := range out {
		e := &enis[int(zipf.Uint64())%len(enis)]
		r := &out[i]
		r.Kind = flowlog.KindVPC
		r.AccountID, r.InterfaceID, r.VPCID, r.SubnetID, r.InstanceID = e.account, e.id, e.vpc, e.subnet, e.instance
		r.Region, r.AZID = e.region, e.az
		r.End = base + int64(i)*300/int64(n) + int64(rng.IntN(3))
		r.Start = r.End - int64(rng.IntN(60))
		if rng.IntN(200) == 0 {
			r.SetNoData(flowlog.StatusNoData, r.Start, r.End)
			continue
		}
		r.LogStatus = flowlog.StatusOK
		r.Action = flowlog.ActionAccept
		if rng.IntN(50) == 0 {
			r.Action = flowlog.ActionReject
		}
		local, remote := e.ip, peer()
		r.Type = flowlog.TypeIPv4
		if rng.IntN(20) == 0 {
			local, remote = e.ip6, netip.MustParseAddr(fmt.Sprintf("2600:1f18::%x", zipf.Uint64()))
			r.Type = flowlog.TypeIPv6
		}
		switch p := rng.IntN(100); {
		case p < 80:
			r.Protocol = 6
		case p < 97:
			r.Protocol = 17
		default:
			r.Protocol = 1
		}
		svc, eph := services[rng.IntN(len(services))], uint16(32768+rng.IntN(28000))
		if r.Protocol == 1 {
			svc, eph = 0, 0
		}
		egress := rng.IntN(2) == 0
		if egress {
			r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort = local, remote, eph, svc
			r.FlowDirection = flowlog.DirectionEgress
			r.TrafficPath = 1
			if remote.Is4() && remote.As4()[0] == 52 {
				r.TrafficPath = 8
				r.PktDstAWSService = "S3"
			}
		} else {
			r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort = remote, local, svc, eph
			r.FlowDirection = flowlog.DirectionIngress
			r.Null = r.Null.With(flowlog.FieldTrafficPath)
			if remote.Is4() && remote.As4()[0] == 52 {
				r.PktSrcAWSService = "S3"
			}
		}
		r.PktSrcAddr, r.PktDstAddr = r.SrcAddr, r.DstAddr
		r.Packets = uint64(1 + rng.IntN(40)*rng.IntN(40))
		r.Bytes = r.Packets * uint64(40+rng.IntN(1400))
		if r.Protocol == 6 {
			r.TCPFlags = []uint8{2, 18, 3, 19, 1, 0, 0, 0}[rng.IntN(8)]
		}
	}
	return out
}

// fullRecord returns a record of kind with every field of that kind present.
func fullRecord(kind flowlog.Kind) flowlog.Record {
	return recordWith(kind, func(i int, f flowlog.Field) string {
		switch f {
		case flowlog.FieldSrcAddr, flowlog.FieldPktSrcAddr:
			return "2001:db8:1234:a100:8d6e:3477:df66:f105"
		case flowlog.FieldDstAddr, flowlog.FieldPktDstAddr:
			return "203.0.113.12"
		case flowlog.FieldAction:
			return "REJECT"
		case flowlog.FieldLogStatus:
			return "SKIPDATA"
		case flowlog.FieldFlowDirection:
			return "egress"
		case flowlog.FieldType:
			return "IPv6"
		case flowlog.FieldStart:
			return "1616729292"
		case flowlog.FieldEnd:
			return "1616729349"
		case flowlog.FieldBytes:
			return "9007199254740993" // beyond float64 precision: catches lossy conversions
		}
		if f.Info().Type != flowlog.ColumnString {
			return fmt.Sprint(2 + i)
		}
		return f.Column() + "-value"
	})
}

// emptyRecord returns a record of kind with every field absent but the window's end.
func emptyRecord(kind flowlog.Kind) flowlog.Record {
	return recordWith(kind, func(_ int, f flowlog.Field) string {
		if f == flowlog.FieldEnd {
			return "1616729349"
		}
		return "-"
	})
}

// recordWith returns a record of kind with each field of that kind (the i-th) set to
// value(i, f).
func recordWith(kind flowlog.Kind, value func(i int, f flowlog.Field) string) flowlog.Record {
	all := flowlog.AllVPC
	if kind == flowlog.KindTGW {
		all = flowlog.AllTGW
	}
	r := flowlog.Record{Kind: kind}
	for i, f := range all.Fields() {
		if err := r.SetValue(f, value(i, f)); err != nil {
			panic(fmt.Sprintf("%s=%s: %v", f, value(i, f), err))
		}
	}
	return r
}

// tgwLine is AWS's documented TGW default-format shape.
const tgwLine = "6 TransitGateway 123456789012 tgw-0123456789abcdef0 tgw-attach-0123456789abcdef0 123456789012 210987654321 vpc-0123456789abcdef0 vpc-0fedcba9876543210 subnet-0123456789abcdef0 subnet-0fedcba9876543210 eni-0123456789abcdef0 eni-0fedcba9876543210 use1-az1 use1-az2 tgw-attach-0fedcba9876543210 10.0.1.5 10.1.2.6 49152 443 6 10 5000 1616729292 1616729349 OK IPv4 0 0 0 0 19 us-east-1 egress - -"
