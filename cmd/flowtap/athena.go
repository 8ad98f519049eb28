package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/query"
	"github.com/flowtap/flowtap/query/athena"
)

func newAthenaDDLCmd() *cobra.Command {
	var (
		lakeURL, layoutName, kind, format, dialect, table, since string
		accounts, regions                                        []string
	)
	cmd := &cobra.Command{
		Use:   "athena-ddl [--lake s3://bucket/prefix] [--layout plain|hive|hive-hourly] [--kind vpc|tgw] [--format FORMAT]",
		Short: "Print CREATE TABLE statements for Athena, Trino or Spark over the lake",
		Long: `athena-ddl prints the statements that make the Parquet lake queryable at scale: a table
whose columns are the flow log fields of --format (default: every field of the kind; for TGW
the 36 fields in AWS's default order) with the types of AWS's Athena tables (int, bigint,
string), partitioned like the lake's key layout.

For Athena the partitions are projected (no MSCK REPAIR TABLE, no Glue crawler): hive
layouts project aws-account-id, aws-service, aws-region, year, month, day (and hour); the
plain layout projects region and day (or hour) under one account's folder, as in AWS's
documentation. For Spark and Trino (hive layouts only) the statements end with the command
that loads the partitions.

Examples:
  flowtap athena-ddl --lake s3://my-bucket/flowlogs --layout hive --account 111111111111 --region us-east-1,eu-west-1
  flowtap athena-ddl --lake s3://my-bucket --layout plain --account 111111111111
  flowtap athena-ddl --lake s3://my-bucket --layout hive-hourly --kind tgw --dialect trino`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := lake.ParseStyle(layoutName)
			if err != nil {
				return fmt.Errorf("--layout: %w", err)
			}
			k, err := athena.ParseKind(kind)
			if err != nil {
				return fmt.Errorf("--kind: %w", err)
			}
			d, err := athena.ParseDialect(dialect)
			if err != nil {
				return fmt.Errorf("--dialect: %w", err)
			}
			o := athena.Options{Lake: lakeURL, Layout: st, Kind: k, Dialect: d, Table: table, Accounts: accounts, Regions: regions}
			if format != "" {
				if o.Format, err = flowlog.ParseFormat(format); err != nil {
					return fmt.Errorf("--format: %w", err)
				}
				if o.Format.Kind() != k {
					return fmt.Errorf("--format is a %s format; add --kind %s", o.Format.Kind(), o.Format.Kind())
				}
			}
			if since != "" {
				if o.Since, err = query.ParseTime(since, time.Now()); err != nil {
					return fmt.Errorf("--since: %w", err)
				}
			}
			stmt, err := athena.DDL(o)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), stmt)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&lakeURL, "lake", "s3://my-flow-logs-bucket", "the lake's S3 location: s3://bucket/prefix (the folder holding AWSLogs/)")
	f.StringVar(&layoutName, "layout", "hive", "the lake's key layout: plain, hourly, hive or hive-hourly")
	f.StringVar(&kind, "kind", "vpc", "table for vpc or tgw (Transit Gateway) flow logs")
	f.StringVar(&format, "format", "", "flow log format whose fields become the columns (${field} … or bare names); default every field of the kind")
	f.StringVar(&dialect, "dialect", "athena", "SQL engine: athena (partition projection), spark or trino")
	f.StringVar(&table, "table", "", "table name (default vpc_flow_logs or tgw_flow_logs)")
	f.StringSliceVar(&accounts, "account", nil, "account IDs in the lake (plain layout: exactly one; hive: none projects the account as injected)")
	f.StringSliceVar(&regions, "region", nil, "regions in the lake (default "+strings.Join([]string{"us-east-1", "us-west-2", "ap-south-1", "eu-west-1"}, ",")+")")
	f.StringVar(&since, "since", "2021-01-01", "first day the projection covers")
	return cmd
}
