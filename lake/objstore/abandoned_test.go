package objstore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/lake/objstore"
)

// TestDirRemovesAbandonedStagedFiles: staged files that a writer killed between Create and
// Commit left in the lake are removed when a store starts writing; those of live writers
// (this process's other stores, other running processes) are kept. Committed objects are
// group-readable (0640).
func TestDirRemovesAbandonedStagedFiles(t *testing.T) {
	root := t.TempDir()
	child := exec.Command("true")
	if err := child.Run(); err != nil {
		t.Skipf("cannot run a child process to get a dead pid: %v", err)
	}
	dead := child.Process.Pid
	part := filepath.Join(root, "AWSLogs", "year=2024", "hour=00")
	os.MkdirAll(part, 0o750)
	touch := func(name string, age time.Duration) string {
		p := filepath.Join(part, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		os.Chtimes(p, old, old)
		return p
	}
	gone := []string{
		touch(fmt.Sprintf(".objstore-tmp-%d-a.parquet.123", dead), 0), // SIGKILLed sink
		touch(".objstore-tmp-b.parquet.456", 2*time.Hour),             // older version, long dead
	}
	kept := []string{
		touch(fmt.Sprintf(".objstore-tmp-%d-c.parquet.789", os.Getpid()), 0), // another store of this process
		touch(".objstore-tmp-1-d.parquet.1", 0),                              // pid 1 is alive
		touch(".objstore-tmp-e.parquet.2", time.Minute),                      // no pid, recent
	}
	st, err := objstore.Open(root, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(context.Background(), "AWSLogs/x.parquet", strings.NewReader("data"), 4); err != nil {
		t.Fatal(err)
	}
	for _, p := range gone {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("abandoned staged file %s still there (%v)", filepath.Base(p), err)
		}
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("staged file of a live writer %s removed: %v", filepath.Base(p), err)
		}
	}
	info, err := os.Stat(filepath.Join(root, "AWSLogs", "x.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o640 {
		t.Errorf("object mode %v, want 0640 (group-readable)", info.Mode().Perm())
	}
}
