package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/flowtap/flowtap/firehose"
	"github.com/flowtap/flowtap/flowlog/generate"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
	"github.com/flowtap/flowtap/ingest"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/kafka/broker"
	"github.com/flowtap/flowtap/logstore"
)

// UpConfig configures `flowtap up`: every part in one process. Keys are the flag names.
type UpConfig struct {
	Sink           SinkConfig `yaml:",inline"`
	Data           string     `yaml:"data"`
	Listen         string     `yaml:"listen"`
	BrokerListen   string     `yaml:"broker-listen"`
	LogstoreListen string     `yaml:"logstore-listen"`
	HTTP           string     `yaml:"http"`
	Sessions       string     `yaml:"sessions"`
	Interval       int        `yaml:"interval"`
	Generate       bool       `yaml:"generate"`
	Rate           float64    `yaml:"rate"`
	Seed           uint64     `yaml:"seed"`
	// FirehoseListen runs the Amazon Data Firehose HTTP endpoint there ("" for none);
	// FirehoseAccessKeys are the keys it accepts, FirehoseUndeliverableAfter its
	// firehose.Config.UndeliverableAfter.
	FirehoseListen             string        `yaml:"firehose-listen"`
	FirehoseAccessKeys         []string      `yaml:"firehose-access-key"`
	FirehoseUndeliverableAfter time.Duration `yaml:"firehose-undeliverable-after"`
}

// DefaultUpConfig runs everything embedded on loopback with data under ./data, batches
// cut after 10 s and the demo generator at 50 records/s.
func DefaultUpConfig() UpConfig {
	s := DefaultSinkConfig()
	s.Brokers, s.StateDir, s.BatchAge = nil, "", 10*time.Second
	return UpConfig{Sink: s, Data: "data", Listen: "127.0.0.1:4789", BrokerListen: "127.0.0.1:9092",
		LogstoreListen: "127.0.0.1:3100", HTTP: "127.0.0.1:8080", Interval: 60, Generate: true, Rate: 50, Seed: 1,
		FirehoseUndeliverableAfter: firehose.DefaultConfig().UndeliverableAfter}
}

// Validate checks what New cannot repair.
func (c UpConfig) Validate() error {
	if c.Interval != 60 && c.Interval != 600 {
		return fmt.Errorf("--interval %d: must be 60 or 600 seconds", c.Interval)
	}
	return nil
}

