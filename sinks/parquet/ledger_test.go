package parquet

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/lake/objstore"
)

// failingCommits is a real directory store whose commit number failAt fails once.
type failingCommits struct {
	*objstore.Dir
	commits, failAt int
}

func (f *failingCommits) Create(ctx context.Context, key string) (objstore.Writer, error) {
	w, err := f.Dir.Create(ctx, key)
	if err != nil {
		return nil, err
	}
	return &failingWriter{Writer: w, f: f}, nil
}

type failingWriter struct {
	objstore.Writer
	f *failingCommits
}

func (w *failingWriter) Commit(ctx context.Context) error {
	w.f.commits++
	if w.f.commits == w.f.failAt {
		w.Writer.Abort()
		return errors.New("injected commit failure")
	}
	return w.Writer.Commit(ctx)
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestRetriedBatchCountedOnce: a batch whose second object fails to commit is retried by
// the runner and rewrites its first object; rows and objects are counted once.
func TestRetriedBatchCountedOnce(t *testing.T) {
	dir, _ := objstore.NewDir(t.TempDir())
	st := &failingCommits{Dir: dir, failAt: 2}
	reg := prometheus.NewRegistry()
	s, err := New(DefaultConfig(), st, component.Deps{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	b := mixedBatch(t)
	ctx := context.Background()
	if err := s.Write(ctx, b); err == nil {
		t.Fatal("the injected failure did not surface")
	}
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	objs, _ := dir.List(ctx, "")
	if rows := counter(t, reg, "flowtap_sink_parquet_rows_total"); rows != float64(len(b.Records)) {
		t.Fatalf("sink_parquet_rows_total = %v after a retried batch of %d records", rows, len(b.Records))
	}
	if n := counter(t, reg, "flowtap_sink_parquet_objects_total"); n != float64(len(objs)) {
		t.Fatalf("sink_parquet_objects_total = %v, %d objects in the store", n, len(objs))
	}
}
