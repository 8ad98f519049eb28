package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// The sink's --memory-limit-mib becomes the runtime's soft memory limit; 0 leaves it off,
// and GOMEMLIMIT wins over the default but not over the flag given.
func TestSinkMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	limit := func() int64 { return debug.SetMemoryLimit(-1) }

	cmd := newSinkCmd()
	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "")
	applyMemoryLimit(cmd, defaultSinkMemoryLimitMiB)
	if got := limit(); got != defaultSinkMemoryLimitMiB<<20 {
		t.Fatalf("default: memory limit %d, want %d", got, defaultSinkMemoryLimitMiB<<20)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	applyMemoryLimit(cmd, 0)
	if got := limit(); got != math.MaxInt64 {
		t.Fatalf("--memory-limit-mib 0: memory limit %d, want none", got)
	}
	t.Setenv("GOMEMLIMIT", "1GiB")
	applyMemoryLimit(cmd, defaultSinkMemoryLimitMiB)
	if got := limit(); got != math.MaxInt64 {
		t.Fatalf("GOMEMLIMIT set, flag not given: memory limit %d, want the runtime's own", got)
	}
	if err := cmd.Flags().Set("memory-limit-mib", "100"); err != nil {
		t.Fatal(err)
	}
	applyMemoryLimit(cmd, 100)
	if got := limit(); got != 100<<20 {
		t.Fatalf("flag given beside GOMEMLIMIT: memory limit %d, want %d", got, 100<<20)
	}
}
