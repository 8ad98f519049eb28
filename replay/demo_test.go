package replay

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/flowtap/flowtap/replay/internal/demo"
)

var update = flag.Bool("update", false, "rewrite testdata/demo.pcap from the generator")

// TestDemoPcap keeps the committed demo capture equal to what its generator makes, and
// checks that it reads cleanly.
func TestDemoPcap(t *testing.T) {
	want, err := demo.Build()
	if err != nil {
		t.Fatal(err)
	}
	const path = "../testdata/demo.pcap"
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go generate ./replay (or go test ./replay -run TestDemoPcap -update)", path)
	}
	if len(got) > 100<<10 {
		t.Errorf("demo capture is %d bytes, want < 100 KB", len(got))
	}
	c, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Packets) < 50 || c.SkippedTotal() != 0 {
		t.Fatalf("demo capture: %d packets, skipped %v", len(c.Packets), c.Skipped)
	}
}
