package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/rpc"
	"github.com/hashicorp/raft"
)

// RepairStatus is the leader's repair state as any node can ask for it.
// Only the leader runs background repairs and probes the other nodes, so
// a follower forwards the question to it over the node-to-node API rather
// than answering from its own, idle, state.
type RepairStatus struct {
	Leader string `json:"leader"`
	// Repair is what the repairer registered with SetRepairReport (the
	// storage engine's status); opaque to this package.
	Repair json.RawMessage `json:"repair"`
	// Unreachable lists the members the leader cannot reach and has not
	// yet declared lost.
	Unreachable []UnreachableNode `json:"unreachable,omitempty"`
}

// SetRepairReport registers the function giving this node's repair state
// (JSON-encoded) for RepairStatus; the engine is built after the node, so
// it is registered late. Until then the node answers as if it had no leader.
func (n *Node) SetRepairReport(f func() any) { n.repairReport.Store(&f) }

// RepairStatus implements rpc.RepairService: the leader's own state, or a
// *rpc.NotLeaderError pointing at the leader.
func (n *Node) RepairStatus(context.Context) (json.RawMessage, error) {
	if !n.IsLeader() {
		addr, id := n.raft.LeaderWithID()
		return nil, &rpc.NotLeaderError{LeaderID: string(id), LeaderAddr: string(addr)}
	}
	st, err := n.localRepairStatus()
	if err != nil {
		return nil, err
	}
	return json.Marshal(st)
}

// LeaderRepairStatus returns the leader's repair state from any node. An
// error matches meta.ErrNoLeader when no leader is known, and
// meta.ErrLeaderUnreachable when the leader did not answer.
func (n *Node) LeaderRepairStatus(ctx context.Context) (RepairStatus, error) {
	if n.IsLeader() {
		return n.localRepairStatus()
	}
	addr, id := n.raft.LeaderWithID()
	if addr == "" {
		return RepairStatus{}, fmt.Errorf("%w: the repair state lives on the leader", meta.ErrNoLeader)
	}
	raw, err := n.client.RepairStatus(ctx, n.client.URL(string(addr)))
	var nl *rpc.NotLeaderError
	if errors.As(err, &nl) && nl.LeaderAddr != "" && nl.LeaderAddr != string(addr) {
		// Leadership moved between our lookup and the call: follow it once.
		id = raft.ServerID(nl.LeaderID)
		raw, err = n.client.RepairStatus(ctx, n.client.URL(nl.LeaderAddr))
	}
	if err != nil {
		return RepairStatus{}, fmt.Errorf("%w: asking leader %s for the repair state: %w", meta.ErrLeaderUnreachable, id, err)
	}
	var st RepairStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return RepairStatus{}, fmt.Errorf("cluster: repair state from leader %s: %w", id, err)
	}
	return st, nil
}

func (n *Node) localRepairStatus() (RepairStatus, error) {
	f := n.repairReport.Load()
	if f == nil {
		return RepairStatus{}, fmt.Errorf("%w: the leader is still starting", meta.ErrNoLeader)
	}
	raw, err := json.Marshal((*f)())
	if err != nil {
		return RepairStatus{}, fmt.Errorf("cluster: encoding the repair state: %w", err)
	}
	return RepairStatus{Leader: n.cfg.NodeID, Repair: raw, Unreachable: n.Unreachable(time.Now())}, nil
}
