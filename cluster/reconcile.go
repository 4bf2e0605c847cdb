package cluster

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
)

// loop refreshes membership and, on the leader, reconciles Raft with it
// and watches the other nodes' liveness.
func (n *Node) loop() {
	defer n.wg.Done()
	var leaderSince time.Time
	for {
		select {
		case <-n.stop:
			return
		case <-n.cfg.After(n.cfg.RefreshInterval):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := n.refresh(ctx); err != nil {
			n.log.WithError(err).Debug("membership refresh")
		}
		if n.raft.State() == raft.Leader {
			if leaderSince.IsZero() {
				leaderSince = n.cfg.Now()
				n.live.reset()
				n.events.publish(Event{Kind: BecameLeader})
			}
			if err := n.reconcileNow(ctx); err != nil {
				n.log.WithError(err).Warn("raft reconcile")
			}
			n.probeNodes(ctx, leaderSince)
		} else {
			leaderSince = time.Time{}
		}
		cancel()
	}
}

// refresh re-reads membership from the local replica (a stale read is fine:
// placement carries its version and reads never recompute old placements).
func (n *Node) refresh(ctx context.Context) error {
	m, err := readMembership(ctx, localReader{n.fsm})
	if err != nil {
		return err
	}
	old := n.members.Load()
	if old != nil && old.Revision == m.Revision {
		return nil
	}
	n.members.Store(m)
	if old != nil && old.Ring.Version() != m.Ring.Version() {
		n.events.publish(Event{Kind: RingChanged, RingVersion: m.Ring.Version()})
	}
	return nil
}

// reconcileNow makes the Raft configuration match the membership: it adds
// recorded nodes as voters and removes tombstoned ones.
func (n *Node) reconcileNow(ctx context.Context) error {
	if n.raft.State() != raft.Leader {
		return nil
	}
	m, err := readMembership(ctx, localReader{n.fsm})
	if err != nil {
		return err
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	in := map[raft.ServerID]raft.ServerAddress{}
	for _, s := range f.Configuration().Servers {
		in[s.ID] = s.Address
	}
	for _, rec := range m.Nodes {
		if addr, ok := in[raft.ServerID(rec.ID)]; ok && string(addr) == rec.ClusterAddr {
			continue
		}
		n.log.WithField("node", rec.ID).WithField("addr", rec.ClusterAddr).Info("adding voter")
		if err := n.raft.AddVoter(raft.ServerID(rec.ID), raft.ServerAddress(rec.ClusterAddr), 0, 10*time.Second).Error(); err != nil {
			return err
		}
	}
	for _, id := range m.Removed {
		if _, ok := in[raft.ServerID(id)]; !ok || id == n.cfg.NodeID && len(in) == 1 {
			continue
		}
		n.log.WithField("node", id).Info("removing server")
		if err := n.raft.RemoveServer(raft.ServerID(id), 0, 10*time.Second).Error(); err != nil {
			return err
		}
	}
	return nil
}
