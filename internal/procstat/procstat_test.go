package procstat

import (
	"os"
	"os/exec"
	"testing"
)

func TestPeakRSSOfThisProcess(t *testing.T) {
	before, err := PeakRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<20)
	for i := range buf { // touch every page so it is resident
		buf[i] = byte(i)
	}
	after, err := PeakRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after < before+32<<20 || buf[len(buf)-1] != byte(len(buf)-1) {
		t.Fatalf("peak RSS %d → %d bytes after touching 64 MiB", before, after)
	}
	if _, err := PeakRSS(-1); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}

func TestTerminate(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if d := Terminate(cmd); d <= 0 {
		t.Fatalf("Terminate measured %v", d)
	}
	if cmd.ProcessState == nil || cmd.ProcessState.Success() {
		t.Fatalf("sleep did not end by a signal: %v", cmd.ProcessState)
	}
}
