package query

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/query/querytest"
)

// vpcLineFormat is the custom format the fixture's VPC records are written in.
var vpcLineFormat = flowlog.MustParseFormat("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status region tcp-flags")

var (
	day1 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC).Unix()
	day2 = time.Date(2024, 5, 2, 12, 0, 0, 0, time.UTC).Unix()
	day3 = time.Date(2024, 5, 3, 23, 0, 0, 0, time.UTC).Unix()
)

func vpcLine(src, dst string, sport, dport, proto, pkts, bytes int, end int64, action, region string) string {
	return fmt.Sprintf("5 111111111111 eni-0a1 %s %s %d %d %d %d %d %d %d %s OK %s 2",
		src, dst, sport, dport, proto, pkts, bytes, end-30, end, action, region)
}

// fixtureVPC are the VPC records of the test lake: three days, two regions.
func fixtureVPC(t testing.TB) []flowlog.Record {
	lines := []string{
		vpcLine("10.0.0.1", "10.0.0.2", 40001, 443, 6, 10, 1000, day1, "ACCEPT", "us-east-1"),
		vpcLine("10.0.0.1", "10.0.0.2", 40002, 443, 6, 5, 500, day1+60, "ACCEPT", "us-east-1"),
		vpcLine("10.0.0.3", "10.0.0.2", 40003, 22, 6, 2, 120, day1+400, "REJECT", "us-east-1"),
		vpcLine("10.0.0.4", "10.0.0.5", 40004, 53, 17, 1, 80, day2, "ACCEPT", "us-east-1"),
		vpcLine("10.0.0.3", "10.0.0.2", 40005, 22, 6, 3, 180, day2+10, "REJECT", "us-east-1"),
		"5 111111111111 eni-0a1 - - - - - - - " + fmt.Sprint(day2-60) + " " + fmt.Sprint(day2) + " - NODATA us-east-1 -",
		vpcLine("10.0.0.6", "10.0.0.2", 40006, 443, 6, 100, 20000, day3, "ACCEPT", "us-east-1"),
		vpcLine("10.0.0.3", "10.0.0.7", 40007, 3389, 6, 1, 60, day3, "REJECT", "us-west-2"),
	}
	return parseLines(t, vpcLineFormat, lines)
}

func tgwLine(tgw, att, src, dst string, pkts int, end int64, noRoute, blackhole, mtu, ttl int) string {
	return fmt.Sprintf("6 TransitGateway 222222222222 %s %s 333333333333 444444444444 vpc-s vpc-d subnet-s subnet-d eni-s eni-d use1-az1 use1-az2 %s-peer %s %s 50000 443 6 %d %d %d %d OK IPv4 %d %d %d %d 18 us-east-1 ingress - -",
		tgw, att, att, src, dst, pkts, pkts*100, end-30, end, noRoute, blackhole, mtu, ttl)
}

func fixtureTGW(t testing.TB) []flowlog.Record {
	lines := []string{
		tgwLine("tgw-1", "tgw-attach-a", "10.1.0.1", "10.2.0.1", 10, day2, 2, 0, 0, 0),
		tgwLine("tgw-1", "tgw-attach-a", "10.1.0.1", "10.2.0.1", 10, day2+5, 0, 0, 3, 0),
		tgwLine("tgw-1", "tgw-attach-b", "10.1.0.2", "10.2.0.2", 7, day2+5, 0, 0, 0, 0),
		tgwLine("tgw-2", "tgw-attach-c", "10.1.0.3", "10.2.0.3", 9, day2+400, 0, 5, 0, 1),
	}
	return parseLines(t, flowlog.DefaultTGW, lines)
}

func parseLines(t testing.TB, f *flowlog.Format, lines []string) []flowlog.Record {
	t.Helper()
	recs := make([]flowlog.Record, len(lines))
	for i, l := range lines {
		if err := f.Parse(&recs[i], l); err != nil {
			t.Fatalf("fixture line %d: %v", i, err)
		}
	}
	return recs
}

