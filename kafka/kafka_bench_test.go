package kafka

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/sinks"
)

// BenchmarkProduce measures records/s from WriteRecords to acknowledged by the embedded
// broker (same host; disk: data dir with SyncWrites, as `flowtap up` runs it), per codec (lz4
// is the default) and lane count. One op is one record. Budget: ≥ 400 k records/s.
func BenchmarkProduce(b *testing.B) {
	seq := map[string]uint64{}
	recs := makeRecords(1000, 500, 0, seq)
	for _, codec := range []string{"lz4", "zstd", "none"} {
		for _, disk := range []bool{true, false} {
			for _, lanes := range []int{1, 4} {
				name := fmt.Sprintf("%s/mem/lanes=%d", codec, lanes)
				if disk {
					name = fmt.Sprintf("%s/disk/lanes=%d", codec, lanes)
				}
				b.Run(name, func(b *testing.B) {
					dir := ""
					if disk {
						dir = b.TempDir()
					}
					br := startBroker(b, "", dir)
					p := benchProducer(b, br.Addr(), codec, lanes)
					b.SetBytes(avgJSON(recs))
					b.ResetTimer()
					cpu0 := processCPU()
					el := produceN(b, p, recs, b.N)
					cpu := processCPU() - cpu0
					b.StopTimer()
					b.ReportMetric(float64(b.N)/el.Seconds(), "records/s")
					// Less sensitive to other load on a shared machine than records/s; the
					// broker runs in this process, so its share is included.
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/record")
				})
			}
		}
	}
}

// BenchmarkProduceLanes compares 4 lanes (JSON encoded in parallel, the default) with 1 lane
// and with 4 lanes encoded in the caller's goroutine, default codec to a broker on disk (as
// `flowtap up` runs), in alternating rounds against one broker so that all see the same load on a
// shared machine. It reports each rate and the ratios to 1 lane.
func BenchmarkProduceLanes(b *testing.B) {
	seq := map[string]uint64{}
	recs := makeRecords(1000, 500, 0, seq)
	br := startBroker(b, "", b.TempDir())
	codec := DefaultProducerConfig().Compression
	one := benchProducer(b, br.Addr(), codec, 1)
	serial := benchProducer(b, br.Addr(), codec, 4)
	serial.serialEncode = true
	four := benchProducer(b, br.Addr(), codec, 4)
	const rounds = 6
	// Rounds shorter than ~50 k records measure the ramp-up and the last acknowledgement more
	// than the steady rate.
	per := max(b.N/rounds/3, 50_000)
	if b.N == 1 {
		per = 1000 // the framework's probe run
	}
	var t1, ts, t4 time.Duration
	b.ResetTimer()
	for range rounds {
		t1 += produceN(b, one, recs, per)
		ts += produceN(b, serial, recs, per)
		t4 += produceN(b, four, recs, per)
	}
	b.StopTimer()
	n := float64(per * rounds)
	r1, rs, r4 := n/t1.Seconds(), n/ts.Seconds(), n/t4.Seconds()
	b.ReportMetric(r1, "lanes1-records/s")
	b.ReportMetric(rs, "lanes4serial-records/s")
	b.ReportMetric(r4, "lanes4-records/s")
	b.ReportMetric(rs/r1, "x-lanes4serial/lanes1")
	b.ReportMetric(r4/r1, "x-lanes4/lanes1")
}

// benchProducer starts a producer to addr and waits until it has sent a first message.
func benchProducer(b *testing.B, addr, codec string, lanes int, tune ...func(*ProducerConfig)) *Producer {
	b.Helper()
	cfg := DefaultProducerConfig()
	cfg.Brokers = []string{addr}
	cfg.Compression = codec
	cfg.Lanes = lanes
	for _, f := range tune {
		f(&cfg)
	}
	benchTune(&cfg)
	cfg.Spill.Dir = b.TempDir()
	p, _ := runProducer(b, cfg)
	// Warm up: metadata, connections (every lane, so every partition).
	warm := writeRounds(b, p, map[string]uint64{}, 1, 64, 64, 0)
	waitFor(b, 10*time.Second, "warm-up", func() bool { return p.Stats().Produced == int64(len(warm)) })
	return p
}

// produceN writes n records (recs over and over) and returns how long it took until Kafka
// acknowledged all of them.
func produceN(b *testing.B, p *Producer, recs []flowlog.Record, n int) time.Duration {
	b.Helper()
	base := p.Stats().Produced
	start := time.Now()
	for sent := 0; sent < n; {
		k := min(len(recs), n-sent)
		if err := p.WriteRecords(context.Background(), recs[:k]); err != nil {
			b.Fatal(err)
		}
		sent += k
	}
	deadline := time.Now().Add(2 * time.Minute)
	for p.Stats().Produced < base+int64(n) {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d records acknowledged after 2 min: %+v", p.Stats().Produced-base, n, p.Stats())
		}
		time.Sleep(200 * time.Microsecond)
	}
	el := time.Since(start)
	if st := p.Stats(); st.Spilled+st.Dropped > 0 {
		b.Logf("spilled %d dropped %d", st.Spilled, st.Dropped)
	}
	return el
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func avgJSON(recs []flowlog.Record) int64 {
	var bytes int
	for i := range recs {
		bytes += len(flowlog.AppendJSON(nil, &recs[i]))
	}
	return int64(bytes / len(recs))
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
	r, err := NewRunner(cfg, []sinks.Sink{sink}, component.Deps{Log: testenv.Quiet()})
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
	if v := os.Getenv("BT_BATCHBYTES"); v != "" {
		n, _ := strconv.Atoi(v)
		cfg.BatchBytes = int64(n)
	}
	if v := os.Getenv("BT_BATCHSIZE"); v != "" {
		cfg.BatchSize, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("BT_CODEC"); v != "" {
		cfg.Compression = v
	}
	if v := os.Getenv("BT_LANES"); v != "" {
		cfg.Lanes, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("BT_CHUNK"); v != "" {
		cfg.SendChunk, _ = strconv.Atoi(v)
	}
}
