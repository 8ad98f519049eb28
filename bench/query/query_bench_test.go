package query

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/query"
	"github.com/flowtap/flowtap/query/querytest"
	"github.com/flowtap/flowtap/sinks/parquet"
)

// The lake size is FLOWTAP_QUERY_BENCH_RECORDS (default 200000; the goal is
// 10000000). The lake is written once under FLOWTAP_QUERY_BENCH_DIR (default the system temp
// directory) and reused by later runs of the same size.
func benchRecords() int {
	if v := os.Getenv("FLOWTAP_QUERY_BENCH_RECORDS"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return 200_000
}

var benchStart = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

// benchLake returns a hive-layout lake of n records, 90 % VPC and 10 % TGW, over two
// regions and consecutive 5-minute buckets (about 20 000 records per bucket, at least 12).
func benchLake(b *testing.B, n int) string {
	b.Helper()
	base := os.Getenv("FLOWTAP_QUERY_BENCH_DIR")
	if base == "" {
		base = os.TempDir()
	}
	dir := filepath.Join(base, fmt.Sprintf("flowtap-query-bench-%d", n))
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	buckets := min(max(n/20_000, 12), 576)
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Now()
	written := 0
	for bk := 0; bk < buckets; bk++ {
		count := n / buckets
		if bk < n%buckets {
			count++
		}
		var vpc, tgw []flowlog.Record
		for i := 0; i < count; i++ {
			end := benchStart.Unix() + int64(bk)*lake.BucketSeconds + rng.Int64N(lake.BucketSeconds)
			r := synthRecord(rng, end)
			if r.Kind == flowlog.KindTGW {
				tgw = append(tgw, r)
			} else {
				vpc = append(vpc, r)
			}
		}
		if err := querytest.WriteLake(dir, lake.Hive, nil, vpc); err != nil {
			b.Fatal(err)
		}
		if err := querytest.WriteLake(dir, lake.Hive, nil, tgw); err != nil {
			b.Fatal(err)
		}
		written += count
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote %d records in %d buckets to %s in %s", written, buckets, dir, time.Since(t0).Round(time.Second))
	return dir
}

var (
	regions  = []string{"us-east-1", "eu-west-1"}
	ports    = []uint16{443, 443, 443, 80, 22, 53, 3389, 5432, 6379, 8080}
	protocol = []uint8{6, 6, 6, 6, 6, 17, 6, 6, 6, 6}
)

// synthRecord makes one record: 2 000 sources, 200 destinations, skewed ports, 10 % REJECT,
// 1 % NODATA; TGW records lose packets now and then.
func synthRecord(rng *rand.Rand, end int64) flowlog.Record {
	var r flowlog.Record
	r.AccountID = "111111111111"
	r.Region = regions[rng.IntN(len(regions))]
	src := rng.IntN(2000)
	dst := rng.IntN(200)
	r.SrcAddr = netip.AddrFrom4([4]byte{10, 0, byte(src >> 8), byte(src)})
	r.DstAddr = netip.AddrFrom4([4]byte{10, 1, 0, byte(dst)})
	p := rng.IntN(len(ports))
	r.SrcPort = uint16(32768 + rng.IntN(28000))
	r.DstPort = ports[p]
	r.Protocol = protocol[p]
	r.Packets = uint64(1 + rng.IntN(100))
	r.Bytes = r.Packets * uint64(40+rng.IntN(1400))
	r.End = end
	r.Start = end - rng.Int64N(60)
	r.LogStatus = flowlog.StatusOK
	r.Type = flowlog.TypeIPv4
	r.TCPFlags = 19
	r.FlowDirection = flowlog.DirectionIngress
	if rng.IntN(10) == 0 {
		r.Kind = flowlog.KindTGW
		r.Version = 6
		r.ResourceType = "TransitGateway"
		r.TGWID = "tgw-" + strconv.Itoa(rng.IntN(3))
		r.TGWAttachmentID = "tgw-attach-" + strconv.Itoa(rng.IntN(20))
		if rng.IntN(20) == 0 {
			r.PacketsLostNoRoute = uint64(rng.IntN(5))
			r.PacketsLostBlackhole = uint64(rng.IntN(3))
			r.PacketsLostMTUExceeded = uint64(rng.IntN(2))
			r.PacketsLostTTLExpired = uint64(rng.IntN(2))
		}
		return r
	}
	r.Kind = flowlog.KindVPC
	r.Version = 5
	r.InterfaceID = "eni-" + strconv.Itoa(src%300)
	r.VPCID = "vpc-1"
	r.SubnetID = "subnet-" + strconv.Itoa(src%8)
	r.Action = flowlog.ActionAccept
	if rng.IntN(10) == 0 {
		r.Action = flowlog.ActionReject
	}
	if rng.IntN(100) == 0 {
		r.SetNoData(flowlog.StatusNoData, r.Start, r.End)
	}
	return r
}

// direct rewrites a saved query into what a DuckDB user would write by hand: the view
// replaced by read_parquet over the files of that kind, picked by the flow log ID in their
// names.
func direct(dir, sqlText string) string {
	def := parquet.DefaultConfig()
	vpc := fmt.Sprintf("read_parquet('%s/AWSLogs/*/*/*/*/*/*/*_%s_*%s')", dir, def.FlowLogID, parquet.Ext)
	tgw := fmt.Sprintf("read_parquet('%s/AWSLogs/*/*/*/*/*/*/*_%s_*%s')", dir, def.TGWFlowLogID, parquet.Ext)
	return strings.NewReplacer("FROM vpc_flow_logs", "FROM "+vpc, "FROM tgw_flow_logs", "FROM "+tgw).Replace(sqlText)
}

// drain reads every row into strings, so both paths do the same work on results.
func drain(b *testing.B, rows *sql.Rows) string {
	b.Helper()
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var sb strings.Builder
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintln(&sb, vals...)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return sb.String()
}

func viaQuery(b *testing.B, dir, sqlText string) string {
	e, err := query.Open(context.Background(), query.Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	rows, err := e.Query(context.Background(), sqlText)
	if err != nil {
		b.Fatal(err)
	}
	return drain(b, rows)
}

func viaDuckDB(b *testing.B, dir, sqlText string) string {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(direct(dir, sqlText))
	if err != nil {
		b.Fatal(err)
	}
	return drain(b, rows)
}

// BenchmarkSavedQueries runs each saved query end to end through package query (list the
// lake, read the footers, define the views, run, read the rows) and, alternating in the same
// loop, DuckDB alone over the same files with the equivalent hand-written SQL. It reports
// both latencies and their ratio (goal ≤ 1.2) and checks the two results are identical.
func BenchmarkSavedQueries(b *testing.B) {
	dir, err := filepath.Abs(benchLake(b, benchRecords()))
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range query.SavedQueries() {
		b.Run(s.Name, func(b *testing.B) {
			if got, want := viaQuery(b, dir, s.SQL), viaDuckDB(b, dir, s.SQL); got != want || got == "" {
				b.Fatalf("results differ or are empty:\nquery:\n%s\nduckdb:\n%s", got, want)
			}
			var tq, td time.Duration
			for b.Loop() {
				t0 := time.Now()
				viaQuery(b, dir, s.SQL)
				t1 := time.Now()
				viaDuckDB(b, dir, s.SQL)
				td += time.Since(t1)
				tq += t1.Sub(t0)
			}
			b.ReportMetric(float64(tq.Milliseconds())/float64(b.N), "query-ms/op")
			b.ReportMetric(float64(td.Milliseconds())/float64(b.N), "duckdb-ms/op")
			b.ReportMetric(float64(tq)/float64(td), "ratio")
		})
	}
}
