package kafka

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/fsx"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/sinks"
)

// TestRunnerStateDirLocked: a second runner on a state directory in use fails at once,
// naming the process that holds it, instead of writing intents beside the first.
func TestRunnerStateDirLocked(t *testing.T) {
	b := startBroker(t, "", t.TempDir())
	cfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	cfg.Group = "g-lock"
	stop := startRunner(t, cfg, &fileSink{dir: t.TempDir()})
	r2, err := NewRunner(cfg, []sinks.Sink{&fileSink{dir: t.TempDir()}}, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "first runner holds its state dir", func() bool {
		b, _ := os.ReadFile(filepath.Join(cfg.StateDir, cfg.Group, ".lock"))
		return len(b) > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	runErr := r2.Run(ctx)
	if !errors.Is(runErr, fsx.ErrLocked) || time.Since(start) > time.Second {
		t.Fatalf("second runner on the same state dir: %v after %v; want refused at once", runErr, time.Since(start))
	}
	if !strings.Contains(runErr.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("refusal %q does not name the holder", runErr)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
