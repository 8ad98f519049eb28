package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/flowtap/flowtap/importer"
	"github.com/flowtap/flowtap/internal/component"
)

func newImportCmd() *cobra.Command {
	cfg := importer.DefaultConfig()
	var from, to string
	var noProgress bool
	cmd := &cobra.Command{
		Use:   "import SRC",
		Short: "Bring existing AWS flow logs (S3 objects or a local copy) into Kafka",
		Long: `import reads the flow log objects AWS delivered to S3 — VPC and Transit Gateway flow logs
as gzip text with header lines or as AWS's Parquet, in the plain, hourly, hive or hive-hourly
key layout (CloudWatch Logs exports too) — from SRC, a directory or s3://bucket/prefix, and
produces their records to Kafka like generated ones, so they land in the lake and the log store.

--account, --region, --from and --to select objects by their key. Objects are imported in
key order; --state records how far the import got, after Kafka acknowledged each chunk, and
a rerun with the same --state resumes there: it also finds the records a killed run produced
after its last checkpoint (flowtap-import message header) and skips them, so every record
reaches Kafka exactly once, after Ctrl-C and after SIGKILL alike. Bad objects and lines
are reported by key and line and counted; they never stop the import.

  flowtap import --kafka-brokers 127.0.0.1:9092 --state import.state s3://my-flow-logs/prefix
  flowtap import --account 123456789012 --from 2024-05-01T00:00:00Z --to 2024-05-02T00:00:00Z ./copy`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg.Source = args[0]
			var err error
			if from != "" {
				if cfg.From, err = time.Parse(time.RFC3339, from); err != nil {
					return fmt.Errorf("--from: %w", err)
				}
			}
			if to != "" {
				if cfg.To, err = time.Parse(time.RFC3339, to); err != nil {
					return fmt.Errorf("--to: %w", err)
				}
			}
			if !noProgress && term.IsTerminal(int(os.Stderr.Fd())) {
				cfg.Progress = os.Stderr
			}
			im, err := importer.New(cfg, component.Deps{})
			if err != nil {
				return err
			}
			st, err := im.Run(cmd.Context())
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d objects (%d skipped): %d records, %d VPN events, %d bad lines, %d bad objects, %d records skipped on resume, %d found already in Kafka, %.1f MB read in %s (%.0f records/s)\n",
				st.Objects, st.Skipped, st.Records, st.Events, st.BadLines, st.BadObjects, st.Resumed, st.Present, float64(st.Bytes)/1e6,
				st.Elapsed.Round(time.Millisecond), float64(st.Records+st.Events)/max(st.Elapsed.Seconds(), 1e-3))
			for _, b := range st.BadExamples {
				fmt.Fprintln(cmd.ErrOrStderr(), "bad:", b)
			}
			if err != nil {
				return err
			}
			if st.BadLines > 0 || st.BadObjects > 0 {
				return exitCode(2)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&cfg.Brokers, "kafka-brokers", cfg.Brokers, "Kafka brokers (host:port,…)")
	f.StringVar(&cfg.Compression, "compression", cfg.Compression, "Kafka compression: zstd, gzip, snappy, lz4 or none")
	f.StringVar(&cfg.StateFile, "state", "", "progress file: a rerun with it resumes where the last run stopped")
	f.StringSliceVar(&cfg.Accounts, "account", nil, "import only these accounts (from the key)")
	f.StringSliceVar(&cfg.Regions, "region", nil, "import only these regions (from the key)")
	f.StringVar(&from, "from", "", "import only objects whose day/hour ends after this time (RFC 3339)")
	f.StringVar(&to, "to", "", "import only objects whose day/hour starts before this time (RFC 3339)")
	f.StringVar(&cfg.Format, "format", "", "format of headerless lines that match no AWS default format")
	f.IntVar(&cfg.ChunkRecords, "chunk", cfg.ChunkRecords, "records per Kafka-acknowledged chunk (a checkpoint)")
	f.BoolVar(&noProgress, "no-progress", false, "no progress bar (it is drawn on stderr only when stderr is a terminal)")
	f.StringVar(&cfg.S3.Endpoint, "s3-endpoint", "", "S3 endpoint URL for an s3:// source (default AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or AWS)")
	f.StringVar(&cfg.S3.Region, "s3-region", "", "S3 region (default AWS_REGION or us-east-1)")
	f.BoolVar(&cfg.S3.PathStyle, "s3-path-style", false, "address buckets as ENDPOINT/BUCKET (most self-hosted S3 servers)")
	return cmd
}
