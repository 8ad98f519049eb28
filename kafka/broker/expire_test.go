package broker

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/flowtap/flowtap/internal/component"
)

// joinAndDie sends a JoinGroup for group as a new member and closes the connection without
// reading the answer: a consumer killed while its join waits for the rebalance.
func joinAndDie(t *testing.T, addr, group string, topics []string, session time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	meta := kmsg.ConsumerMemberMetadata{Topics: topics}
	req := kmsg.NewPtrJoinGroupRequest()
	req.SetVersion(2) // kafka-go's version: the broker assigns the member ID in its answer
	req.Group, req.ProtocolType = group, "consumer"
	req.SessionTimeoutMillis = int32(session.Milliseconds())
	req.RebalanceTimeoutMillis = int32(session.Milliseconds())
	for _, name := range []string{"range", "roundrobin"} {
		req.Protocols = append(req.Protocols, kmsg.JoinGroupRequestProtocol{Name: name, Metadata: meta.AppendTo(nil)})
	}
	if _, err := conn.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("killed-sink")).AppendRequest(nil, req, 1)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the broker read the request before the connection goes
	conn.Close()
}

// TestMemberKilledWhileJoiningExpires: a consumer killed while its JoinGroup is parked
// becomes a member of the next generation that never heartbeats. The group's live member
// must get every partition back once that member's session timeout has passed (kfake alone
// keeps it in the group for good: it starts a member's session timer only when the join
// answer reaches it).
func TestMemberKilledWhileJoiningExpires(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen, cfg.DataDir, cfg.Partitions = "127.0.0.1:0", "", 4
	cfg.Topics = []string{testTopic}
	b, err := New(cfg, component.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	go b.Run(ctx)

	const group, session = "g-killed-joining", 6 * time.Second // kfake's minimum session timeout
	cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID: group, Brokers: []string{b.Addr()}, Topics: []string{testTopic},
		HeartbeatInterval: time.Second, SessionTimeout: session, RebalanceTimeout: session,
		JoinGroupBackoff: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	gens := make(chan *kafkago.Generation, 16)
	go func() {
		for {
			gen, err := cg.Next(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				continue
			}
			gens <- gen
		}
	}()
	partitions := func(gen *kafkago.Generation) int { return len(gen.Assignments[testTopic]) }
	next := func(within time.Duration) *kafkago.Generation {
		select {
		case gen := <-gens:
			return gen
		case <-time.After(within):
			return nil
		}
	}
	first := next(20 * time.Second)
	if first == nil || partitions(first) != 4 {
		t.Fatalf("first generation: %+v", first)
	}

	joinAndDie(t, b.Addr(), group, []string{testTopic}, session)
	second := next(2 * session)
	if second == nil || partitions(second) != 2 {
		t.Fatalf("after the dead join: generation %+v, want the live member with 2 of 4 partitions", second)
	}
	// The dead member never heartbeats: after its session timeout it must be gone.
	third := next(3 * session)
	if third == nil {
		gi := b.Cluster().GroupInfo(group)
		t.Fatalf("no new generation within %v: the dead member is still in the group (%d members, state %s)", 3*session, len(gi.Members), gi.State)
	}
	if partitions(third) != 4 {
		t.Fatalf("generation %d: live member has %d of 4 partitions", third.ID, partitions(third))
	}
}
