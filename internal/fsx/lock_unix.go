//go:build unix

package fsx

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Lock is an exclusive hold on a data directory, released by Close or by the process's
// death (it is an flock, so a SIGKILLed holder never leaves a stale lock behind).
type Lock struct{ f *os.File }

// LockDir takes the lock file ".lock" in dir (creating dir), or fails at once naming the
// process that holds it. Two log stores, brokers or sinks on one directory would both write
// and corrupt each other's state.
func LockDir(dir string) (*Lock, error) {
	if err := MkdirAll(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, ".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := make([]byte, 32)
		n, _ := f.ReadAt(holder, 0)
		f.Close()
		pid := strings.TrimSpace(string(holder[:n]))
		if pid == "" {
			pid = "unknown"
		}
		return nil, fmt.Errorf("%s is in use by another process (pid %s): %w", dir, pid, ErrLocked)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &Lock{f: f}, nil
}

// Close releases the lock.
func (l *Lock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
