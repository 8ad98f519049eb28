package kafka

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/kafka/broker"
	"github.com/flowtap/flowtap/sinks"
)

// startBroker starts the embedded broker on a free 127.0.0.1 port (or addr) with data in dir.
func startBroker(t testing.TB, addr, dir string) *broker.Broker {
	t.Helper()
	cfg := testenv.BrokerConfig(AllTopics()...)
	if addr != "" {
		cfg.Listen = addr
	}
	cfg.DataDir = dir
	return testenv.Broker(t, cfg)
}

// makeRecords returns n VPC records (every tgwEvery-th a TGW record when tgwEvery > 0) with
// realistic values over the given number of ENIs. Packets carries a per-key sequence number
// (from seq) so that tests can check order per key.
func makeRecords(n, enis, tgwEvery int, seq map[string]uint64) []flowlog.Record {
	recs := make([]flowlog.Record, n)
	base := int64(1_760_000_000)
	for i := range recs {
		r := &recs[i]
		e := i % enis
		if tgwEvery > 0 && i%tgwEvery == tgwEvery-1 {
			r.Kind = flowlog.KindTGW
			r.Version = 6
			r.ResourceType = "TransitGateway"
			r.AccountID = "123456789012"
			r.TGWID = "tgw-0123456789abcdef0"
			r.TGWAttachmentID = fmt.Sprintf("tgw-attach-%017x", e)
			r.TGWSrcVPCAccountID, r.TGWDstVPCAccountID = "123456789012", "210987654321"
			r.TGWSrcVPCID, r.TGWDstVPCID = "vpc-0a1b2c3d4e5f60718", "vpc-0f1e2d3c4b5a69788"
			r.TGWSrcSubnetID, r.TGWDstSubnetID = "subnet-0123456789abcdef0", "subnet-0fedcba9876543210"
			r.TGWSrcAZID, r.TGWDstAZID = "use1-az1", "use1-az2"
			r.Region = "us-east-1"
			r.FlowDirection = flowlog.DirectionIngress
		} else {
			r.Kind = flowlog.KindVPC
			r.Version = 5
			r.AccountID = "123456789012"
			r.InterfaceID = fmt.Sprintf("eni-%017x", e)
			r.VPCID = "vpc-0a1b2c3d4e5f60718"
			r.SubnetID = "subnet-0123456789abcdef0"
			r.InstanceID = fmt.Sprintf("i-%017x", e)
			r.Action = flowlog.ActionAccept
			r.LogStatus = flowlog.StatusOK
			r.TCPFlags = 19
			r.Type = flowlog.TypeIPv4
			r.Region = "us-east-1"
			r.AZID = "use1-az1"
			r.FlowDirection = flowlog.DirectionEgress
			r.TrafficPath = 1
			r.PktSrcAWSService = "-"
			r.PktSrcAWSService = ""
		}
		r.SrcAddr = netip.AddrFrom4([4]byte{10, 0, byte(e >> 8), byte(e)})
		r.DstAddr = netip.AddrFrom4([4]byte{172, 31, byte(i >> 8), byte(i)})
		r.PktSrcAddr, r.PktDstAddr = r.SrcAddr, r.DstAddr
		r.SrcPort = uint16(32768 + i%28000)
		r.DstPort = 443
		r.Protocol = 6
		r.Bytes = uint64(1200 + (i*7919)%1_500_000)
		r.Start = base + int64(i/1000)*60
		r.End = r.Start + 59
		k := r.Key()
		seq[k]++
		r.Packets = seq[k]
	}
	return recs
}

// fileSink is a small real sink: one file per batch named from (topic, partition, first,
// last), written to a temp file, fsynced and renamed, one JSON record per line.
type fileSink struct {
	name    string // "file" when empty
	dir     string
	writes  atomic.Int64
	fail    atomic.Int64 // fail this many more writes
	check   func(b *sinks.Batch) error
	mu      sync.Mutex
	batches []string
}

func (s *fileSink) Name() string {
	if s.name != "" {
		return s.name
	}
	return "file"
}
func (s *fileSink) Close() error { return nil }

