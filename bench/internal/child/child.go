// Package child starts the benchmarks' helper processes (brokers, servers, flowtap itself)
// with their output in a log file, and stops them.
package child

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
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

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
