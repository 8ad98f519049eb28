package objstore

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/flowtap/flowtap/internal/fsx"
)

// S3 is a Store in a bucket of an S3-compatible server, under an optional key prefix.
// Objects are staged in a local temp file and PUT on Commit; a PUT that returns nil was
// acknowledged by the server.
type S3 struct {
	client  *minio.Client
	bucket  string
	prefix  string // "" or "dir/…/" with a trailing slash
	tempDir string
	url     string
	sweep   sync.Once // staged files of dead writers in tempDir are removed once
}

// openS3 parses s3://bucket/prefix and builds the client; it does no I/O.
func openS3(rawURL string, opts Options) (*S3, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("objstore: bad S3 URL %q: want s3://bucket/prefix", rawURL)
	}
	endpoint := firstNonEmpty(opts.Endpoint, os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL"), "s3.amazonaws.com")
	secure := true
	if strings.Contains(endpoint, "://") {
		eu, err := url.Parse(endpoint)
		if err != nil || eu.Host == "" {
			return nil, fmt.Errorf("objstore: bad S3 endpoint %q", endpoint)
		}
		secure = eu.Scheme != "http"
		endpoint = eu.Host
	}
	access := firstNonEmpty(opts.AccessKey, os.Getenv("AWS_ACCESS_KEY_ID"))
	secret := firstNonEmpty(opts.SecretKey, os.Getenv("AWS_SECRET_ACCESS_KEY"))
	region := firstNonEmpty(opts.Region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), "us-east-1")
	lookup := minio.BucketLookupAuto
	if opts.PathStyle {
		lookup = minio.BucketLookupPath
	}
	retries := opts.MaxRetries
	if retries <= 0 {
		retries = 3
	}
	client, err := minio.New(endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(access, secret, os.Getenv("AWS_SESSION_TOKEN")),
		Secure:       secure,
		Region:       region,
		BucketLookup: lookup,
		MaxRetries:   retries,
	})
	if err != nil {
		return nil, fmt.Errorf("objstore: S3 client for %s: %w", endpoint, err)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &S3{client: client, bucket: u.Host, prefix: prefix, tempDir: opts.TempDir,
		url: "s3://" + u.Host + "/" + prefix}, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func (s *S3) String() string { return s.url }

// Bucket is the bucket name.
func (s *S3) Bucket() string { return s.bucket }

func (s *S3) errf(op, key string, err error) error {
	return fmt.Errorf("objstore: %s s3://%s/%s%s: %w", op, s.bucket, s.prefix, key, err)
}

// Create stages key in a local temp file; Commit uploads it.
func (s *S3) Create(ctx context.Context, key string) (Writer, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if s.tempDir != "" {
		if err := fsx.MkdirAll(s.tempDir); err != nil {
			return nil, s.errf("stage", key, err)
		}
		s.sweep.Do(func() { removeAbandoned(s.tempDir, false) })
	}
	f, err := stagingFile(s.tempDir, path.Base(key))
	if err != nil {
		return nil, s.errf("stage", key, err)
	}
	return &s3Writer{s: s, key: key, staged: staged{f: f, writeErr: func(err error) error {
		return s.errf("stage", key, err)
	}}}, nil
}

type s3Writer struct {
	staged
	s   *S3
	key string
}

func (w *s3Writer) Commit(ctx context.Context) error {
	if err := w.commitOnce(); err != nil {
		return err
	}
	defer func() {
		w.f.Close()
		os.Remove(w.f.Name())
	}()
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return w.s.errf("stage", w.key, err)
	}
	return w.s.Put(ctx, w.key, w.f, w.n)
}

// Put uploads size bytes of r as one object.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, r, size, minio.PutObjectOptions{
		ContentType: contentType(key),
	})
	if err != nil {
		return s.errf("put", key, err)
	}
	return nil
}

func contentType(key string) string {
	switch {
	case strings.HasSuffix(key, ".gz"):
		return "application/gzip"
	case strings.HasSuffix(key, ".parquet"):
		return "application/vnd.apache.parquet"
	}
	return "application/octet-stream"
}

// Get opens key; it checks the object exists first so that a missing key fails here and
// matches fs.ErrNotExist.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err == nil {
		_, err = obj.Stat()
	}
	if err != nil {
		if obj != nil {
			obj.Close()
		}
		return nil, s.errf("get", key, s3NotExist(err))
	}
	return obj, nil
}

// s3NotExist wraps fs.ErrNotExist into errors for missing keys and buckets.
func s3NotExist(err error) error {
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, minio.NoSuchBucket:
		return fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	return err
}

// List returns the objects under prefix.
func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, s.errf("list", prefix, o.Err)
		}
		out = append(out, Object{Key: strings.TrimPrefix(o.Key, s.prefix), Size: o.Size, Modified: o.LastModified})
	}
	return out, nil
}

// Delete removes key.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil
		}
		return s.errf("delete", key, err)
	}
	return nil
}

// MakeBucket creates the bucket if it does not exist (for tests and first runs).
func (s *S3) MakeBucket(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("objstore: bucket %s: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	if err := s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("objstore: make bucket %s: %w", s.bucket, err)
	}
	return nil
}
