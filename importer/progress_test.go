package importer

import (
	"bytes"
	"strings"
	"testing"
)

// TestProgressCountsEverything: the progress display's last line reports every object and
// record of the import and a full bar, and every redraw starts at the line's beginning.
func TestProgressCountsEverything(t *testing.T) {
	const objects, per = 3, 1500
	cfg := DefaultConfig()
	cfg.Source, cfg.Brokers, cfg.ChunkRecords = benchDir(t, objects, per), []string{startBroker(t)}, 400
	var out bytes.Buffer
	cfg.Progress = &out
	if st := runImport(t, cfg); st.Records != objects*per {
		t.Fatalf("imported %d records, want %d", st.Records, objects*per)
	}
	text := strings.TrimSuffix(out.String(), "\n")
	if !strings.HasPrefix(text, "\r") || strings.Contains(text, "\n") {
		t.Fatalf("progress output %q: want redraws in place on one line", text)
	}
	draws := strings.Split(text[1:], "\r")
	last := draws[len(draws)-1]
	for _, want := range []string{"100%", "3/3 objects", "4500 records"} {
		if !strings.Contains(last, want) {
			t.Fatalf("last progress line %q lacks %q", last, want)
		}
	}
}
