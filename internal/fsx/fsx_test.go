package fsx

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	if err := WriteFile(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	f, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("two, partial"))
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Fatalf("before commit %s holds %q, want the old content", p, b)
	}
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Fatalf("after abort %s holds %q", p, b)
	}
	if err := WriteFile(p, []byte("three")); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if b, _ := os.ReadFile(p); string(b) != "three" || st.Mode().Perm()&^FileMode != 0 {
		t.Fatalf("%s = %q mode %v", p, b, st.Mode())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries, want only the file (no temp left)", len(ents))
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(filepath.Join(dir, "a.parquet")) // a writer that died before Commit
	if err != nil {
		t.Fatal(err)
	}
	f.File.Close()
	os.WriteFile(filepath.Join(dir, "b.parquet"), []byte("x"), 0o640)
	n, err := RemoveTemps(dir)
	if err != nil || n != 1 {
		t.Fatalf("RemoveTemps = %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.parquet")); err != nil {
		t.Fatal("a committed file was removed")
	}
}

// TestLockDirExcludesAnotherProcess: a second process cannot take the lock while the first
// holds it, and can once it is released.
func TestLockDirExcludesAnotherProcess(t *testing.T) {
	if os.Getenv("FSX_LOCK_CHILD") != "" {
		_, err := LockDir(os.Getenv("FSX_LOCK_CHILD"))
		if errors.Is(err, ErrLocked) {
			os.Stdout.WriteString("locked: " + err.Error())
			os.Exit(3)
		}
		if err != nil {
			os.Exit(4)
		}
		os.Exit(0)
	}
	dir := t.TempDir()
	l, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	child := func() (int, string) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLockDirExcludesAnotherProcess$")
		cmd.Env = append(os.Environ(), "FSX_LOCK_CHILD="+dir)
		out, _ := cmd.Output()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	if code, out := child(); code != 3 || !strings.Contains(out, "pid ") {
		t.Fatalf("second process while locked: exit %d %q; want refused naming the holder", code, out)
	}
	l.Close()
	if code, out := child(); code != 0 {
		t.Fatalf("second process after release: exit %d %q", code, out)
	}
}