// RunUp is `flowtap up`: broker (unless Sink.Brokers), log store (unless Sink.LokiURL),
// sinks, producer, collector and demo generator, each supervised, started in that order
// and drained in the reverse one when ctx ends.
func RunUp(ctx context.Context, cfg UpConfig, sup SupervisorConfig, d Deps) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	d = withDefaults(d)
	p, err := newProcess(sup, d, cfg.HTTP)
	if err != nil {
		return err
	}
	d = p.d
	log := d.Log

	// 1. Kafka: the embedded broker unless a cluster is given. Started here, not in Run,
	// because everything after needs its address.
	if len(cfg.Sink.Brokers) == 0 {
		bcfg := broker.DefaultConfig()
		bcfg.Topics = kafka.AllTopics()
		bcfg.Listen, bcfg.DataDir = cfg.BrokerListen, filepath.Join(cfg.Data, "kafka")
		b, err := broker.New(bcfg, d)
		if err != nil {
			return p.abort(err)
		}
		if err := b.Start(); err != nil {
			return p.abort(err)
		}
		p.sup.Start(Component{Name: "broker", Run: b.Run})
		cfg.Sink.Brokers = []string{b.Addr()}
		log.Info("embedded Kafka broker", "addr", b.Addr(), "data", bcfg.DataDir)
	}

	// 2. The log store unless a Loki URL is given.
	if cfg.Sink.LokiURL == "" {
		lcfg := logstore.DefaultConfig()
		lcfg.Listen, lcfg.DataDir = cfg.LogstoreListen, filepath.Join(cfg.Data, "logs")
		ls, err := logstore.New(lcfg, d)
		if err != nil {
			return p.abort(err)
		}
		p.sup.Start(Component{Name: "logstore", Run: ls.Run, Once: true})
		select {
		case <-ls.Ready():
		case <-ctx.Done():
			return p.abort(ctx.Err())
		}
		cfg.Sink.LokiURL = "http://" + cfg.LogstoreListen
		log.Info("embedded log store (Loki API)", "url", cfg.Sink.LokiURL, "data", lcfg.DataDir)
	}

	// 3. Sinks: Kafka → Parquet lake and → log store.
	if cfg.Sink.Parquet == "" {
		cfg.Sink.Parquet = filepath.Join(cfg.Data, "lake")
	}
	if cfg.Sink.StateDir == "" {
		cfg.Sink.StateDir = filepath.Join(cfg.Data, "sink-state")
	}
	sk, err := NewSinks(cfg.Sink, d)
	if err != nil {
		return p.abort(err)
	}
	defer sk.Close(d)
	p.sup.Start(Component{Name: "sinks", Run: sk.Run, Check: kafkaReachable(cfg.Sink.Brokers)})
	log.Info("sinks", "lake", cfg.Sink.Parquet, "layout", cfg.Sink.Layout, "loki", cfg.Sink.LokiURL)

	// 4. The producer that the collector and the generator write to. While Kafka is away
	// it keeps their records in its disk spill; /healthz says so.
	pcfg := kafka.DefaultProducerConfig()
	pcfg.Brokers, pcfg.SASL = cfg.Sink.Brokers, cfg.Sink.SASL()
	pcfg.Spill.Dir = filepath.Join(cfg.Data, "spill")
	producer, err := kafka.NewProducer(pcfg, Deps{Registry: d.Registry, Log: log.With("part", "producer")})
	if err != nil {
		return p.abort(err)
	}
	p.sup.Start(Component{Name: "producer", Run: producer.Run, Once: true, Check: spillCheck(producer)})

	// 5. The collector: its receiving decides the HTTP status of /healthz.
	ccfg := ingest.DefaultConfig()
	ccfg.Listen, ccfg.Interval = cfg.Listen, time.Duration(cfg.Interval)*time.Second
	var copts []ingest.Option
	sessions := cfg.Sessions
	if sessions == "" {
		if _, err := os.Stat(filepath.Join("testdata", "demo-sessions.yaml")); err == nil {
			sessions = filepath.Join("testdata", "demo-sessions.yaml")
		}
	}
	if sessions != "" {
		s, err := ingest.LoadSessions(sessions)
		if err != nil {
			return p.abort(fmt.Errorf("--sessions: %w", err))
		}
		copts = append(copts, ingest.WithSessions(s))
	}
	collector, err := ingest.New(ccfg, producer, d, copts...)
	if err != nil {
		return p.abort(err)
	}
	// Run binds once; a collector that cannot bind stays failed (and /healthz 503).
	p.sup.Start(Component{Name: "collector", Run: collector.Run, Once: true, Serving: collector.Receiving})
	log.Info("mirror collector", "listen", cfg.Listen, "interval", cfg.Interval, "sessions", sessions)

	// 6. The demo generator. It keeps its resume point in Data/generator.state, so a restart of
	// up goes on after the last window it wrote instead of writing it again.
	if cfg.Generate {
		topo, err := topology.Build(topology.DefaultSpec(), cfg.Seed)
		if err != nil {
			return p.abort(err)
		}
		gcfg := generate.DefaultConfig()
		gcfg.Live, gcfg.Rate, gcfg.Seed, gcfg.Interval = true, cfg.Rate, cfg.Seed, int64(cfg.Interval)
		gcfg.StateFile = filepath.Join(cfg.Data, "generator.state") // a restart goes on after the last window written
		g, err := generate.New(gcfg, topo, producer, nil, Deps{Registry: d.Registry, Log: log.With("part", "generator")})
		if err != nil {
			return p.abort(err)
		}
		p.sup.Start(Component{Name: "generator", Run: g.Run, Once: true})
		log.Info("demo generator", "rate", cfg.Rate, "interval", cfg.Interval)
	}

	// 7. The Firehose receiver (CloudWatch Logs subscriptions of real AWS logs), when asked for.
	if cfg.FirehoseListen != "" {
		fcfg := firehose.DefaultConfig()
		fcfg.Listen, fcfg.Brokers, fcfg.AccessKeys = cfg.FirehoseListen, cfg.Sink.Brokers, cfg.FirehoseAccessKeys
		if cfg.FirehoseUndeliverableAfter > 0 {
			fcfg.UndeliverableAfter = cfg.FirehoseUndeliverableAfter
		}
		fcfg.SpillDir = filepath.Join(cfg.Data, "spill") // beside the producer's, in its own subdirectory
		fh, err := firehose.New(fcfg, Deps{Registry: d.Registry, Log: log.With("part", "firehose")})
		if err != nil {
			return p.abort(err)
		}
		p.sup.Start(Component{Name: "firehose", Run: fh.Run, Once: true})
		log.Info("firehose endpoint", "listen", cfg.FirehoseListen, "access_keys", len(cfg.FirehoseAccessKeys))
	}

	log.Info("flowtap is up", "health", "http://"+cfg.HTTP+"/healthz", "metrics", "http://"+cfg.HTTP+"/metrics")
	return p.wait(ctx)
}

// spillCheck reports a producer whose records wait in the disk spill: Kafka is away or
// slower than the input.
func spillCheck(p *kafka.Producer) func() error {
	return func() error {
		if r, _ := p.SpillDepth(); r > 0 {
			return fmt.Errorf("%d records wait in the disk spill (Kafka unreachable or slow)", r)
		}
		return nil
	}
}
