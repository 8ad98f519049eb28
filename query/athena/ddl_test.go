package athena

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/query"
	"github.com/flowtap/flowtap/query/querytest"
)

var now = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func ddl(t *testing.T, o Options) string {
	t.Helper()
	if o.Now.IsZero() {
		o.Now = now
	}
	s, err := DDL(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// columnList returns the text between "CREATE … (" and the matching ")".
func columnList(t *testing.T, stmt string) string {
	t.Helper()
	start := strings.Index(stmt, "(\n")
	end := strings.Index(stmt, "\n)")
	if start < 0 || end < start {
		t.Fatalf("no column list in\n%s", stmt)
	}
	return stmt[start+2 : end]
}

// props returns the TBLPROPERTIES of stmt.
func props(stmt string) map[string]string {
	m := map[string]string{}
	for _, sm := range regexp.MustCompile(`(?m)^  '([^']+)' = '([^']*)'`).FindAllStringSubmatch(stmt, -1) {
		m[sm[1]] = sm[2]
	}
	return m
}

func TestHiveVPCTable(t *testing.T) {
	stmt := ddl(t, Options{Lake: "s3://my-bucket/logs/", Layout: lake.HiveHourly, Accounts: []string{"111111111111"}, Regions: []string{"us-east-1", "eu-west-3"}})
	for _, want := range []string{
		"CREATE EXTERNAL TABLE IF NOT EXISTS `vpc_flow_logs` (\n  `version` int,\n  `account_id` string,\n  `interface_id` string,\n  `srcaddr` string,\n  `dstaddr` string,\n  `srcport` int,\n  `dstport` int,\n  `protocol` bigint,\n  `packets` bigint,\n  `bytes` bigint,\n  `start` bigint,\n  `end` bigint,\n  `action` string,\n  `log_status` string,\n",
		"  `tcp_flags` int,\n", "  `traffic_path` int,\n", "  `flow_direction` string,\n",
		"PARTITIONED BY (\n  `aws-account-id` string,\n  `aws-service` string,\n  `aws-region` string,\n  `year` string,\n  `month` string,\n  `day` string,\n  `hour` string\n)\n",
		"ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'\n",
		"STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'\n",
		"OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'\n",
		"LOCATION 's3://my-bucket/logs/AWSLogs/'\n",
	} {
		if !strings.Contains(stmt, want) {
			t.Errorf("missing %q in\n%s", want, stmt)
		}
	}
	p := props(stmt)
	want := map[string]string{
		"EXTERNAL":                         "true",
		"projection.enabled":               "true",
		"projection.aws-account-id.type":   "enum",
		"projection.aws-account-id.values": "111111111111",
		"projection.aws-service.type":      "enum",
		"projection.aws-service.values":    "vpcflowlogs",
		"projection.aws-region.type":       "enum",
		"projection.aws-region.values":     "us-east-1,eu-west-3",
		"projection.year.type":             "integer",
		"projection.year.range":            "2021,2027",
		"projection.month.type":            "integer",
		"projection.month.range":           "1,12",
		"projection.month.digits":          "2",
		"projection.day.type":              "integer",
		"projection.day.range":             "1,31",
		"projection.day.digits":            "2",
		"projection.hour.type":             "integer",
		"projection.hour.range":            "0,23",
		"projection.hour.digits":           "2",
		"storage.location.template":        "s3://my-bucket/logs/AWSLogs/aws-account-id=${aws-account-id}/aws-service=vpcflowlogs/aws-region=${aws-region}/year=${year}/month=${month}/day=${day}/hour=${hour}/",
	}
	if fmt.Sprint(p) != fmt.Sprint(want) {
		t.Errorf("properties:\n got %v\nwant %v", p, want)
	}
	// The template, filled in, is exactly the sink's key prefix.
	end := time.Date(2024, 5, 3, 23, 1, 0, 0, time.UTC)
	filled := strings.NewReplacer("${aws-account-id}", "111111111111", "${aws-region}", "eu-west-3", "${year}", "2024", "${month}", "05", "${day}", "03", "${hour}", "23").Replace(p["storage.location.template"])
	if key := "s3://my-bucket/" + lake.Prefix("logs", lake.HiveHourly, "111111111111", "eu-west-3", lake.Bucket(end.Unix())); filled != key {
		t.Errorf("template %s\n     key %s", filled, key)
	}
	// Without accounts the account key is injected; without hourly there is no hour key.
	p = props(ddl(t, Options{Lake: "s3://b", Layout: lake.Hive}))
	if p["projection.aws-account-id.type"] != "injected" || p["projection.hour.type"] != "" || p["projection.aws-region.values"] != "us-east-1,us-west-2,ap-south-1,eu-west-1" ||
		p["storage.location.template"] != "s3://b/AWSLogs/aws-account-id=${aws-account-id}/aws-service=vpcflowlogs/aws-region=${aws-region}/year=${year}/month=${month}/day=${day}/" {
		t.Errorf("hive daily: %v", p)
	}
}

func TestPlainVPCTable(t *testing.T) {
	stmt := ddl(t, Options{Lake: "s3://b/x", Layout: lake.Plain, Accounts: []string{"123456789012"}, Regions: []string{"us-east-1"}})
	if strings.Contains(columnList(t, stmt), "`region`") {
		t.Errorf("region must be a partition only:\n%s", stmt)
	}
	if !strings.Contains(stmt, "PARTITIONED BY (\n  `region` string,\n  `day` string\n)") || !strings.Contains(stmt, "LOCATION 's3://b/x/AWSLogs/123456789012/vpcflowlogs/'") {
		t.Errorf("partitions/location:\n%s", stmt)
	}
	p := props(stmt)
	want := map[string]string{
		"EXTERNAL":                     "true",
		"projection.enabled":           "true",
		"projection.region.type":       "enum",
		"projection.region.values":     "us-east-1",
		"projection.day.type":          "date",
		"projection.day.range":         "2021/01/01,NOW",
		"projection.day.format":        "yyyy/MM/dd",
		"projection.day.interval":      "1",
		"projection.day.interval.unit": "DAYS",
		"storage.location.template":    "s3://b/x/AWSLogs/123456789012/vpcflowlogs/${region}/${day}",
	}
	if fmt.Sprint(p) != fmt.Sprint(want) {
		t.Errorf("properties:\n got %v\nwant %v", p, want)
	}
	p = props(ddl(t, Options{Lake: "s3://b", Layout: lake.PlainHourly, Accounts: []string{"1"}}))
	if p["projection.hour.format"] != "yyyy/MM/dd/HH" || p["projection.hour.interval.unit"] != "HOURS" || p["projection.hour.range"] != "2021/01/01/00,NOW" {
		t.Errorf("plain hourly: %v", p)
	}
	if _, err := DDL(Options{Lake: "s3://b", Layout: lake.Plain}); err == nil || !strings.Contains(err.Error(), "--account") {
		t.Errorf("plain without account: %v", err)
	}
}

func TestTGWTable(t *testing.T) {
	cols, err := Columns(flowlog.KindTGW, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 36 {
		t.Fatalf("TGW columns = %d, want 36", len(cols))
	}
	var got []string
	for _, c := range cols {
		got = append(got, c.Name+":"+c.Type)
	}
	want := "version:int resource_type:string account_id:string tgw_id:string tgw_attachment_id:string tgw_src_vpc_account_id:string tgw_dst_vpc_account_id:string tgw_src_vpc_id:string tgw_dst_vpc_id:string tgw_src_subnet_id:string tgw_dst_subnet_id:string tgw_src_eni:string tgw_dst_eni:string tgw_src_az_id:string tgw_dst_az_id:string tgw_pair_attachment_id:string srcaddr:string dstaddr:string srcport:int dstport:int protocol:bigint packets:bigint bytes:bigint start:bigint end:bigint log_status:string type:string packets_lost_no_route:bigint packets_lost_blackhole:bigint packets_lost_mtu_exceeded:bigint packets_lost_ttl_expired:bigint tcp_flags:int region:string flow_direction:string pkt_src_aws_service:string pkt_dst_aws_service:string"
	if strings.Join(got, " ") != want {
		t.Errorf("TGW columns:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	stmt := ddl(t, Options{Lake: "s3://b", Layout: lake.Hive, Kind: flowlog.KindTGW})
	if !strings.HasPrefix(strings.SplitN(stmt, "\n", 2)[1], "CREATE EXTERNAL TABLE IF NOT EXISTS `tgw_flow_logs` (\n  `version` int,\n  `resource_type` string,") {
		t.Errorf("TGW table:\n%s", stmt)
	}
	if _, err := Columns(flowlog.KindTGW, flowlog.DefaultVPC); err == nil {
		t.Error("a VPC format for the TGW table must be refused")
	}
}

func TestSparkAndTrino(t *testing.T) {
	spark := ddl(t, Options{Lake: "s3://b/p", Layout: lake.Hive, Dialect: Spark})
	if strings.Contains(spark, "projection") || !strings.Contains(spark, "MSCK REPAIR TABLE `vpc_flow_logs`;") {
		t.Errorf("spark:\n%s", spark)
	}
	trino := ddl(t, Options{Lake: "s3://b/p", Layout: lake.HiveHourly, Dialect: Trino, Kind: flowlog.KindTGW})
	for _, want := range []string{`CREATE TABLE IF NOT EXISTS "tgw_flow_logs" (`, `  "end" bigint,`, `  "srcport" integer,`, `  "hour" varchar`,
		"external_location = 's3://b/p/AWSLogs/'", "partitioned_by = ARRAY['aws-account-id', 'aws-service', 'aws-region', 'year', 'month', 'day', 'hour']",
		"CALL system.sync_partition_metadata(CURRENT_SCHEMA, 'tgw_flow_logs', 'ADD');"} {
		if !strings.Contains(trino, want) {
			t.Errorf("trino: missing %q in\n%s", want, trino)
		}
	}
	if _, err := DDL(Options{Lake: "s3://b", Layout: lake.Plain, Dialect: Trino, Accounts: []string{"1"}}); err == nil {
		t.Error("trino over the plain layout must be refused")
	}
	for _, bad := range []Options{{Lake: "/local/dir"}, {Lake: "s3://"}, {Lake: "s3://b", Accounts: []string{"1'; DROP"}}, {Lake: "s3://b", Dialect: "hive"}} {
		if _, err := DDL(bad); err == nil {
			t.Errorf("%+v: want error", bad)
		}
	}
}

// TestColumnsMatchTheLake parses the DDL's column lists with DuckDB and compares them with
// the columns the query views read from a lake written like the sink writes it.
func TestColumnsMatchTheLake(t *testing.T) {
	dir := t.TempDir()
	var vpc, tgw flowlog.Record
	if err := flowlog.DefaultVPC.Parse(&vpc, "2 111111111111 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1714521600 1714521660 ACCEPT OK"); err != nil {
		t.Fatal(err)
	}
	vpc.Region = "us-east-1"
	if err := flowlog.DefaultTGW.Parse(&tgw, "6 TransitGateway 111111111111 tgw-1 att-1 - - - - - - - - - - - 10.0.0.1 10.0.0.2 1 2 6 1 40 1714521600 1714521660 OK IPv4 0 0 0 0 0 us-east-1 ingress - -"); err != nil {
		t.Fatal(err)
	}
	if err := querytest.WriteLake(dir, lake.Hive, flowlog.AllVPC, []flowlog.Record{vpc}); err != nil {
		t.Fatal(err)
	}
	if err := querytest.WriteLake(dir, lake.Hive, flowlog.AllTGW, []flowlog.Record{tgw}); err != nil {
		t.Fatal(err)
	}
	e, err := query.Open(context.Background(), query.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, k := range []flowlog.Kind{flowlog.KindVPC, flowlog.KindTGW} {
		stmt := ddl(t, Options{Lake: "s3://b", Layout: lake.Hive, Kind: k})
		table := "t_" + k.String()
		if _, err := db.Exec("CREATE TABLE " + table + " (" + strings.ReplaceAll(columnList(t, stmt), "`", `"`) + ")"); err != nil {
			t.Fatalf("DuckDB rejects the %s column list: %v", k, err)
		}
		ddlCols := describe(t, db, table)
		view := "vpc_flow_logs"
		if k == flowlog.KindTGW {
			view = "tgw_flow_logs"
		}
		viewCols := describe(t, e.DB(), view)
		if len(viewCols) != len(ddlCols)+6 { // the views end with six path columns
			t.Fatalf("%s: %d view columns, %d DDL columns", k, len(viewCols), len(ddlCols))
		}
		for i, c := range ddlCols {
			v := viewCols[i]
			if c[0] != v[0] {
				t.Errorf("%s column %d: DDL %s, lake %s", k, i, c[0], v[0])
			}
			// protocol is INT32 in Parquet and bigint in AWS's tables; Athena widens it.
			if c[1] != v[1] && !(c[0] == "protocol" && c[1] == "BIGINT" && v[1] == "INTEGER") {
				t.Errorf("%s column %s: DDL %s, lake %s", k, c[0], c[1], v[1])
			}
		}
	}
}

func describe(t *testing.T, db *sql.DB, table string) [][2]string {
	t.Helper()
	rows, err := db.Query("SELECT column_name, column_type FROM (DESCRIBE " + table + ")")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var c [2]string
		if err := rows.Scan(&c[0], &c[1]); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}
