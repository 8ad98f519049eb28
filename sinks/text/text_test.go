package text

import (
	"bufio"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks"
	"github.com/flowtap/flowtap/sinks/sinktest"
)

var v5 = flowlog.MustParseFormat("${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${end} ${type} ${packets} ${bytes} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${action} ${tcp-flags} ${pkt-srcaddr} ${pkt-dstaddr} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${traffic-path} ${flow-direction} ${log-status}")

// sampleLines are AWS's documented v5 examples plus IPv6 and NODATA records.
var sampleLines = []string{
	"5 52.95.128.179 10.0.0.71 80 34210 6 1616729292 1616729349 IPv4 14 15044 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 19 52.95.128.179 10.0.0.71 S3 - - ingress OK",
	"5 10.0.0.71 52.95.128.179 34210 80 6 1616729292 1616729349 IPv4 7 471 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 3 10.0.0.71 52.95.128.179 - S3 8 egress OK",
	"5 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 1616729300 1616729420 IPv6 54 8855 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - REJECT 2 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 - - - ingress OK",
	"5 - - - - - 1616729292 1616729349 - - - 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-0000000000000000a ap-southeast-2 apse2-az3 - - - - - - - - - - NODATA",
}

func sampleRecords(t testing.TB) []flowlog.Record {
	recs := make([]flowlog.Record, len(sampleLines))
	for i, l := range sampleLines {
		if err := v5.Parse(&recs[i], l); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
	}
	return recs
}

// readFile decodes a gzip text file: it checks for a single gzip member, parses the header
// with FormatFromHeader and every line with that format, and returns the records.
func readFile(t *testing.T, store objstore.Store, key string) (*flowlog.Format, []flowlog.Record) {
	t.Helper()
	rc, err := store.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if rest, _ := io.ReadAll(rc); len(rest) != 0 {
		t.Fatalf("%s: %d bytes after the first gzip member", key, len(rest))
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		t.Fatalf("%s: body does not end in a newline", key)
	}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	if !sc.Scan() {
		t.Fatal("no header line")
	}
	f, err := flowlog.FormatFromHeader(sc.Text())
	if err != nil {
		t.Fatal(err)
	}
	var out []flowlog.Record
	for sc.Scan() {
		var r flowlog.Record
		if err := f.Parse(&r, sc.Text()); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		out = append(out, r)
	}
	return f, out
}

func TestFileWriterRoundTrip(t *testing.T) {
	ctx := context.Background()
	store, err := objstore.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	recs := sampleRecords(t)
	fw, err := Create(ctx, store, "a/b.log.gz", v5, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.WriteRecords(recs); err != nil {
		t.Fatal(err)
	}
	// Nothing is visible before Close.
	if objs, _ := store.List(ctx, ""); len(objs) != 0 {
		t.Fatalf("objects visible before commit: %v", objs)
	}
	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	f, got := readFile(t, store, "a/b.log.gz")
	if f.Header() != v5.Header() {
		t.Fatalf("header %q, want %q", f.Header(), v5.Header())
	}
	if len(got) != len(recs) {
		t.Fatalf("got %d records, want %d", len(got), len(recs))
	}
	for i := range recs {
		if a, b := string(v5.AppendText(nil, &got[i])), sampleLines[i]; a != b {
			t.Errorf("record %d:\n got %s\nwant %s", i, a, b)
		}
	}
}

func TestRotatorBucketsAndNames(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, _ := objstore.NewDir(dir)
	cfg := DefaultRotatorConfig()
	cfg.Layout = lake.Hive
	cfg.Lateness = 0
	rot, err := NewRotator(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2023, 1, 21, 21, 0, 0, 0, time.UTC).Unix()
	var recs []flowlog.Record
	for i := 0; i < 30; i++ { // 30 minutes, one record per minute, two accounts
		r := sampleRecords(t)[0]
		r.Start, r.End = base+int64(i*60), base+int64(i*60+59)
		if i%2 == 1 {
			r.AccountID = "111111111111"
		}
		recs = append(recs, r)
	}
	if err := rot.WriteRecords(ctx, recs[:12]); err != nil {
		t.Fatal(err)
	}
	// end of record 11 is 21:11:59: buckets 21:00 and 21:05 are complete.
	if n := len(rot.Files()); n != 4 {
		t.Fatalf("after 12 minutes: %d files closed, want 4: %v", n, rot.Files())
	}
	if err := rot.WriteRecords(ctx, recs[12:]); err != nil {
		t.Fatal(err)
	}
	if err := rot.Close(ctx); err != nil {
		t.Fatal(err)
	}
	files := rot.Files()
	if len(files) != 12 { // 6 buckets × 2 accounts
		t.Fatalf("%d files, want 12: %v", len(files), files)
	}
	total := 0
	for _, k := range files {
		if !strings.HasPrefix(k, "AWSLogs/aws-account-id=") || !strings.HasSuffix(k, Ext) ||
			!strings.Contains(k, "_vpcflowlogs_ap-southeast-2_fl-0123456789abcdef0_20230121T21") {
			t.Errorf("bad key %s", k)
		}
		_, got := readFile(t, store, k)
		total += len(got)
		for _, r := range got {
			if !strings.Contains(k, lake.Bucket(r.End).Format("20060102T1504Z")) || !strings.Contains(k, r.AccountID) {
				t.Errorf("record end %d account %s in file %s", r.End, r.AccountID, k)
			}
		}
	}
	if total != len(recs) {
		t.Fatalf("read %d records, wrote %d", total, len(recs))
	}
	// Same input, same names.
	store2, _ := objstore.NewDir(t.TempDir())
	rot2, _ := NewRotator(cfg, store2)
	rot2.WriteRecords(ctx, recs)
	rot2.Close(ctx)
	a, b := slices.Sorted(slices.Values(rot2.Files())), slices.Sorted(slices.Values(files))
	if !slices.Equal(a, b) {
		t.Fatal("file names differ between identical runs")
	}
}

func TestRotatorSizeLimit(t *testing.T) {
	ctx := context.Background()
	store, _ := objstore.NewDir(t.TempDir())
	cfg := DefaultRotatorConfig()
	cfg.MaxFileBytes = 1 // every record starts a new file
	rot, _ := NewRotator(cfg, store)
	recs := sampleRecords(t)[:2]
	if err := rot.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	rot.Close(ctx)
	if len(rot.Files()) != 2 || rot.Files()[0] == rot.Files()[1] {
		t.Fatalf("files %v, want two distinct", rot.Files())
	}
}

func TestSinkRedeliveryRewritesSameFiles(t *testing.T) {
	store, _ := objstore.NewDir(t.TempDir())
	s, err := New(DefaultConfig(), store, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	b := &sinks.Batch{Topic: "vpc", Partition: 3, FirstOffset: 10, LastOffset: 13, Records: sampleRecords(t)}
	n := 0
	for _, o := range sinktest.Redeliver(t, s, store, b) {
		_, got := readFile(t, store, o.Key)
		n += len(got)
	}
	if n != len(b.Records) {
		t.Fatalf("%d records stored, want %d", n, len(b.Records))
	}
}

func TestUnwritableDirectory(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	store, _ := objstore.NewDir(blocker) // a regular file where a directory should be
	s, _ := New(DefaultConfig(), store, component.Deps{})
	err := s.Write(context.Background(), &sinks.Batch{Topic: "t", Records: sampleRecords(t)})
	if err == nil || !strings.Contains(err.Error(), blocker) {
		t.Fatalf("want an error naming %s, got %v", blocker, err)
	}
}
