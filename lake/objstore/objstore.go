// Package objstore is the minimal object store the sinks write to: a flat key space of
// immutable objects in a local directory or in any S3-compatible bucket.
//
// Objects are staged in a local temporary file and become visible only on Commit: a local
// store fsyncs the file, renames it into place and fsyncs the directory; an S3 store PUTs
// the file and returns once the server acknowledged it. Either way an object is complete or
// absent, never partial, and Commit returning nil means it is durable.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flowtap/flowtap/internal/fsx"
)

// Store is a flat key space of objects. Keys use "/" as separator and never start with one.
type Store interface {
	// Create stages a new object under key. Nothing is visible until Commit.
	Create(ctx context.Context, key string) (Writer, error)
	// Put stores size bytes from r under key, durably, replacing any previous object.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get opens the object under key; a missing key gives an error matching fs.ErrNotExist.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the objects whose keys start with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// String names the store as a URL (a directory path or s3://bucket/prefix).
	String() string
}

// Writer stages one object. Exactly one of Commit or Abort must be called.
type Writer interface {
	io.Writer
	// Commit makes the object visible under its key and durable; afterwards the writer is
	// closed whatever the result.
	Commit(ctx context.Context) error
	// Abort discards the staged data.
	Abort() error
	// Size is the number of bytes written so far.
	Size() int64
}

// Object describes one stored object.
type Object struct {
	Key      string
	Size     int64
	Modified time.Time
}

// Options configure Open. Zero values take the environment: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION and AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL.
type Options struct {
	// Endpoint of the S3 server, e.g. "http://127.0.0.1:7070" or "s3.amazonaws.com". A URL
	// with http:// disables TLS.
	Endpoint string
	// AccessKey and SecretKey are the S3 credentials.
	AccessKey string
	SecretKey string
	// Region of the bucket; "us-east-1" when empty.
	Region string
	// PathStyle addresses buckets as endpoint/bucket instead of bucket.endpoint (needed by
	// most self-hosted servers).
	PathStyle bool
	// MaxRetries bounds the S3 client's own retries of one request (default 3); the caller
	// retries whole batches.
	MaxRetries int
	// TempDir holds staged files of an S3 store; os.TempDir() when empty.
	TempDir string
}

// Open opens the store named by url: "s3://bucket/prefix" for an S3-compatible bucket,
// "file:///path" or a plain path for a local directory. It does no I/O; the first
// operation reports an unreachable or unwritable destination.
func Open(url string, opts Options) (Store, error) {
	switch {
	case strings.HasPrefix(url, "s3://"):
		return openS3(url, opts)
	case strings.HasPrefix(url, "file://"):
		return NewDir(strings.TrimPrefix(url, "file://"))
	case strings.Contains(url, "://"):
		return nil, fmt.Errorf("objstore: unsupported URL %q (want a directory, file:// or s3://bucket/prefix)", url)
	}
	return NewDir(url)
}

// ErrBadKey is returned for keys that are empty, absolute or contain "." or ".." segments.
var ErrBadKey = errors.New("objstore: invalid key")

func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return fmt.Errorf("%w %q", ErrBadKey, key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, tempPrefix) {
			return fmt.Errorf("%w %q", ErrBadKey, key)
		}
	}
	return nil
}

// IsNotExist reports whether err says an object does not exist.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// tempPrefix starts the names of staged files; List skips them and keys may not use it.
const tempPrefix = ".objstore-tmp-"

// stagingFile creates a temp file in dir for an object whose final name is base, named
// .objstore-tmp-<pid>-<base>.* so that a later process can tell a dead writer's leftovers
// from a live one's, with the lake's file mode (fsx.FileMode, group-readable).
func stagingFile(dir, base string) (*os.File, error) {
	f, err := os.CreateTemp(dir, tempPrefix+strconv.Itoa(os.Getpid())+"-"+base+".*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(fsx.FileMode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// staged is the temp file a Writer stages its object in. Write, Size and Abort are the
// same for every store; each store's Writer adds its own Commit, which calls commitOnce.
type staged struct {
	f    *os.File
	n    int64
	done bool
	// writeErr names the object in an error of Write.
	writeErr func(error) error
}

func (w *staged) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.n += int64(n)
	if err != nil {
		err = w.writeErr(err)
	}
	return n, err
}

func (w *staged) Size() int64 { return w.n }

func (w *staged) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.f.Name())
}

// commitOnce marks the writer done at the start of Commit, or fails if it already is.
func (w *staged) commitOnce() error {
	if w.done {
		return errors.New("objstore: commit after commit or abort")
	}
	w.done = true
	return nil
}

// legacyStagedAge is how old a staged file without a writer pid (from an older version)
// must be before it counts as abandoned.
const legacyStagedAge = time.Hour

// abandoned reports whether the staged file name (with its modification time) was left by
// a writer that died: its pid is not a running process (and not this one, whose other
// stores may be writing). Files without a pid are abandoned once legacyStagedAge old.
func abandoned(name string, mod time.Time) bool {
	rest, ok := strings.CutPrefix(name, tempPrefix)
	if !ok {
		return false
	}
	digits, _, ok := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(digits)
	if !ok || err != nil || pid <= 0 {
		return time.Since(mod) > legacyStagedAge
	}
	return pid != os.Getpid() && !processAlive(pid)
}

// removeAbandoned deletes the abandoned staged files under root (recursively when deep) and
// returns how many it removed. A writer SIGKILLed between create and commit leaves one.
func removeAbandoned(root string, deep bool) (int, error) {
	n := 0
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipAll
			}
			return nil // unreadable corners are not ours to judge
		}
		if e.IsDir() {
			if p != root && !deep {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(e.Name(), tempPrefix) {
			return nil
		}
		info, err := e.Info()
		if err != nil || !abandoned(e.Name(), info.ModTime()) {
			return nil
		}
		if os.Remove(p) == nil {
			n++
		}
		return nil
	})
	return n, err
}
