package query

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/lake/objstore/s3test"
)

// TestSyncFromS3 uploads the fixture lake to a real S3 server, syncs a time range into a
// cache and checks that only that range's objects were fetched and that the views over the
// cache give the same answers as over the original directory.
func TestSyncFromS3(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	store, err := objstore.Open("s3://lake/some/prefix", objstore.Options{
		Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PathStyle: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.(*objstore.S3).MakeBucket(ctx); err != nil {
		t.Fatal(err)
	}
	src := writeFixtureLake(t, lake.HiveHourly)
	var uploaded int
	filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := store.Put(ctx, filepath.ToSlash(rel), f, fi.Size()); err != nil {
			t.Fatal(err)
		}
		uploaded++
		return nil
	})
	cache := t.TempDir()
	r := TimeRange{From: time.Date(2024, 5, 3, 0, 0, 0, 0, time.UTC)}
	st, err := Sync(ctx, store, cache, r)
	if err != nil {
		t.Fatal(err)
	}
	// Day 3 holds two VPC files (us-east-1 and us-west-2, both hour 23).
	if st.Listed != uploaded || st.InRange != 2 || st.Fetched != 2 || st.Bytes == 0 {
		t.Fatalf("sync stats %+v (uploaded %d)", st, uploaded)
	}
	st, err = Sync(ctx, store, cache, r)
	if err != nil || st.Fetched != 0 || st.InRange != 2 {
		t.Fatalf("second sync must fetch nothing: %+v %v", st, err)
	}
	e := openLake(t, cache, r)
	if got := csvOf(t, e, "SELECT count(*) AS n, sum(bytes) AS b FROM vpc_flow_logs"); got != "n,b\n2,20060\n" {
		t.Fatalf("synced lake: %s", got)
	}
	// An object deleted from the store disappears from the cache.
	objs, _ := store.List(ctx, "AWSLogs/")
	for _, o := range objs {
		if strings.Contains(o.Key, "aws-region=us-west-2") {
			store.Delete(ctx, o.Key)
		}
	}
	st, err = Sync(ctx, store, cache, r)
	if err != nil || st.Removed != 1 {
		t.Fatalf("removed %+v %v", st, err)
	}
	e2 := openLake(t, cache, r)
	if n := len(e2.Files(flowlog.KindVPC)); n != 1 {
		t.Fatalf("files after delete: %d", n)
	}
}
