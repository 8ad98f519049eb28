package lake

import (
	"fmt"
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

// TestSplit checks that every record lands exactly once, in batch order, in the group of
// its own kind, account, region and bucket (defaults for empty ones), and that groups come
// sorted by those coordinates.
func TestSplit(t *testing.T) {
	var recs []flowlog.Record
	accounts := []string{"222222222222", "111111111111", ""}
	regions := []string{"us-east-1", "", "eu-west-3"}
	for i := 0; i < 500; i++ {
		r := flowlog.Record{Kind: flowlog.KindVPC, AccountID: accounts[i%3], Region: regions[(i/3)%3],
			End: 1700000000 + int64(i*7%900) - 450} // three buckets, one before the batch's first
		if i%17 == 0 {
			r.Kind = flowlog.KindTGW
		}
		if i == 250 {
			r.Extra = "x-new-field 1"
		}
		// Runs of one group, as a partition's records mostly come.
		for k := 0; k < 1+i%4; k++ {
			recs = append(recs, r)
		}
	}
	groups := Split(recs, "000000000000", "xx-default-1")
	seen := make([]bool, len(recs))
	distinct := make(map[string]bool)
	for gi, g := range groups {
		if len(g.Index) == 0 {
			t.Fatalf("group %d is empty", gi)
		}
		for n, i := range g.Index {
			if n > 0 && i <= g.Index[n-1] {
				t.Fatalf("group %d: index %d after %d: not in batch order", gi, i, g.Index[n-1])
			}
			if seen[i] {
				t.Fatalf("record %d in two groups", i)
			}
			seen[i] = true
			r := &recs[i]
			account, region := r.AccountID, r.Region
			if account == "" {
				account = "000000000000"
			}
			if region == "" {
				region = "xx-default-1"
			}
			distinct[fmt.Sprint(r.Kind, account, region, Bucket(r.End).Unix())] = true
			if r.Kind != g.Kind || account != g.Account || region != g.Region || !Bucket(r.End).Equal(g.Bucket) {
				t.Fatalf("record %d (%v %s %s %d) in group %v %s %s %v", i, r.Kind, account, region, r.End, g.Kind, g.Account, g.Region, g.Bucket)
			}
		}
		if gi > 0 {
			p := groups[gi-1]
			less := p.Kind < g.Kind || p.Kind == g.Kind && (p.Account < g.Account || p.Account == g.Account &&
				(p.Region < g.Region || p.Region == g.Region && p.Bucket.Before(g.Bucket)))
			if !less {
				t.Fatalf("groups %d and %d out of order or equal: %+v, %+v", gi-1, gi, p, g)
			}
		}
	}
	withExtras := 0
	for _, g := range groups {
		if g.Extras {
			withExtras++
		}
		if want := len(g.ExtraNames(recs)) > 0; g.Extras != want {
			t.Errorf("group %v %s %s %v: Extras %v, want %v", g.Kind, g.Account, g.Region, g.Bucket, g.Extras, want)
		}
	}
	if withExtras != 1 {
		t.Errorf("%d groups with unknown columns, want 1", withExtras)
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("record %d in no group", i)
		}
	}
	if len(groups) != len(distinct) || len(groups) < 2*3*3*3 {
		t.Errorf("%d groups for %d distinct coordinates", len(groups), len(distinct))
	}
}
