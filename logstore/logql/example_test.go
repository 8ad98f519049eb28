package logql_test

import (
	"context"
	"fmt"
	"time"

	"github.com/flowtap/flowtap/logstore/logql"
)

// The README's first example: top rejected sources in the last hour, with a pattern that
// parses the default VPC flow-log format (version 2).
func Example_topRejectedSources() {
	q := logql.NewMemQuerier()
	now := time.Unix(1620003600, 0)
	lines := []string{
		"2 123456789012 eni-0a1b2c3d4e5f67890 10.0.1.5 52.95.128.179 443 34210 6 10 5120 1620000000 1620000060 ACCEPT OK",
		"2 123456789012 eni-0a1b2c3d4e5f67890 198.51.100.7 10.0.1.5 51234 22 6 1 40 1620000000 1620000060 REJECT OK",
		"2 123456789012 eni-0a1b2c3d4e5f67890 198.51.100.7 10.0.1.5 51235 3389 6 1 40 1620000060 1620000120 REJECT OK",
		"2 123456789012 eni-0a1b2c3d4e5f67890 203.0.113.9 10.0.1.5 40000 23 6 1 40 1620000120 1620000180 REJECT OK",
	}
	for i, l := range lines {
		q.Push(logql.Labels{{Name: "kind", Value: "vpc"}}, logql.Entry{Timestamp: now.Add(-time.Duration(30-i) * time.Minute).UnixNano(), Line: l})
	}
	eng := logql.NewEngine(q, logql.Limits{MaxSeries: 10000})
	res, err := eng.Exec(context.Background(), logql.Params{
		Query: `topk(10, sum by (srcaddr) (count_over_time({kind="vpc"}
			| pattern "<version> <account_id> <interface_id> <srcaddr> <dstaddr> <srcport> <dstport> <protocol> <packets> <bytes> <start> <end> <action> <log_status>"
			| action="REJECT" [1h])))`,
		End:     now,
		Instant: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range res.Vector {
		fmt.Println(s.Labels, s.V)
	}
	// Output:
	// {srcaddr="198.51.100.7"} 2
	// {srcaddr="203.0.113.9"} 1
}
