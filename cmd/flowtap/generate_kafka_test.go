package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/kafka/broker"
)

// runCLIErr is runCLI that also captures stderr.
func runCLIErr(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func startTestBroker(t *testing.T) *broker.Broker {
	t.Helper()
	cfg := testenv.BrokerConfig(kafka.AllTopics()...)
	cfg.DataDir = t.TempDir()
	return testenv.Broker(t, cfg)
}

// TestGenerateKafkaReportsAndFails: generate --kafka-brokers says how many records it sent
// to which brokers and topics, and exits with an error (non-zero) when Kafka did not take
// them all by --kafka-timeout, naming the spill that keeps them.
func TestGenerateKafkaReportsAndFails(t *testing.T) {
	window := []string{"--start", "2024-05-01T00:00:00Z", "--end", "2024-05-01T00:01:00Z", "--rate", "5", "--seed", "7"}
	text, err := runCLI(t, append([]string{"generate"}, window...)...)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(strings.Count(text, "\n") - 1) // minus the header line
	spillDir := t.TempDir()

	b := startTestBroker(t)
	_, stderr, err := runCLIErr(t, append([]string{"generate", "--kafka-brokers", b.Addr(), "--spill-dir", spillDir}, window...)...)
	if err != nil {
		t.Fatalf("generate to a running broker: %v\n%s", err, stderr)
	}
	if got := b.Messages(kafka.TopicVPC); got != want {
		t.Fatalf("broker holds %d records, want %d", got, want)
	}
	report := fmt.Sprintf("kafka %s: %d records written (%d to %s); %d delivered", b.Addr(), want, want, kafka.TopicVPC, want)
	if !strings.Contains(stderr, report) {
		t.Fatalf("stderr %q does not report %q", stderr, report)
	}

	// The broker goes away: generate must not exit 0.
	addr := b.Addr()
	b.Close()
	start := time.Now()
	_, stderr, err = runCLIErr(t, append([]string{"generate", "--kafka-brokers", addr, "--spill-dir", spillDir, "--kafka-timeout", "1s"}, window...)...)
	if !errors.Is(err, kafka.ErrUndelivered) || !strings.Contains(err.Error(), fmt.Sprintf("%d wait in the spill", want)) {
		t.Fatalf("generate to an unreachable broker: err %v, want %d records reported undelivered\n%s", err, want, stderr)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("gave up after %v, before --kafka-timeout", el)
	}
	if !strings.Contains(stderr, "0 delivered") {
		t.Errorf("stderr %q does not say nothing was delivered", stderr)
	}
}
