package kafka

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
	"github.com/flowtap/flowtap/internal/component"
)

// BenchmarkGenerateToKafka is `generate --kafka-brokers` in one process: the generator's
// VPC records (default topology, seed 7) through the producer with its defaults to the
// embedded broker on disk, until acknowledged, in alternating rounds with the same
// generation written as text to io.Discard (`generate > /dev/null`) as the baseline. One op
// is one record. It reports both rates, their ratio (budget: 700 k records/s) and CPU per
// record, the broker's included in the Kafka figure.
func BenchmarkGenerateToKafka(b *testing.B) {
	topo, err := topology.Build(topology.DefaultSpec(), 7)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func(w flowlog.RecordWriter) int64 {
		cfg := generate.DefaultConfig()
		cfg.Seed, cfg.Start, cfg.End = 7, start, start.Add(5*time.Minute)
		g, err := generate.New(cfg, topo, w, nil, component.Deps{})
		if err != nil {
			b.Fatal(err)
		}
		if err := g.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		return g.Records()
	}
	br := startBroker(b, "", b.TempDir())
	def := DefaultProducerConfig()
	// As generate: writers wait for Kafka rather than spill.
	p := benchProducer(b, br.Addr(), def.Compression, def.Lanes, func(c *ProducerConfig) { c.BlockTimeout = time.Minute })
	text := generate.NewTextWriter(io.Discard, flowlog.DefaultVPC, true)
	var nText, nKafka int64
	var tText, tKafka, cText, cKafka time.Duration
	b.ResetTimer()
	for nKafka < int64(b.N) {
		c0, t0 := processCPU(), time.Now()
		nText += run(text)
		c1, t1 := processCPU(), time.Now()
		base := p.Stats().Produced
		n := run(p)
		waitFor(b, 2*time.Minute, "records acknowledged", func() bool { return p.Stats().Produced >= base+n })
		nKafka += n
		tText, cText = tText+t1.Sub(t0), cText+c1-c0
		tKafka, cKafka = tKafka+time.Since(t1), cKafka+processCPU()-c1
	}
	b.StopTimer()
	if st := p.Stats(); st.Spilled+st.Dropped > 0 {
		b.Fatalf("spilled %d, dropped %d", st.Spilled, st.Dropped)
	}
	rText, rKafka := float64(nText)/tText.Seconds(), float64(nKafka)/tKafka.Seconds()
	b.ReportMetric(rText, "text-records/s")
	b.ReportMetric(rKafka, "kafka-records/s")
	b.ReportMetric(rKafka/rText, "x-kafka/text")
	b.ReportMetric(float64(cText.Nanoseconds())/float64(nText), "text-cpu-ns/record")
	b.ReportMetric(float64(cKafka.Nanoseconds())/float64(nKafka), "kafka-cpu-ns/record")
}
