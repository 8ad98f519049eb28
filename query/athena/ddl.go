// Package athena writes the CREATE TABLE statements that make flowtap's Parquet lake
// queryable at scale by Amazon Athena (with partition projection), Trino or Spark: the
// columns of a flow log format with the types of AWS's Athena tables, and the partitions of
// the lake's key layout (package lake).
package athena

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/lake"
)

// Dialect is the SQL engine the statements are for.
type Dialect string

// The dialects DDL writes.
const (
	// Athena: Hive DDL with partition projection, so no partition needs loading.
	Athena Dialect = "athena"
	// Spark: the same Hive DDL without projection, then MSCK REPAIR TABLE (hive layouts).
	Spark Dialect = "spark"
	// Trino: Hive connector DDL, then system.sync_partition_metadata (hive layouts).
	Trino Dialect = "trino"
)

// Options describe the lake and the table wanted.
type Options struct {
	// Lake is the lake's S3 URL, s3://bucket[/prefix].
	Lake string
	// Layout is the lake's key layout.
	Layout lake.Style
	// Kind selects the VPC or the Transit Gateway table.
	Kind flowlog.Kind
	// Format gives the columns in order; nil means every field of the kind (VPC: AWS's
	// table order; TGW: the 36 fields in AWS's default order).
	Format *flowlog.Format
	// Table is the table name; empty means vpc_flow_logs or tgw_flow_logs.
	Table string
	// Accounts are the account IDs in the lake. The plain layout needs exactly one (its
	// location holds it); for hive layouts none means an injected projection (queries then
	// must filter on "aws-account-id").
	Accounts []string
	// Regions are the regions in the lake (an enum projection); empty means AWS's example
	// list us-east-1, us-west-2, ap-south-1, eu-west-1.
	Regions []string
	// Since is the first day the projection covers; zero means 2021-01-01.
	Since time.Time
	// Now fixes the current time for the integer year projection (zero: time.Now()).
	Now time.Time
	// Dialect is the target engine; empty means Athena.
	Dialect Dialect
}

// Column is one column of the table and its Athena/Hive type.
type Column struct {
	Name string // e.g. "account_id"
	Type string // int, bigint or string
}

// Columns returns the data columns of the table for the kind and format, in format order,
// with the types of AWS's Athena tables: int for 32-bit integers but protocol, bigint for
// protocol and 64-bit integers, string for everything else.
func Columns(kind flowlog.Kind, format *flowlog.Format) ([]Column, error) {
	if format == nil {
		format = flowlog.AllVPC
		if kind == flowlog.KindTGW {
			format = flowlog.DefaultTGW
		}
	}
	if format.Kind() != kind {
		return nil, fmt.Errorf("athena: the format is a %s format, not %s", format.Kind(), kind)
	}
	var cols []Column
	for _, f := range format.Fields() {
		if f == flowlog.FieldIgnored {
			continue
		}
		cols = append(cols, Column{Name: f.Column(), Type: athenaType(f)})
	}
	return cols, nil
}

func athenaType(f flowlog.Field) string {
	switch {
	case f == flowlog.FieldProtocol:
		return "bigint" // AWS's tables use bigint although Parquet carries INT32
	case f.Info().Type == flowlog.ColumnInt32:
		return "int"
	case f.Info().Type == flowlog.ColumnInt64:
		return "bigint"
	}
	return "string"
}

// defaultRegions is the region list of AWS's projection example.
var defaultRegions = []string{"us-east-1", "us-west-2", "ap-south-1", "eu-west-1"}