// writeFixtureLake writes the fixture records in style under a fresh directory. VPC files
// carry every VPC column (like the sink) in the hive layouts and only the line format's
// columns in the plain ones, so both full and partial schemas are exercised.
func writeFixtureLake(t testing.TB, style lake.Style) string {
	t.Helper()
	dir := t.TempDir()
	vpcFormat := flowlog.AllVPC
	if style == lake.Plain || style == lake.PlainHourly {
		vpcFormat = vpcLineFormat
	}
	if err := querytest.WriteLake(dir, style, vpcFormat, fixtureVPC(t)); err != nil {
		t.Fatal(err)
	}
	if err := querytest.WriteLake(dir, style, flowlog.DefaultTGW, fixtureTGW(t)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// csvOf runs query and returns the result as CSV.
func csvOf(t testing.TB, e *Engine, query string) string {
	t.Helper()
	out, _ := runTo(t, e, query, FormatCSV)
	return string(out)
}

func openLake(t testing.TB, dir string, r TimeRange) *Engine {
	t.Helper()
	e, err := Open(context.Background(), Config{Dir: dir, Range: r, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

var allStyles = []lake.Style{lake.Plain, lake.PlainHourly, lake.Hive, lake.HiveHourly}

func TestSavedQueriesOverEveryLayout(t *testing.T) {
	want := map[string]string{
		"top-talkers": `srcaddr,dstaddr,bytes,packets,flows
10.0.0.6,10.0.0.2,20000,100,1
10.0.0.1,10.0.0.2,1500,15,2
10.0.0.3,10.0.0.2,300,5,2
10.0.0.4,10.0.0.5,80,1,1
10.0.0.3,10.0.0.7,60,1,1
`,
		"rejected": `srcaddr,dstaddr,dstport,protocol,flows,packets
10.0.0.3,10.0.0.2,22,6,2,5
10.0.0.3,10.0.0.7,3389,6,1,1
`,
		"by-port": `dstport,protocol,flows,bytes,packets,rejected_flows
443,6,3,21500,115,0
22,6,2,300,5,2
53,17,1,80,1,0
3389,6,1,60,1,1
`,
		"tgw-drops": `tgw_id,tgw_attachment_id,srcaddr,dstaddr,no_route,blackhole,mtu_exceeded,ttl_expired,lost
tgw-2,tgw-attach-c,10.1.0.3,10.2.0.3,0,5,0,1,6
tgw-1,tgw-attach-a,10.1.0.1,10.2.0.1,2,0,3,0,5
`,
	}
	for _, style := range allStyles {
		t.Run(style.String(), func(t *testing.T) {
			e := openLake(t, writeFixtureLake(t, style), TimeRange{})
			if n := len(e.Files(flowlog.KindTGW)); n != 2 {
				t.Errorf("TGW files = %d, want 2 (two 5-minute buckets)", n)
			}
			for _, s := range SavedQueries() {
				if got := csvOf(t, e, s.SQL); got != want[s.Name] {
					t.Errorf("%s:\n got %s\nwant %s", s.Name, got, want[s.Name])
				}
			}
		})
	}
}

func TestViewsColumnsAndPathColumns(t *testing.T) {
	for _, style := range allStyles {
		t.Run(style.String(), func(t *testing.T) {
			e := openLake(t, writeFixtureLake(t, style), TimeRange{})
			hour := ""
			if style == lake.HiveHourly || style == lake.PlainHourly {
				hour = "23"
			}
			got := csvOf(t, e, `SELECT aws_account_id, aws_region, year, month, day, hour, count(*) AS n, count(tcp_flags) AS flags, count(vpc_id) AS vpcs
				FROM vpc_flow_logs WHERE day = '03' GROUP BY ALL ORDER BY ALL`)
			want := "aws_account_id,aws_region,year,month,day,hour,n,flags,vpcs\n" +
				"111111111111,us-east-1,2024,05,03," + hour + ",1,1,0\n" +
				"111111111111,us-west-2,2024,05,03," + hour + ",1,1,0\n"
			if got != want {
				t.Errorf("path columns:\n got %s\nwant %s", got, want)
			}
			// The NODATA record keeps its nulls.
			got = csvOf(t, e, `SELECT log_status, srcaddr IS NULL AS a, packets IS NULL AS b, action IS NULL AS c FROM vpc_flow_logs WHERE log_status = 'NODATA'`)
			if want := "log_status,a,b,c\nNODATA,true,true,true\n"; got != want {
				t.Errorf("NODATA:\n got %s\nwant %s", got, want)
			}
			// Column order: every VPC field in registry order, then the path columns.
			got = csvOf(t, e, `SELECT string_agg(column_name, ' ') AS cols FROM (DESCRIBE vpc_flow_logs)`)
			var names []string
			for _, f := range flowlog.AllVPC.Fields() {
				names = append(names, f.Column())
			}
			names = append(names, pathColumns...)
			if want := "cols\n" + strings.Join(names, " ") + "\n"; got != want {
				t.Errorf("columns:\n got %s\nwant %s", got, want)
			}
			got = csvOf(t, e, `SELECT column_name, column_type FROM (DESCRIBE tgw_flow_logs) WHERE column_name IN ('protocol', 'packets_lost_blackhole', 'tgw_id', 'end', 'hour') ORDER BY column_name`)
			if want := "column_name,column_type\nend,BIGINT\nhour,VARCHAR\npackets_lost_blackhole,BIGINT\nprotocol,INTEGER\ntgw_id,VARCHAR\n"; got != want {
				t.Errorf("TGW types:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestTimeRangePrunesPartitions(t *testing.T) {
	for _, style := range allStyles {
		t.Run(style.String(), func(t *testing.T) {
			dir := writeFixtureLake(t, style)
			all := openLake(t, dir, TimeRange{})
			// --since 30h at 2024-05-03 23:10 covers day 3 and the end of day 2.
			now := time.Unix(day3+600, 0)
			r, err := ParseTimeRange("30h", "", "", now)
			if err != nil {
				t.Fatal(err)
			}
			e := openLake(t, dir, r)
			var wantFiles int
			for _, f := range all.Files(flowlog.KindVPC) {
				if f.Partition.Overlaps(r.From, r.To) {
					wantFiles++
				}
			}
			files := e.Files(flowlog.KindVPC)
			if len(files) != wantFiles || len(files) >= len(all.Files(flowlog.KindVPC)) {
				t.Fatalf("files in range = %d, want %d (of %d)", len(files), wantFiles, len(all.Files(flowlog.KindVPC)))
			}
			for _, f := range files {
				if f.Partition.Start.Before(time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("file of %s read for a range from %s", f.Partition.Start, r.From)
				}
			}
			// DuckDB's profile shows how many files the scan opened.
			scanned := filesScanned(t, e, "SELECT count(*) FROM vpc_flow_logs")
			if scanned != len(files) {
				t.Errorf("DuckDB scanned %d files, want %d", scanned, len(files))
			}
			// Records of day 2 before the range are filtered by "end" even though their
			// partition is read.
			got := csvOf(t, e, `SELECT count(*) AS n, min("end") >= `+fmt.Sprint(r.From.Unix())+` AS ok FROM vpc_flow_logs`)
			if got != "n,ok\n2,true\n" {
				t.Errorf("in range:\n%s", got)
			}
			if got := csvOf(t, e, "SELECT count(*) AS n FROM tgw_flow_logs"); got != "n\n0\n" {
				t.Errorf("TGW records of day 2 12:00 are outside the range: %s", got)
			}
		})
	}
}

// filesScanned runs EXPLAIN ANALYZE and returns the "Total Files Read" of the Parquet scans.
func filesScanned(t testing.TB, e *Engine, query string) int {
	t.Helper()
	rows, err := e.DB().Query("EXPLAIN ANALYZE " + query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	total := 0
	found := false
	for rows.Next() {
		var kind, plan string
		if err := rows.Scan(&kind, &plan); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(plan, "\n") {
			line = strings.Trim(line, "│ ")
			if n, ok := strings.CutPrefix(line, "Total Files Read:"); ok {
				var v int
				fmt.Sscan(strings.TrimSpace(n), &v)
				total += v
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("no 'Total Files Read' in EXPLAIN ANALYZE of %s", query)
	}
	return total
}

func TestEmptyLake(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(context.Background(), Config{Dir: dir})
	if !errors.Is(err, ErrEmptyLake) || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("empty lake: %v", err)
	}
	// A Parquet file outside the layout is counted, not read.
	os.WriteFile(filepath.Join(dir, "stray.parquet"), []byte("x"), 0o644)
	_, err = Open(context.Background(), Config{Dir: dir})
	if !errors.Is(err, ErrEmptyLake) || !strings.Contains(err.Error(), "1 Parquet files lie outside") {
		t.Fatalf("stray file: %v", err)
	}
	// A range the lake does not cover names what it has.
	lake := writeFixtureLake(t, lake.Hive)
	r := TimeRange{From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)}
	_, err = Open(context.Background(), Config{Dir: lake, Range: r})
	if !errors.Is(err, ErrEmptyLake) || !strings.Contains(err.Error(), "from 2024-05-01T00:00:00Z to 2024-05-04T00:00:00Z") {
		t.Fatalf("range outside lake: %v", err)
	}
	if _, err := Open(context.Background(), Config{Dir: filepath.Join(dir, "missing")}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing dir: %v", err)
	}
}

func TestSQLErrorShowsPosition(t *testing.T) {
	e := openLake(t, writeFixtureLake(t, lake.Hive), TimeRange{})
	_, err := e.Query(context.Background(), "SELECT srcaddr FROM vpc_flow_logs WHERE bytes >> 'x' ORDER BY nosuchcol")
	var se *SQLError
	if !errors.As(err, &se) {
		t.Fatalf("want *SQLError, got %v", err)
	}
	_, err = e.Query(context.Background(), "SELECT srcaddr FRM vpc_flow_logs")
	if !errors.As(err, &se) {
		t.Fatalf("want *SQLError, got %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "Parser Error: syntax error at or near \"vpc_flow_logs\"") {
		t.Fatalf("message: %s", msg)
	}
	// The caret sits under the failing token.
	lines := strings.Split(msg, "\n")
	var lineText, caret string
	for i, l := range lines {
		if strings.HasPrefix(l, "LINE 1: ") && i+1 < len(lines) {
			lineText, caret = l, lines[i+1]
		}
	}
	if lineText == "" || strings.Index(lineText, "vpc_flow_logs") != strings.Index(caret, "^") {
		t.Fatalf("no caret under the error position:\n%s", msg)
	}
	_, err = e.Query(context.Background(), "SELECT nosuchcol FROM vpc_flow_logs")
	if err == nil || !strings.Contains(err.Error(), `Referenced column "nosuchcol" not found`) {
		t.Fatalf("binder error: %v", err)
	}
}

func TestParseTimeRange(t *testing.T) {
	now := time.Date(2024, 5, 3, 12, 0, 0, 0, time.UTC)
	r, err := ParseTimeRange("1d12h", "", "", now)
	if err != nil || !r.From.Equal(now.Add(-36*time.Hour)) || !r.To.Equal(now) {
		t.Fatalf("since: %v %v", r, err)
	}
	r, err = ParseTimeRange("", "2024-05-01", "2024-05-02T06:30:00+02:00", now)
	if err != nil || r.From != time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC) || r.To != time.Date(2024, 5, 2, 4, 30, 0, 0, time.UTC) {
		t.Fatalf("from/to: %v %v", r, err)
	}
	r, err = ParseTimeRange("", "now-2h", "1714737600", now)
	if err != nil || !r.From.Equal(now.Add(-2*time.Hour)) || r.To.Unix() != 1714737600 {
		t.Fatalf("relative/unix: %v %v", r, err)
	}
	for _, bad := range [][3]string{{"1h", "2024-05-01", ""}, {"-1h", "", ""}, {"", "yesterday", ""}, {"", "2024-05-02", "2024-05-01"}, {"5x", "", ""}} {
		if _, err := ParseTimeRange(bad[0], bad[1], bad[2], now); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}

// TestMixedFormatsInOneLake writes the VPC records in three formats, two of them with the
// same columns in a different order, and expects the same answers as a uniform lake.
func TestMixedFormatsInOneLake(t *testing.T) {
	dir := t.TempDir()
	recs := fixtureVPC(t)
	reordered := flowlog.MustParseFormat("srcaddr dstaddr version account-id interface-id srcport dstport protocol packets bytes start end action log-status region tcp-flags")
	parts := []struct {
		f    *flowlog.Format
		recs []flowlog.Record
	}{{vpcLineFormat, recs[:3]}, {reordered, recs[3:6]}, {flowlog.AllVPC, recs[6:]}}
	for _, p := range parts {
		if err := querytest.WriteLake(dir, lake.Hive, p.f, p.recs); err != nil {
			t.Fatal(err)
		}
	}
	e := openLake(t, dir, TimeRange{})
	s, _ := LookupSaved("top-talkers")
	want := "srcaddr,dstaddr,bytes,packets,flows\n10.0.0.6,10.0.0.2,20000,100,1\n10.0.0.1,10.0.0.2,1500,15,2\n10.0.0.3,10.0.0.2,300,5,2\n10.0.0.4,10.0.0.5,80,1,1\n10.0.0.3,10.0.0.7,60,1,1\n"
	if got := csvOf(t, e, s.SQL); got != want {
		t.Fatalf("mixed formats:\n%s\nwant\n%s", got, want)
	}
	if got := csvOf(t, e, "SELECT count(vpc_id) AS v, count(version) AS n FROM vpc_flow_logs"); got != "v,n\n0,8\n" {
		t.Fatalf("columns: %s", got)
	}
}
