package importer

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/lake/objstore/s3test"
	"github.com/flowtap/flowtap/sinks/parquet"
)

func quiet() *slog.Logger { return testenv.Quiet() }

// newImporter is New for tests: an error fails t.
func newImporter(t testing.TB, cfg Config) *Importer {
	t.Helper()
	im, err := New(cfg, component.Deps{Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// runImport runs a new importer of cfg to its end; an error fails t.
func runImport(t testing.TB, cfg Config) Stats {
	t.Helper()
	st, err := newImporter(t, cfg).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func startBroker(t testing.TB) string {
	t.Helper()
	return testenv.Broker(t, testenv.BrokerConfig(kafka.AllTopics()...)).Addr()
}

// vpcRecords makes n distinct records of one ENI group for an object.
func vpcRecords(obj, n int, account string, start int64) []flowlog.Record {
	recs := make([]flowlog.Record, n)
	for i := range recs {
		line := fmt.Sprintf("2 %s eni-%017d 10.%d.%d.%d 10.9.9.9 %d 443 6 %d %d %d %d ACCEPT OK",
			account, obj*10+i%7, obj, i/256%256, i%256, 1024+i%60000, 1+i%50, 100+i, start, start+60)
		if err := flowlog.DefaultVPC.Parse(&recs[i], line); err != nil {
			panic(err)
		}
	}
	return recs
}

func gzipText(t testing.TB, f *flowlog.Format, recs []flowlog.Record, extra string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(f.Header() + "\n"))
	var line []byte
	for i := range recs {
		line = append(f.AppendText(line[:0], &recs[i]), '\n')
		zw.Write(line)
		if i == len(recs)/2 && extra != "" {
			zw.Write([]byte(extra + "\n"))
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type fixture struct {
	objects map[string][]byte
	want    []string // lossless JSON of every record that must reach Kafka
	bad     int      // bad lines
	badObjs int
}

// awsObjects builds a bucket as AWS fills it: four key layouts, VPC and TGW, gzip text and
// Parquet, plus an object outside the time range, a corrupt object and a bad line.
func awsObjects(t testing.TB, per int) *fixture {
	fx := &fixture{objects: map[string][]byte{}}
	add := func(key string, data []byte, recs []flowlog.Record) {
		fx.objects[key] = data
		for i := range recs {
			fx.want = append(fx.want, string(flowlog.AppendJSON(nil, &recs[i])))
		}
	}
	day1 := time.Date(2024, 5, 1, 0, 5, 0, 0, time.UTC).Unix()
	r := vpcRecords(1, per, "111111111111", day1)
	add("AWSLogs/111111111111/vpcflowlogs/us-east-1/2024/05/01/111111111111_vpcflowlogs_us-east-1_fl-1_20240501T0005Z_a1.log.gz",
		gzipText(t, flowlog.DefaultVPC, r, "2 111111111111 eni-1 not-an-address 10.0.0.1 1 2 6 1 1 1 2 ACCEPT OK"), r)
	fx.bad++
	r = vpcRecords(2, per, "111111111111", day1+3600*5)
	add("AWSLogs/111111111111/vpcflowlogs/eu-west-1/2024/05/01/05/111111111111_vpcflowlogs_eu-west-1_fl-1_20240501T0505Z_b2.log.gz",
		gzipText(t, flowlog.DefaultVPC, r, ""), r)
	r = vpcRecords(3, per, "222222222222", day1+86400)
	add("AWSLogs/aws-account-id=222222222222/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=05/day=02/222222222222_vpcflowlogs_us-east-1_fl-2_20240502T0005Z_c3.log.gz",
		gzipText(t, flowlog.DefaultVPC, r, ""), r)
	// AWS's Parquet, hive-hourly.
	r = vpcRecords(4, per, "222222222222", day1+86400+3*3600)
	var pq bytes.Buffer
	fw := parquet.NewFileWriter(&pq, parquet.DefaultVPCFormat, parquet.WriterOptions{})
	if err := fw.Write(r...); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	back, _, err := parquet.ReadRecords(bytes.NewReader(pq.Bytes()), int64(pq.Len()))
	if err != nil {
		t.Fatal(err)
	}
	add("AWSLogs/aws-account-id=222222222222/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=05/day=02/hour=03/222222222222_vpcflowlogs_us-east-1_fl-2_20240502T0305Z_d4.log.parquet",
		pq.Bytes(), back)
	// Transit Gateway, default TGW format.
	tgw := make([]flowlog.Record, per/2)
	for i := range tgw {
		line := fmt.Sprintf("6 TransitGateway 333333333333 tgw-0123456789abcdef0 tgw-attach-%017d 333333333333 333333333333 vpc-0a1b2c3d4e5f60708 vpc-0f1e2d3c4b5a69788 subnet-0a1b2c3d4e5f60708 subnet-0f1e2d3c4b5a69788 eni-0a1b2c3d4e5f60708 eni-0f1e2d3c4b5a69788 use1-az1 use1-az2 tgw-attach-0f1e2d3c4b5a69788 10.0.1.%d 10.1.2.20 %d 443 6 10 840 %d %d OK IPv4 0 0 0 0 3 us-east-1 ingress - -",
			i%5, i%250, 1024+i, day1, day1+60)
		if err := flowlog.DefaultTGW.Parse(&tgw[i], line); err != nil {
			t.Fatal(err)
		}
	}
	add("AWSLogs/333333333333/vpcflowlogs/us-east-1/2024/05/01/333333333333_vpcflowlogs_us-east-1_tgw-fl-3_20240501T0005Z_e5.log.gz",
		gzipText(t, flowlog.DefaultTGW, tgw, ""), tgw)
	// Outside --from/--to: never imported.
	old := vpcRecords(6, 10, "111111111111", day1-400*86400)
	fx.objects["AWSLogs/111111111111/vpcflowlogs/us-east-1/2023/03/28/111111111111_vpcflowlogs_us-east-1_fl-1_20230328T0005Z_f6.log.gz"] =
		gzipText(t, flowlog.DefaultVPC, old, "")
	// Corrupt: a gzip header then garbage.
	fx.objects["AWSLogs/111111111111/vpcflowlogs/us-east-1/2024/05/01/111111111111_vpcflowlogs_us-east-1_fl-1_20240501T0010Z_g7.log.gz"] =
		append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, bytes.Repeat([]byte{0xff}, 64)...)
	fx.badObjs++
	return fx
}

// consume reads the value of every message of the flow-log topics, checking its kind header.
func consume(t testing.TB, addr string) []string {
	t.Helper()
	var out []string
	for _, m := range testenv.Messages(t, addr, kafka.TopicVPC, kafka.TopicTGW) {
		if want := map[string]string{kafka.TopicVPC: "vpc", kafka.TopicTGW: "tgw"}[m.Topic]; m.Headers[kafka.HeaderKind] != want {
			t.Fatalf("%s message with kind header %q", m.Topic, m.Headers[kafka.HeaderKind])
		}
		out = append(out, m.Value)
	}
	return out
}

// s3Bucket starts an S3 server (versitygw) holding fx's objects under s3://flowlogs/org.
func s3Bucket(t *testing.T, fx *fixture) objstore.Options {
	srv := s3test.Start(t)
	ctx := context.Background()
	opts := objstore.Options{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PathStyle: true}
	st, err := objstore.Open("s3://flowlogs/org", opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.(*objstore.S3).MakeBucket(ctx); err != nil {
		t.Fatal(err)
	}
	for k, data := range fx.objects {
		if err := st.Put(ctx, k, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
	}
	return opts
}

// TestImportS3ResumeExactlyOnce imports a versitygw bucket into the embedded broker, stops
// the import mid-way (after a few acknowledged chunks, inside an object), resumes it with
// the same state file, and checks that Kafka holds every record exactly once.
func TestImportS3ResumeExactlyOnce(t *testing.T) {
	ctx := context.Background()
	fx := awsObjects(t, 3000)
	opts := s3Bucket(t, fx)
	addr := startBroker(t)
	cfg := DefaultConfig()
	cfg.Source, cfg.S3, cfg.Brokers = "s3://flowlogs/org", opts, []string{addr}
	cfg.StateFile = filepath.Join(t.TempDir(), "import.state")
	cfg.ChunkRecords = 300
	cfg.From = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

	im := newImporter(t, cfg)
	stopCtx, stop := context.WithCancel(ctx)
	objects := map[string]bool{}
	im.handed = func(key string, done int64) {
		objects[key] = true
		if len(objects) == 2 && done >= 3*int64(cfg.ChunkRecords) {
			stop() // inside the second object; the reader notices within 64 records
		}
	}
	first, err := im.Run(stopCtx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v (want it stopped)", err)
	}
	var stoppedAt state
	data, _ := os.ReadFile(cfg.StateFile)
	if err := json.Unmarshal(data, &stoppedAt); err != nil || stoppedAt.Current == "" || stoppedAt.Records == 0 {
		t.Fatalf("the first run ended at %s (%v); the test wants a partial object", data, err)
	}
	if n := len(consume(t, addr)); int64(n) != first.Records || n == 0 || n >= len(fx.want) {
		t.Fatalf("after the stop Kafka holds %d records, the first run produced %d (of %d)", n, first.Records, len(fx.want))
	}

	second := runImport(t, cfg)
	if second.Resumed == 0 || first.Records+second.Records != int64(len(fx.want)) {
		t.Fatalf("first %+v\nsecond %+v\nwant %d records in all", first, second, len(fx.want))
	}
	testenv.SameMultiset(t, "records in Kafka", consume(t, addr), fx.want)
	if first.BadLines+second.BadLines != int64(fx.bad) || first.BadObjects+second.BadObjects != fx.badObjs {
		t.Fatalf("bad lines %d+%d, bad objects %d+%d; want %d and %d", first.BadLines, second.BadLines, first.BadObjects, second.BadObjects, fx.bad, fx.badObjs)
	}
	var reported string
	for _, e := range append(first.BadExamples, second.BadExamples...) {
		reported += e + "\n"
	}
	if !strings.Contains(reported, "_a1.log.gz:") || !strings.Contains(reported, "not-an-address") || !strings.Contains(reported, "_g7.log.gz") {
		t.Fatalf("bad input not reported by key and line:\n%s", reported)
	}
	// A third run finds nothing left to do.
	if third := runImport(t, cfg); third.Records != 0 || third.Objects != 0 {
		t.Fatalf("third run: %+v", third)
	}
	testenv.SameMultiset(t, "records in Kafka", consume(t, addr), fx.want)
}

// TestImportFilters: account, region and time filters apply to keys of every layout.
func TestImportFilters(t *testing.T) {
	im := &Importer{cfg: Config{Accounts: []string{"222222222222"}, From: time.Date(2024, 5, 2, 3, 0, 0, 0, time.UTC)}}
	fx := awsObjects(t, 10)
	var kept []string
	for k := range fx.objects {
		if im.selected(k) {
			kept = append(kept, k)
		}
	}
	sort.Strings(kept)
	// The daily hive object of 05/02 overlaps 03:00 onwards; the hourly one is hour 03.
	if len(kept) != 2 || !strings.Contains(kept[0], "day=02/222") || !strings.Contains(kept[1], "hour=03") {
		t.Fatalf("kept %q", kept)
	}
	im.cfg = Config{Regions: []string{"eu-west-1"}}
	if !im.selected("AWSLogs/111111111111/vpcflowlogs/eu-west-1/2024/05/01/05/x.log.gz") || im.selected("AWSLogs/111111111111/vpcflowlogs/us-east-1/2024/05/01/x.log.gz") ||
		im.selected("elsewhere/x.log.gz") || im.selected("AWSLogs/111111111111/vpcflowlogs/eu-west-1/2024/05/01/05/manifest.json") {
		t.Fatal("region filter")
	}
}
