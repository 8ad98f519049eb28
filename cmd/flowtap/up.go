package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/flowtap/flowtap/flowlog/generate"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
	"github.com/flowtap/flowtap/ingest"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/kafka/broker"
	"github.com/flowtap/flowtap/logstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
)

func init() { register(newUpCmd) }

type upOptions struct {
	sink         sinkOptions
	data         string
	listen       string
	brokerListen string
	logsListen   string
	httpListen   string
	sessions     string
	interval     int
	generate     bool
	rate         float64
	seed         uint64
}

func newUpCmd() *cobra.Command {
	var o upOptions
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
  health and metrics         127.0.0.1:8080  /healthz, /metrics

Query it from another terminal with 'flowtap query sql' and 'flowtap query logs', and feed the
collector with 'flowtap replay --target 127.0.0.1:4789 testdata/demo.pcap', and VPN logs with
'flowtap generate --kind vpn-s2s --live --kafka-brokers 127.0.0.1:9092'. SIGINT/SIGTERM
flush every open window to Kafka before exit; what the sinks have not consumed yet is
picked up on the next start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runUp(cmd.Context(), &o) },
	}
	o.sink.addFlags(cmd, false)
	f := cmd.Flags()
	f.StringVar(&o.data, "data", "data", "data directory of the embedded parts")
	f.StringVar(&o.listen, "listen", "127.0.0.1:4789", "collector VXLAN address (0.0.0.0:4789 to receive from other hosts)")
	f.StringVar(&o.brokerListen, "broker-listen", "127.0.0.1:9092", "embedded Kafka broker address")
	f.StringVar(&o.logsListen, "logstore-listen", "127.0.0.1:3100", "embedded log store address (Loki API)")
	f.StringVar(&o.httpListen, "http", "127.0.0.1:8080", "health (/healthz) and Prometheus metrics (/metrics) address")
	f.StringSliceVar(&o.sink.brokers, "kafka-brokers", nil, "use this Kafka cluster instead of the embedded broker")
	f.StringVar(&o.sink.parquet, "lake", "", "Parquet lake: a directory or s3://bucket/prefix (default DATA/lake)")
	f.StringVar(&o.sink.lokiURL, "loki-url", "", "push to this Loki instead of the embedded log store")
	f.StringVar(&o.sessions, "sessions", "", "mirror sessions file (VNI → ENI metadata); default testdata/demo-sessions.yaml if present")
	f.IntVar(&o.interval, "interval", 60, "aggregation interval of the collector: 60 or 600 seconds")
	f.BoolVar(&o.generate, "generate", true, "run the demo generator (live VPC records)")
	f.Float64Var(&o.rate, "rate", 50, "demo generator rate, records/s")
	f.Uint64Var(&o.seed, "seed", 1, "demo generator seed")
	o.sink.maxAge = 10 * time.Second
	cmd.Flags().Lookup("batch-age").DefValue = "10s"
	return cmd
}

// stage is one running component; stages stop in reverse order of start, each after the
// ones that feed it, so that records in flight reach the next stage.
type stage struct {
	name   string
	cancel context.CancelFunc
	done   chan error
}

func startStage(name string, run func(ctx context.Context) error) *stage {
	ctx, cancel := context.WithCancel(context.Background())
	s := &stage{name: name, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx) }()
	return s
}

func (s *stage) stop() error {
	s.cancel()
	err := <-s.done
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}

