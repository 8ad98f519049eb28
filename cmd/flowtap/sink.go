package main

import (
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/flowtap/flowtap/pipeline"
)

// addSinkFlags binds the destination flags shared by `flowtap sink` and `flowtap up` to c.
func addSinkFlags(cmd *cobra.Command, c *pipeline.SinkConfig, withBrokers bool) {
	f := cmd.Flags()
	if withBrokers {
		f.StringSliceVar(&c.Brokers, "kafka-brokers", c.Brokers, "Kafka brokers (host:port,…)")
		f.StringVar(&c.KafkaSASL, "kafka-sasl-mechanism", c.KafkaSASL, "authenticate to Kafka with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (password: $FLOWTAP_KAFKA_PASSWORD)")
		f.StringVar(&c.KafkaUser, "kafka-user", c.KafkaUser, "SASL user name with --kafka-sasl-mechanism")
	}
	f.StringVar(&c.Group, "group", c.Group, "Kafka consumer group")
	f.StringVar(&c.Layout, "layout", c.Layout, "S3 key layout of --parquet and --text: plain, hourly, hive or hive-hourly")
	f.StringVar(&c.Prefix, "prefix", c.Prefix, "folder in front of AWSLogs/ in the lake")
	f.StringVar(&c.LokiTenant, "loki-tenant", c.LokiTenant, "X-Scope-OrgID sent to --loki-url (empty: none)")
	f.DurationVar(&c.BatchAge, "batch-age", c.BatchAge, "cut a batch (one file per account/region/5 min) after this long")
	f.StringVar(&c.S3Endpoint, "s3-endpoint", c.S3Endpoint, "S3 endpoint for s3:// destinations (default: AWS, or AWS_ENDPOINT_URL_S3)")
	f.BoolVar(&c.S3PathStyle, "s3-path-style", c.S3PathStyle, "address buckets as endpoint/bucket (most self-hosted S3 servers)")
	f.StringVar(&c.ParquetFormat, "parquet-format", c.ParquetFormat, `Parquet columns as a LogFormat ("" = fields 1–29, "all" = every field)`)
	f.StringVar(&c.ParquetCompression, "parquet-compression", c.ParquetCompression, "Parquet page codec: gzip (AWS's; gzip-1…gzip-9 to pick a level), zstd, snappy or none")
	f.StringVar(&c.FlowLogID, "flow-log-id", c.FlowLogID, "flow log id in VPC file names")
	f.StringVar(&c.TGWFlowLogID, "tgw-flow-log-id", c.TGWFlowLogID, "flow log id in TGW file names")
	f.BoolVar(&c.LokiStreamLabel, "loki-stream-label", c.LokiStreamLabel, "label Loki streams with log_stream (one stream per ENI, like CloudWatch)")
	f.StringVar(&c.LokiVPNTunnelGroup, "loki-vpn-tunnel-log-group", c.LokiVPNTunnelGroup, "Loki log_group of Site-to-Site VPN tunnel events")
	f.StringVar(&c.LokiVPNBGPGroup, "loki-vpn-bgp-log-group", c.LokiVPNBGPGroup, "Loki log_group of Site-to-Site VPN BGP events")
	f.StringVar(&c.LokiClientVPNGroup, "loki-client-vpn-log-group", c.LokiClientVPNGroup, "Loki log_group of Client VPN connection events")
}

// addSupervisorFlags binds the restart backoff of supervised components.
func addSupervisorFlags(cmd *cobra.Command, c *pipeline.SupervisorConfig) {
	f := cmd.Flags()
	f.DurationVar(&c.BackoffMin, "restart-backoff-min", c.BackoffMin, "first restart delay of a failed component (doubles per failure)")
	f.DurationVar(&c.BackoffMax, "restart-backoff-max", c.BackoffMax, "longest restart delay of a failed component")
}

