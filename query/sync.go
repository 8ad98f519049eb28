package query

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/flowtap/flowtap/internal/fsx"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/lake/objstore"
)

// An s3:// lake is queried through a local copy: DuckDB reads S3 only with its httpfs
// extension, which it downloads on first use, and flowtap must work offline. Sync copies
// the Parquet files of the time range (chosen from their keys, so other partitions are never
// fetched) into a cache directory that Open then reads; files already there with the same
// size are not fetched again.

// SyncStats says what Sync did.
type SyncStats struct {
	Listed     int   // Parquet objects in the layout
	InRange    int   // of those, in the time range
	Fetched    int   // downloaded now
	Bytes      int64 // bytes downloaded
	Removed    int   // cached files no longer in the store
	Skipped    int   // Parquet objects outside AWS's layout
	CachedSize int64 // bytes of the range now in the cache
}

// syncWorkers bounds parallel downloads.
const syncWorkers = 4

// Sync mirrors the lake files of store that overlap r into dir, keeping the keys as paths,
// and deletes cached Parquet files of the range that the store no longer has.
func Sync(ctx context.Context, store objstore.Store, dir string, r TimeRange) (SyncStats, error) {
	var st SyncStats
	objs, err := store.List(ctx, "")
	if err != nil {
		return st, fmt.Errorf("query: list %s: %w", store, err)
	}
	var todo []objstore.Object
	keep := map[string]bool{}
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, ".parquet") {
			continue
		}
		p, ok := lake.ParsePartition(o.Key)
		if !ok {
			st.Skipped++
			continue
		}
		st.Listed++
		if !p.Overlaps(r.From, r.To) {
			continue
		}
		st.InRange++
		st.CachedSize += o.Size
		local := filepath.Join(dir, filepath.FromSlash(o.Key))
		keep[local] = true
		if fi, err := os.Stat(local); err == nil && fi.Size() == o.Size {
			continue
		}
		todo = append(todo, o)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, fmt.Errorf("query: cache %s: %w", dir, err)
	}
	// Drop cached files of the range that disappeared from the store, so the views match it.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return nil
		}
		if part, ok := lake.ParsePartition(filepath.ToSlash(p)); ok && part.Overlaps(r.From, r.To) && !keep[p] {
			if os.Remove(p) == nil {
				st.Removed++
			}
		}
		return nil
	})
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan objstore.Object)
	)
	for range min(syncWorkers, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range next {
				n, err := fetch(ctx, store, o.Key, filepath.Join(dir, filepath.FromSlash(o.Key)))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					st.Fetched++
					st.Bytes += n
				}
				mu.Unlock()
			}
		}()
	}
	for _, o := range todo {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- o
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return st, firstErr
}

// fetch copies one object to path through fsx's hidden temp file (which Open ignores), so
// a cached file is complete or absent.
func fetch(ctx context.Context, store objstore.Store, key, path string) (int64, error) {
	if err := fsx.MkdirAll(filepath.Dir(path)); err != nil {
		return 0, fmt.Errorf("query: cache %s: %w", path, err)
	}
	rc, err := store.Get(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("query: fetch %s: %w", key, err)
	}
	defer rc.Close()
	n, err := fsx.WriteFrom(path, rc)
	if err != nil {
		return 0, fmt.Errorf("query: fetch %s: %w", key, err)
	}
	return n, nil
}
