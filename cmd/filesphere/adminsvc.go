package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/filesphere/filesphere/cluster"
	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/s3api"
	"github.com/filesphere/filesphere/storage"
)

// adminService is the s3api.Admin of a node: repair from the engine,
// membership and drains from the cluster node. It translates the
// cluster's errors into the admin API's once, here at the seam.
type adminService struct {
	engine *storage.Engine
	node   *cluster.Node
}

var _ s3api.Admin = adminService{}

func (a adminService) Heal(ctx context.Context, opts storage.HealOptions) (storage.HealReport, error) {
	return a.engine.Heal(ctx, opts)
}

// HealStatus reports the leader's repair state, from any node.
func (a adminService) HealStatus(ctx context.Context) (s3api.AdminHealStatus, error) {
	rs, err := a.node.LeaderRepairStatus(ctx)
	if err != nil {
		return s3api.AdminHealStatus{}, adminErr(err)
	}
	out := s3api.AdminHealStatus{Leader: rs.Leader, Unreachable: []s3api.AdminUnreachableNode{}}
	if err := json.Unmarshal(rs.Repair, &out.HealStatus); err != nil {
		return s3api.AdminHealStatus{}, fmt.Errorf("repair state of leader %s: %w", rs.Leader, err)
	}
	for _, u := range rs.Unreachable {
		out.Unreachable = append(out.Unreachable, s3api.AdminUnreachableNode{
			Node: u.Node, UnreachableSeconds: u.For.Seconds(), LostAfterSeconds: u.LostAfter.Seconds()})
	}
	return out, nil
}

// leaderReport is the state the leader hands to admin status calls from
// any node: the repair state, and the lifecycle worker's beside it.
type leaderReport struct {
	storage.HealStatus
	Lifecycle storage.LifecycleStatus `json:"lifecycle"`
}

// LifecycleStatus reports the leader's lifecycle worker, from any node.
func (a adminService) LifecycleStatus(ctx context.Context) (s3api.AdminLifecycleStatus, error) {
	rs, err := a.node.LeaderRepairStatus(ctx)
	if err != nil {
		return s3api.AdminLifecycleStatus{}, adminErr(err)
	}
	var rep leaderReport
	if err := json.Unmarshal(rs.Repair, &rep); err != nil {
		return s3api.AdminLifecycleStatus{}, fmt.Errorf("state of leader %s: %w", rs.Leader, err)
	}
	return s3api.AdminLifecycleStatus{Leader: rs.Leader, LifecycleStatus: rep.Lifecycle}, nil
}

func (a adminService) ClusterStatus(ctx context.Context) (s3api.AdminClusterStatus, error) {
	st, err := a.node.ClusterStatus(ctx)
	if err != nil {
		return s3api.AdminClusterStatus{}, adminErr(err)
	}
	out := s3api.AdminClusterStatus{NodeID: st.NodeID, RaftState: st.RaftState, Term: st.Term, Leader: st.Leader,
		LeaderAddr: st.LeaderAddr, CommitIndex: st.CommitIndex, Applied: st.Applied, RingVersion: st.RingVersion, Healthy: st.Healthy}
	for _, n := range st.Nodes {
		ns := s3api.AdminNodeStatus{ID: n.ID, ClusterAddr: n.ClusterAddr, APIAddr: n.APIAddr, Online: n.Online,
			Draining: n.Draining, LastSeen: n.LastSeen}
		for _, d := range n.Drives {
			ns.Drives = append(ns.Drives, s3api.AdminDriveStatus{ID: d.ID, Weight: d.Weight, Online: d.Online,
				TotalBytes: d.TotalBytes, FreeBytes: d.FreeBytes, Error: d.Error})
		}
		out.Nodes = append(out.Nodes, ns)
	}
	return out, nil
}

func (a adminService) RemoveNode(ctx context.Context, id string) error {
	return adminErr(a.node.Remove(ctx, id))
}

// DrainNode marks the node draining and reports where the drain stands.
// Draining a node that a drain already removed reports it done.
func (a adminService) DrainNode(ctx context.Context, id string) (s3api.AdminDrainStatus, error) {
	if err := a.node.Drain(ctx, id); err != nil && !errors.Is(err, cluster.ErrUnknownNode) {
		return s3api.AdminDrainStatus{}, adminErr(err)
	}
	return a.DrainStatus(ctx, id)
}

// DrainStatus reads the drain's progress; it never changes the membership
// (the leader removes a drained node after the repair pass that emptied it).
func (a adminService) DrainStatus(ctx context.Context, id string) (s3api.AdminDrainStatus, error) {
	st, err := a.node.DrainProgress(ctx, id, a.engine.ReferencedShards)
	if err != nil {
		return s3api.AdminDrainStatus{}, adminErr(err)
	}
	return s3api.AdminDrainStatus{Node: st.Node, Draining: st.Draining, ReferencedShards: st.ReferencedShards,
		Removed: st.Removed, SafeToTurnOff: st.Removed}, nil
}

// adminErrors translates cluster errors to the admin API's.
var adminErrors = []struct{ from, to error }{
	{cluster.ErrUnknownNode, s3api.ErrAdminUnknownNode},
	{cluster.ErrLastNode, s3api.ErrAdminLastNode},
	{meta.ErrNoLeader, s3api.ErrAdminNoLeader},
	{meta.ErrLeaderUnreachable, s3api.ErrAdminNoLeader},
}

func adminErr(err error) error {
	for _, e := range adminErrors {
		if errors.Is(err, e.from) {
			return fmt.Errorf("%w: %w", e.to, err)
		}
	}
	return err
}