func (s *fileSink) Write(ctx context.Context, b *sinks.Batch) error {
	s.writes.Add(1)
	if s.fail.Load() > 0 {
		s.fail.Add(-1)
		return fmt.Errorf("file sink: injected failure")
	}
	if s.check != nil {
		if err := s.check(b); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	for i := range b.Records {
		buf.Write(flowlog.AppendJSON(nil, &b.Records[i]))
		buf.WriteByte('\n')
	}
	name := fmt.Sprintf("%s-%d-%020d-%020d.jsonl", b.Topic, b.Partition, b.FirstOffset, b.LastOffset)
	tmp := filepath.Join(s.dir, name+".tmp")
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	f.Sync()
	f.Close()
	if err := os.Rename(tmp, filepath.Join(s.dir, name)); err != nil {
		return err
	}
	s.mu.Lock()
	s.batches = append(s.batches, name)
	s.mu.Unlock()
	return nil
}

// lakeFile is one batch file of a fileSink directory.
type lakeFile struct {
	topic       string
	partition   int
	first, last int64
	lines       []string
}

// readLake reads every batch file in dir, sorted by topic, partition, first offset.
// lakeLines counts the records of every file in the lake.
func lakeLines(t testing.TB, dir string) int {
	n := 0
	for _, f := range readLake(t, dir) {
		n += len(f.lines)
	}
	return n
}

func readLake(t testing.TB, dir string) []lakeFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []lakeFile
	for _, p := range paths {
		base := strings.TrimSuffix(filepath.Base(p), ".jsonl")
		i := strings.LastIndexByte(base, '-')
		j := strings.LastIndexByte(base[:i], '-')
		k := strings.LastIndexByte(base[:j], '-')
		var lf lakeFile
		lf.topic = base[:k]
		lf.partition, _ = strconv.Atoi(base[k+1 : j])
		lf.first, _ = strconv.ParseInt(base[j+1:i], 10, 64)
		lf.last, _ = strconv.ParseInt(base[i+1:], 10, 64)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lf.lines = append(lf.lines, sc.Text())
		}
		f.Close()
		out = append(out, lf)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].topic != out[b].topic {
			return out[a].topic < out[b].topic
		}
		if out[a].partition != out[b].partition {
			return out[a].partition < out[b].partition
		}
		return out[a].first < out[b].first
	})
	return out
}

// checkLake asserts that the batch files of each partition do not overlap and returns all
// records, in partition order.
func checkLake(t testing.TB, files []lakeFile) []flowlog.Record {
	t.Helper()
	var recs []flowlog.Record
	for i, f := range files {
		if i > 0 && files[i-1].topic == f.topic && files[i-1].partition == f.partition && files[i-1].last >= f.first {
			t.Fatalf("overlapping batch files in %s/%d: [%d,%d] and [%d,%d]", f.topic, f.partition,
				files[i-1].first, files[i-1].last, f.first, f.last)
		}
		for _, l := range f.lines {
			var r flowlog.Record
			if err := flowlog.ParseJSON([]byte(l), &r); err != nil {
				t.Fatalf("lake record %q: %v", l, err)
			}
			recs = append(recs, r)
		}
	}
	return recs
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// brokerAndProducer starts the embedded broker with its data in a temp dir and a producer to it.
func brokerAndProducer(t testing.TB) (*broker.Broker, *Producer) {
	t.Helper()
	b := startBroker(t, "", t.TempDir())
	p, _ := testProducer(t, b.Addr())
	return b, p
}

// writeRounds writes rounds batches of makeRecords(n, enis, tgwEvery, seq) through p, one
// sequence over all, and returns every record written, in order.
func writeRounds(t testing.TB, p *Producer, seq map[string]uint64, rounds, n, enis, tgwEvery int) []flowlog.Record {
	t.Helper()
	var sent []flowlog.Record
	for range rounds {
		recs := makeRecords(n, enis, tgwEvery, seq)
		sent = append(sent, recs...)
		if err := p.WriteRecords(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
	}
	return sent
}

// brokerHolding starts the embedded broker and writes rounds batches of
// makeRecords(n, enis, 0, seq) to it through a producer; it returns once the broker holds
// them all, with their number.
func brokerHolding(t testing.TB, seq map[string]uint64, rounds, n, enis int) (*broker.Broker, int) {
	t.Helper()
	b, p := brokerAndProducer(t)
	total := len(writeRounds(t, p, seq, rounds, n, enis, 0))
	waitFor(t, 20*time.Second, "records in the broker", func() bool { return b.Messages(TopicVPC) == int64(total) })
	return b, total
}
