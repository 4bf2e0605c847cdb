package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/filesphere/filesphere/cluster/pki"
	"github.com/filesphere/filesphere/cluster/rpc"
	"github.com/hashicorp/raft"
)

// form bootstraps, joins or rejoins, then waits for a leader and for this
// node's own membership record.
func (n *Node) form(ctx context.Context) error {
	existing := n.hasState
	switch {
	case existing:
		n.log.Info("rejoining from local state")
	case n.cfg.Join == "":
		n.log.Info("bootstrapping a new cluster")
		f := n.raft.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{
			ID: raft.ServerID(n.cfg.NodeID), Address: raft.ServerAddress(n.advertise), Suffrage: raft.Voter,
		}}})
		if err := f.Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return err
		}
	default:
		if err := n.joinVia(ctx, n.cfg.Join); err != nil {
			return err
		}
	}
	if err := n.waitLeader(ctx); err != nil {
		return err
	}
	return n.register(ctx)
}

func (n *Node) self() NodeRecord {
	rec := NodeRecord{ID: n.cfg.NodeID, ClusterAddr: n.advertise, APIAddr: n.cfg.APIAddr, Joined: n.cfg.Now().UTC()}
	for id := range n.cfg.Drives {
		w := n.cfg.Weights[id]
		if w <= 0 {
			w = 1
		}
		rec.Drives = append(rec.Drives, DriveRecord{ID: id, Weight: w})
	}
	sortDrives(rec.Drives)
	return rec
}

// joinVia asks a member to add this node, retrying until it answers.
func (n *Node) joinVia(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.JoinTimeout)
	defer cancel()
	rec := n.self()
	req := rpc.JoinRequest{NodeID: rec.ID, RaftAddr: n.advertise, ClusterAddr: n.advertise, APIAddr: rec.APIAddr}
	for _, d := range rec.Drives {
		req.Drives = append(req.Drives, rpc.DriveSpec{ID: d.ID, Weight: d.Weight})
	}
	for {
		_, err := n.client.Join(ctx, n.client.URL(addr), req)
		if err == nil {
			n.log.WithField("via", addr).Info("joined cluster")
			return nil
		}
		if errors.Is(err, rpc.ErrUnauthorized) {
			return fmt.Errorf("cluster: %s refused this node: wrong cluster secret: %w", addr, err)
		}
		if tlsRefused(err) {
			return fmt.Errorf("cluster: %s and this node do not share a cluster CA (certificate in %s): %w: %v",
				addr, n.tlsDir(), pki.ErrForeignCertificate, err)
		}
		n.log.WithError(err).WithField("via", addr).Warn("join failed; retrying")
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: joining via %s: %w (last error: %v)", addr, ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
}

func (n *Node) waitLeader(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.JoinTimeout)
	defer cancel()
	for {
		if addr, _ := n.raft.LeaderWithID(); addr != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: no leader elected: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// register writes this node's record if it is missing or stale (a
// bootstrapped node, or a restart with new addresses or drives).
func (n *Node) register(ctx context.Context) error {
	want := n.self()
	for {
		m, err := readMembership(ctx, n.kv)
		if err == nil {
			for _, have := range m.Nodes {
				if have.ID == want.ID {
					want.Draining = have.Draining
					if sameNode(have, want) {
						n.members.Store(m)
						return nil
					}
				}
			}
			if err = updateMembership(ctx, n.kv, putNodeOps(want)); err == nil {
				return n.refresh(ctx)
			}
		}
		n.log.WithError(err).Warn("registering membership; retrying")
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func sameNode(a, b NodeRecord) bool {
	if a.ClusterAddr != b.ClusterAddr || a.APIAddr != b.APIAddr || len(a.Drives) != len(b.Drives) {
		return false
	}
	for i := range a.Drives {
		if a.Drives[i] != b.Drives[i] {
			return false
		}
	}
	return true
}

// Join implements rpc.ClusterService: any member records the new node;
// the leader's reconciler adds it to the Raft configuration.
func (n *Node) Join(ctx context.Context, req rpc.JoinRequest) (rpc.JoinResponse, error) {
	if req.NodeID == "" || req.ClusterAddr == "" || len(req.Drives) == 0 {
		return rpc.JoinResponse{}, errors.New("cluster: join needs a node id, an address and drives")
	}
	rec := NodeRecord{ID: req.NodeID, ClusterAddr: req.ClusterAddr, APIAddr: req.APIAddr, Joined: n.cfg.Now().UTC()}
	for _, d := range req.Drives {
		rec.Drives = append(rec.Drives, DriveRecord{ID: d.ID, Weight: max(d.Weight, 1)})
	}
	sortDrives(rec.Drives)
	m, err := readMembership(ctx, n.kv)
	if err != nil {
		return rpc.JoinResponse{}, err
	}
	for _, have := range m.Nodes {
		for _, d := range have.Drives {
			for _, nd := range rec.Drives {
				if d.ID == nd.ID && have.ID != rec.ID {
					return rpc.JoinResponse{}, fmt.Errorf("cluster: drive id %s already belongs to node %s", d.ID, have.ID)
				}
			}
		}
	}
	if err := updateMembership(ctx, n.kv, putNodeOps(rec)); err != nil {
		return rpc.JoinResponse{}, err
	}
	if err := n.reconcileNow(ctx); err != nil {
		n.log.WithError(err).Debug("reconcile after join")
	}
	_, leader := n.raft.LeaderWithID()
	return rpc.JoinResponse{LeaderID: string(leader)}, nil
}

func sortDrives(ds []DriveRecord) {
	slices.SortFunc(ds, func(a, b DriveRecord) int { return strings.Compare(a.ID, b.ID) })
}
