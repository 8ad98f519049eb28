package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// memberExpiry removes consumer-group members that stopped talking to the broker, as Kafka's
// session timeout does. kfake starts a member's session timer only when its JoinGroup answer
// reaches it: a consumer killed while its join waits for a rebalance (a sink SIGKILLed and
// restarted during one) still becomes a member of the next generation, without a timer, and
// once the leader syncs, the group is Stable with that member holding its share of the
// partitions for good. The watch sees every group request; a member of a Stable classic
// group that has sent none for its session timeout is removed with a LeaveGroup on its
// behalf, so the group rebalances to its live members.
type memberExpiry struct {
	log   *slog.Logger
	addr  string
	users []User
	every time.Duration

	mu     sync.Mutex
	groups map[string]*watchedGroup
}

type watchedGroup struct {
	session time.Duration        // the longest session timeout its members joined with (0: none seen)
	seen    map[string]time.Time // member ID → last request from it (or when first listed)
}

func (g *watchedGroup) timeout() time.Duration {
	if g.session > 0 {
		return g.session
	}
	return sessionDefault
}

// sessionDefault is assumed for a group until a join says otherwise (kafka-go's default is
// 30 s; Kafka's maximum allowed is 5 minutes).
const sessionDefault = 30 * time.Second

func newMemberExpiry(log *slog.Logger, addr string, users []User) *memberExpiry {
	return &memberExpiry{log: log, addr: addr, users: users, every: time.Second, groups: map[string]*watchedGroup{}}
}

// watch installs the request observers on c.
func (e *memberExpiry) watch(c *kfake.Cluster) {
	for _, key := range []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.OffsetCommit, kmsg.LeaveGroup} {
		c.ControlKey(int16(key), func(req kmsg.Request) (kmsg.Response, error, bool) {
			e.observe(req, time.Now())
			return nil, nil, false // observe only: the cluster answers as usual
		})
	}
}

// observe notes a group request. It runs on the cluster's goroutine: it only takes e.mu.
func (e *memberExpiry) observe(req kmsg.Request, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	group := func(name string) *watchedGroup {
		g := e.groups[name]
		if g == nil {
			g = &watchedGroup{seen: map[string]time.Time{}}
			e.groups[name] = g
		}
		return g
	}
	switch r := req.(type) {
	case *kmsg.JoinGroupRequest:
		g := group(r.Group)
		g.session = max(g.session, time.Duration(r.SessionTimeoutMillis)*time.Millisecond)
		if r.MemberID != "" {
			g.seen[r.MemberID] = now
		}
	case *kmsg.SyncGroupRequest:
		group(r.Group).seen[r.MemberID] = now
	case *kmsg.HeartbeatRequest:
		group(r.Group).seen[r.MemberID] = now
	case *kmsg.OffsetCommitRequest:
		if r.MemberID != "" {
			group(r.Group).seen[r.MemberID] = now
		}
	case *kmsg.LeaveGroupRequest:
		g := group(r.Group)
		delete(g.seen, r.MemberID)
		for _, m := range r.Members {
			delete(g.seen, m.MemberID)
		}
	}
}

// run checks the watched groups every e.every until ctx ends.
func (e *memberExpiry) run(ctx context.Context, c *kfake.Cluster) {
	t := time.NewTicker(e.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for group, members := range e.expired(c, time.Now()) {
			for _, m := range members {
				e.evict(ctx, group, m)
			}
		}
	}
}

// silentMember is a member to remove and how long it has been silent.
type silentMember struct {
	id, clientHost string
	silent         time.Duration
}

// expired lists, per group, the members of Stable groups silent for longer than the group's
// session timeout. A member listed for the first time starts its clock now. It must not be
// called with e.mu held: GroupInfo runs on the cluster's goroutine, which takes e.mu.
func (e *memberExpiry) expired(c *kfake.Cluster, now time.Time) map[string][]silentMember {
	e.mu.Lock()
	names := make([]string, 0, len(e.groups))
	for name := range e.groups {
		names = append(names, name)
	}
	e.mu.Unlock()
	out := map[string][]silentMember{}
	for _, name := range names {
		gi := c.GroupInfo(name)
		e.mu.Lock()
		g := e.groups[name]
		if gi == nil {
			delete(e.groups, name)
			e.mu.Unlock()
			continue
		}
		listed := make(map[string]bool, len(gi.Members))
		for _, m := range gi.Members {
			listed[m.MemberID] = true
			last, ok := g.seen[m.MemberID]
			if !ok {
				g.seen[m.MemberID] = now
				continue
			}
			if gi.State == "Stable" && now.Sub(last) > g.timeout() {
				out[name] = append(out[name], silentMember{id: m.MemberID, clientHost: m.ClientHost, silent: now.Sub(last)})
			}
		}
		for id := range g.seen {
			if !listed[id] {
				delete(g.seen, id) // left, expired, or never made it past its join
			}
		}
		e.mu.Unlock()
	}
	return out
}

// evict sends a LeaveGroup for the member, as the broker's own client.
func (e *memberExpiry) evict(ctx context.Context, group string, m silentMember) {
	e.log.Warn("consumer group member sent nothing for its session timeout; removing it so the group rebalances",
		"group", group, "member", m.id, "client_host", m.clientHost, "silent", m.silent.Round(time.Millisecond))
	mech, err := e.mechanism()
	if err != nil {
		e.log.Error("cannot remove silent group member", "group", group, "member", m.id, "err", err)
		return
	}
	client := &kafkago.Client{Addr: kafkago.TCP(e.addr), Timeout: 5 * time.Second,
		Transport: &kafkago.Transport{ClientID: "flowtap-broker", SASL: mech, DialTimeout: 2 * time.Second}}
	defer client.Transport.(*kafkago.Transport).CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := client.LeaveGroup(ctx, &kafkago.LeaveGroupRequest{GroupID: group, Members: []kafkago.LeaveGroupRequestMember{{ID: m.id}}})
	if err == nil {
		err = resp.Error
		for _, r := range resp.Members {
			if err == nil {
				err = r.Error
			}
		}
	}
	if err != nil {
		e.log.Warn("removing a silent group member failed; will retry", "group", group, "member", m.id, "err", err)
	}
}

// mechanism authenticates the broker's own client as its first user, if it has users.
func (e *memberExpiry) mechanism() (sasl.Mechanism, error) {
	if len(e.users) == 0 {
		return nil, nil
	}
	u := e.users[0]
	switch u.Mechanism {
	case "PLAIN":
		return plain.Mechanism{Username: u.Name, Password: u.Password}, nil
	case "SCRAM-SHA-256":
		return scram.Mechanism(scram.SHA256, u.Name, u.Password)
	case "SCRAM-SHA-512":
		return scram.Mechanism(scram.SHA512, u.Name, u.Password)
	}
	return nil, fmt.Errorf("broker: user %q: mechanism %q", u.Name, u.Mechanism)
}

// dialable turns a listen address with an unspecified host (0.0.0.0, ::) into one the
// broker's own client can dial.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}
