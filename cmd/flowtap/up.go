package main

import (
	"github.com/spf13/cobra"

	"github.com/flowtap/flowtap/pipeline"
)

func newUpCmd() *cobra.Command {
	cfg, sup := pipeline.DefaultUpConfig(), pipeline.DefaultSupervisorConfig()
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the whole pipeline in one process on embedded defaults",
		Long: `up runs every part of flowtap in one process, with no external services:

  embedded Kafka broker      127.0.0.1:9092  (data in DATA/kafka)        unless --kafka-brokers
  mirror collector           127.0.0.1:4789  VXLAN → VPC-Flow-Log records → Kafka
  generator (demo)           live VPC records at --rate/s → Kafka        --generate=false to stop
  sinks                      Kafka → Parquet lake (DATA/lake, hive layout) and → log store;
                             VPN logs (flowtap.vpn) → log store, as CloudWatch holds them
  embedded log store         127.0.0.1:3100  Loki API (data in DATA/logs) unless --loki-url
  health, metrics, pprof     127.0.0.1:8080  /healthz, /metrics, /debug/pprof

Every part is supervised: one that fails is restarted with backoff (--restart-backoff-min/max)
and the others go on. While Kafka is away the collector keeps receiving and its records wait
in the disk spill (DATA/spill); the sinks wait for Kafka to come back. /healthz answers JSON
naming the degraded parts, with status 200 while the collector receives (an NLB keeps it).

Query it from another terminal with 'flowtap query sql' and 'flowtap query logs', and feed the
collector with 'flowtap replay --target 127.0.0.1:4789 testdata/demo.pcap', and VPN logs with
'flowtap generate --kind vpn-s2s --live --kafka-brokers 127.0.0.1:9092'. SIGINT/SIGTERM
stop the parts in reverse order and flush every open window to Kafka before exit; what the
sinks have not consumed yet is picked up on the next start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return pipeline.RunUp(cmd.Context(), cfg, sup, pipeline.Deps{})
		},
	}
	addSinkFlags(cmd, &cfg.Sink, false)
	addSupervisorFlags(cmd, &sup)
	validate("flowtap up", func() error { return cfg.Validate() })
	f := cmd.Flags()
	f.StringVar(&cfg.Data, "data", cfg.Data, "data directory of the embedded parts")
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "collector VXLAN address (0.0.0.0:4789 to receive from other hosts)")
	f.StringVar(&cfg.BrokerListen, "broker-listen", cfg.BrokerListen, "embedded Kafka broker address")
	f.StringVar(&cfg.LogstoreListen, "logstore-listen", cfg.LogstoreListen, "embedded log store address (Loki API)")
	f.StringVar(&cfg.HTTP, "http", cfg.HTTP, "health (/healthz), Prometheus metrics (/metrics) and pprof (/debug/pprof) address")
	f.StringSliceVar(&cfg.Sink.Brokers, "kafka-brokers", cfg.Sink.Brokers, "use this Kafka cluster instead of the embedded broker")
	f.StringVar(&cfg.Sink.Parquet, "lake", cfg.Sink.Parquet, "Parquet lake: a directory or s3://bucket/prefix (default DATA/lake)")
	f.StringVar(&cfg.Sink.LokiURL, "loki-url", cfg.Sink.LokiURL, "push to this Loki instead of the embedded log store")
	f.StringVar(&cfg.Sessions, "sessions", cfg.Sessions, "mirror sessions file (VNI → ENI metadata); default testdata/demo-sessions.yaml if present")
	f.IntVar(&cfg.Interval, "interval", cfg.Interval, "aggregation interval of the collector: 60 or 600 seconds")
	f.BoolVar(&cfg.Generate, "generate", cfg.Generate, "run the demo generator (live VPC records)")
	f.Float64Var(&cfg.Rate, "rate", cfg.Rate, "demo generator rate, records/s")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "demo generator seed")
	f.StringVar(&cfg.FirehoseListen, "firehose-listen", "", "also run the Amazon Data Firehose HTTP endpoint (see `flowtap firehose`) on this address")
	f.StringSliceVar(&cfg.FirehoseAccessKeys, "firehose-access-key", nil, "with --firehose-listen: accepted X-Amz-Firehose-Access-Key values")
	f.DurationVar(&cfg.FirehoseUndeliverableAfter, "firehose-undeliverable-after", cfg.FirehoseUndeliverableAfter, "with --firehose-listen: "+undeliverableAfterHelp)
	return cmd
}
