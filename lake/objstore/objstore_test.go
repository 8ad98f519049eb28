package objstore_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/lake/objstore/s3test"
)

// exercise runs the same contract checks against any store.
func exercise(t *testing.T, st objstore.Store) {
	ctx := context.Background()
	if err := st.Put(ctx, "a/b/one.log.gz", strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	w, err := st.Create(ctx, "a/c/two.log.parquet")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("PAR1"))
	if objs, _ := st.List(ctx, "a/c/"); len(objs) != 0 {
		t.Fatalf("staged object visible before commit: %v", objs)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	aborted, _ := st.Create(ctx, "a/d/three")
	aborted.Write([]byte("x"))
	aborted.Abort()

	objs, err := st.List(ctx, "a/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].Key != "a/b/one.log.gz" || objs[0].Size != 5 || objs[1].Key != "a/c/two.log.parquet" {
		t.Fatalf("list: %+v", objs)
	}
	if objs, _ := st.List(ctx, "a/b/o"); len(objs) != 1 {
		t.Fatalf("partial-name prefix: %+v", objs)
	}
	if objs, _ := st.List(ctx, "zzz/"); len(objs) != 0 {
		t.Fatalf("missing prefix: %+v", objs)
	}
	rc, err := st.Get(ctx, "a/c/two.log.parquet")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "PAR1" {
		t.Fatalf("get: %q", b)
	}
	// Overwrite replaces.
	if err := st.Put(ctx, "a/b/one.log.gz", bytes.NewReader([]byte("bye")), 3); err != nil {
		t.Fatal(err)
	}
	rc, _ = st.Get(ctx, "a/b/one.log.gz")
	b, _ = io.ReadAll(rc)
	rc.Close()
	if string(b) != "bye" {
		t.Fatalf("after overwrite: %q", b)
	}
	if _, err := st.Get(ctx, "a/nope"); !objstore.IsNotExist(err) {
		t.Fatalf("missing key: want not-exist error, got %v", err)
	}
	if err := st.Delete(ctx, "a/b/one.log.gz"); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "a/b/one.log.gz"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if objs, _ := st.List(ctx, ""); len(objs) != 1 {
		t.Fatalf("after delete: %+v", objs)
	}
	for _, bad := range []string{"", "/abs", "a/../../etc", "a//b", "dir/"} {
		if err := st.Put(ctx, bad, strings.NewReader(""), 0); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}

func TestDir(t *testing.T) {
	dir := t.TempDir()
	st, err := objstore.Open(dir, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	exercise(t, st)
	// No staged files are left behind.
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if strings.Contains(p, ".objstore-tmp-") {
			t.Errorf("leftover staging file %s", p)
		}
		return nil
	})
}

func TestDirUnwritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	os.WriteFile(file, []byte("x"), 0o644)
	st, _ := objstore.Open("file://"+file, objstore.Options{})
	err := st.Put(context.Background(), "k", strings.NewReader("v"), 1)
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("want an error naming %s, got %v", file, err)
	}
}

func TestS3(t *testing.T) {
	srv := s3test.Start(t)
	st, err := objstore.Open("s3://lake/logs", objstore.Options{Endpoint: srv.Endpoint,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PathStyle: true,
		TempDir: filepath.Join(t.TempDir(), "not", "yet")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.(*objstore.S3).MakeBucket(ctx); err != nil {
		t.Fatal(err)
	}
	exercise(t, st)
	// The prefix is honoured on the server side.
	if _, err := os.Stat(filepath.Join(srv.Root, "lake", "logs", "a", "c", "two.log.parquet")); err != nil {
		t.Fatalf("object not under the prefix on the server: %v", err)
	}
}

func TestS3Unreachable(t *testing.T) {
	st, err := objstore.Open("s3://lake/x", objstore.Options{Endpoint: "http://127.0.0.1:1", PathStyle: true,
		AccessKey: "k", SecretKey: "s", MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = st.Put(ctx, "k", strings.NewReader("v"), 1)
	if err == nil || !strings.Contains(err.Error(), "s3://lake/x/k") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("want an error naming the object and the endpoint, got %v", err)
	}
}

func TestBadURL(t *testing.T) {
	for _, u := range []string{"gs://bucket/x", "s3:///nobucket"} {
		if _, err := objstore.Open(u, objstore.Options{}); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}

// FuzzKeys checks that no key a Dir store accepts escapes its root.
func FuzzKeys(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "a/./b", "/etc/passwd", "a\\..\\b", ".objstore-tmp-x"} {
		f.Add(s)
	}
	root := f.TempDir()
	st, _ := objstore.NewDir(root)
	f.Fuzz(func(t *testing.T, key string) {
		w, err := st.Create(context.Background(), key)
		if err != nil {
			return
		}
		defer w.Abort()
		p := filepath.Join(root, filepath.FromSlash(key))
		if rel, err := filepath.Rel(root, p); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			t.Fatalf("key %q escapes the root: %s", key, p)
		}
	})
}

// TestDirCommitDeferred checks the deferred commit of a local store: the object is in place
// once CommitDeferred returns, with its directory to sync; SyncDirs syncs a list holding
// a directory twice, and reports a directory that is gone.
func TestDirCommitDeferred(t *testing.T) {
	root := t.TempDir()
	st, err := objstore.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var dirs []string
	for _, key := range []string{"a/b/one.parquet", "a/b/two.parquet", "a/c/three.parquet"} {
		w, err := st.Create(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(key))
		dc, ok := w.(objstore.DeferredCommitter)
		if !ok {
			t.Fatal("a local store's writer has no deferred commit")
		}
		dir, err := dc.CommitDeferred(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Dir(filepath.Join(root, key)); dir != want {
			t.Fatalf("%s: directory %s, want %s", key, dir, want)
		}
		if got, err := os.ReadFile(filepath.Join(root, key)); err != nil || string(got) != key {
			t.Fatalf("%s: %q, %v", key, got, err)
		}
		if err := w.Commit(ctx); err == nil {
			t.Fatalf("%s: commit after a deferred commit accepted", key)
		}
		dirs = append(dirs, dir)
	}
	if err := objstore.SyncDirs(dirs...); err != nil {
		t.Fatal(err)
	}
	if err := objstore.SyncDirs(filepath.Join(root, "gone")); err == nil {
		t.Fatal("fsync of a missing directory reported no error")
	}
}

// TestS3CommitNotDeferred checks that an S3 store's writer offers no deferred commit: its
// Commit is the upload.
func TestS3CommitNotDeferred(t *testing.T) {
	st, err := objstore.Open("s3://bucket/prefix", objstore.Options{Endpoint: "http://127.0.0.1:1", AccessKey: "a", SecretKey: "b", TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	w, err := st.Create(context.Background(), "a/b.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, ok := w.(objstore.DeferredCommitter); ok {
		t.Fatal("an S3 writer offers a deferred commit")
	}
}
