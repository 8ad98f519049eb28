package kafka

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/internal/fsx"
)

// memberFile, in a runner's state directory, holds the group member id of its last
// generation. A runner killed without leaving its group (SIGKILL, a lost host) stays a
// member until its session times out, and the next runner's join waits that long for it to
// rejoin (10 s by default) before any partition moves. The state directory is locked to one
// runner at a time, so the member id found there on start belongs to a run that is gone: the
// new run removes that member from the group (LeaveGroup on its behalf) before it joins.
const memberFile = "member-id"

// leaveTimeout bounds the removal of a dead run's member: at worst the join then waits out
// the dead member's session, as without the removal.
const leaveTimeout = 5 * time.Second

// leaveDeadMember removes the member of the run before from the group, if it is still in it.
func (r *Runner) leaveDeadMember(ctx context.Context) {
	id, err := os.ReadFile(filepath.Join(r.stateDir(), memberFile))
	if err != nil || len(id) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, leaveTimeout)
	defer cancel()
	tr := newTransport(clientIDSink, r.dialer.SASLMechanism)
	defer tr.CloseIdleConnections()
	c := &kafkago.Client{Addr: kafkago.TCP(r.cfg.Brokers...), Transport: tr}
	resp, err := c.LeaveGroup(ctx, &kafkago.LeaveGroupRequest{GroupID: r.cfg.Group,
		Members: []kafkago.LeaveGroupRequestMember{{ID: string(id)}}})
	if err == nil {
		err = resp.Error
		for _, m := range resp.Members {
			err = errors.Join(err, m.Error)
		}
	}
	switch {
	case errors.Is(err, kafkago.UnknownMemberId):
		r.log.Debug("the last run's group member had left", "member", string(id))
	case err != nil:
		r.log.Warn("could not remove the last run's group member; joining may wait for its session to time out",
			"member", string(id), "err", err)
	default:
		r.log.Info("removed the group member a killed run left behind", "member", string(id))
	}
}

// rememberMember keeps id, the member of the current generation, for the next run.
func (r *Runner) rememberMember(id string) {
	if id == r.member {
		return
	}
	if err := fsx.WriteFile(filepath.Join(r.stateDir(), memberFile), []byte(id)); err != nil {
		r.log.Warn("could not keep the group member id", "err", err)
		return
	}
	r.member = id
}
