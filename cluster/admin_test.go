package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func leaderOf(t *testing.T, nodes []*Node) *Node {
	t.Helper()
	var l *Node
	eventually(t, 10*time.Second, "a leader", func() bool {
		for _, nd := range nodes {
			if nd.IsLeader() {
				l = nd
				return true
			}
		}
		return false
	})
	return l
}

// TestRepairStatusFromAnyNode: every node answers with the leader's repair
// state, followers by asking the leader.
func TestRepairStatusFromAnyNode(t *testing.T) {
	nodes := startCluster(t, 3)
	for _, nd := range nodes {
		id := nd.cfg.NodeID
		nd.SetRepairReport(func() any { return map[string]string{"reported_by": id} })
	}
	leader := leaderOf(t, nodes)
	for _, nd := range nodes {
		st, err := nd.LeaderRepairStatus(context.Background())
		if err != nil {
			t.Fatalf("via %s: %v", nd.cfg.NodeID, err)
		}
		var rep struct {
			ReportedBy string `json:"reported_by"`
		}
		if err := json.Unmarshal(st.Repair, &rep); err != nil {
			t.Fatal(err)
		}
		if st.Leader != leader.cfg.NodeID || rep.ReportedBy != leader.cfg.NodeID {
			t.Fatalf("via %s: leader %q, state of %q; want %s", nd.cfg.NodeID, st.Leader, rep.ReportedBy, leader.cfg.NodeID)
		}
	}
	// A follower asked directly refuses with a hint where the leader is.
	for _, nd := range nodes {
		if nd == leader {
			continue
		}
		if _, err := nd.RepairStatus(context.Background()); err == nil {
			t.Fatalf("follower %s answered RepairStatus itself", nd.cfg.NodeID)
		}
	}
}

// TestUnreachableNodeReportedUntilLost: a stopped node shows as unreachable
// with the lost-after deadline, on every node's repair status.
func TestUnreachableNodeReportedUntilLost(t *testing.T) {
	nodes := startCluster(t, 3)
	for _, nd := range nodes {
		nd.SetRepairReport(func() any { return struct{}{} })
	}
	leader := leaderOf(t, nodes)
	var victim, asker *Node
	for _, nd := range nodes {
		switch {
		case nd == leader:
		case victim == nil:
			victim = nd
		default:
			asker = nd
		}
	}
	if got := leader.Unreachable(time.Now()); len(got) != 0 {
		t.Fatalf("all nodes up, unreachable %+v", got)
	}
	victim.Close()
	var st RepairStatus
	eventually(t, 20*time.Second, "the stopped node reported unreachable", func() bool {
		var err error
		st, err = asker.LeaderRepairStatus(context.Background())
		return err == nil && len(st.Unreachable) == 1 && st.Unreachable[0].For > 0
	})
	u := st.Unreachable[0]
	if u.Node != victim.cfg.NodeID || u.LostAfter != leader.cfg.LostAfter {
		t.Fatalf("unreachable %+v, want %s with lost after %v", u, victim.cfg.NodeID, leader.cfg.LostAfter)
	}
}

// TestDrainFinishesInBackgroundOnlyWhenEmpty: the status of a drain never
// removes the node; FinishDrains on the leader does, once nothing is left.
func TestDrainFinishesInBackgroundOnlyWhenEmpty(t *testing.T) {
	nodes := startCluster(t, 3)
	ctx := context.Background()
	leader := leaderOf(t, nodes)
	target := nodes[2].cfg.NodeID
	if err := nodes[1].Drain(ctx, target); err != nil {
		t.Fatal(err)
	}
	var asked []string
	count := func(n int) ShardCounter {
		return func(_ context.Context, drives []string) (int, error) { asked = drives; return n, nil }
	}
	for range 2 {
		st, err := nodes[0].DrainProgress(ctx, target, count(0))
		if err != nil || !st.Draining || st.Removed || st.ReferencedShards != 0 {
			t.Fatalf("progress %+v %v", st, err)
		}
	}
	if len(asked) != 2 {
		t.Fatalf("counted shards on %v, want the node's two drives", asked)
	}
	leader.FinishDrains(ctx, count(3))
	if st, err := nodes[0].DrainProgress(ctx, target, count(3)); err != nil || st.Removed || st.ReferencedShards != 3 {
		t.Fatalf("with shards left: %+v %v; want still a member", st, err)
	}
	leader.FinishDrains(ctx, count(0))
	st, err := nodes[0].DrainProgress(ctx, target, count(0))
	if err != nil || !st.Removed {
		t.Fatalf("after the last shard moved: %+v %v; want removed", st, err)
	}
	if _, err := nodes[0].DrainProgress(ctx, "no-such-node", count(0)); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("unknown node: %v", err)
	}
}
