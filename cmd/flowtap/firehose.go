package main

import (
	"github.com/spf13/cobra"

	"github.com/flowtap/flowtap/firehose"
	"github.com/flowtap/flowtap/internal/component"
)

// undeliverableAfterHelp describes firehose.Config.UndeliverableAfter for both commands' flags.
const undeliverableAfterHelp = "how long the brokers may keep answering that a spilled record's topic does not exist before it goes to the spill's dead-letter directory (a record refused with a non-retriable error goes at once)"

func newFirehoseCmd() *cobra.Command {
	cfg := firehose.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "firehose",
		Short: "Receive CloudWatch Logs subscriptions from Amazon Data Firehose (HTTP endpoint) into Kafka",
		Long: `firehose is an Amazon Data Firehose HTTP endpoint destination. Point a Firehose stream fed by
a CloudWatch Logs subscription filter of VPC or Transit Gateway flow log groups, or of
Site-to-Site or Client VPN log groups, at it: flow records and VPN events go to Kafka like
generated ones and reach the lake and the log store. A request is acknowledged only after
Kafka acknowledged its records or, while Kafka is unreachable, after they are fsynced in the
disk spill (--spill-dir), which is sent to Kafka when it is back; when neither takes them
Firehose gets its documented error response and delivers again. Firehose only delivers to https on port 443: give --tls-cert/--tls-key or put
a TLS-terminating proxy in front.

  flowtap firehose --listen 0.0.0.0:8089 --access-key "$FIREHOSE_KEY" --kafka-brokers 127.0.0.1:9092`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := firehose.New(cfg, component.Deps{})
			if err != nil {
				return err
			}
			return s.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "HTTP(S) address")
	f.StringSliceVar(&cfg.AccessKeys, "access-key", nil, "accepted X-Amz-Firehose-Access-Key values (repeatable; none accepts every request)")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "TLS certificate file (serve https)")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "TLS key file")
	f.StringSliceVar(&cfg.Brokers, "kafka-brokers", cfg.Brokers, "Kafka brokers (host:port,…)")
	f.StringVar(&cfg.Compression, "compression", cfg.Compression, "Kafka compression: zstd, gzip, snappy, lz4 or none")
	f.StringVar(&cfg.Format, "format", "", "flow log format of log groups that use a custom format (default: AWS's default VPC/TGW formats)")
	f.StringVar(&cfg.SpillDir, "spill-dir", defaultSpillDir("firehose"), "where acknowledged records wait while Kafka is unreachable (a directory per cluster under it)")
	f.Int64Var(&cfg.SpillMaxBytes, "spill-max-bytes", cfg.SpillMaxBytes, "bound of the spill; a request that does not fit is answered 503 (Firehose retries it)")
	f.DurationVar(&cfg.UndeliverableAfter, "undeliverable-after", cfg.UndeliverableAfter, undeliverableAfterHelp)
	return cmd
}
