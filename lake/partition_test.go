package lake

import (
	"testing"
	"time"
)

func TestParsePartition(t *testing.T) {
	cases := []struct {
		key    string
		ok     bool
		hourly bool
		hive   bool
	}{
		{"x/AWSLogs/111/vpcflowlogs/us-east-1/2023/01/21/f.log.parquet", true, false, false},
		{"AWSLogs/111/vpcflowlogs/us-east-1/2023/01/21/05/f.log.parquet", true, true, false},
		{"AWSLogs/aws-account-id=111/aws-service=vpcflowlogs/aws-region=us-east-1/year=2023/month=01/day=21/f.parquet", true, false, true},
		{"AWSLogs/aws-account-id=111/service=vpcflowlogs/aws-region=us-east-1/year=2023/month=01/day=21/hour=23/f.parquet", true, true, true},
		{"AWSLogs/111/vpcflowlogs/us-east-1/2023/02/30/f.parquet", false, false, false},
		{"AWSLogs/111/vpcflowlogs/us-east-1/2023/01/21/24/f.parquet", false, false, false},
		{"AWSLogs/111/elasticloadbalancing/us-east-1/2023/01/21/f.parquet", false, false, false},
		{"AWSLogs/aws-account-id=111/aws-service=vpcflowlogs/year=2023/month=01/day=21/f.parquet", false, false, false},
		{"logs/2023/01/21/f.parquet", false, false, false},
	}
	for _, c := range cases {
		p, ok := ParsePartition(c.key)
		if ok != c.ok || (ok && (p.Hourly() != c.hourly || p.Hive() != c.hive || p.Account != "111" || p.Region != "us-east-1")) {
			t.Errorf("%s: got %+v %v", c.key, p, ok)
		}
	}
}

func FuzzParsePartition(f *testing.F) {
	f.Add("x/AWSLogs/111/vpcflowlogs/us-east-1/2023/01/21/f.log.parquet")
	f.Add("AWSLogs/aws-account-id=111/aws-service=vpcflowlogs/aws-region=us-east-1/year=2023/month=01/day=21/hour=07/f.parquet")
	f.Add("AWSLogs//")
	f.Fuzz(func(t *testing.T, key string) {
		p, ok := ParsePartition(key)
		if !ok {
			return
		}
		if p.Span != time.Hour && p.Span != 24*time.Hour {
			t.Fatalf("span %v", p.Span)
		}
		if p.Start.Location() != time.UTC || p.Account == "" || p.Region == "" {
			t.Fatalf("bad partition %+v", p)
		}
	})
}
