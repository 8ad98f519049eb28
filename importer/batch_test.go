package importer

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/flowmsg"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/kafka/rawbatch"
	"github.com/flowtap/flowtap/sinks"
)

// TestRecordBatchEveryCodec: the record batches import builds itself are stored by the
// broker and read back by kafka-go with every key, value and header, for each codec.
func TestRecordBatchEveryCodec(t *testing.T) {
	addr := startBroker(t)
	recs := vpcRecords(1, 500, "111111111111", time.Date(2024, 5, 1, 0, 5, 0, 0, time.UTC).Unix())
	var b flowmsg.Batch
	for i := range recs {
		b.AddRecord(kafka.DefaultTopics(), &recs[i])
	}
	var rs rawbatch.Records
	for _, m := range b.Msgs {
		rs.Add(m.Key, m.Value, m.Headers)
	}
	var want []string
	for _, name := range []string{"none", "lz4", "zstd", "gzip", "snappy"} {
		codec, err := kafka.ParseCompression(name)
		if err != nil {
			t.Fatal(err)
		}
		set, err := rs.Seal(nil, codec, time.Now())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := newProducer([]string{addr}, codec, []string{kafka.TopicVPC})
		if err := p.request(topicPartition{kafka.TopicVPC, 0}, set); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p.close()
		for _, m := range b.Msgs {
			want = append(want, describe(m.Key, m.Value, m.Headers))
		}
	}
	got := readPartition(t, addr, kafka.TopicVPC, 0)
	if len(got) != len(want) {
		t.Fatalf("read %d messages, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("message %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

// TestImportedRecordsReachSinks: what import produces is consumed by the sink runner (which
// drops re-sent copies by flowtap-id, so every message needs its own): every record arrives
// once, as it was in the objects.
func TestImportedRecordsReachSinks(t *testing.T) {
	fx := awsObjects(t, 2000)
	dir := t.TempDir()
	for k, data := range fx.objects {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(k)), 0o750)
		if err := os.WriteFile(filepath.Join(dir, k), data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	addr := startBroker(t)
	cfg := DefaultConfig()
	cfg.Source, cfg.Brokers, cfg.ChunkRecords = dir, []string{addr}, 700
	cfg.From = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	im := newImporter(t, cfg)
	im.out.requestBytes = 64 << 10 // several batches per partition and chunk
	st, err := im.Run(context.Background())
	if err != nil || st.Records != int64(len(fx.want)) {
		t.Fatalf("%+v %v; want %d records", st, err, len(fx.want))
	}

	rcfg := kafka.DefaultRunnerConfig()
	rcfg.Brokers, rcfg.StateDir, rcfg.MaxAge = []string{addr}, t.TempDir(), 200*time.Millisecond
	sink := &collectSink{want: len(fx.want), full: make(chan struct{})}
	r, err := kafka.NewRunner(rcfg, []sinks.Sink{sink}, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	run := testenv.Run(t, r)
	select {
	case <-sink.full:
	case <-run.Done():
		t.Fatalf("runner stopped: %v", run.Err())
	case <-time.After(30 * time.Second):
	}
	run.Stop()
	sink.mu.Lock()
	defer sink.mu.Unlock()
	testenv.SameMultiset(t, "records the sink got", sink.got, fx.want)
}

// collectSink keeps the JSON of every record written and closes full once it holds want.
type collectSink struct {
	mu   sync.Mutex
	got  []string
	want int
	full chan struct{}
}

func (s *collectSink) Name() string { return "collect" }
func (s *collectSink) Close() error { return nil }
func (s *collectSink) Write(_ context.Context, b *sinks.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	had := len(s.got)
	for i := range b.Records {
		s.got = append(s.got, string(flowlog.AppendJSON(nil, &b.Records[i])))
	}
	if had < s.want && len(s.got) >= s.want {
		close(s.full)
	}
	return nil
}

// readPartition returns every message of a partition, described by describe.
func readPartition(t *testing.T, addr, topic string, partition int) []string {
	t.Helper()
	p := newProducer([]string{addr}, 0, []string{topic})
	defer p.close()
	var out []string
	off := int64(0)
	for {
		res, err := p.client.Fetch(context.Background(), &kafkago.FetchRequest{Topic: topic, Partition: partition, Offset: off,
			MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 100 * time.Millisecond})
		if err == nil {
			err = res.Error
		}
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			r, err := res.Records.ReadRecord()
			if err != nil {
				break
			}
			if r.Offset < off {
				continue
			}
			var key, value []byte
			if r.Key != nil {
				key, _ = io.ReadAll(r.Key)
			}
			if r.Value != nil {
				value, _ = io.ReadAll(r.Value)
			}
			hs := make([]kafkago.Header, len(r.Headers))
			copy(hs, r.Headers)
			out = append(out, describe(key, value, hs))
			off = r.Offset + 1
			n++
		}
		if n == 0 {
			return out
		}
	}
}

func describe(key, value []byte, headers []kafkago.Header) string {
	s := fmt.Sprintf("key %q value %q", key, value)
	for _, h := range headers {
		s += fmt.Sprintf(" %s=%q", h.Key, h.Value)
	}
	return s
}
