// Package procstat reads a process's resource use from /proc (Linux), for the benchmarks
// that report another process's peak memory and shutdown time.
package procstat

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PeakRSS is the largest resident set the process pid has had so far, in bytes (VmHWM).
func PeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "VmHWM:" {
			kib, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status: VmHWM: %w", pid, err)
			}
			return kib << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
}

// Terminate sends SIGTERM to a started command and waits for it to exit; it returns how
// long that took.
func Terminate(cmd *exec.Cmd) time.Duration {
	t0 := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	return time.Since(t0)
}
