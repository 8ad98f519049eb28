package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flowtap/flowtap/internal/testenv"
)

// TestImportHelperProcess is the child of TestImportSIGKILL: it runs an import configured
// by the environment until it is killed. It produces slowly (small requests, each after a
// pause); after a few checkpoints it stops writing checkpoints (it blocks its state writer)
// while it goes on producing, and after stallRequests more requests it stops producing
// too and touches a marker file: when the parent kills it, Kafka holds records well past
// the checkpoint on disk, the last chunk most likely in part, and the import can never
// have finished first however slow the parent is.
func TestImportHelperProcess(t *testing.T) {
	spec := os.Getenv("FLOWTAP_IMPORT_CHILD")
	if spec == "" {
		t.Skip("helper process of TestImportSIGKILL")
	}
	var cfg Config
	if err := json.Unmarshal([]byte(spec), &cfg); err != nil {
		t.Fatal(err)
	}
	im := newImporter(t, cfg)
	im.out.requestBytes, im.out.pause = 4<<10, 2*time.Millisecond
	var checkpoints, afterStop atomic.Int64
	im.checkpointed = func(state) {
		if checkpoints.Add(1) == 4 {
			select {} // the state writer stops here; producing goes on
		}
	}
	im.out.sent = func() {
		if checkpoints.Load() >= 4 && afterStop.Add(1) == stallRequests {
			os.WriteFile(os.Getenv("FLOWTAP_IMPORT_MARKER"), nil, 0o640)
		}
		if afterStop.Load() >= stallRequests {
			select {} // every sender stops here
		}
	}
	im.Run(context.Background())
}

// stallRequests is how many requests the child sends after its checkpoints stop: with
// 4 KiB requests, over two chunks of 500 records and far from the end of either import.
const stallRequests = 200

// TestImportSIGKILL imports from an S3 server (versitygw), kills the importing process with
// SIGKILL in the middle, resumes with its state file, and checks that Kafka holds every
// record exactly once: the resumed run finds what the killed one produced after its last
// checkpoint and does not produce it again.
func TestImportSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	fx := awsObjects(t, 4000)
	opts := s3Bucket(t, fx)
	dir := t.TempDir()
	addr := startBroker(t)
	cfg := DefaultConfig()
	cfg.Source, cfg.S3, cfg.Brokers = "s3://flowlogs/org", opts, []string{addr}
	cfg.StateFile = filepath.Join(dir, "import.state")
	cfg.ChunkRecords = 500
	cfg.From = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	before, ckpt, out := killImportMidway(t, cfg, addr, len(fx.want))

	second := runImport(t, cfg)
	if second.Present == 0 {
		t.Fatalf("the resumed run found nothing produced after the checkpoint %+v (Kafka held %d records): %+v\n%s", ckpt, before, second, out)
	}
	testenv.SameMultiset(t, "records in Kafka", consume(t, addr), fx.want)
	t.Logf("killed with %d records in Kafka, checkpoint at %s record %d; the resumed run found %d of them past the checkpoint and produced %d",
		before, filepath.Base(ckpt.Current), ckpt.Records, second.Present, second.Records)
}

// killImportMidway runs the import of cfg in a child process (TestImportHelperProcess),
// kills it with SIGKILL once Kafka (at addr) holds two chunks past its last checkpoint, and
// returns how many records Kafka held then, the checkpoint on disk and the child's output.
// total is the number of records the whole import produces: the kill must come before.
func killImportMidway(t *testing.T, cfg Config, addr string, total int) (before int, ckpt state, out string) {
	t.Helper()
	spec, _ := json.Marshal(cfg)
	marker := filepath.Join(t.TempDir(), "checkpoints-stopped")

	child := exec.Command(os.Args[0], "-test.run=^TestImportHelperProcess$")
	child.Env = append(os.Environ(), "FLOWTAP_IMPORT_CHILD="+string(spec), "FLOWTAP_IMPORT_MARKER="+marker)
	var output bytes.Buffer
	child.Stdout, child.Stderr = &output, &output
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatalf("the child never stalled past its last checkpoint in 90 s:\n%s", output.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	before = len(consume(t, addr))
	data, _ := os.ReadFile(cfg.StateFile)
	if err := json.Unmarshal(data, &ckpt); err != nil {
		t.Fatal(err)
	}
	if before == 0 || before >= total {
		t.Fatalf("killed after %d of %d records: want the middle\n%s", before, total, output.String())
	}
	return before, ckpt, output.String()
}
