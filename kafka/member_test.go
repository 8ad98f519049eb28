package kafka

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/flowtap/flowtap/kafka/broker"
)

// members returns the member ids of group on b.
func members(b *broker.Broker, group string) []string {
	var ids []string
	if gi := b.Cluster().GroupInfo(group); gi != nil {
		for _, m := range gi.Members {
			ids = append(ids, m.MemberID)
		}
	}
	return ids
}

// TestRestartRemovesTheDeadMember: a runner that dies without leaving its group (its
// LeaveGroup never reaches the broker, as after SIGKILL) stays a member for its whole
// session, a minute here. The next runner on the same state directory removes that member
// before it joins, so it gets the partitions at once: the records written meanwhile reach
// the lake well within the dead member's session.
func TestRestartRemovesTheDeadMember(t *testing.T) {
	b, p := brokerAndProducer(t)
	seq := map[string]uint64{}
	first := writeRounds(t, p, seq, 1, 300, 3, 0)
	lake, state := t.TempDir(), t.TempDir()
	cfg := testRunnerConfig(t, b.Addr(), state)
	cfg.Group = "g-dead-member"
	cfg.SessionTimeout = time.Minute
	stop := startRunner(t, cfg, &fileSink{dir: lake})
	waitLake(t, lake, len(first), seq, 30*time.Second)
	dead := members(b, cfg.Group)
	if len(dead) != 1 {
		t.Fatalf("group members %v, want one", dead)
	}

	// The crash: the broker never hears the runner leave.
	b.Cluster().ControlKey(int16(kmsg.LeaveGroup), func(kmsg.Request) (kmsg.Response, error, bool) {
		return nil, errors.New("the runner died"), true
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if m := members(b, cfg.Group); !slices.Equal(m, dead) {
		t.Fatalf("after the crash the group has members %v, want the dead one %v", m, dead)
	}

	second := writeRounds(t, p, seq, 1, 300, 3, 0)
	startRunner(t, cfg, &fileSink{dir: lake})
	// Waiting out the dead member's session would take a minute.
	waitLake(t, lake, len(first)+len(second), seq, 25*time.Second)
	if m := members(b, cfg.Group); len(m) != 1 || m[0] == dead[0] {
		t.Fatalf("group members %v after the restart, want one other than the dead %s", m, dead[0])
	}
}
