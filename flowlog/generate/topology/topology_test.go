package topology

import (
	"strings"
	"testing"
)

const sample = `
accounts:
  - id: "111122223333"
    vpcs:
      - name: prod
        region: eu-west-1
        cidr: 10.10.0.0/16
        internet-gateway: true
        subnets:
          - {az-id: euw1-az1, cidr: 10.10.0.0/24, public: true, nat-gateway: true, eni-count: 3}
          - az-id: euw1-az2
            cidr: 10.10.1.0/24
            enis:
              - {role: mysql, private-ips: [10.10.1.10, 10.10.1.11]}
transit-gateways:
  - region: eu-west-1
    attachments:
      - {type: vpc, vpc: prod}
      - {type: vpn, vpn: vpn-0123456789abcdef0}
vpn-connections:
  - {id: vpn-0123456789abcdef0, region: eu-west-1, remote-cidrs: [192.168.50.0/24]}
client-vpn-endpoints:
  - {region: eu-west-1, vpc: prod}
`

func TestParseCompletesAndRoundTrips(t *testing.T) {
	topo, err := Parse([]byte(sample), 1)
	if err != nil {
		t.Fatal(err)
	}
	v := topo.Accounts[0].VPCs[0]
	if !validID(v.ID, "vpc-") || len(v.ID) != 21 {
		t.Fatalf("vpc id %q", v.ID)
	}
	// 3 instances + NAT + one TGW ENI per AZ (2) + the listed one.
	if n := topo.ENICount(); n != 7 {
		t.Fatalf("%d ENIs, want 7", n)
	}
	for _, s := range v.Subnets {
		for _, e := range s.ENIs {
			if !validID(e.ID, "eni-") || (e.Type == ENIInterface) != validID(e.InstanceID, "i-") || !usable(s.Prefix, e.Addrs[0]) {
				t.Fatalf("bad ENI %+v", e)
			}
		}
	}
	if got := topo.TransitGateways[0].Attachments[0].VPC; got != v.ID {
		t.Fatalf("attachment refers to %q, want %s", got, v.ID)
	}
	if tu := topo.VPNConnections[0].Tunnels; len(tu) != 2 || tu[0].OutsideIP == "" {
		t.Fatalf("tunnels %+v", tu)
	}
	b, err := topo.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(b, 99)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, b)
	}
	b2, _ := again.Marshal()
	if string(b) != string(b2) {
		t.Fatalf("completed topology does not round-trip:\n%s\n---\n%s", b, b2)
	}
	if a, _ := Parse([]byte(sample), 1); a.Accounts[0].VPCs[0].ID != v.ID {
		t.Fatal("same seed, different IDs")
	}
}

func TestBuild(t *testing.T) {
	spec := DefaultSpec()
	spec.Regions = []string{"us-east-1", "eu-west-1"}
	topo, err := Build(spec, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.TransitGateways) != 2 || len(topo.Accounts) != 2 || topo.ENICount() < 2*2*4*8 {
		t.Fatalf("tgws %d accounts %d enis %d", len(topo.TransitGateways), len(topo.Accounts), topo.ENICount())
	}
	spec.ENIs = 300
	spec.Subnets = 300
	if _, err := Build(spec, 3); err == nil || !strings.Contains(err.Error(), "do not fit") {
		t.Fatalf("oversized build: %v", err)
	}
	spec = DefaultSpec()
	spec.Regions = []string{"us-east-9"}
	if _, err := Build(spec, 3); err == nil || !strings.Contains(err.Error(), `unknown region "us-east-9"`) {
		t.Fatalf("bad region: %v", err)
	}
}

func TestBadTopologies(t *testing.T) {
	base := func(vpcs string) string {
		return "accounts:\n  - id: \"111122223333\"\n    vpcs:\n" + vpcs
	}
	vpc := func(cidr, subnets string) string {
		return "      - region: us-east-1\n        cidr: " + cidr + "\n        subnets:\n" + subnets
	}
	sub := func(cidr, extra string) string {
		return "          - {az-id: use1-az1, cidr: " + cidr + extra + "}\n"
	}
	cases := []struct{ name, doc, want string }{
		{"overlapping VPCs", base(vpc("10.0.0.0/16", sub("10.0.0.0/24", "")) + vpc("10.0.128.0/17", sub("10.0.128.0/24", ""))), "overlaps vpc"},
		{"overlapping subnets", base(vpc("10.0.0.0/16", sub("10.0.0.0/24", "")+sub("10.0.0.128/25", ""))), "overlaps subnet"},
		{"subnet outside VPC", base(vpc("10.0.0.0/16", sub("10.1.0.0/24", ""))), "not inside VPC CIDR"},
		{"too many ENIs", base(vpc("10.0.0.0/16", sub("10.0.0.0/28", ", eni-count: 12"))), "12 ENI addresses do not fit: a /28 holds 11"},
		{"unknown field", base(vpc("10.0.0.0/16", sub("10.0.0.0/24", ", colour: red"))), "field colour not found"},
		{"bad region", base("      - {region: mars-1, cidr: 10.0.0.0/16, subnets: []}\n"), `unknown region "mars-1"`},
		{"AZ of another region", base(vpc("10.0.0.0/16", "          - {az-id: euw1-az1, cidr: 10.0.0.0/24}\n")), `az-id "euw1-az1" is not in region us-east-1`},
		{"bad account", "accounts:\n  - id: \"12\"\n    vpcs: []\n", "not 12 digits"},
		{"bad eni id", base(vpc("10.0.0.0/16", sub("10.0.0.0/24", ", enis: [{id: eni-xyz}]"))), `id "eni-xyz" is not eni-`},
		{"reserved address", base(vpc("10.0.0.0/16", sub("10.0.0.0/24", ", enis: [{private-ips: [10.0.0.2]}]"))), "reserves the first four"},
		{"host bits", base(vpc("10.0.0.1/16", sub("10.0.0.0/24", ""))), "host bits set"},
		{"VPC too large", base(vpc("10.0.0.0/8", sub("10.0.0.0/24", ""))), "/16 to /28"},
		{"empty", "", "empty document"},
		{"unknown attachment type", base(vpc("10.0.0.0/16", sub("10.0.0.0/24", ""))) + "transit-gateways:\n  - {region: us-east-1, attachments: [{type: wormhole}]}\n", `type "wormhole"`},
		{"missing VPC", base(vpc("10.0.0.0/16", sub("10.0.0.0/24", ""))) + "transit-gateways:\n  - {region: us-east-1, attachments: [{type: vpc, vpc: nope}]}\n", `no VPC with id or name "nope"`},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.doc), 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

// FuzzParse: no input makes the loader panic, and whatever it accepts re-parses.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("accounts: [{vpcs: [{region: us-east-1, cidr: 10.0.0.0/28, subnets: [{az-id: use1-az1, cidr: 10.0.0.0/28, eni-count: 11}]}]}]"))
	f.Add([]byte("accounts: []"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		topo, err := Parse(data, 1)
		if err != nil {
			return
		}
		if topo.ENICount() > 4096 {
			return // valid but large: the re-parse would only cost time
		}
		b, err := topo.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b, 2); err != nil {
			t.Fatalf("accepted topology does not re-parse: %v\n%s", err, b)
		}
	})
}
