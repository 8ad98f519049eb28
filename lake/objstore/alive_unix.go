//go:build unix

package objstore

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process with pid exists (signal 0 probes without sending).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
