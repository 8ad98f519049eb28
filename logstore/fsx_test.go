package logstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/fsx"
)

// A second store on a data directory in use fails at once, naming the holder; once the
// first stops, the directory can be opened again.
func TestSecondStoreOnSameDirFails(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	ts := startStore(t, cfg)
	s2, err := New(cfg, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = s2.Run(ctx)
	if !errors.Is(err, fsx.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second store on the same directory: %v, want ErrLocked naming pid %d", err, os.Getpid())
	}
	ts.stop()
	_ = startStore(t, cfg) // released by the first store's shutdown
}

// WAL segments, chunk files and directories follow fsx's mode policy (group-readable,
// never world-readable).
func TestDataFilesFollowModePolicy(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	ts := startStore(t, cfg)
	pushStreams(t, ts.Store, DefaultTenant, push.Stream{Labels: `{job="m"}`, Entries: entries(1, "a", "b")})
	ts.FlushAll()
	pushStreams(t, ts.Store, DefaultTenant, push.Stream{Labels: `{job="m"}`, Entries: entries(5, "c")})
	var files, dirs int
	err := filepath.Walk(cfg.DataDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == cfg.DataDir {
			return err
		}
		want := fsx.FileMode
		if info.IsDir() {
			want = fsx.DirMode
			dirs++
		} else {
			files++
		}
		if info.Mode().Perm()&^want != 0 {
			t.Errorf("%s: mode %v, want at most %v", p, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	chunks, _ := filepath.Glob(filepath.Join(cfg.DataDir, "chunks", DefaultTenant, "*.chunk"))
	wals, _ := filepath.Glob(filepath.Join(cfg.DataDir, "wal", "*.wal"))
	if len(chunks) == 0 || len(wals) == 0 || dirs < 3 {
		t.Fatalf("expected chunk files, WAL segments and directories: %d chunks, %d wal, %d dirs", len(chunks), len(wals), dirs)
	}
}
