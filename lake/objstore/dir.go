package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/flowtap/flowtap/internal/fsx"
)

// Dir is a Store in a local directory. Commit writes durably: fsync the staged file, rename
// it into place, fsync the directory.
type Dir struct {
	root  string
	sweep sync.Once
}

// NewDir returns a store rooted at dir. It does no I/O; the directory is created on the
// first write.
func NewDir(dir string) (*Dir, error) {
	if dir == "" {
		return nil, errors.New("objstore: empty directory name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("objstore: %s: %w", dir, err)
	}
	return &Dir{root: abs}, nil
}

// Root is the directory holding the objects.
func (d *Dir) Root() string { return d.root }

func (d *Dir) String() string { return d.root }

func (d *Dir) path(key string) string { return filepath.Join(d.root, filepath.FromSlash(key)) }

// removeAbandoned deletes, once per store before its first write, the staged files that
// writers killed between Create and Commit left anywhere in the store.
func (d *Dir) removeAbandoned() {
	if n, err := removeAbandoned(d.root, true); n > 0 || err != nil {
		slog.Info("objstore: removed staged files of writers that died", "dir", d.root, "files", n, "err", err)
	}
}

// Create stages key in a temp file beside its final place, so that Commit is a rename.
func (d *Dir) Create(ctx context.Context, key string) (Writer, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	d.sweep.Do(d.removeAbandoned)
	final := d.path(key)
	dir := filepath.Dir(final)
	if err := fsx.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("objstore: create %s: %w", final, err)
	}
	f, err := stagingFile(dir, filepath.Base(final))
	if err != nil {
		return nil, fmt.Errorf("objstore: create %s: %w", final, err)
	}
	return &dirWriter{final: final, staged: staged{f: f, writeErr: func(err error) error {
		return fmt.Errorf("objstore: write %s: %w", final, err)
	}}}, nil
}

type dirWriter struct {
	staged
	final string
}

func (w *dirWriter) Commit(ctx context.Context) error {
	dir, err := w.CommitDeferred(ctx)
	if err != nil {
		return err
	}
	return SyncDirs(dir)
}

// CommitDeferred is Commit without the final fsync of the object's directory: the staged
// file is fsynced and renamed into place, and the object is durable once SyncDirs synced
// the returned directory. A writer of several objects in a few directories syncs each
// directory once.
func (w *dirWriter) CommitDeferred(ctx context.Context) (dir string, err error) {
	if err := w.commitOnce(); err != nil {
		return "", err
	}
	tmp := w.f.Name()
	fail := func(op string, err error) (string, error) {
		w.f.Close()
		os.Remove(tmp)
		return "", fmt.Errorf("objstore: %s %s: %w", op, w.final, err)
	}
	if err := ctx.Err(); err != nil {
		return fail("commit", err)
	}
	if err := w.f.Sync(); err != nil {
		return fail("fsync", err)
	}
	if err := w.f.Close(); err != nil {
		return fail("close", err)
	}
	if err := os.Rename(tmp, w.final); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("objstore: rename %s: %w", w.final, err)
	}
	return filepath.Dir(w.final), nil
}

// DeferredCommitter is implemented by the writers of stores (Dir) whose Commit ends with
// an fsync of the object's directory; see dirWriter.CommitDeferred.
type DeferredCommitter interface {
	CommitDeferred(ctx context.Context) (dir string, err error)
}

// SyncDirs fsyncs each directory once, making the renames into them durable.
func SyncDirs(dirs ...string) error {
	for i, d := range dirs {
		if slices.Contains(dirs[:i], d) {
			continue
		}
		if err := fsx.SyncDir(d); err != nil {
			return fmt.Errorf("objstore: fsync directory %s: %w", d, err)
		}
	}
	return nil
}

// Put copies r into key durably.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	w, err := d.Create(ctx, key)
	if err != nil {
		return err
	}
	n, err := io.Copy(w, r)
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("objstore: put %s: got %d bytes, want %d", key, n, size)
	}
	if err != nil {
		w.Abort()
		return err
	}
	return w.Commit(ctx)
}

// Get opens key for reading.
func (d *Dir) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(d.path(key))
	if err != nil {
		return nil, fmt.Errorf("objstore: get %s: %w", key, err)
	}
	return f, nil
}

// List walks the directory under prefix, skipping staged files.
func (d *Dir) List(ctx context.Context, prefix string) ([]Object, error) {
	start := d.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = d.path(prefix[:i])
	}
	var out []Object
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == start {
				return filepath.SkipAll
			}
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), tempPrefix) {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		out = append(out, Object{Key: key, Size: info.Size(), Modified: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("objstore: list %s/%s: %w", d.root, prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete removes key.
func (d *Dir) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := os.Remove(d.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("objstore: delete %s: %w", key, err)
	}
	return nil
}
