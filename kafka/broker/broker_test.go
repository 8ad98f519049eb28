package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/fsx"
)

// TestPersistAcrossRestart: topics are created, and a produced message is still there after
// the broker restarts on the same data dir.
const testTopic = "t.vpn"

func TestPersistAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := DefaultConfig()
	cfg.Listen, cfg.DataDir, cfg.Partitions = "127.0.0.1:0", dir, 3
	cfg.Topics = []string{"t.vpc", "t.tgw", testTopic}
	b, err := New(cfg, component.Deps{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- b.Run(ctx) }()
	for _, topic := range cfg.Topics {
		if n := len(b.Cluster().PartitionInfos(topic)); n != 3 {
			t.Fatalf("topic %s has %d partitions, want 3", topic, n)
		}
	}
	w := &kafkago.Writer{Addr: kafkago.TCP(b.Addr()), Topic: testTopic, BatchTimeout: time.Millisecond, RequiredAcks: kafkago.RequireAll}
	if err := w.WriteMessages(context.Background(), kafkago.Message{Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	cfg.Listen = b.Addr()
	b2, err := New(cfg, component.Deps{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := b2.Start(); err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if n := b2.Messages(testTopic); n != 1 {
		t.Fatalf("after restart %s holds %d messages, want 1", testTopic, n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{{Listen: "nope", Partitions: 1}, {Listen: "127.0.0.1:0", Partitions: 0}} {
		if _, err := New(cfg, component.Deps{}); err == nil {
			t.Errorf("New(%+v) accepted a bad config", cfg)
		}
	}
}

// TestDataDirLocked: a second broker on a data directory in use fails at once, naming the
// process that holds it; once the first stops, the directory is free again.
func TestDataDirLocked(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Listen, cfg.DataDir = "127.0.0.1:0", dir
	b1, err := New(cfg, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b1.Start(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != fsx.DirMode {
		t.Fatalf("data dir mode %v (%v), want %v: segments must not be readable by others", st.Mode().Perm(), err, fsx.DirMode)
	}
	b2, _ := New(cfg, component.Deps{})
	start := time.Now()
	err = b2.Start()
	if !errors.Is(err, fsx.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second broker on %s: %v; want refused naming pid %d", dir, err, os.Getpid())
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("refusal took %v", el)
	}
	b1.Close()
	b3, _ := New(cfg, component.Deps{})
	if err := b3.Start(); err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	b3.Close()
}