// DDL returns the statements (separated by blank lines, each ending in ";").
func DDL(o Options) (string, error) {
	bucket, prefix, err := parseLake(o.Lake)
	if err != nil {
		return "", err
	}
	if o.Table == "" {
		o.Table = "vpc_flow_logs"
		if o.Kind == flowlog.KindTGW {
			o.Table = "tgw_flow_logs"
		}
	}
	if o.Dialect == "" {
		o.Dialect = Athena
	}
	if len(o.Regions) == 0 {
		o.Regions = defaultRegions
	}
	if o.Since.IsZero() {
		o.Since = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	for _, a := range o.Accounts {
		if !validID(a) {
			return "", fmt.Errorf("athena: bad account ID %q", a)
		}
	}
	for _, r := range o.Regions {
		if !validID(r) {
			return "", fmt.Errorf("athena: bad region %q", r)
		}
	}
	cols, err := Columns(o.Kind, o.Format)
	if err != nil {
		return "", err
	}
	root := "s3://" + bucket + "/"
	if prefix != "" {
		root += prefix + "/"
	}
	root += "AWSLogs/"
	hive := o.Layout == lake.Hive || o.Layout == lake.HiveHourly
	hourly := o.Layout == lake.HiveHourly || o.Layout == lake.PlainHourly
	switch o.Dialect {
	case Athena:
		if hive {
			return athenaHive(o, cols, root, hourly), nil
		}
		if len(o.Accounts) != 1 {
			return "", errors.New("athena: the plain layout puts the account ID in the table location: give exactly one account (--account)")
		}
		return athenaPlain(o, cols, root, hourly), nil
	case Spark, Trino:
		if !hive {
			return "", fmt.Errorf("athena: %s discovers only key=value partitions; the %s layout needs Athena's partition projection (--dialect athena) or a hive layout", o.Dialect, o.Layout)
		}
		if o.Dialect == Spark {
			return sparkHive(o, cols, root, hourly), nil
		}
		return trinoHive(o, cols, root, hourly), nil
	}
	return "", fmt.Errorf("athena: unknown dialect %q (want athena, spark or trino)", o.Dialect)
}

// parseLake splits s3://bucket/prefix.
func parseLake(lake string) (bucket, prefix string, err error) {
	u, err := url.Parse(lake)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("athena: --lake %q is not s3://bucket[/prefix]", lake)
	}
	return u.Host, strings.Trim(u.Path, "/"), nil
}

