package generate

import (
	"math"
	"math/rand/v2"
	"net/netip"
)

// awsRange is a public prefix and the ip-ranges.json service code AWS reports for it in
// pkt-src-aws-service / pkt-dst-aws-service. The prefixes are real AWS ranges (a small,
// fixed sample; the generator needs plausibility, not completeness).
type awsRange struct {
	prefix  netip.Prefix
	service string
	weight  int // share of outbound flows to this service
}

var awsRanges = []awsRange{
	{netip.MustParsePrefix("52.216.0.0/15"), "S3", 14},
	{netip.MustParsePrefix("3.5.0.0/19"), "S3", 6},
	{netip.MustParsePrefix("52.95.128.0/21"), "S3", 3},
	{netip.MustParsePrefix("52.94.0.0/22"), "DYNAMODB", 6},
	{netip.MustParsePrefix("3.218.180.0/22"), "DYNAMODB", 3},
	{netip.MustParsePrefix("3.80.0.0/12"), "EC2", 8},
	{netip.MustParsePrefix("54.144.0.0/14"), "EC2", 5},
	{netip.MustParsePrefix("13.224.0.0/14"), "CLOUDFRONT", 6},
	{netip.MustParsePrefix("54.239.0.0/18"), "AMAZON", 4},
	{netip.MustParsePrefix("205.251.192.0/21"), "ROUTE53", 1},
	{netip.MustParsePrefix("2600:1fa0:4000::/40"), "S3", 0},
	{netip.MustParsePrefix("2600:1f14::/35"), "EC2", 0},
}

// awsService returns the service code of a public address, "" when it is not AWS's.
func awsService(a netip.Addr) string {
	for i := range awsRanges {
		if awsRanges[i].prefix.Contains(a) {
			return awsRanges[i].service
		}
	}
	return ""
}

// internet holds pools of public addresses: popular destinations, client populations and
// scanners, each drawn once from the seed so that the same hosts recur, as they do.
type internet struct {
	dests    []netip.Addr // non-AWS destinations (CDNs, SaaS, package mirrors …)
	dests6   []netip.Addr
	clients  []netip.Addr // internet clients of public web servers (some in EC2/CloudFront)
	scanners []netip.Addr
	awsPick  []int // awsRanges indices repeated by weight (IPv4 only)
}

func newInternet(rng *rand.Rand) *internet {
	in := &internet{}
	for i := 0; i < 2048; i++ {
		in.dests = append(in.dests, randPublic4(rng))
	}
	for i := 0; i < 512; i++ {
		var b [16]byte
		b[0], b[1] = 0x2a, byte(rng.IntN(16))
		for j := 2; j < 16; j++ {
			b[j] = byte(rng.IntN(256))
		}
		in.dests6 = append(in.dests6, netip.AddrFrom16(b))
	}
	for i := 0; i < 8192; i++ {
		if rng.IntN(10) == 0 {
			r := awsRanges[5+rng.IntN(4)] // EC2, CloudFront, AMAZON hosts as clients
			in.clients = append(in.clients, randIn(rng, r.prefix))
		} else {
			in.clients = append(in.clients, randPublic4(rng))
		}
	}
	for i := 0; i < 64; i++ {
		in.scanners = append(in.scanners, randPublic4(rng))
	}
	for i, r := range awsRanges {
		for j := 0; j < r.weight; j++ {
			in.awsPick = append(in.awsPick, i)
		}
	}
	return in
}

// skewed picks an index in [0, n) with a heavy bias towards small indices (popular hosts).
func skewed(rng *rand.Rand, n int) int {
	u := rng.Float64()
	return int(float64(n) * u * u * u)
}

// randPublic4 draws a globally routable IPv4 address outside AWS's sample ranges.
func randPublic4(rng *rand.Rand) netip.Addr {
	for {
		v := rng.Uint32()
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		b0, b1 := byte(v>>24), byte(v>>16)
		if b0 == 0 || b0 == 10 || b0 == 127 || b0 >= 224 || (b0 == 100 && b1&0xc0 == 64) ||
			(b0 == 169 && b1 == 254) || (b0 == 172 && b1&0xf0 == 16) || (b0 == 192 && b1 == 168) ||
			(b0 == 192 && b1 == 0) || (b0 == 198 && (b1 == 18 || b1 == 19 || b1 == 51)) || (b0 == 203 && b1 == 0) {
			continue
		}
		if awsService(a) != "" || v&0xff == 0 || v&0xff == 255 {
			continue
		}
		return a
	}
}

// randIn draws a host address inside p.
func randIn(rng *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	for i := bits; i < 128; i++ {
		if rng.IntN(2) == 1 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
		if v := a.As4(); v[3] == 0 || v[3] == 255 {
			v[3] = byte(1 + rng.IntN(254))
			a = netip.AddrFrom4(v)
			if !p.Contains(a) {
				return p.Addr().Next()
			}
		}
	}
	return a
}

// expRand draws exp(N(mu, sigma)): lognormal sizes and durations.
func expRand(rng *rand.Rand, mu, sigma float64) float64 {
	return math.Exp(mu + sigma*rng.NormFloat64())
}
