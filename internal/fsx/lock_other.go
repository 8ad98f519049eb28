//go:build !unix

package fsx

// Lock is a no-op where flock is not available: the directory is not protected.
type Lock struct{}

// LockDir creates dir; it cannot lock it on this platform.
func LockDir(dir string) (*Lock, error) { return &Lock{}, MkdirAll(dir) }

// Close does nothing.
func (l *Lock) Close() error { return nil }