// validID accepts account IDs and region names: the values end up inside SQL strings.
func validID(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func bq(s string) string { return "`" + s + "`" }

func sq(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// hiveColumns writes the column list of a Hive DDL, skipping names in skip.
func hiveColumns(b *strings.Builder, cols []Column, skip string) {
	first := true
	for _, c := range cols {
		if c.Name == skip {
			continue
		}
		if !first {
			b.WriteString(",\n")
		}
		first = false
		fmt.Fprintf(b, "  %s %s", bq(c.Name), c.Type)
	}
}

func hivePartitionKeys(hourly bool) []string {
	keys := []string{"aws-account-id", "aws-service", "aws-region", "year", "month", "day"}
	if hourly {
		keys = append(keys, "hour")
	}
	return keys
}

const parquetStorage = `ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
`

func hiveTable(b *strings.Builder, o Options, cols []Column, skip string, partitions []string, location string) {
	fmt.Fprintf(b, "CREATE EXTERNAL TABLE IF NOT EXISTS %s (\n", bq(o.Table))
	hiveColumns(b, cols, skip)
	b.WriteString("\n)\nPARTITIONED BY (\n")
	for i, p := range partitions {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(b, "  %s string", bq(p))
	}
	b.WriteString("\n)\n")
	b.WriteString(parquetStorage)
	fmt.Fprintf(b, "LOCATION %s\n", sq(location))
}

func properties(b *strings.Builder, props [][2]string) {
	b.WriteString("TBLPROPERTIES (\n")
	for i, p := range props {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(b, "  %s = %s", sq(p[0]), sq(p[1]))
	}
	b.WriteString("\n);\n")
}

// athenaHive is the "Parquet, Hive" table of AWS's docs, with projection on every key.
func athenaHive(o Options, cols []Column, root string, hourly bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- %s flow logs in the %s layout under %s, partitions projected (no MSCK REPAIR needed).\n", kindName(o.Kind), o.Layout, root)
	keys := hivePartitionKeys(hourly)
	hiveTable(&b, o, cols, "", keys, root)
	props := [][2]string{{"EXTERNAL", "true"}, {"projection.enabled", "true"}}
	if len(o.Accounts) == 0 {
		props = append(props, [2]string{"projection.aws-account-id.type", "injected"})
	} else {
		props = append(props, [2]string{"projection.aws-account-id.type", "enum"}, [2]string{"projection.aws-account-id.values", strings.Join(o.Accounts, ",")})
	}
	props = append(props,
		[2]string{"projection.aws-service.type", "enum"}, [2]string{"projection.aws-service.values", "vpcflowlogs"},
		[2]string{"projection.aws-region.type", "enum"}, [2]string{"projection.aws-region.values", strings.Join(o.Regions, ",")},
		[2]string{"projection.year.type", "integer"}, [2]string{"projection.year.range", fmt.Sprintf("%d,%d", o.Since.Year(), o.Now.Year()+1)},
		[2]string{"projection.month.type", "integer"}, [2]string{"projection.month.range", "1,12"}, [2]string{"projection.month.digits", "2"},
		[2]string{"projection.day.type", "integer"}, [2]string{"projection.day.range", "1,31"}, [2]string{"projection.day.digits", "2"},
	)
	tmpl := root + "aws-account-id=${aws-account-id}/aws-service=vpcflowlogs/aws-region=${aws-region}/year=${year}/month=${month}/day=${day}/"
	if hourly {
		props = append(props, [2]string{"projection.hour.type", "integer"}, [2]string{"projection.hour.range", "0,23"}, [2]string{"projection.hour.digits", "2"})
		tmpl += "hour=${hour}/"
	}
	props = append(props, [2]string{"storage.location.template", tmpl})
	properties(&b, props)
	return b.String()
}

// athenaPlain is AWS's "projection" table over the plain layout: partitions region and day
// (or hour), so the region column is dropped from the data columns.
func athenaPlain(o Options, cols []Column, root string, hourly bool) string {
	var b strings.Builder
	loc := root + o.Accounts[0] + "/vpcflowlogs/"
	fmt.Fprintf(&b, "-- %s flow logs in the %s layout under %s, partitions projected.\n", kindName(o.Kind), o.Layout, loc)
	b.WriteString("-- The region column is the partition key (the records' own region field is not a column).\n")
	timeKey, format, interval := "day", "yyyy/MM/dd", "DAYS"
	if hourly {
		timeKey, format, interval = "hour", "yyyy/MM/dd/HH", "HOURS"
	}
	hiveTable(&b, o, cols, "region", []string{"region", timeKey}, loc)
	props := [][2]string{
		{"EXTERNAL", "true"},
		{"projection.enabled", "true"},
		{"projection.region.type", "enum"}, {"projection.region.values", strings.Join(o.Regions, ",")},
		{"projection." + timeKey + ".type", "date"},
		{"projection." + timeKey + ".range", o.Since.UTC().Format(javaToGo(format)) + ",NOW"},
		{"projection." + timeKey + ".format", format},
		{"projection." + timeKey + ".interval", "1"},
		{"projection." + timeKey + ".interval.unit", interval},
		{"storage.location.template", loc + "${region}/${" + timeKey + "}"},
	}
	properties(&b, props)
	return b.String()
}

func javaToGo(f string) string {
	return strings.NewReplacer("yyyy", "2006", "MM", "01", "dd", "02", "HH", "15").Replace(f)
}

func sparkHive(o Options, cols []Column, root string, hourly bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- %s flow logs in the %s layout under %s (Spark SQL with Hive support).\n", kindName(o.Kind), o.Layout, root)
	hiveTable(&b, o, cols, "", hivePartitionKeys(hourly), root)
	properties(&b, [][2]string{{"EXTERNAL", "true"}})
	fmt.Fprintf(&b, "\n-- Load the partitions (again after new days or hours arrive).\nMSCK REPAIR TABLE %s;\n", bq(o.Table))
	return b.String()
}

func trinoType(t string) string {
	switch t {
	case "int":
		return "integer"
	case "string":
		return "varchar"
	}
	return t
}

func dq(s string) string { return `"` + s + `"` }

func trinoHive(o Options, cols []Column, root string, hourly bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- %s flow logs in the %s layout under %s (Trino Hive connector; run in the hive catalog).\n", kindName(o.Kind), o.Layout, root)
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", dq(o.Table))
	keys := hivePartitionKeys(hourly)
	for _, c := range cols {
		fmt.Fprintf(&b, "  %s %s,\n", dq(c.Name), trinoType(c.Type))
	}
	quoted := make([]string, len(keys))
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "  %s varchar", dq(k))
		quoted[i] = sq(k)
	}
	b.WriteString("\n)\nWITH (\n")
	fmt.Fprintf(&b, "  format = 'PARQUET',\n  external_location = %s,\n  partitioned_by = ARRAY[%s]\n);\n", sq(root), strings.Join(quoted, ", "))
	fmt.Fprintf(&b, "\n-- Load the partitions (again after new days or hours arrive).\nCALL system.sync_partition_metadata(CURRENT_SCHEMA, %s, 'ADD');\n", sq(o.Table))
	return b.String()
}

func kindName(k flowlog.Kind) string {
	if k == flowlog.KindTGW {
		return "Transit Gateway"
	}
	return "VPC"
}

// ParseKind reads --kind: vpc or tgw.
func ParseKind(s string) (flowlog.Kind, error) {
	switch s {
	case "vpc", "":
		return flowlog.KindVPC, nil
	case "tgw":
		return flowlog.KindTGW, nil
	}
	return 0, fmt.Errorf("unknown kind %q (want vpc or tgw)", s)
}

// ParseDialect reads --dialect.
func ParseDialect(s string) (Dialect, error) {
	switch d := Dialect(s); d {
	case Athena, Spark, Trino:
		return d, nil
	case "":
		return Athena, nil
	}
	return "", fmt.Errorf("unknown dialect %q (want athena, spark or trino)", s)
}
