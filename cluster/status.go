package cluster

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/filesphere/filesphere/storage/drive"
)

// Status is what `filesphere admin cluster status` shows.
type Status struct {
	NodeID      string       `json:"node_id"`
	RaftState   string       `json:"raft_state"`
	Term        string       `json:"term"`
	Leader      string       `json:"leader"`
	LeaderAddr  string       `json:"leader_addr"`
	CommitIndex string       `json:"commit_index"`
	Applied     uint64       `json:"applied_index"`
	RingVersion uint64       `json:"ring_version"`
	Healthy     bool         `json:"healthy"`
	Nodes       []NodeStatus `json:"nodes"`
}

// NodeStatus is one member's view.
type NodeStatus struct {
	ID          string        `json:"id"`
	ClusterAddr string        `json:"cluster_addr"`
	APIAddr     string        `json:"api_addr"`
	Online      bool          `json:"online"`
	Draining    bool          `json:"draining,omitempty"`
	LastSeen    *time.Time    `json:"last_seen,omitempty"`
	Drives      []DriveStatus `json:"drives"`
}

// DriveStatus is one drive's health.
type DriveStatus struct {
	ID         string `json:"id"`
	Weight     int    `json:"weight"`
	Online     bool   `json:"online"`
	TotalBytes uint64 `json:"total_bytes"`
	FreeBytes  uint64 `json:"free_bytes"`
	Error      string `json:"error,omitempty"`
}

// ClusterStatus gathers this node's view of the cluster, probing every
// drive (remote ones through their nodes) in parallel.
func (n *Node) ClusterStatus(ctx context.Context) (Status, error) {
	stats := n.raft.Stats()
	addr, leader := n.raft.LeaderWithID()
	m := n.members.Load()
	st := Status{NodeID: n.cfg.NodeID, RaftState: n.raft.State().String(), Term: stats["term"],
		Leader: string(leader), LeaderAddr: string(addr), CommitIndex: stats["commit_index"],
		Applied: n.fsm.AppliedIndex(), RingVersion: m.Ring.Version(), Healthy: addr != ""}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	seen := n.LastSeen()
	for _, rec := range m.Nodes {
		ns := NodeStatus{ID: rec.ID, ClusterAddr: rec.ClusterAddr, APIAddr: rec.APIAddr, Draining: rec.Draining}
		if t, ok := seen[rec.ID]; ok {
			ns.LastSeen = &t
		}
		ns.Drives = make([]DriveStatus, len(rec.Drives))
		var wg sync.WaitGroup
		for i, d := range rec.Drives {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ns.Drives[i] = n.driveStatus(ctx, d)
			}()
		}
		wg.Wait()
		for _, d := range ns.Drives {
			ns.Online = ns.Online || d.Online
		}
		st.Healthy = st.Healthy && ns.Online
		st.Nodes = append(st.Nodes, ns)
	}
	return st, nil
}

func (n *Node) driveStatus(ctx context.Context, d DriveRecord) DriveStatus {
	ds := DriveStatus{ID: d.ID, Weight: d.Weight}
	var st drive.ShardStore
	st, err := n.Drive(d.ID)
	if err == nil {
		var info drive.Info
		if info, err = st.Info(ctx); err == nil {
			ds.Online, ds.TotalBytes, ds.FreeBytes = info.Online, info.TotalBytes, info.FreeBytes
		}
	}
	if err != nil {
		ds.Error = err.Error()
	}
	return ds
}

// Status implements rpc.ClusterService.
func (n *Node) Status(ctx context.Context) (json.RawMessage, error) {
	st, err := n.ClusterStatus(ctx)
	if err != nil {
		return nil, err
	}
	return json.Marshal(st)
}
