// Package child starts the benchmarks' helper processes (brokers, servers, flowtap itself)
// with their output in a log file, and stops them.
package child

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flowtap/flowtap/internal/procstat"
)

// Process is a started process whose stdout and stderr go to LogPath.
type Process struct {
	Cmd     *exec.Cmd
	LogPath string
	Started time.Time
	// Done is closed once the process has exited; Err then holds how.
	Done chan struct{}
	Err  error
}

// Start starts bin with args, its output to a new file at logPath.
func Start(logPath, bin string, args ...string) (*Process, error) {
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Process{Cmd: cmd, LogPath: logPath, Started: time.Now(), Done: make(chan struct{})}
	go func() {
		p.Err = cmd.Wait()
		out.Close()
		close(p.Done)
	}()
	return p, nil
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.Done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM, waits up to grace for the process to end, then kills it.
func (p *Process) Stop(grace time.Duration) {
	if p == nil || p.Exited() {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.Done:
	case <-time.After(grace):
		_ = p.Cmd.Process.Kill()
		<-p.Done
	}
}

// CPUTime is the user and system CPU time the process has used so far, from /proc (Linux).
func (p *Process) CPUTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The fields after the parenthesised command name; utime and stime are the stat file's
	// 14th and 15th, in clock ticks (USER_HZ, 100 on Linux).
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command", p.Cmd.Process.Pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", p.Cmd.Process.Pid, err)
	}
	return time.Duration(ut+st) * time.Second / 100, nil
}

// PeakRSSKiB is the largest resident set the process has had so far, in KiB (VmHWM in /proc).
func (p *Process) PeakRSSKiB() (int64, error) {
	b, err := procstat.PeakRSS(p.Cmd.Process.Pid)
	return b >> 10, err
}

// FreePorts returns n distinct TCP ports on 127.0.0.1 that were free a moment ago.
func FreePorts(n int) ([]int, error) {
	// All listeners stay open until every port is known, so that no port is handed out twice.
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}
