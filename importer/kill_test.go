package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestImportHelperProcess is the child of TestImportSIGKILL: it runs an import configured
// by the environment until it is killed.
func TestImportHelperProcess(t *testing.T) {
	spec := os.Getenv("FLOWTAP_IMPORT_CHILD")
	if spec == "" {
		t.Skip("helper process of TestImportSIGKILL")
	}
	var cfg Config
	if err := json.Unmarshal([]byte(spec), &cfg); err != nil {
		t.Fatal(err)
	}
	im, err := New(cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	im.Run(context.Background())
}

// TestImportSIGKILL kills an importing process with SIGKILL after a few checkpoints and
// resumes with its state file: no record is lost, and at most the one chunk acknowledged by
// Kafka but not yet recorded in the state is produced twice.
func TestImportSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	fx := awsObjects(t, 8000)
	for k, data := range fx.objects {
		p := filepath.Join(dir, "src", filepath.FromSlash(k))
		os.MkdirAll(filepath.Dir(p), 0o750)
		if err := os.WriteFile(p, data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	addr := startBroker(t)
	cfg := DefaultConfig()
	cfg.Source, cfg.Brokers = filepath.Join(dir, "src"), []string{addr}
	cfg.StateFile = filepath.Join(dir, "import.state")
	cfg.ChunkRecords = 500
	cfg.From = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	spec, _ := json.Marshal(cfg)

	child := exec.Command(os.Args[0], "-test.run=^TestImportHelperProcess$")
	child.Env = append(os.Environ(), "FLOWTAP_IMPORT_CHILD="+string(spec))
	var out bytes.Buffer
	child.Stdout, child.Stderr = &out, &out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once the state shows a few chunks of some object, before the end.
	deadline := time.Now().Add(60 * time.Second)
	for {
		data, _ := os.ReadFile(cfg.StateFile)
		var st state
		if json.Unmarshal(data, &st) == nil && st.Records >= 3*int64(cfg.ChunkRecords) {
			break
		}
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatalf("no progress in 60 s:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	before := len(consume(t, addr))
	if before == 0 || before >= len(fx.want) {
		t.Fatalf("killed after %d of %d records: want the middle", before, len(fx.want))
	}

	im, err := New(cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	st, err := im.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := consume(t, addr)
	count := map[string]int{}
	for _, v := range got {
		count[v]++
	}
	dups := 0
	for _, v := range fx.want {
		if count[v] == 0 {
			t.Fatalf("record lost across the kill: %s", v)
		}
		dups += count[v] - 1
		count[v] = 0
	}
	for v, n := range count {
		if n > 0 {
			t.Fatalf("record that no object holds: %s", v)
		}
	}
	if dups > cfg.ChunkRecords {
		t.Fatalf("%d records produced twice; at most one chunk (%d) may be", dups, cfg.ChunkRecords)
	}
	if st.Resumed == 0 {
		t.Fatalf("the resumed run started its partial object from the beginning: %+v", st)
	}
	t.Logf("killed after %d records in Kafka; resumed run produced %d (skipped %d of a partial object); %d duplicates", before, st.Records, st.Resumed, dups)
}