func newSinkCmd() *cobra.Command {
	cfg, sup := pipeline.DefaultSinkConfig(), pipeline.DefaultSupervisorConfig()
	memoryLimitMiB := int64(defaultSinkMemoryLimitMiB)
	cmd := &cobra.Command{
		Use:   "sink",
		Short: "Consume flow records and VPN logs from Kafka into Parquet, text files and Loki",
		Long: `sink reads the flow record topics (flowtap.vpc, flowtap.tgw) in a Kafka consumer group and
writes every batch to each destination:

  --parquet DIR|s3://bucket/prefix   Parquet files in AWS's S3 layout and naming (.log.parquet)
  --text DIR|s3://bucket/prefix      gzip text files with a header line (.log.gz), as AWS writes
  --loki-url URL                     a Loki push API (flowtap logstore, or Grafana Loki)

With --loki-url it also reads the VPN topic (flowtap.vpn, filled by the collector's producer
and 'flowtap generate --kind vpn-s2s|vpn-client --kafka-brokers …') and pushes each event as
CloudWatch Logs holds it: AWS's JSON line unchanged, at the event's time, labelled log_group
(--loki-vpn-tunnel-log-group, --loki-vpn-bgp-log-group, --loki-client-vpn-log-group),
log_stream (the tunnel, e.g. vpn-1234abcd_1.2.3.4, or Client VPN stream) and kind
(vpn-tunnel, vpn-bgp, client-vpn). Query them with e.g.
  flowtap query logs '{kind="vpn-bgp"} | json | type="BGPStatus"'

Offsets are committed only after every destination has made the batch durable (file fsynced
and renamed, S3 PUT acknowledged, push answered 2xx). Objects are named from the batch's
topic, partition and offsets, so a batch delivered twice rewrites the same objects. A
destination that fails is retried with backoff; one that refuses a batch for good (Loki
answering 400 or 413: a line over its size limit, a stream limit) gets it no more: the batch
goes to the dead-letter topic (flowtap.deadletter) with a flowtap-dlq-reason header naming
the destination and its error, counted in flowtap_consumer_deadlettered_total, and the
partition goes on. Undecodable messages go there too. When Kafka goes away the consumer
is restarted with backoff (--restart-backoff-min/max) until it is back; the process does
not exit, and /healthz on --metrics names the consumer as degraded meanwhile. S3
credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			applyMemoryLimit(cmd, memoryLimitMiB)
			return pipeline.RunSink(cmd.Context(), cfg, sup, pipeline.Deps{})
		},
	}
	addSinkFlags(cmd, &cfg, true)
	addSupervisorFlags(cmd, &sup)
	validate("flowtap sink", func() error { return cfg.Validate() })
	f := cmd.Flags()
	f.StringVar(&cfg.Parquet, "parquet", cfg.Parquet, "Parquet destination: a directory or s3://bucket/prefix")
	f.StringVar(&cfg.Text, "text", cfg.Text, "gzip text destination: a directory or s3://bucket/prefix")
	f.StringVar(&cfg.LokiURL, "loki-url", cfg.LokiURL, "Loki base URL, e.g. http://127.0.0.1:3100")
	f.StringVar(&cfg.StateDir, "state", cfg.StateDir, "directory for batch intents (crash-safe exactly-once)")
	f.StringVar(&cfg.HTTP, "metrics", cfg.HTTP, "serve /metrics, /healthz and /debug/pprof on this address (e.g. 127.0.0.1:9109)")
	f.Int64Var(&memoryLimitMiB, "memory-limit-mib", memoryLimitMiB,
		"soft memory limit of the process in MiB: the Go GC runs more often near it (0 = off; $GOMEMLIMIT wins when this flag is not given)")
	return cmd
}

// defaultSinkMemoryLimitMiB keeps the peak RSS of a sink draining a full backlog with the
// default batch settings under 300 MB: its live heap is 130–170 MB (decoded records within
// their budget, one fetch response ahead per partition), which Go's default GC (GOGC=100)
// lets grow to about twice that, and the 150 MB binary adds some 65 MB of mapped pages to
// the RSS that no limit covers. bench/pipeline -minutes 60 (2.26 M records): 300 MiB
// 362 MB at 5.58 CPU µs/record, 240 MiB 305 MB at 6.58, 220 MiB 283 MB at 5.97, 200 MiB
// 272 MB at 6.48 (runs on a shared machine: CPU per record moves ±15 % between runs).
const defaultSinkMemoryLimitMiB = 220

// applyMemoryLimit sets the Go runtime's soft memory limit (debug.SetMemoryLimit) to mib
// MiB, unless mib ≤ 0 or GOMEMLIMIT is set and the flag was not given. It is soft: with
// more live data than the limit the GC caps its own CPU share rather than stall the process.
func applyMemoryLimit(cmd *cobra.Command, mib int64) {
	if mib <= 0 || (os.Getenv("GOMEMLIMIT") != "" && !cmd.Flags().Changed("memory-limit-mib")) {
		return
	}
	debug.SetMemoryLimit(mib << 20)
}
