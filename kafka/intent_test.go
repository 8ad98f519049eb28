package kafka

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIntentsRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "group")
	s, err := openIntents(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Intent{{TopicVPC, 0, 10, 20}, {TopicVPC, 3, 0, 0}, {TopicTGW, 0, 5, 99}, {TopicVPC, 0, 21, 40}}
	for _, it := range want {
		if err := s.put(it); err != nil {
			t.Fatal(err)
		}
	}
	// A temp file left by a crash in the middle of a write is removed, not read.
	if err := os.WriteFile(filepath.Join(dir, ".flowtap.vpc.1.intent.tmp-123"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := openIntents(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.m) != 3 {
		t.Fatalf("loaded %d intents, want 3: %v", len(again.m), again.m)
	}
	for _, it := range want[1:] {
		got, ok := again.get(tp{it.Topic, it.Partition})
		if !ok || got != it {
			t.Fatalf("intent of %s/%d = %+v (%v), want %+v", it.Topic, it.Partition, got, ok, it)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Fatalf("temp file %s left behind", e.Name())
		}
		if info, _ := e.Info(); info.Mode().Perm()&0o007 != 0 {
			t.Fatalf("%s is world-accessible: %v", e.Name(), info.Mode())
		}
	}
}

func TestBadIntentFileIsAnError(t *testing.T) {
	for _, data := range []string{`{`, `{"topic":"","partition":0,"first":1,"last":2}`, `{"topic":"t","partition":0,"first":3,"last":2}`,
		`{"topic":"t","partition":-1,"first":1,"last":2}`} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "t.0.intent"), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := openIntents(dir); err == nil || !strings.Contains(err.Error(), "bad intent file t.0.intent") {
			t.Fatalf("intent %q: err %v", data, err)
		}
	}
}

func FuzzParseIntent(f *testing.F) {
	f.Add([]byte(`{"topic":"flowtap.vpc","partition":1,"first":2,"last":3}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		it, err := parseIntent(data)
		if err != nil {
			return
		}
		if it.Topic == "" || it.First > it.Last || it.First < 0 || it.Partition < 0 {
			t.Fatalf("accepted %+v from %q", it, data)
		}
	})
}
