package lake

import (
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
)

func TestKeysMatchAWS(t *testing.T) {
	ts := time.Date(2023, 1, 21, 21, 3, 7, 0, time.UTC).Unix()
	cases := []struct {
		style Style
		want  string
	}{
		{Plain, "logs/AWSLogs/841154226728/vpcflowlogs/us-west-2/2023/01/21/"},
		{PlainHourly, "logs/AWSLogs/841154226728/vpcflowlogs/us-west-2/2023/01/21/21/"},
		{Hive, "logs/AWSLogs/aws-account-id=841154226728/aws-service=vpcflowlogs/aws-region=us-west-2/year=2023/month=01/day=21/"},
		{HiveHourly, "logs/AWSLogs/aws-account-id=841154226728/aws-service=vpcflowlogs/aws-region=us-west-2/year=2023/month=01/day=21/hour=21/"},
	}
	for _, c := range cases {
		if got := Prefix("/logs/", c.style, "841154226728", "us-west-2", Bucket(ts)); got != c.want {
			t.Errorf("%v: got %s want %s", c.style, got, c.want)
		}
	}
	name := FileName("841154226728", "us-west-2", "fl-055401975c87952e8", Bucket(ts), "x", ".log.gz")
	want := "841154226728_vpcflowlogs_us-west-2_fl-055401975c87952e8_20230121T2100Z_" + Hash("x") + ".log.gz"
	if name != want {
		t.Fatalf("got %s want %s", name, want)
	}
	// 16:24:59 belongs to the 16:20 bucket, 16:25:00 to the next.
	b1 := Bucket(time.Date(2018, 6, 20, 16, 24, 59, 0, time.UTC).Unix())
	b2 := Bucket(time.Date(2018, 6, 20, 16, 25, 0, 0, time.UTC).Unix())
	if b1.Format("T1504Z") != "T1620Z" || b2.Format("T1504Z") != "T1625Z" {
		t.Fatalf("buckets %v %v", b1, b2)
	}
	if len(Hash("a")) != 8 || Hash("a") == Hash("b") {
		t.Fatal("hash must be 8 hex digits and depend on identity")
	}
	for _, s := range []string{"plain", "hourly", "hive", "hive-hourly"} {
		st, err := ParseStyle(s)
		if err != nil || st.String() != s {
			t.Fatalf("ParseStyle(%q) = %v, %v", s, st, err)
		}
	}
	if _, err := ParseStyle("daily"); err == nil {
		t.Fatal("want error for unknown style")
	}
}

func TestNamingDefaults(t *testing.T) {
	n := Naming{FlowLogID: "fl-1"}.WithDefaults()
	def := DefaultNaming()
	if n.FlowLogID != "fl-1" || n.TGWFlowLogID != def.TGWFlowLogID || n.DefaultAccount != "unknown" || n.DefaultRegion != "us-east-1" {
		t.Fatalf("WithDefaults: %+v", n)
	}
	if n.FlowLogIDOf(flowlog.KindTGW) != def.TGWFlowLogID || n.FlowLogIDOf(flowlog.KindVPC) != "fl-1" {
		t.Fatal("FlowLogIDOf picks the wrong id")
	}
}

func TestBatchIdentity(t *testing.T) {
	if got := BatchIdentity("flowtap.vpc", 3, 100, 199); got != "flowtap.vpc/3/100-199" {
		t.Fatalf("BatchIdentity = %q", got)
	}
	if BatchIdentity("a", 1, 2, 3) == BatchIdentity("a", 1, 2, 4) {
		t.Fatal("different offsets give one identity")
	}
}
