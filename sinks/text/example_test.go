package text_test

import (
	"context"
	"fmt"
	"os"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks/text"
)

// A Rotator turns a stream of records into AWS-style gzip text files.
func ExampleRotator() {
	dir, _ := os.MkdirTemp("", "flowlogs")
	defer os.RemoveAll(dir)
	store, _ := objstore.NewDir(dir)

	cfg := text.DefaultRotatorConfig()
	cfg.Layout = lake.Hive
	cfg.FlowLogID = "fl-0123456789abcdef0"
	rot, _ := text.NewRotator(cfg, store)

	var r flowlog.Record
	flowlog.DefaultVPC.Parse(&r, "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK")
	r.Region = "us-east-1"
	ctx := context.Background()
	rot.WriteRecords(ctx, []flowlog.Record{r})
	rot.Close(ctx)
	for _, k := range rot.Files() {
		fmt.Println(k)
	}
	// Output:
	// AWSLogs/aws-account-id=123456789010/aws-service=vpcflowlogs/aws-region=us-east-1/year=2014/month=12/day=14/123456789010_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20141214T0405Z_9d361301.log.gz
}
