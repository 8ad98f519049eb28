package child

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStartLogsOutputAndExitStatus(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "out.log")
	p, err := Start(logPath, "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done
	if !p.Exited() || p.Err == nil || !strings.Contains(p.Err.Error(), "exit status 3") {
		t.Fatalf("exited %v, err %v; want exit status 3", p.Exited(), p.Err)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); !strings.Contains(got, "to-stdout") || !strings.Contains(got, "to-stderr") {
		t.Fatalf("log %q lacks the process's stdout or stderr", got)
	}
}

func TestStopKillsAProcessThatIgnoresSIGTERM(t *testing.T) {
	p, err := Start(filepath.Join(t.TempDir(), "out.log"), "sh", "-c", "trap '' TERM; exec sleep 30")
	if err != nil {
		t.Fatal(err)
	}
	p.Stop(200 * time.Millisecond)
	if !p.Exited() {
		t.Fatal("still running after Stop")
	}
	p.Stop(time.Second) // a second Stop of an ended process returns at once
}

func TestStartMissingBinary(t *testing.T) {
	if _, err := Start(filepath.Join(t.TempDir(), "out.log"), filepath.Join(t.TempDir(), "no-such-binary")); err == nil {
		t.Fatal("started a binary that does not exist")
	}
}

func TestUsageOfARunningProcess(t *testing.T) {
	p, err := Start(filepath.Join(t.TempDir(), "out.log"), "sleep", "30")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	if cpu, err := p.CPUTime(); err != nil || cpu < 0 {
		t.Fatalf("CPU time %v, %v", cpu, err)
	}
	if rss, err := p.PeakRSSKiB(); err != nil || rss <= 0 {
		t.Fatalf("peak RSS %d KiB, %v", rss, err)
	}
}

func TestFreePorts(t *testing.T) {
	ports, err := FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || p > 65535 || seen[p] {
			t.Fatalf("ports %v: want 3 distinct valid ports", ports)
		}
		seen[p] = true
	}
	if len(seen) != 3 {
		t.Fatalf("ports %v: want 3", ports)
	}
}
