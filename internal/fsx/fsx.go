// Package fsx holds the file-system habits every durable part of flowtap shares: one
// file-mode policy, atomic file replacement (temp file, fsync, rename, fsync of the
// directory), directory sync, and an exclusive lock on a data directory so two processes
// never write the same state.
package fsx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The file-mode policy for everything flowtap writes: data is readable by the owner's group
// (so analysts or another account's Athena/Spark/DuckDB user in that group can read the
// lake), never by others, and writable by the owner only. The process umask still applies.
const (
	FileMode os.FileMode = 0o640
	DirMode  os.FileMode = 0o750
)

// MkdirAll creates dir and its parents with DirMode.
func MkdirAll(dir string) error { return os.MkdirAll(dir, DirMode) }

// SyncDir fsyncs a directory, making the creation, rename or removal of its entries durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// File is a file being written in place of path: readers see the old content (or nothing)
// until Commit, then all of the new content. Write through it like an *os.File.
type File struct {
	*os.File
	path string
	done bool
}

// Create starts replacing path. The temp file is hidden (".name.tmp-*") in path's directory,
// so listings that skip dot files never see a partial file.
func Create(path string) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(FileMode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &File{File: f, path: path}, nil
}

// Commit makes the written content durable and visible at path: fsync, close, rename,
// fsync of the directory. On error the temp file is removed and path is unchanged.
func (f *File) Commit() error {
	if f.done {
		return errors.New("fsx: commit of a finished file")
	}
	f.done = true
	tmp := f.File.Name()
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return SyncDir(filepath.Dir(f.path))
}

// Abort discards the temp file; path is unchanged. Abort after Commit does nothing, so
// `defer f.Abort()` is safe.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	f.File.Close()
	return os.Remove(f.File.Name())
}

// WriteFile replaces path with data atomically and durably.
func WriteFile(path string, data []byte) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// WriteFrom replaces path with everything r yields, atomically and durably, and returns the
// number of bytes written.
func WriteFrom(path string, r io.Reader) (int64, error) {
	f, err := Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Abort()
	n, err := io.Copy(f, r)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", path, err)
	}
	return n, f.Commit()
}

// RemoveTemps deletes the temp files Create leaves behind when a process dies between
// Create and Commit (".name.tmp-*" in dir, not recursive) and returns how many it removed.
func RemoveTemps(dir string) (int, error) {
	matches, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range matches {
		if err := os.Remove(m); err == nil {
			n++
		}
	}
	return n, nil
}
