package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/kafka/broker"
	"github.com/flowtap/flowtap/pipeline"
)

func newBrokerCmd() *cobra.Command {
	cfg := broker.DefaultConfig()
	cfg.Topics = kafka.AllTopics()
	noSync := false
	var users []string
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run the embedded Kafka broker (kfake) with on-disk persistence",
		Long: `broker runs a single-node Kafka broker that speaks the real Kafka protocol (kfake from
franz-go), keeps its log segments, topics and committed consumer offsets under --data so
nothing is lost across restarts, and creates the flowtap topics (flowtap.vpc, flowtap.tgw,
flowtap.vpn, flowtap.deadletter) if they do not exist. Any Kafka client can use it;
flowtap collect, generate and sink reach it with --kafka-brokers.`,
		Example: `  flowtap broker --listen 127.0.0.1:9092 --data ./data/kafka
  flowtap broker --listen 0.0.0.0:9092 --data /var/lib/flowtap/kafka --partitions 8 --user SCRAM-SHA-512:flowtap:$PASSWORD`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.SyncWrites = !noSync
			for _, s := range users {
				u, err := broker.ParseUser(s)
				if err != nil {
					return fmt.Errorf("--user: %w", err)
				}
				cfg.Users = append(cfg.Users, u)
			}
			b, err := broker.New(cfg, pipeline.Deps{})
			if err != nil {
				return err
			}
			return b.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "address to listen on (host:port); the broker advertises it to clients")
	f.StringVar(&cfg.DataDir, "data", cfg.DataDir, "directory for the broker's persistent state (empty: memory only)")
	f.IntVar(&cfg.Partitions, "partitions", cfg.Partitions, "partitions of each topic created on start")
	f.StringSliceVar(&cfg.Topics, "topics", cfg.Topics, "topics to create on start when missing")
	f.StringArrayVar(&users, "user", nil, "SASL user MECHANISM:NAME:PASSWORD (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), repeatable; required to listen beyond loopback")
	f.BoolVar(&noSync, "no-sync-writes", false, "do not fsync every produced batch (faster; a crash may lose the last batches)")
	return cmd
}