func runUp(ctx context.Context, o *upOptions) error {
	if o.interval != 60 && o.interval != 600 {
		return fmt.Errorf("--interval %d: must be 60 or 600 seconds", o.interval)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var stages []*stage
	stopAll := func() error {
		var first error
		for i := len(stages) - 1; i >= 0; i-- {
			slog.Info("stopping", "part", stages[i].name)
			if err := stages[i].stop(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	fail := func(err error) error {
		stopAll()
		return err
	}
	// failed collects the first error of a stage that ends by itself.
	failed := make(chan error, 8)
	watch := func(s *stage) {
		stages = append(stages, s)
	}

	// 1. Kafka: the embedded broker unless a cluster is given.
	if len(o.sink.brokers) == 0 {
		bcfg := broker.DefaultConfig()
		bcfg.Topics = kafka.AllTopics()
		bcfg.Listen, bcfg.DataDir = o.brokerListen, filepath.Join(o.data, "kafka")
		b, err := broker.New(bcfg, slog.Default().With("part", "broker"))
		if err != nil {
			return err
		}
		if err := b.Start(); err != nil {
			return fmt.Errorf("broker: %w", err)
		}
		watch(startStage("broker", b.Run))
		o.sink.brokers = []string{b.Addr()}
		slog.Info("embedded Kafka broker", "addr", b.Addr(), "data", bcfg.DataDir)
	}

	// 2. The log store unless a Loki URL is given.
	if o.sink.lokiURL == "" {
		lcfg := logstore.DefaultConfig()
		lcfg.Listen, lcfg.DataDir = o.logsListen, filepath.Join(o.data, "logs")
		ls, err := logstore.New(lcfg, reg)
		if err != nil {
			return fail(err)
		}
		watch(startStage("logstore", ls.Run))
		select {
		case <-ls.Ready():
		case <-ctx.Done():
			return fail(ctx.Err())
		}
		o.sink.lokiURL = "http://" + o.logsListen
		slog.Info("embedded log store (Loki API)", "url", o.sink.lokiURL, "data", lcfg.DataDir)
	}

	// 3. Sinks: Kafka → Parquet lake and → log store.
	if o.sink.parquet == "" {
		o.sink.parquet = filepath.Join(o.data, "lake")
	}
	o.sink.stateDir = filepath.Join(o.data, "sink-state")
	dest, err := o.sink.build(reg)
	if err != nil {
		return fail(err)
	}
	defer closeSinks(dest)
	runner, err := o.sink.runner(dest, reg)
	if err != nil {
		return fail(err)
	}
	watch(startStage("sinks", runner.Run))
	slog.Info("sinks", "lake", o.sink.parquet, "layout", o.sink.layout, "loki", o.sink.lokiURL)

	// 4. The producer that the collector and the generator write to.
	pcfg := kafka.DefaultProducerConfig()
	pcfg.Brokers = o.sink.brokers
	pcfg.Spill.Dir = filepath.Join(o.data, "spill")
	producer, err := kafka.NewProducer(pcfg, reg, slog.Default().With("part", "producer"))
	if err != nil {
		return fail(err)
	}
	watch(startStage("producer", producer.Run))

	// 5. The collector.
	ccfg := ingest.DefaultConfig()
	ccfg.Listen, ccfg.Interval = o.listen, time.Duration(o.interval)*time.Second
	var copts []ingest.Option
	sessions := o.sessions
	if sessions == "" {
		if _, err := os.Stat(filepath.Join("testdata", "demo-sessions.yaml")); err == nil {
			sessions = filepath.Join("testdata", "demo-sessions.yaml")
		}
	}
	if sessions != "" {
		s, err := ingest.LoadSessions(sessions)
		if err != nil {
			return fail(fmt.Errorf("--sessions: %w", err))
		}
		copts = append(copts, ingest.WithSessions(s))
	}
	collector, err := ingest.New(ccfg, producer, reg, copts...)
	if err != nil {
		return fail(err)
	}
	watch(startStage("collector", collector.Run))
	slog.Info("mirror collector", "listen", o.listen, "interval", o.interval, "sessions", sessions)

	// 6. The demo generator.
	if o.generate {
		topo, err := topology.Build(topology.DefaultSpec(), o.seed)
		if err != nil {
			return fail(err)
		}
		gcfg := generate.DefaultConfig()
		gcfg.Live, gcfg.Rate, gcfg.Seed, gcfg.Interval = true, o.rate, o.seed, int64(o.interval)
		g, err := generate.New(gcfg, topo, producer, nil)
		if err != nil {
			return fail(err)
		}
		watch(startStage("generator", g.Run))
		slog.Info("demo generator", "rate", o.rate, "interval", o.interval)
	}

	// 7. Health and metrics.
	stopHTTP, err := serveHTTP(o.httpListen, metricsMux(reg, collector.HealthHandler()))
	if err != nil {
		return fail(err)
	}
	defer stopHTTP()
	slog.Info("flowtap is up", "health", "http://"+o.httpListen+"/healthz", "metrics", "http://"+o.httpListen+"/metrics")

	for _, s := range stages {
		go func(s *stage) {
			select {
			case err := <-s.done:
				s.done <- err // keep it for stop
				if err != nil && !errors.Is(err, context.Canceled) {
					failed <- fmt.Errorf("%s: %w", s.name, err)
				}
			case <-ctx.Done():
			}
		}(s)
	}
	select {
	case <-ctx.Done():
		slog.Info("shutting down: flushing open windows")
		return stopAll()
	case err := <-failed:
		slog.Error("a part stopped", "err", err)
		stopAll()
		return err
	}
}
