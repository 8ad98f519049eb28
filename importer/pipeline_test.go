package importer

import (
	"bytes"
	"context"
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

// TestMissingTopicFails: records for a topic the brokers do not have fail the import with
// the topic's name, produced nowhere else, instead of being dropped.
func TestMissingTopicFails(t *testing.T) {
	addr := startBroker(t)
	cfg := DefaultConfig()
	cfg.Source, cfg.Brokers = benchDir(t, 1, 300), []string{addr}
	cfg.Topics.VPC = "flowtap.no-such-topic"
	st, err := newImporter(t, cfg).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "topic flowtap.no-such-topic does not exist") {
		t.Fatalf("import into a missing topic: %+v, %v", st, err)
	}
	if n := len(consume(t, addr)); n != 0 {
		t.Fatalf("Kafka holds %d messages after the failed import", n)
	}
}
