package kafka

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/sinks"
)

// BenchmarkProduce measures records/s from WriteRecords to acknowledged by the embedded
// broker (same host, data dir with SyncWrites, as `flowtap up` runs it), per codec. One op is
// one record. Budget: ≥ 400 k records/s.
func BenchmarkProduce(b *testing.B) {
	seq := map[string]uint64{}
	recs := makeRecords(1000, 500, 0, seq)
	for _, codec := range []string{"zstd", "none"} {
		for _, disk := range []bool{true, false} {
			name := codec + "/mem"
			if disk {
				name = codec + "/disk"
			}
			b.Run(name, func(b *testing.B) {
				dir := ""
				if disk {
					dir = b.TempDir()
				}
				br := startBroker(b, "", dir)
				cfg := DefaultProducerConfig()
				cfg.Brokers = []string{br.Addr()}
				cfg.Compression = codec
				benchTune(&cfg)
				cfg.Spill.Dir = b.TempDir()
				p, err := NewProducer(cfg, nil, quietLog())
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				go p.Run(ctx)
				defer func() { cancel(); <-p.Done() }()
				// Warm up: metadata, connections.
				if err := p.WriteRecords(ctx, recs[:10]); err != nil {
					b.Fatal(err)
				}
				waitFor(b, 10*time.Second, "warm-up", func() bool { return p.Stats().Produced == 10 })
				var bytes int
				for i := range recs {
					bytes += len(flowlog.AppendJSON(nil, &recs[i]))
				}
				b.SetBytes(int64(bytes / len(recs)))
				b.ResetTimer()
				start := time.Now()
				n := 0
				for n < b.N {
					k := min(len(recs), b.N-n)
					if err := p.WriteRecords(ctx, recs[:k]); err != nil {
						b.Fatal(err)
					}
					n += k
				}
				for p.Stats().Produced < int64(n)+10 {
					time.Sleep(time.Millisecond)
				}
				el := time.Since(start)
				b.StopTimer()
				if st := p.Stats(); st.Spilled+st.Dropped > 0 {
					b.Logf("spilled %d dropped %d", st.Spilled, st.Dropped)
				}
				b.ReportMetric(float64(n)/el.Seconds(), "records/s")
			})
		}
	}
}

type countSink struct{ n atomic.Int64 }

func (s *countSink) Name() string { return "count" }
func (s *countSink) Close() error { return nil }
func (s *countSink) Write(_ context.Context, b *sinks.Batch) error {
	s.n.Add(int64(len(b.Records)))
	return nil
}

// BenchmarkConsume measures records/s from Kafka through the runner (fetch, JSON decode,
// batching, intent fsync, commit) into a sink that only counts. One op is one record.
func BenchmarkConsume(b *testing.B) {
	br := startBroker(b, "", "")
	p, _ := testProducer(b, br.Addr())
	seq := map[string]uint64{}
	recs := makeRecords(1000, 500, 10, seq)
	n := max(b.N, 1000)
	for sent := 0; sent < n; sent += len(recs) {
		if err := p.WriteRecords(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
	}
	total := (n + len(recs) - 1) / len(recs) * len(recs)
	waitFor(b, time.Minute, "produced", func() bool { return p.Stats().Produced >= int64(total) })
	sink := &countSink{}
	cfg := testRunnerConfig(b, br.Addr(), b.TempDir())
	cfg.Group = fmt.Sprintf("bench-%d", time.Now().UnixNano())
	cfg.MaxRecords = 20000
	r, err := NewRunner(cfg, []sinks.Sink{sink}, nil, quietLog())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	stop := runRunner(b, r)
	for sink.n.Load() < int64(total) {
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	stop()
	b.ReportMetric(float64(total)/el.Seconds(), "records/s")
}

func benchTune(cfg *ProducerConfig) {
	if v := os.Getenv("BT_LINGER"); v != "" {
		cfg.Linger, _ = time.ParseDuration(v)
	}
	if v := os.Getenv("BT_BATCHBYTES"); v != "" {
		n, _ := strconv.Atoi(v)
		cfg.BatchBytes = int64(n)
	}
	if v := os.Getenv("BT_BATCHSIZE"); v != "" {
		cfg.BatchSize, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("BT_CHUNK"); v != "" {
		cfg.SendChunk, _ = strconv.Atoi(v)
	}
}
